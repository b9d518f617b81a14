#!/usr/bin/python3
"""End to end: the built-in chat page in headless Chromium against chatroom-server.

Usage:
    test_browser.py --server PATH/TO/chatroom-server [--screenshot-dir DIR]

Starts `SERVER --port 0 --web-port 0 --bind 127.0.0.1 --web-bind 127.0.0.1`
and reads both ports from its log (tests/support/chatroom_testkit.py). Two browser sessions (a
desktop window and a phone-sized one) and a raw TCP client then chat in every
direction; /nick, /join, /who and /quit are typed into the page; lines with
HTML show literally; the server is stopped with SIGTERM and started again on
the same ports, and the pages must come back by themselves with their nick
and room. Screenshots go to DIR (default: a new directory under /tmp).

Needs Debian's chromium, chromium-driver and python3-selenium; run with
/usr/bin/python3. Every wait has a deadline; every process started here is
stopped by its PID. Prints PASS/FAIL per check, then "N passed, M failed";
exits 1 on any failure.
"""
import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import chatroom_testkit as kit  # noqa: E402
import test_web_page  # noqa: E402

PATIENCE = 30.0  # seconds for any one condition; generous for a loaded 2-core machine
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
GUEST = re.compile(r"^guest-\d+$")


class TcpClient(kit.LineClient):
    """A telnet-style client: CRLF lines out, lines in, each wait bounded."""

    def __init__(self, port):
        super().__init__(port, PATIENCE, errors="replace", name="TCP client")

    def expect(self, pattern):
        """Reads until a line fully matches pattern (a regex); returns (match, lines skipped before it)."""
        line, skipped = self.read_until(lambda l: re.fullmatch(pattern, l), PATIENCE)
        return re.fullmatch(pattern, line), skipped

    def expect_eof(self):
        self.until_closed(PATIENCE)


# The page's contract with this test: #log holds .l rows whose .m is the
# line's text; #nick, #room and #status (data-state: connecting, open, wait,
# closed) make the header.
LINES_JS = """return Array.from(document.querySelectorAll('#log .l'),
                  e => [e.className, e.querySelector('.m').textContent]);"""
HEADER_JS = """const $ = id => document.getElementById(id);
return {nick: $('nick').textContent, room: $('room').textContent,
        state: $('status').dataset.state, status: $('status').textContent};"""


def proc_children(pid):
    """{child pid: its start time} of a process, from /proc (Linux)."""
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids[int(entry)] = fields[19]
    return kids


