#!/usr/bin/python3
"""Checks of the built-in chat page (include/chatroom/web/detail/page.hpp and
the parts it joins, web/detail/page/*.hpp).

Usage: test_web_page.py INCLUDE_DIR [--server PATH/TO/chatroom-server] [--print-csp]

Compiles a small program against INCLUDE_DIR that prints web_page_html and
web_page_csp() (C++17 and C++20, -Wall -Wextra -Wpedantic -Werror; both must
print the same) and checks that
- the Content-Security-Policy is the strict one and its sha256 hashes, which
  the header computes, are those this script computes of the exact inline
  <style> and <script>;
- with --server: GET / from a running chatroom-server returns that page with
  that policy, and the policy's hashes are those of the blocks it served;
- the script has no HTML sinks or string evaluation (innerHTML,
  insertAdjacentHTML, document.write, eval, ...), the markup no inline
  handlers or style attributes, and nothing refers to an external URL;
- the page survives scripts/amalgamate.py unchanged, is ASCII and small;
Mutated copies of the page are run through the same checks, which must fail,
so no check passes vacuously. --print-csp prints the policy the header computes. Prints PASS/FAIL lines and
"N passed, M failed"; exits 1 on any failure.
"""
import base64
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

# 40 KB since it asks before sending a multi-line paste, keeps a line the
# connection lost, and logs in with a password (issue 23's leftovers); 36 KB
# since the page reads history (issue 23: "load older", what was missed
# across a reconnect fetched once by id, notifications); 24 KB when it became a
# chat app of its own (rooms, members, unread counts, mentions, a nick form,
# the JSON dialect); 12 KB when it only showed the line protocol's text.
# Still one response, no requests.
SIZE_LIMIT = 40 * 1024

EXPECTED_DIRECTIVES = {
    "default-src": ["'none'"],
    "connect-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'none'"],
}

# Ways to turn a string into markup or code; none may appear in the script.
FORBIDDEN_JS = [
    r"\binnerHTML\b", r"\bouterHTML\b", r"\binsertAdjacentHTML\b", r"\bdocument\s*\.\s*write(ln)?\b",
    r"\beval\s*\(", r"\bFunction\s*\(", r"\bcreateContextualFragment\b", r"\bDOMParser\b", r"\bsrcdoc\b",
    r"\b(setTimeout|setInterval)\s*\(\s*['\"`]", r"javascript:", r"\bimport\s*\(", r"\bimportScripts\b",
]


def sha256_b64(text):
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def inline_blocks(html, tag):
    """(attributes, text) of each <tag ...>text</tag>."""
    return re.findall(r"<%s\b([^>]*)>(.*?)</%s\s*>" % (tag, tag), html, re.S | re.I)


def parse_csp(csp):
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if not words:
            continue
        if words[0] in directives:
            raise ValueError("directive %s given twice" % words[0])
        directives[words[0]] = words[1:]
    return directives


