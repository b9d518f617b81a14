#!/usr/bin/env python3
"""scripts/doc_comments.py on samples: what it turns into doxygen comments,
what it leaves alone, and that a second run changes nothing.
Usage: test_doc_comments.py PATH/TO/doc_comments.py"""
import importlib.util
import sys

spec = importlib.util.spec_from_file_location("doc_comments", sys.argv[1])
dc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dc)

BEFORE = """#pragma once

// What this header is for.
#include <string>

namespace chatroom {

// Who runs it.
enum class mode {
    one,  // a single thread
          // (and no locks)
    many, // several threads
};

// Section heading, then a blank line: not a doc comment.

struct options {
    // Bounds: max_bytes for a line, max_lines for a burst.
    int max_bytes = 1;
    int max_lines = 2;
    // Named in the welcome; not the one after.
    int name = 3;
    int other = 4;
    int done = 5; // already trailing

    void f() {
        // inside a body: left alone
        int x = 0; // this too
        (void)x;
    }
};

// A nested namespace's comment documents it.
namespace inner {
}

// An example:
//   int x = f();
//   g(x);
int example();

namespace detail {
// internals: left alone
int hidden();
}

} // namespace chatroom
"""

AFTER = """#pragma once

/// @file
/// What this header is for.
#include <string>

namespace chatroom {

/// Who runs it.
enum class mode {
    one,  ///< a single thread
          ///< (and no locks)
    many, ///< several threads
};

// Section heading, then a blank line: not a doc comment.

struct options {
    ///@{
    /// Bounds: max_bytes for a line, max_lines for a burst.
    int max_bytes = 1;
    int max_lines = 2;
    ///@}
    /// Named in the welcome; not the one after.
    int name = 3;
    int other = 4;
    int done = 5; ///< already trailing

    void f() {
        // inside a body: left alone
        int x = 0; // this too
        (void)x;
    }
};

/// A nested namespace's comment documents it.
namespace inner {
}

/// An example:
/// @code
///   int x = f();
///   g(x);
/// @endcode
int example();

namespace detail {
// internals: left alone
int hidden();
}

} // namespace chatroom
"""

got = "\n".join(dc.convert(BEFORE.split("\n")))
failures = 0
if got != AFTER:
    failures += 1
    print("FAIL conversion; got:")
    for n, (a, b) in enumerate(zip(got.split("\n"), AFTER.split("\n")), 1):
        if a != b:
            print(f"  line {n}: got {a!r}, want {b!r}")
again = "\n".join(dc.convert(AFTER.split("\n")))
if again != AFTER:
    failures += 1
    print("FAIL a second run changed the result")
print("doc_comments.py: " + ("ok" if not failures else f"{failures} failure(s)"))
sys.exit(1 if failures else 0)
