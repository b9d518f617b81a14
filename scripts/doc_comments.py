#!/usr/bin/env python3
"""Turns the plain // comments that document declarations in chatroom's
public headers into doxygen comments, in place. Run it on a header before
adding it to docs/api/Doxyfile's INPUT (see the PENDING list there):

    python3 scripts/doc_comments.py include/chatroom/server.hpp ...

What changes, outside function bodies and namespace detail:
  - a run of // lines right above a declaration (or a nested namespace)
    becomes ///; the first comment of a file at file scope, before any
    declaration, becomes the file's documentation (/// @file);
  - when such a comment is above several declarations, one a line, with
    no blank line or comment between them, and names the ones after the
    first (`// Past soft_queue_bytes ... for max_sender_pause` above three
    fields), those become a member group, ///@{ ... ///@}, and share it
    (DISTRIBUTE_GROUP_DOC); a declaration it does not name is left
    undocumented, for doxygen to report and a person to document;
  - a trailing comment after a declaration (`bool op = false; // ...`),
    and the // lines aligned under it, become ///<.
An indented run of comment lines with a statement in it (an example)
becomes a @code block. Comments separated from the code by a blank line
(section headings, notes), comments inside namespace detail, and comments
that are already ///, //! or /* */ stay as they are.
The script is idempotent. --check only reports files it would change.
"""
import re
import sys

COMMENT = re.compile(r"^(\s*)//(?![/!])\s?(.*)$")
TRAILING = re.compile(r"^(.*?\S)(\s+)//(?![/!<])\s?(.*)$")
SCOPE_OPENER = re.compile(r"\b(namespace|struct|class|union|enum)\b")
NOT_DECL = re.compile(r"^\s*(#|}|public:|private:|protected:|namespace\b|$)")
NESTED_NAMESPACE = re.compile(r"^\s*namespace\s+(?!detail\b)\w+\s*{")


def code_part(line):
    """The line without string and character literals and // comments."""
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
    return line.split("//", 1)[0]


def declared_name(line):
    """The name a one-line declaration declares: a function's or a variable's."""
    m = re.search(r"(~?\w+)\s*(\(|=|\{|;|\[)", code_part(line))
    return m.group(1) if m else None


def convert(lines):
    out = []
    stack = []          # True for a scope (namespace, class, enum), False for a body
    in_body = lambda: not all(stack)
    seen_decl = False
    file_doc_done = any(re.match(r"\s*///\s*@file", l) for l in lines)
    pending = []        # a run of // comment lines: (index, indent, text)
    trailing_col = None # the column of the last ///< converted, for its continuation lines
    i = 0

    def flush_pending(as_doc):
        nonlocal pending
        if not as_doc:
            for _, indent, text in pending:
                out.append(f"{indent}//{(' ' + text) if text else ''}")
            pending = []
            return
        k = 0
        while k < len(pending):
            _, indent, text = pending[k]
            # An indented run with a statement in it is example code.
            run = k
            while run < len(pending) and pending[run][2].startswith("  "):
                run += 1
            if run > k and any(t.rstrip().endswith(";") or "; //" in t for _, _, t in pending[k:run]):
                out.append(f"{indent}/// @code")
                out.extend(f"{ind}/// {t}" for _, ind, t in pending[k:run])
                out.append(f"{indent}/// @endcode")
                k = run
                continue
            out.append(f"{indent}///{(' ' + text) if text else ''}")
            k += 1
        pending = []

    while i < len(lines):
        line = lines[i]
        m = COMMENT.match(line)
        if m and not in_body():
            if trailing_col is not None and len(m.group(1)) == trailing_col and not pending:
                out.append(f"{m.group(1)}///< {m.group(2)}".rstrip())
                i += 1
                continue
            trailing_col = None
            pending.append((i, m.group(1), m.group(2)))
            i += 1
            continue
        trailing_col = None
        if pending:
            indent = pending[0][1]
            nxt = line
            if not file_doc_done and not seen_decl and not stack:
                # The file's own comment: documents the file.
                if re.match(r"^\s*(#|namespace\b|$)", nxt) or not nxt.strip():
                    out.append(f"{indent}/// @file")
                    flush_pending(True)
                    file_doc_done = True
                else:
                    flush_pending(True)
            elif stack and not in_body() and NESTED_NAMESPACE.match(nxt):
                flush_pending(True)
            elif nxt.strip() and not NOT_DECL.match(nxt) and not in_body():
                # A comment right above a declaration; more than one
                # declaration under it, one per line, makes a group.
                run = [i]
                if code_part(nxt).rstrip().endswith((";", "{}")) and not TRAILING.match(nxt):
                    j = i + 1
                    while j < len(lines):
                        l = lines[j]
                        if (not l.strip() or COMMENT.match(l) or NOT_DECL.match(l) or TRAILING.match(l)
                                or len(l) - len(l.lstrip()) != len(nxt) - len(nxt.lstrip())
                                or not code_part(l).rstrip().endswith((";", "{}"))):
                            break
                        # Only declarations the comment names join it.
                        name = declared_name(l)
                        comment = " ".join(text for _, _, text in pending)
                        if not name or not re.search(rf"\b{re.escape(name)}\b", comment):
                            break
                        run.append(j)
                        j += 1
                if len(run) > 1:
                    out.append(f"{indent}///@{{")
                    flush_pending(True)
                    for k in run:
                        out.append(lines[k])
                    out.append(f"{indent}///@}}")
                    seen_decl = True
                    i = run[-1] + 1
                    continue
                flush_pending(True)
            else:
                flush_pending(False)
        # A declaration line (outside bodies) with a trailing comment.
        if not in_body() and not COMMENT.match(line):
            t = TRAILING.match(line)
            if t and not NOT_DECL.match(line) and "///" not in line and code_part(t.group(1)) == t.group(1):
                line = f"{t.group(1)}{t.group(2)}///< {t.group(3)}".rstrip()
                trailing_col = len(t.group(1)) + len(t.group(2))
        if line.strip() and not NOT_DECL.match(line) and not in_body():
            seen_decl = True
        out.append(line)
        # Track scopes: a { on a line that names namespace/struct/class/enum
        # opens a scope, any other { a body.
        code = code_part(line)
        for ch in code:
            if ch == "{":
                # namespace detail is internals: treated like a body, left alone.
                stack.append(bool(SCOPE_OPENER.search(code)) and not in_body()
                             and not re.search(r"\bnamespace\s+detail\b", code))
            elif ch == "}" and stack:
                stack.pop()
        i += 1
    if pending:
        flush_pending(False)
    return out


def main(argv):
    check = "--check" in argv
    files = [a for a in argv if a != "--check"]
    if not files:
        print(__doc__)
        return 2
    changed = []
    for path in files:
        with open(path) as f:
            text = f.read()
        new = "\n".join(convert(text.split("\n")))
        if new != text:
            changed.append(path)
            if not check:
                with open(path, "w") as f:
                    f.write(new)
    for path in changed:
        print(("would change " if check else "changed ") + path)
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
