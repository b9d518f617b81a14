#!/usr/bin/env python3
"""Every ```cpp block of a Markdown file compiles.

A block is compiled the way the HTML comment on the line before its fence
says (the comment does not show on a rendered page):

    (no comment)                       the block is a whole translation unit
    <!-- compile: in CONTEXT -->       a fragment: CONTEXT (a file beside this
                                       script) is a translation unit with the
                                       line `// README BLOCK` where the block
                                       goes (into a function body, after
                                       declarations of the names the fragment
                                       uses); the block's #include lines go
                                       to `// README INCLUDES`
    <!-- compile: no, REASON -->       not compiled; say why. Keep these few

Each block is compiled with #line directives, so an error names the line of
the Markdown file. Usage:

    check_code_blocks.py FILE.md CXX [CXXFLAGS...]

It prints each block's line and verdict, and exits 1 if any block failed.
"""
import pathlib
import re
import subprocess
import sys
import tempfile

here = pathlib.Path(__file__).resolve().parent
md_path = pathlib.Path(sys.argv[1]).resolve()
cxx, flags = sys.argv[2], sys.argv[3:]

FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
MARK = re.compile(r"^\s*<!--\s*compile:\s*(.*?)\s*-->\s*$")


def blocks(lines):
    """Yields (first line number, indent, language, marker, body lines)."""
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        marker = None
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and MARK.match(lines[j]):
            marker = MARK.match(lines[j]).group(1)
        body, k = [], i + 1
        while k < len(lines) and not re.match(rf"^{re.escape(indent)}```\s*$", lines[k]):
            body.append(lines[k][len(indent):] if lines[k].startswith(indent) else lines[k].lstrip())
            k += 1
        yield i + 2, lang, marker, body  # the body's first line, 1-based
        i = k + 1


def source_of(first_line, marker, body):
    where = f'#line {first_line} "{md_path.name}"'
    if marker is None:
        return "\n".join([where] + body) + "\n"
    m = re.fullmatch(r"in\s+(\S+)", marker)
    if not m:
        raise ValueError(f"unknown marker <!-- compile: {marker} -->")
    context_file = here / m.group(1)
    context = context_file.read_text().splitlines()
    includes = [(n, line) for n, line in enumerate(body) if line.lstrip().startswith("#include")]
    rest = [line if not line.lstrip().startswith("#include") else "" for line in body]
    out = []
    for n, line in enumerate(context, 1):
        if line.strip() == "// README INCLUDES":
            for bn, inc in includes:
                out += [f'#line {first_line + bn} "{md_path.name}"', inc]
            out.append(f'#line {n + 1} "{context_file.name}"')
        elif line.strip() == "// README BLOCK":
            out += [where] + rest + [f'#line {n + 1} "{context_file.name}"']
        else:
            out.append(line)
    return "\n".join(out) + "\n"


lines = md_path.read_text().splitlines()
failed = compiled = skipped = 0
with tempfile.TemporaryDirectory() as tmp:
    for first_line, lang, marker, body in blocks(lines):
        if lang != "cpp":
            continue
        label = f"{md_path.name}:{first_line - 1}"
        if marker is not None and re.match(r"no\b", marker):
            if not re.match(r"no,\s*\S", marker):
                print(f"FAIL {label}: a block left uncompiled must say why (<!-- compile: no, REASON -->)")
                failed += 1
            else:
                print(f"skip {label}: {marker}")
                skipped += 1
            continue
        try:
            src = source_of(first_line, marker, body)
        except (ValueError, OSError) as e:
            print(f"FAIL {label}: {e}")
            failed += 1
            continue
        path = pathlib.Path(tmp) / f"block_{first_line}.cpp"
        path.write_text(src)
        r = subprocess.run([cxx, *flags, "-fsyntax-only", str(path)], capture_output=True, text=True)
        compiled += 1
        if r.returncode == 0:
            print(f"ok   {label}" + (f" ({marker})" if marker else ""))
        else:
            failed += 1
            print(f"FAIL {label}" + (f" ({marker})" if marker else ""))
            print(r.stdout + r.stderr)

print(f"{compiled} block(s) compiled, {skipped} skipped, {failed} failed")
if compiled == 0:
    print("FAIL no ```cpp block found")
    sys.exit(1)
sys.exit(1 if failed else 0)
