#!/usr/bin/python3
"""The chat page served gzip-compressed, against a real chatroom-server.

Usage: test_web_gzip.py --server PATH/TO/chatroom-server [--chromium]

Starts chatroom-server on loopback (port 0) and fetches GET / over raw
http.client connections (which add no Accept-Encoding of their own):
- without Accept-Encoding, and with ones that refuse gzip (gzip;q=0,
  identity), the page comes plain, with no Content-Encoding;
- with Accept-Encoding: gzip (or *, or x-gzip), it comes with
  Content-Encoding: gzip, and Python's gzip module inflates it to exactly the
  plain body; it is under 40 KB;
- both carry Vary: Accept-Encoding, the same CSP, and different ETags (the
  gzip one ends in -gz"); each variant's If-None-Match is answered 304 with
  no body only for that variant;
- HEAD gives each variant's head with the GET's Content-Length and no body.
With --chromium (Debian's chromium, chromium-driver, python3-selenium), the
page in headless Chromium as well: its navigation entry shows the gzip body
received (encodedBodySize) and the plain one decoded, the script runs (under
the CSP's hash) and joins the lobby, a reload is a 304 revalidation, and the
console stays clean.
Prints the sizes: plain, served gzip, and of the same bytes zlib's level 9
(Python's gzip module) and, when installed, GNU `gzip -9 -n`. Exits 1 on any failure.
"""
import gzip
import http.client
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

PATIENCE = 30.0
SIZE_LIMIT = 40 * 1024


def fetch(port, headers=None, method="GET"):
    """(status, {lowercase name: value}, body) of one request to / on its own connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)
    try:
        c.putrequest(method, "/", skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            c.putheader(name, value)
        c.endheaders()
        r = c.getresponse()
        fields = {k.lower(): v for k, v in r.getheaders()}
        return r.status, fields, r.read()
    finally:
        c.close()


NAVIGATION_JS = ("const n = performance.getEntriesByType('navigation')[0];"
                 "return [n.transferSize, n.encodedBodySize, n.decodedBodySize];")


def in_chromium(port, plain, gz):
    """The page in headless Chromium: gzip received, plain decoded, script run, 304 on reload."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from test_browser import Browser
    b = Browser("gz")
    try:
        b.open("http://127.0.0.1:%d/" % port)
        transfer, encoded, decoded = b.driver.execute_script(NAVIGATION_JS)
        assert (encoded, decoded) == (len(gz), len(plain)), (transfer, encoded, decoded, len(gz), len(plain))
        assert transfer > len(gz), transfer
        b.driver.find_element(By.ID, "ln").send_keys("gz" + Keys.ENTER)
        b.wait(lambda x: "#lobby" in x.rooms(), "#lobby in the room list")
        b.driver.refresh()
        transfer, encoded, decoded = b.driver.execute_script(NAVIGATION_JS)
        assert decoded == len(plain) and transfer < 1024, ("the reload was not a 304", transfer, encoded, decoded)
        b.wait(lambda x: "#lobby" in x.rooms(), "#lobby in the room list after the reload")
        bad = [e for e in b.collect_console() if e.get("level") == "SEVERE"]
        assert not bad, bad
    finally:
        b.quit()