def policy_for(html):
    (_, style), = inline_blocks(html, "style")
    (_, script), = inline_blocks(html, "script")
    return ("default-src 'none'; connect-src 'self'; img-src 'self' data:; style-src 'sha256-%s'; "
            "script-src 'sha256-%s'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            % (sha256_b64(style), sha256_b64(script)))


def markup_only(html):
    """The page without the text of its <style> and <script> elements."""
    return re.sub(r"(<(style|script)\b[^>]*>).*?(</\2\s*>)", r"\1\3", html, flags=re.S | re.I)


# ---- the checks: each returns a list of problems (empty: passed) -----------

def check_document(html, csp):
    problems = []
    if not html.lower().startswith("<!doctype html>"):
        problems.append("does not start with <!doctype html>")
    if not re.search(r'<html\s+lang="[a-z-]+"', html):
        problems.append("no <html lang=...>")
    if '<meta charset="utf-8">' not in html.lower():
        problems.append('no <meta charset="utf-8">')
    if not re.search(r'<meta name="viewport" content="width=device-width[^"]*initial-scale=1', html):
        problems.append("no viewport meta for phones")
    for tag in ("input", "main", "header", "nav", "form", "h1"):
        if not re.search(r"<%s\b" % tag, html):
            problems.append("no <%s>" % tag)
    return problems


def check_inline_blocks(html, csp):
    problems = []
    styles, scripts = inline_blocks(html, "style"), inline_blocks(html, "script")
    if len(styles) != 1:
        problems.append("%d <style> elements, expected 1" % len(styles))
    if len(scripts) != 1:
        problems.append("%d <script> elements, expected 1" % len(scripts))
    for attrs, _ in styles + scripts:
        if attrs.strip():
            problems.append("attributes on an inline block: %r" % attrs)
    if len(re.findall(r"<script\b", html, re.I)) != len(scripts):
        problems.append("a <script> element without a closing tag")
    return problems


def check_csp(html, csp):
    problems = []
    try:
        directives = parse_csp(csp)
    except ValueError as e:
        return [str(e)]
    for name, values in EXPECTED_DIRECTIVES.items():
        if directives.get(name) != values:
            problems.append("%s is %r, expected %r" % (name, directives.get(name), values))
    extra = set(directives) - set(EXPECTED_DIRECTIVES) - {"style-src", "script-src"}
    if extra:
        problems.append("unexpected directives: %s" % sorted(extra))
    for tag in ("style", "script"):
        blocks = inline_blocks(html, tag)
        if len(blocks) != 1:
            problems.append("cannot hash %d <%s> blocks" % (len(blocks), tag))
            continue
        want = ["'sha256-%s'" % sha256_b64(blocks[0][1])]
        if directives.get(tag + "-src") != want:
            problems.append("%s-src is %r; the page's <%s> needs %r" % (tag, directives.get(tag + "-src"), tag, want))
    if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp or "*" in csp:
        problems.append("the policy allows unsafe-inline, unsafe-eval or a wildcard")
    return problems


def check_no_sinks(html, csp):
    problems = []
    scripts = inline_blocks(html, "script")
    script = scripts[0][1] if scripts else ""
    for pattern in FORBIDDEN_JS:
        for m in re.finditer(pattern, script):
            problems.append("script uses %r" % m.group(0))
    if "textContent" not in script:
        problems.append("script never sets textContent")
    markup = markup_only(html)
    for m in re.finditer(r"<[a-z][^>]*\s(on[a-z]+)\s*=", markup, re.I):
        problems.append("inline event handler %s" % m.group(1))
    for m in re.finditer(r"<[a-z][^>]*\sstyle\s*=", markup, re.I):
        problems.append("style attribute (the policy blocks it): %s" % m.group(0)[:60])
    return problems


def check_no_external_urls(html, csp):
    problems = []
    for m in re.finditer(r"[A-Za-z][A-Za-z0-9+.-]*://", html):
        after = html[m.end():m.end() + 1]
        if m.group(0) not in ("ws://", "wss://") or after not in ("'", '"'):
            problems.append("URL in the page: %r" % html[m.start():m.end() + 30])
    for m in re.finditer(r"\s(src|href|action|formaction|srcset|poster|data)\s*=\s*(\"[^\"]*\"|'[^']*'|\S+)",
                         markup_only(html), re.I):
        value = m.group(2).strip("\"'")
        if not value.startswith("data:"):
            problems.append("%s=%s refers to a resource" % (m.group(1), m.group(2)))
    for pattern in (r"@import", r"url\s*\(", r"\bfetch\s*\(", r"XMLHttpRequest", r"sendBeacon", r"EventSource",
                    r"\bnew\s+(Image|Worker|SharedWorker)\b", r"\.src\s*="):
        for m in re.finditer(pattern, html):
            problems.append("page loads something: %r" % m.group(0))
    return problems


def check_websocket_url(html, csp):
    problems = []
    script = inline_blocks(html, "script")[0][1] if inline_blocks(html, "script") else ""
    if not re.search(r"location\.protocol\s*===\s*'https:'\s*\?\s*'wss://'\s*:\s*'ws://'", script):
        problems.append("the WebSocket scheme does not follow the page's (wss for https)")
    if not re.search(r"location\.host\s*\+\s*'/ws'", script):
        problems.append("the WebSocket URL is not location.host + '/ws'")
    if len(re.findall(r"new\s+WebSocket\s*\(", script)) != 1:
        problems.append("expected exactly one new WebSocket(...)")
    return problems


def check_portable(html, csp):
    problems = []
    size = len(html.encode("utf-8"))
    if size >= SIZE_LIMIT:
        problems.append("page is %d bytes, limit %d" % (size, SIZE_LIMIT))
    if any(ord(c) > 127 for c in html + csp):
        problems.append("page or policy is not ASCII (use entities or \\u escapes)")
    if "\r" in html:
        problems.append("CR in the page: browsers normalize it, the hashes would not match")
    # scripts/amalgamate.py collapses 3+ newlines and inlines/drops these lines.
    if "\n\n\n" in html:
        problems.append("two blank lines in a row (the amalgamation collapses them)")
    for m in re.finditer(r"^\s*#\s*(include\s*<chatroom/|pragma\s+once).*$", html, re.M):
        problems.append("line the amalgamation rewrites: %r" % m.group(0))
    return problems


CHECKS = [
    ("page is an HTML document for phones and desktops", check_document),
    ("one inline <style> and one inline <script>, without attributes", check_inline_blocks),
    ("the policy is strict and its hashes match the inline style and script", check_csp),
    ("no HTML sinks, no string evaluation, no inline handlers or style attributes", check_no_sinks),
    ("no external URLs or resource loads", check_no_external_urls),
    ("the WebSocket goes to the page's own host at /ws, wss under https", check_websocket_url),
    ("page is ASCII, under %d KB and survives the amalgamation" % (SIZE_LIMIT // 1024), check_portable),
]

# Each mutation must make the named check fail.
MUTATIONS = [
    ("editing the style without the policy", check_csp, lambda h: h.replace("</style>", "b{}</style>", 1)),
    ("editing the script without the policy", check_csp, lambda h: h.replace("</script>", ";</script>", 1)),
    ("innerHTML", check_no_sinks, lambda h: h.replace("</script>", "x.innerHTML = y;</script>", 1)),
    ("insertAdjacentHTML", check_no_sinks, lambda h: h.replace("</script>", "x.insertAdjacentHTML(1, y);</script>", 1)),
    ("document.write", check_no_sinks, lambda h: h.replace("</script>", "document.write(y);</script>", 1)),
    ("eval", check_no_sinks, lambda h: h.replace("</script>", "eval(y);</script>", 1)),
    ("an inline handler", check_no_sinks, lambda h: h.replace("<form ", '<form onsubmit="go()" ', 1)),
    ("an external script", check_no_external_urls,
     lambda h: h.replace("</head>", '<script src="https://cdn.example/x.js"></script></head>', 1)),
    ("an external stylesheet", check_no_external_urls,
     lambda h: h.replace("</head>", '<link rel="stylesheet" href="//cdn.example/x.css"></head>', 1)),
    ("a CSS url()", check_no_external_urls, lambda h: h.replace("</style>", "b{background:url(x.png)}</style>", 1)),
    ("a second script", check_inline_blocks, lambda h: h.replace("</body>", "<script>1</script></body>", 1)),
    ("a fixed WebSocket URL", check_websocket_url,
     lambda h: h.replace("location.host + '/ws'", "'example.org/ws'", 1)),
    ("two blank lines", check_portable, lambda h: h.replace("<body>", "<body>\n\n\n", 1)),
]


def compiled_page(include_dir):
    """(html, csp) as a program compiled against include_dir prints them; raises on any failure."""
    compiler = shutil.which("g++") or shutil.which("clang++") or shutil.which("c++")
    if not compiler:
        raise RuntimeError("no C++ compiler (g++, clang++ or c++) to compile the page with")
    source = (
        "#include <chatroom/web/detail/page.hpp>\n"
        "#include <chatroom/web/detail/page.hpp>\n"
        "#include <cstdio>\n"
        "static_assert(chatroom::detail::web_page_html.size() > 0, \"empty page\");\n"
        "int main() {\n"
        "    using namespace chatroom::detail;\n"
        "    std::fwrite(web_page_html.data(), 1, web_page_html.size(), stdout);\n"
        "    std::fputc(0, stdout);\n"
        "    std::fwrite(web_page_csp().data(), 1, web_page_csp().size(), stdout);\n"
        "}\n")
    outputs = []
    with tempfile.TemporaryDirectory(prefix="chatroom-web-page-") as tmp:
        src = os.path.join(tmp, "page.cpp")
        with open(src, "w") as f:
            f.write(source)
        for std in ("c++17", "c++20"):
            exe = os.path.join(tmp, "page-" + std)
            r = subprocess.run([compiler, "-std=" + std, "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                                "-I", str(include_dir), src, "-o", exe],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
            if r.returncode != 0:
                raise RuntimeError("%s -std=%s failed:\n%s" % (compiler, std, r.stdout.decode(errors="replace")))
            outputs.append(subprocess.run([exe], stdout=subprocess.PIPE, timeout=60, check=True).stdout)
    if outputs[0] != outputs[1]:
        raise RuntimeError("C++17 and C++20 builds print different pages")
    html, _, csp = outputs[0].partition(b"\0")
    return html.decode("utf-8"), csp.decode("utf-8")


def served_page(server, patience=30.0):
    """(status, Content-Security-Policy, body) of GET / from chatroom-server started on loopback, port 0."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
    import chatroom_testkit as kit
    import urllib.request
    proc = kit.ServerProcess([os.path.abspath(server)], patience, prefix="chatroom-web-page-")
    try:
        proc.start("--port", 0, "--web-port", 0, "--bind", "127.0.0.1", "--web-bind", "127.0.0.1",
                   want=("tcp", "web"))
        with urllib.request.urlopen("http://127.0.0.1:%d/" % proc.ports["web"], timeout=patience) as r:
            return r.status, r.headers.get("Content-Security-Policy"), r.read().decode("utf-8")
    finally:
        try:
            proc.stop()
        finally:
            proc.close()


def main(argv):
    args, server = [], None
    rest = list(argv[1:])
    while rest:
        a = rest.pop(0)
        if a == "--server" and rest:
            server = rest.pop(0)
        elif not a.startswith("--"):
            args.append(a)
    if len(args) != 1:
        print(__doc__)
        return 2
    html, csp = compiled_page(args[0])
    if "--print-csp" in argv:
        print(policy_for(html))
        return 0

    passed = failed = 0

    def report(name, problems):
        nonlocal passed, failed
        if problems:
            failed += 1
            print("FAIL %s" % name)
            for p in problems:
                print("     %s" % p)
        else:
            passed += 1
            print("PASS %s" % name)

    for name, check in CHECKS:
        report(name, check(html, csp))
    for name, check, mutate in MUTATIONS:
        mutated = mutate(html)
        if mutated == html:
            report("mutation applies: %s" % name, ["the mutation did not change the page"])
            continue
        # Against the policy the unmutated page needs: the mutation is the only fault.
        good_csp = policy_for(html)
        problems = ["the check fails the unmutated page"] if check(html, good_csp) else []
        if not check(mutated, good_csp):
            problems.append("the check passed a bad page")
        report("a page with %s fails %s" % (name, check.__name__), problems)

    if server:
        def served():
            status, served_csp, body = served_page(server)
            problems = [] if status == 200 else ["GET / gave %d" % status]
            if body != html:
                problems.append("GET / is not the compiled web_page_html (%d bytes, not %d)" % (len(body), len(html)))
            if served_csp != csp:
                problems.append("the served policy %r is not web_page_csp() %r" % (served_csp, csp))
            return problems + ["served: " + p for p in check_csp(body, served_csp or "")]
        report("GET / serves the compiled page, with a policy whose hashes are those of the blocks served", served())
    else:
        print("SKIP GET / from chatroom-server (no --server)")

    print("page: %d bytes (style %d, script %d)" % (
        len(html.encode("utf-8")), len(inline_blocks(html, "style")[0][1]), len(inline_blocks(html, "script")[0][1])))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
