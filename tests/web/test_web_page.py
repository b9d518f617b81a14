#!/usr/bin/python3
"""Static checks of the built-in chat page (include/chatroom/web/detail/page.hpp).

Usage: test_web_page.py PATH/TO/web_page.hpp [--print-csp]

Extracts web_page_html and web_page_csp from the header (the single header
works too) and checks that
- the Content-Security-Policy is the strict one and its sha256 hashes are
  those of the exact inline <style> and <script> (editing the page without
  updating the policy fails here, not silently in a browser);
- the script has no HTML sinks or string evaluation (innerHTML,
  insertAdjacentHTML, document.write, eval, ...), the markup no inline
  handlers or style attributes, and nothing refers to an external URL;
- the page survives scripts/amalgamate.py unchanged, is ASCII and small;
- a C++ compiler, if there is one, sees the same bytes (C++17 and C++20,
  -Wall -Wextra -Wpedantic -Werror).
Mutated copies of the page are run through the same checks, which must fail,
so no check passes vacuously. --print-csp prints the policy that matches the
page (to paste into the header after an edit). Prints PASS/FAIL lines and
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

# 36 KB since the page reads history (issue 23: "load older", what was missed
# across a reconnect fetched once by id, notifications); 24 KB when it became a
# chat app of its own (rooms, members, unread counts, mentions, a nick form,
# the JSON dialect); 12 KB when it only showed the line protocol's text.
# Still one response, no requests.
SIZE_LIMIT = 36 * 1024

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


def c_string_literals(text):
    """The value of a sequence of adjacent plain C++ string literals."""
    out = []
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
        value = m.group(1)
        if "\\" in value:
            value = value.encode("latin-1", "backslashreplace").decode("unicode_escape")
        out.append(value)
    return "".join(out)


def extract(header_text):
    m = re.search(r'web_page_html\s*=\s*R"chatroom\((.*?)\)chatroom"', header_text, re.S)
    if not m:
        raise ValueError('no web_page_html = R"chatroom(...)chatroom" in the header')
    html = m.group(1)
    c = re.search(r"web_page_csp\s*=\s*((?:\"(?:[^\"\\\n]|\\.)*\"\s*)+);", header_text)
    if not c:
        raise ValueError("no web_page_csp = \"...\"; in the header")
    return html, c_string_literals(c.group(1))


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
    ("page is ASCII, under 24 KB and survives the amalgamation", check_portable),
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


def compile_check(header_path, html, csp):
    """Problems, or None when no compiler is available or the path is not include/chatroom/web/detail/."""
    compiler = shutil.which("g++") or shutil.which("clang++") or shutil.which("c++")
    p = pathlib.Path(header_path).resolve()
    if not compiler or p.parts[-4:] != ("chatroom", "web", "detail", "page.hpp"):
        return None
    include_root = p.parents[3]
    problems = []
    source = (
        "#include <chatroom/web/detail/page.hpp>\n"
        "#include <chatroom/web/detail/page.hpp>\n"
        "#include <cstdio>\n"
        "static_assert(chatroom::detail::web_page_html.size() > 0, \"empty page\");\n"
        "static_assert(chatroom::detail::web_page_csp.find('\\n') == std::string_view::npos, \"CSP spans lines\");\n"
        "int main() {\n"
        "    using namespace chatroom::detail;\n"
        "    std::fwrite(web_page_html.data(), 1, web_page_html.size(), stdout);\n"
        "    std::fputc(0, stdout);\n"
        "    std::fwrite(web_page_csp.data(), 1, web_page_csp.size(), stdout);\n"
        "}\n")
    with tempfile.TemporaryDirectory(prefix="chatroom-web-page-") as tmp:
        src = os.path.join(tmp, "page.cpp")
        with open(src, "w") as f:
            f.write(source)
        for std in ("c++17", "c++20"):
            exe = os.path.join(tmp, "page-" + std)
            r = subprocess.run([compiler, "-std=" + std, "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                                "-I", str(include_root), src, "-o", exe],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
            if r.returncode != 0:
                problems.append("%s -std=%s failed:\n%s" % (compiler, std, r.stdout.decode(errors="replace")))
                continue
            out = subprocess.run([exe], stdout=subprocess.PIPE, timeout=60).stdout
            got_html, _, got_csp = out.partition(b"\0")
            if got_html.decode("utf-8") != html or got_csp.decode("utf-8") != csp:
                problems.append("-std=%s: the compiled strings differ from the extracted ones" % std)
    return problems


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__)
        return 2
    header_path = args[0]
    with open(header_path, encoding="utf-8") as f:
        html, csp = extract(f.read())
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

    compiled = compile_check(header_path, html, csp)
    if compiled is None:
        print("SKIP compiled strings equal the extracted ones (no C++ compiler, or not include/chatroom/web/detail/)")
    else:
        report("compiled strings equal the extracted ones (C++17, C++20, -Werror)", compiled)

    print("page: %d bytes (style %d, script %d)" % (
        len(html.encode("utf-8")), len(inline_blocks(html, "style")[0][1]), len(inline_blocks(html, "script")[0][1])))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