def main(argv):
    chromium = "--chromium" in argv
    argv = [a for a in argv if a != "--chromium"]
    if len(argv) != 3 or argv[1] != "--server":
        print(__doc__)
        return 2
    checks = kit.CheckRunner(tracebacks=False)
    proc = kit.ServerProcess([os.path.abspath(argv[2])], PATIENCE, prefix="chatroom-web-gzip-")
    try:
        proc.start("--port", 0, "--web-port", 0, "--bind", "127.0.0.1", "--web-bind", "127.0.0.1", want=("tcp", "web"))
        port = proc.ports["web"]
        status, plain_head, plain = fetch(port)
        gz_status, gz_head, gz = fetch(port, {"Accept-Encoding": "gzip, deflate, br"})

        def plain_without_gzip():
            assert status == 200, status
            assert "content-encoding" not in plain_head, plain_head
            assert plain_head.get("vary") == "Accept-Encoding", plain_head
            assert int(plain_head["content-length"]) == len(plain)
            assert plain.lower().startswith(b"<!doctype html>"), plain[:40]
            for refusal in ("gzip;q=0", "identity", "gzip;q=0, *", "br, *;q=0", "deflate"):
                s, h, b = fetch(port, {"Accept-Encoding": refusal})
                assert s == 200 and "content-encoding" not in h and b == plain, (refusal, s, h)

        def gzip_when_accepted():
            assert gz_status == 200, gz_status
            assert gz_head.get("content-encoding") == "gzip", gz_head
            assert gz_head.get("vary") == "Accept-Encoding", gz_head
            assert int(gz_head["content-length"]) == len(gz)
            assert gzip.decompress(gz) == plain, "the gzip body does not inflate to the plain one"
            assert len(gz) < SIZE_LIMIT, len(gz)
            assert gz_head["content-security-policy"] == plain_head["content-security-policy"]
            for accept in ("*", "x-gzip", "GZIP;q=0.5, br;q=1", "br;q=1.0, gzip;q=0.001"):
                s, h, b = fetch(port, {"Accept-Encoding": accept})
                assert s == 200 and h.get("content-encoding") == "gzip" and b == gz, (accept, s, h)

        def etags_and_304():
            plain_tag, gz_tag = plain_head["etag"], gz_head["etag"]
            assert plain_tag != gz_tag and gz_tag == plain_tag[:-1] + '-gz"', (plain_tag, gz_tag)
            for accept, tag, body in ((None, plain_tag, plain), ("gzip", gz_tag, gz)):
                base = {"Accept-Encoding": accept} if accept else {}
                s, h, b = fetch(port, dict(base, **{"If-None-Match": tag}))
                assert s == 304 and b == b"" and h.get("etag") == tag, (accept, s, h)
                assert h.get("vary") == "Accept-Encoding" and "content-length" not in h, h
                other = gz_tag if tag == plain_tag else plain_tag
                s, h, b = fetch(port, dict(base, **{"If-None-Match": other}))
                assert s == 200 and b == body and h.get("etag") == tag, (accept, s, h)

        def head_requests():
            for accept, head, body in ((None, plain_head, plain), ("gzip", gz_head, gz)):
                s, h, b = fetch(port, {"Accept-Encoding": accept} if accept else {}, method="HEAD")
                assert s == 200 and b == b"", (accept, s, len(b))
                assert int(h["content-length"]) == len(body), (accept, h)
                assert h.get("content-encoding") == head.get("content-encoding") and h["etag"] == head["etag"], h

        checks.run("GET / without gzip in Accept-Encoding is the plain page", plain_without_gzip)
        checks.run("GET / with gzip accepted is gzip that inflates to the plain page", gzip_when_accepted)
        checks.run("each variant has its own ETag and its own 304", etags_and_304)
        checks.run("HEAD gives each variant's head and Content-Length, no body", head_requests)
        if chromium:
            checks.run("headless Chromium receives the gzip page, runs it and revalidates it with a 304",
                       in_chromium, port, plain, gz)
        if status == 200 and gz_status == 200:
            line = "page: %d bytes plain, %d served gzip, %d zlib level 9 (Python's gzip.compress)" % (
                len(plain), len(gz), len(gzip.compress(plain, compresslevel=9, mtime=0)))
            if shutil.which("gzip"):
                cli = subprocess.run(["gzip", "-9", "-n", "-c"], input=plain, stdout=subprocess.PIPE, check=True)
                line += ", %d gzip -9 -n" % len(cli.stdout)
            print(line)
        proc.stop()
    finally:
        proc.close()
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