def kill_if_same(pid, started):
    """SIGKILLs pid if it is still the process that started at `started` (no PID reuse)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[19] != started:
                return
        os.kill(pid, signal.SIGKILL)
    except (OSError, IndexError):
        pass


class Browser:
    """One headless Chromium session with the chat page open."""

    def __init__(self, name, phone=False):
        self.name = name
        self.profile = tempfile.mkdtemp(prefix="chatroom-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     "--disable-extensions", "--user-data-dir=" + self.profile):
            options.add_argument(flag)
        if phone:
            options.add_experimental_option("mobileEmulation", {
                "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0, "touch": True}})
        else:
            options.add_argument("--window-size=1100,720")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.service = Service(executable_path=CHROMEDRIVER)
        self.console = []
        try:
            self.driver = webdriver.Chrome(service=self.service, options=options)
        except Exception:
            self.service.stop()
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        # Chromium is chromedriver's child: remembered so quit() can make sure it is gone.
        self.chromium = proc_children(self.service.process.pid)
        self.driver.set_page_load_timeout(PATIENCE)
        self.driver.set_script_timeout(PATIENCE)

    def open(self, url):
        self.driver.get(url)

    def type(self, text):
        box = self.driver.find_element(By.ID, "i")
        box.send_keys(text + Keys.ENTER)

    def lines(self):
        return [(cls.split(), text) for cls, text in self.driver.execute_script(LINES_JS)]

    def header(self):
        return self.driver.execute_script(HEADER_JS)

    def wait(self, condition, what):
        """Waits until condition(self) is truthy and returns its value."""
        try:
            return WebDriverWait(self.driver, PATIENCE, poll_frequency=0.05).until(lambda _: condition(self))
        except TimeoutException:
            tail = [text for _, text in self.lines()[-12:]]
            raise AssertionError("%s: no %s within %.0f s; header %r; last lines %r"
                                 % (self.name, what, PATIENCE, self.header(), tail)) from None

    def count(self, text, from_server=True):
        return sum(1 for cls, t in self.lines() if t == text and not (from_server and ("self" in cls or "cmd" in cls)))

    def wait_line(self, text, more_than=0):
        """Waits for a line from the server reading exactly text (the more_than+1-th such line)."""
        self.wait(lambda b: b.count(text) > more_than, "line %r" % text)
        return [cls for cls, t in self.lines() if t == text][-1]

    def wait_header(self, **want):
        def matches(b):
            h = b.header()
            for key, value in want.items():
                if hasattr(value, "fullmatch") and not value.fullmatch(h[key]):
                    return False
                if isinstance(value, str) and h[key] != value:
                    return False
            return h
        return self.wait(matches, "header %r" % {k: getattr(v, "pattern", v) for k, v in want.items()})

    def nick_colour(self, nick):
        return self.driver.execute_script(
            "const e = Array.from(document.querySelectorAll('#log .n')).find(e => e.textContent === arguments[0]);"
            "return e ? getComputedStyle(e).color : null;", nick)

    def collect_console(self):
        try:
            self.console += self.driver.get_log("browser")
        except WebDriverException:
            pass
        return self.console

    def screenshot(self, path):
        self.driver.save_screenshot(path)

    def quit(self):
        pid = self.service.process.pid if self.service.process else None
        try:
            self.driver.quit()
        except WebDriverException:
            pass
        # quit() stops Chromium and chromedriver; make sure, by PID, that both are gone.
        if pid is not None and self.service.process.poll() is None:
            os.kill(pid, signal.SIGKILL)
            self.service.process.wait()
        for child, started in self.chromium.items():
            kill_if_same(child, started)
        shutil.rmtree(self.profile, ignore_errors=True)


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=PATIENCE) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="path to chatroom-server")
    parser.add_argument("--screenshot-dir", help="where to save screenshots (default: a new /tmp directory)")
    parser.add_argument("--header", default=os.path.join(HERE, "..", "..", "include", "chatroom", "web", "detail",
                                                         "page.hpp"),
                        help="web/detail/page.hpp, for the page and policy the server must send")
    args = parser.parse_args()
    shots = args.screenshot_dir or tempfile.mkdtemp(prefix="chatroom-screenshots-")
    os.makedirs(shots, exist_ok=True)
    with open(args.header, encoding="utf-8") as f:
        page, csp = test_web_page.extract(f.read())

    server = kit.ServerProcess([os.path.abspath(args.server)], PATIENCE, prefix="chatroom-web-")
    run = kit.CheckRunner(tracebacks=False)

    def url(path="/"):
        return "http://127.0.0.1:%d%s" % (server.ports["web"], path)
    browsers = []
    clients = []
    s = {}  # state shared by the steps

    def tcp():
        c = TcpClient(server.ports["tcp"])
        clients.append(c)
        m, _ = c.expect(r"\* welcome to .*, you are (\S+)")
        c.expect(r"\* joined lobby \(\d+ members?\)")
        return c, m.group(1)

    def start_server():
        """On the ports of the previous run (0 the first time); started again while a port is still taken."""
        server.start("--port", server.ports.get("tcp", 0), "--web-port", server.ports.get("web", 0),
                     "--bind", "127.0.0.1", "--web-bind", "127.0.0.1", want=("tcp", "web"), retry=True)
        print("     server: tcp port %d, web port %d" % (server.ports["tcp"], server.ports["web"]))

    def serves_page():
        status, headers, body = http_get(url("/"))
        assert status == 200, "GET / gave %d" % status
        assert headers.get("Content-Type", "").startswith("text/html"), headers.get("Content-Type")
        assert headers.get("Content-Security-Policy") == csp, \
            "Content-Security-Policy is %r, web_page_csp is %r" % (headers.get("Content-Security-Policy"), csp)
        assert headers.get("X-Content-Type-Options") == "nosniff", headers.get("X-Content-Type-Options")
        assert body.decode("utf-8") == page, "GET / is not web_page_html"
        status, _, body = http_get(url("/healthz"))
        assert status == 200, "GET /healthz gave %d" % status
        status, _, _ = http_get(url("/no-such-file"))
        assert status == 404, "GET /no-such-file gave %d" % status

    def arrive():
        a = Browser("desktop")
        browsers.append(a)
        b = Browser("phone", phone=True)
        browsers.append(b)
        a.open(url("/"))
        ha = a.wait_header(nick=GUEST, room="lobby", state="open")
        a.wait_line("* joined lobby (1 member)")
        b.open(url("/"))
        hb = b.wait_header(nick=GUEST, room="lobby", state="open")
        b.wait_line("* joined lobby (2 members)")
        a.wait_line("* %s joined" % hb["nick"])
        t, tn = tcp()
        for x in (a, b):
            x.wait_line("* %s joined" % tn)
        s.update(a=a, b=b, t=t, an=ha["nick"], bn=hb["nick"], tn=tn)

    def rename():
        a, b, t = s["a"], s["b"], s["t"]
        a.type("/nick alice")
        a.wait_header(nick="alice")
        line = "* %s is now known as alice" % s["an"]
        b.wait_line(line)
        t.expect(re.escape(line))
        b.type("/nick bob")
        b.wait_header(nick="bob")
        line = "* %s is now known as bob" % s["bn"]
        a.wait_line(line)
        t.expect(re.escape(line))
        t.send("/nick tom")
        t.expect(re.escape("* %s is now known as tom" % s["tn"]))
        for x in (a, b):
            x.wait_line("* %s is now known as tom" % s["tn"])

    def chat_all_directions():
        a, b, t = s["a"], s["b"], s["t"]
        a.type("hello from the desktop")
        cls = b.wait_line("<alice> hello from the desktop")
        assert "chat" in cls, cls
        t.expect(re.escape("<alice> hello from the desktop"))
        assert a.count("<alice> hello from the desktop", from_server=False) == 1, "the sender sees its own line once"
        b.type("hello from the phone")
        a.wait_line("<bob> hello from the phone")
        t.expect(re.escape("<bob> hello from the phone"))
        t.send("hello from telnet")
        a.wait_line("<tom> hello from telnet")
        b.wait_line("<tom> hello from telnet")
        a.type("//slash at the start")
        b.wait_line("<alice> /slash at the start")
        t.expect(re.escape("<alice> /slash at the start"))

    def stable_colours():
        a, b = s["a"], s["b"]
        for nick in ("tom", "alice", "bob"):
            ca, cb = a.nick_colour(nick), b.nick_colour(nick)
            assert ca and ca == cb, "%s is %r on the desktop and %r on the phone" % (nick, ca, cb)
        assert len({a.nick_colour(n) for n in ("tom", "alice", "bob")}) > 1, "every nick has the same colour"

    def html_literal():
        a, b, t = s["a"], s["b"], s["t"]
        evil = "<b>bold</b><script>x</script>"
        t.send(evil)
        for x in (a, b):
            x.wait_line("<tom> " + evil)
        a.type("<i>it</i><img src=x onerror=alert(1)>")
        b.wait_line("<alice> <i>it</i><img src=x onerror=alert(1)>")
        t.expect(re.escape("<alice> <i>it</i><img src=x onerror=alert(1)>"))
        for x in (a, b):
            found = x.driver.execute_script(
                "return document.querySelectorAll('#log b, #log i, #log img, #log script').length")
            assert found == 0, "%s: %d elements made from chat text" % (x.name, found)
            try:
                x.driver.switch_to.alert
                raise AssertionError("%s: an alert opened" % x.name)
            except NoAlertPresentException:
                pass

    def styles():
        a, t = s["a"], s["t"]
        t.send("/msg alice psst, only you")
        cls = a.wait_line("*tom* psst, only you")
        assert "priv" in cls, "private message classes %r" % cls
        a.type("/bogus")
        cls = a.wait_line("! unknown command: /bogus (try /help)")
        assert "err" in cls, "error classes %r" % cls
        cls = a.wait_line("* %s joined" % s["bn"])
        assert "notice" in cls, "join notice classes %r" % cls
        colours = a.driver.execute_script(
            "const c = s => getComputedStyle(document.querySelector('#log .l.' + s + ' .m')).color;"
            "return [c('err'), c('notice'), c('chat')];")
        err, notice, chat = colours
        r, g, bl = [int(v) for v in re.findall(r"\d+", err)[:3]]
        assert r > 150 and r > 2 * g and r > 2 * bl, "errors are not red: %s" % err
        assert notice != chat, "notices look like chat (%s)" % notice
        bg = a.driver.execute_script(
            "return getComputedStyle(document.querySelector('#log .l.priv .m')).backgroundColor")
        assert bg not in ("rgba(0, 0, 0, 0)", "transparent"), "private messages are not highlighted"

    def who():
        s["a"].type("/who")
        s["a"].wait_line("* in lobby: alice, bob, tom")

    def join():
        a, b, t = s["a"], s["b"], s["t"]
        a.type("/join dev")
        a.wait_header(room="dev")
        a.wait_line("* joined dev (1 member)")
        b.wait_line("* alice left")
        t.expect(re.escape("* alice left"))
        b.type("/join #dev")
        b.wait_header(room="dev")
        a.wait_line("* bob joined")
        t.expect(re.escape("* bob left"))
        a.type("just us in dev")
        b.wait_line("<alice> just us in dev")
        t.send("/who")
        _, skipped = t.expect(re.escape("* in lobby: tom"))
        assert not skipped, "the lobby got lines from dev: %r" % skipped

    def screenshots():
        a, b = s["a"], s["b"]
        a.type("/me takes a screenshot")
        b.wait_line("* alice takes a screenshot")
        a.screenshot(os.path.join(shots, "web-desktop.png"))
        b.screenshot(os.path.join(shots, "web-phone.png"))
        dark = [{"name": "prefers-color-scheme", "value": "dark"}]
        b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": dark})
        b.wait(lambda x: x.driver.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches"),
               "dark colour scheme")
        b.screenshot(os.path.join(shots, "web-phone-dark.png"))
        b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        layout = b.driver.execute_script(
            "const i = document.getElementById('i').getBoundingClientRect();"
            "const h = document.querySelector('header').getBoundingClientRect();"
            "return {vw: innerWidth, sw: document.documentElement.scrollWidth, vh: innerHeight,"
            " inputBottom: i.bottom, headerTop: h.top, headerBottom: h.bottom};")
        assert layout["vw"] == 390, "phone viewport is %r wide" % layout["vw"]
        assert layout["sw"] <= layout["vw"], "the phone page scrolls sideways: %r" % layout
        assert layout["vh"] - 80 < layout["inputBottom"] <= layout["vh"], "input is not at the bottom: %r" % layout
        assert layout["headerTop"] == 0, "header is not at the top: %r" % layout
        print("     screenshots: %s" % ", ".join(os.path.join(shots, n)
                                              for n in ("web-desktop.png", "web-phone.png", "web-phone-dark.png")))

    def restart():
        a, b, t = s["a"], s["b"], s["t"]
        before = {x.name: x.count("* server shutting down") for x in (a, b)}
        status = server.stop()
        assert status == 0, "server exited with %r after SIGTERM; log:\n%s" % (status, server.text()[-3000:])
        t.expect_eof()
        for x in (a, b):
            x.wait_line("* server shutting down", more_than=before[x.name])
            h = x.wait_header(state="wait")
            assert re.fullmatch(r"reconnecting in \d+ s\u2026.*", h["status"]), "status reads %r" % h["status"]
        # The first retry comes within 0.65 s, so a wait of 2 s or more shows the backoff growing.
        a.wait(lambda x: int(re.search(r"\d+", x.header()["status"] + " 0").group()) >= 2,
               "longer retry delay while the server is down")
        a.screenshot(os.path.join(shots, "web-reconnecting.png"))
        start_server()
        for x, nick in ((a, "alice"), (b, "bob")):
            x.wait_header(nick=nick, room="dev", state="open")
        a.type("/who")
        a.wait_line("* in dev: alice, bob")
        t2, _ = tcp()
        s["t"] = t2
        t2.send("/nick tom")
        t2.expect(re.escape("* ") + r"\S+ is now known as tom")
        t2.send("/join dev")
        t2.expect(r"\* joined dev \(3 members\)")
        a.type("back after the restart")
        b.wait_line("<alice> back after the restart")
        t2.expect(re.escape("<alice> back after the restart"))
        t2.send("telnet is back too")
        a.wait_line("<tom> telnet is back too")

    def quit_and_come_back():
        a, b, t = s["a"], s["b"], s["t"]
        b.type("/quit see you")
        a.wait_line("* bob left (quit: see you)")
        t.expect(re.escape("* bob left (quit: see you)"))
        h = b.wait_header(state="closed")
        assert "connect again" in h["status"], "closed status reads %r" % h["status"]
        a.type("/who")
        a.wait_line("* in dev: alice, tom")
        joins = a.count("* bob joined")
        b.type("")  # Send on a closed page connects again
        b.wait_header(nick="bob", room="dev", state="open")
        a.wait_line("* bob joined", more_than=joins)

    def bounded_dom():
        a, t = s["a"], s["t"]
        t.send_raw(b"".join(b"flood %04d\r\n" % i for i in range(2100)))
        a.wait_line("<tom> flood 2099")
        n, first = a.driver.execute_script(
            "const l = document.querySelectorAll('#log .l'); return [l.length, l[0].querySelector('.m').textContent];")
        assert n <= 2000, "%d lines in the DOM" % n
        assert first != "<tom> flood 0000", "the oldest lines were kept"
        a.type("still responsive")
        s["b"].wait_line("<alice> still responsive")

    def clean_console():
        assert browsers, "no browser ran"
        bad = []
        for x in browsers:
            for entry in x.collect_console():
                msg = entry.get("message", "")
                if re.search(r"Content Security Policy|Refused to|Uncaught|TypeError|ReferenceError", msg):
                    bad.append("%s: %s" % (x.name, msg))
        assert not bad, "\n".join(bad)

    try:
        run.run("server starts and logs its TCP and web ports", start_server, fatal=True)
        run.run("GET / serves the page with its CSP and nosniff; /healthz is 200; others 404", serves_page)
        run.run("two browsers and a TCP client arrive in the lobby", arrive, fatal=True)
        run.run("/nick from the page renames everywhere and the header follows", rename, fatal=True)
        run.run("chat goes browser->browser, browser->telnet, telnet->browsers", chat_all_directions)
        run.run("a nick has the same colour in every browser", stable_colours)
        run.run("lines with HTML show literally and create no elements", html_literal)
        run.run("private messages are highlighted, errors red, notices dim", styles)
        run.run("/who from the page lists the room", who)
        run.run("/join from the page moves it and the header follows; rooms stay apart", join, fatal=True)
        run.run("screenshots saved; the phone layout fits 390 px with the input at the bottom", screenshots)
        run.run("after a restart on the same ports the pages reconnect and re-apply nick and room", restart,
                fatal=True)
        run.run("/quit from the page leaves; the page stays closed until Send", quit_and_come_back)
        run.run("a burst of 2100 lines leaves at most 2000 in the DOM", bounded_dom)
        run.run("no CSP violations or script errors in the consoles", clean_console, always=True)
    finally:
        for c in clients:
            c.close()
        for x in browsers:
            x.quit()
        try:
            server.stop()
        finally:
            server.close()
    return run.summary()


if __name__ == "__main__":
    sys.exit(main())
