#!/usr/bin/python3
"""End to end: the built-in chat page in headless Chromium against chatroom-server.

Usage:
    test_browser.py --server PATH/TO/chatroom-server [--screenshot-dir DIR]

Starts `SERVER --port 0 --web-port 0 --bind 127.0.0.1 --web-bind 127.0.0.1`
and reads both ports from its log (tests/support/chatroom_testkit.py). Two
browser sessions (a desktop window and a phone-sized one) and a raw TCP client
then chat in every direction on the page's JSON dialect: the first visit's nick
form, /nick, /who, /msg, /join and /quit typed into the page; lines with HTML
show literally, URLs become links only for http(s); own lines, mentions,
private messages, errors and server notices are styled apart (a typed
"/me joined" is an action); in two rooms, lines land in the right room, the
room not shown counts unread lines and marks mentions, member lists follow
joins and leaves, the badges' text in their middle; a multi-line paste asks
"Send N lines?" (accepted: sent as lines; declined: left in the input); a
reload keeps nick and rooms; every nick hue and the Send
button keep 4.5:1 in light and dark; landmarks, one h1, the polite log inside
<main>; axe-core finds no violation of any impact (skipped, saying so, when
axe.min.js is not found: `npm install --prefix BUILD/axe axe-core`, or
CHATROOM_AXE_JS); the server is stopped with SIGTERM and started again on the
same ports, and the pages must come back by themselves with their nick and
rooms. With --with-store, a second server keeps history in SQLite
(--history-db) for a third browser: "Load older" from the button, the
keyboard and scrolling to the top, the view kept, "start of history"; that
server restarted twice under the page, kept offline (Chromium's network
emulation) while a telnet user speaks: every line once and in order, own
lines too, and a marker when the store no longer has what was missed; lines
of earlier days (their times moved back in the file) under a date each; a
"New messages below" button when a line comes while scrolled up.
The Notify button asks for the permission on a click, never on load (granted
through the DevTools protocol; window.Notification spied on); with the tab
hidden behind another, a mention and a private message make notifications
and the title counts them. A line sent as the server dies (SIGSTOP, then
SIGKILL: no echo) is marked not sent and put back in the input, text being
typed elsewhere stays, and both go once the page is back. A fourth server
with --users and --require-login: the first visit's form shows a password
field and logs in with it (a wrong secret first). A fifth with --users but
no --require-login: a guest chats, the nick form with an account's nick is
answered nick_registered and shows the password field, whose login (a wrong
secret first) takes the nick; a second guest logs in with /login typed in
the input. Screenshots (light and dark, desktop and phone,
history) go to DIR (default:
a new directory under /tmp).

Needs Debian's chromium, chromium-driver and python3-selenium; run with
/usr/bin/python3. Every wait has a deadline; every process started here is
stopped by its PID. Prints PASS/FAIL per check, then "N passed, M failed";
exits 1 on any failure.
"""
import argparse
import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
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


# The page's contract with this test: #log holds one .pane per room
# (data-room="#dev", "@bob" for a private conversation; only the shown one is
# not hidden) of .l rows whose .m is the line's text; #rooms lists the rooms
# (li[data-room], with .u the unread count and .at the mention marker); #mem
# the shown room's members; #nick, #room and #status (data-state: connecting,
# open, wait, closed) make the header.
LINES_JS = """const p = arguments[0] ? document.querySelector('#log .pane[data-room="' + arguments[0] + '"]')
                           : document.querySelector('#log .pane:not([hidden])');
return p ? Array.from(p.querySelectorAll('.l'), e => [e.className, e.querySelector('.m').textContent]) : [];"""
# [class, data-id, data-at] of the shown pane's rows reading text (all rows: text null).
ROW_IDS_JS = """return Array.from(document.querySelectorAll('#log .pane:not([hidden]) .l'))
  .filter(e => arguments[0] === null || e.querySelector('.m').textContent === arguments[0])
  .map(e => [e.className, e.dataset.id || '', e.dataset.at || '']);"""
HEADER_JS = """const $ = id => document.getElementById(id);
return {nick: $('nick').textContent, room: $('room').textContent,
        state: $('status').dataset.state, status: $('status').textContent};"""
ROOMS_JS = """return Array.from(document.querySelectorAll('#rooms li'), e =>
  [e.dataset.room, e.querySelector('.u').textContent, e.querySelector('.at').textContent]);"""
MEMBERS_JS = "return Array.from(document.querySelectorAll('#mem li'), e => e.textContent);"
# Where a row reading ...arguments[0] is on the screen (its top, in px); with arguments[1], after
# scrolling the log to its top (the scroll event, and what the page does on it, come later).
ANCHOR_JS = """const log = document.getElementById('log');
const row = Array.from(document.querySelectorAll('#log .pane:not([hidden]) .l'))
  .find(e => e.querySelector('.m').textContent.endsWith(arguments[0]));
if (arguments[1]) log.scrollTop = 0;
return row ? row.getBoundingClientRect().top : null;"""
# Run before the page's own script (CDP injects it; the page's CSP does not apply): counts
# Notification.requestPermission calls and records each Notification made, as [title, body].
NOTIFICATION_SPY = """window.asked = 0; window.made = [];
const Real = window.Notification;
const Spy = function (title, options) { window.made.push([title, options && options.body]); return new Real(title, options); };
Spy.requestPermission = (...a) => { window.asked++; return Real.requestPermission(...a); };
Object.defineProperty(Spy, 'permission', {get: () => Real.permission});
window.Notification = Spy;"""
# Paste text into the message input at its end, as a user would (a paste event with the text); the
# page's handler runs after this script returns, so a confirmation it opens does not block it; window.pasted
# is then whether the page left the paste to the browser (true) or took it over (false).
PASTE_JS = """const i = document.getElementById('i'), d = new DataTransfer();
d.setData('text/plain', arguments[0]);
i.focus();
i.setSelectionRange(i.value.length, i.value.length);
window.pasted = null;
setTimeout(() => { window.pasted = i.dispatchEvent(new ClipboardEvent('paste', {clipboardData: d, bubbles: true, cancelable: true})); }, 0);"""
# How far (px) the text of each shown badge of the room list is from its badge's vertical middle.
BADGE_JS = """return Array.from(document.querySelectorAll('#rooms .u, #rooms .at')).filter(e => e.textContent).map(e => {
  const r = document.createRange(); r.selectNodeContents(e);
  const t = r.getBoundingClientRect(), b = e.getBoundingClientRect();
  return [e.textContent, (t.top + t.bottom) / 2 - (b.top + b.bottom) / 2]; });"""
TOP_JS = "const t = document.querySelector('#log .pane:not([hidden]) .top'); return t ? t.textContent : null;"
# WCAG relative luminance and contrast, in the page (for colours it computes). A colour is read as
# sRGB through a canvas (nick colours are oklch(); the canvas maps them to the sRGB that is shown).
CONTRAST_JS = """const cv = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
const rgb = c => { cv.clearRect(0, 0, 1, 1); cv.fillStyle = c; cv.fillRect(0, 0, 1, 1);
  return Array.from(cv.getImageData(0, 0, 1, 1).data.slice(0, 3)); };
const lum = c => { const v = rgb(c).map(x => x / 255)
    .map(x => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
const out = [], row = document.createElement('div'), box = document.createElement('span');
row.append(box);
document.querySelector('#log .pane:not([hidden])').append(row);
// Every colour a nick can get (360 hues, 3 lightness steps: the page's who()) on the page's background,
// on own lines and on highlighted lines (opaque backgrounds); the worst of each step reported.
for (const cls of ['', 'l self', 'l hl']) {
  row.className = cls;
  const bg = getComputedStyle(cls ? row : document.body).backgroundColor;
  box.className = 'n';
  for (let v = 0; v < 3; v++) {
    box.style.setProperty('--v', v);
    let worst = null;
    for (let h = 0; h < 360; h++) {
      box.style.setProperty('--h', h);
      const r = ratio(getComputedStyle(box).color, bg);
      if (!worst || r < worst[1]) worst = ['hue ' + h + ' step ' + v + (cls ? ' on ' + cls : ''), r];
    }
    out.push(worst);
  }
}
row.remove();
const b = document.querySelector('#f button');
out.push(['send button', ratio(getComputedStyle(b).color, getComputedStyle(b).backgroundColor)]);
return out;"""
# The shown sRGB colour of each nick in the member list, through a canvas: [[nick, [r, g, b]], ...].
MEMBER_RGB_JS = """const cv = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
return Array.from(document.querySelectorAll('#mem .n'), e => { cv.clearRect(0, 0, 1, 1);
  cv.fillStyle = getComputedStyle(e).color; cv.fillRect(0, 0, 1, 1);
  return [e.textContent, Array.from(cv.getImageData(0, 0, 1, 1).data.slice(0, 3))]; });"""


def oklab(rgb):
    """OKLab (Ottosson 2020) of an 8-bit sRGB colour: perceptual lightness and two opponent axes."""
    r, g, b = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in (c / 255 for c in rgb)]
    lms = (0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b,
           0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b,
           0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b)
    l, m, s = [x ** (1 / 3) for x in lms]
    return (0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s,
            1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s,
            0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s)


def delta_e(a, b):
    """Colour difference in OKLab (Euclidean): about 0.02 is barely seen, 0.1 plain."""
    return sum((x - y) ** 2 for x, y in zip(oklab(a), oklab(b))) ** 0.5


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

    def lines(self, room=None):
        """(classes, text) of the rows of room ("#dev", "@bob"), or of the room shown."""
        return [(cls.split(), text) for cls, text in self.driver.execute_script(LINES_JS, room)]

    def header(self):
        return self.driver.execute_script(HEADER_JS)

    def rooms(self):
        """{room: (unread count, mention marker)} of the room list."""
        return {r: (u, at) for r, u, at in self.driver.execute_script(ROOMS_JS)}

    def members(self):
        return self.driver.execute_script(MEMBERS_JS)

    def wait(self, condition, what):
        """Waits until condition(self) is truthy and returns its value."""
        try:
            return WebDriverWait(self.driver, PATIENCE, poll_frequency=0.05).until(lambda _: condition(self))
        except TimeoutException:
            tail = [text for _, text in self.lines()[-12:]]
            raise AssertionError("%s: no %s within %.0f s; header %r; rooms %r; last lines %r"
                                 % (self.name, what, PATIENCE, self.header(), self.rooms(), tail)) from None

    def count(self, text, from_server=True, room=None):
        return sum(1 for cls, t in self.lines(room) if t == text and not (from_server and "self" in cls))

    def wait_line(self, text, more_than=0, room=None):
        """Waits for a line from the server reading exactly text (the more_than+1-th such line)."""
        self.wait(lambda b: b.count(text, room=room) > more_than, "line %r in %s" % (text, room or "the room shown"))
        return [cls for cls, t in self.lines(room) if t == text][-1]

    def wait_members(self, names):
        return self.wait(lambda b: b.members() == names, "members %r (have %r)" % (names, self.members()))

    def click_room(self, room):
        self.driver.find_element(By.CSS_SELECTOR, '#rooms li[data-room="%s"] .go' % room).click()

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
            "const e = Array.from(document.querySelectorAll('#log .pane:not([hidden]) .n')).find(e => e.textContent === arguments[0]);"
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


def find_axe(shots):
    """Path of axe-core's axe.min.js, or None: $CHATROOM_AXE_JS, then node_modules in or above the screenshot
    directory and the working directory (npm install --prefix BUILD/axe axe-core puts it in BUILD/axe)."""
    if os.environ.get("CHATROOM_AXE_JS"):
        return os.environ["CHATROOM_AXE_JS"]
    for base in (shots, os.path.join(shots, ".."), os.getcwd()):
        for sub in ("node_modules", os.path.join("axe", "node_modules")):
            path = os.path.join(base, sub, "axe-core", "axe.min.js")
            if os.path.exists(path):
                return os.path.abspath(path)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="path to chatroom-server")
    parser.add_argument("--screenshot-dir", help="where to save screenshots (default: a new /tmp directory)")
    parser.add_argument("--with-store", action="store_true",
                        help="the server was built with SQLite: run the history checks (--history-db)")
    args = parser.parse_args()
    shots = args.screenshot_dir or tempfile.mkdtemp(prefix="chatroom-screenshots-")
    os.makedirs(shots, exist_ok=True)

    server = kit.ServerProcess([os.path.abspath(args.server)], PATIENCE, prefix="chatroom-web-")
    run = kit.CheckRunner(tracebacks=False)

    def url(path="/"):
        return "http://127.0.0.1:%d%s" % (server.ports["web"], path)
    browsers = []
    clients = []
    s = {}  # state shared by the steps
    # A second server for "load older" and reconnects: history in SQLite (it survives a restart), the
    # last 10 lines replayed to joiners, at most 90 messages a room kept.
    hs = kit.ServerProcess([os.path.abspath(args.server)], PATIENCE, prefix="chatroom-web-history-")
    hdir = tempfile.mkdtemp(prefix="chatroom-web-history-")
    hdb = os.path.join(hdir, "history.db")
    # A third, for Load older past the page's cap.
    ds = kit.ServerProcess([os.path.abspath(args.server)], PATIENCE, prefix="chatroom-web-deep-")
    # A fourth, with accounts and --require-login, for the first visit's password field.
    ls = kit.ServerProcess([os.path.abspath(args.server)], PATIENCE, prefix="chatroom-web-login-")
    # A fifth, with accounts but no --require-login: guests chat, an account's nick asks for its login.
    ols = kit.ServerProcess([os.path.abspath(args.server)], PATIENCE, prefix="chatroom-web-open-login-")
    axe = find_axe(shots)

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
        # The policy allows exactly the inline blocks served (web-page-checks compares both with the header's).
        problems = test_web_page.check_csp(body.decode("utf-8"), headers.get("Content-Security-Policy") or "")
        assert not problems, "Content-Security-Policy: %s" % problems
        assert headers.get("X-Content-Type-Options") == "nosniff", headers.get("X-Content-Type-Options")
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
        ha = a.wait_header(nick=GUEST, room="#lobby", state="open")
        a.wait_line("you joined #lobby (1 member)")
        assert a.driver.find_element(By.ID, "lf").is_displayed(), "no nick form on the first visit"
        a.wait_members([ha["nick"]])
        b.open(url("/"))
        hb = b.wait_header(nick=GUEST, room="#lobby", state="open")
        b.wait_line("you joined #lobby (2 members)")
        a.wait_line("%s joined" % hb["nick"])
        a.wait_members(sorted([ha["nick"], hb["nick"]]))
        t, tn = tcp()
        for x in (a, b):
            x.wait_line("%s joined" % tn)
        s.update(a=a, b=b, t=t, an=ha["nick"], bn=hb["nick"], tn=tn)

    def rename():
        a, b, t = s["a"], s["b"], s["t"]
        a.driver.find_element(By.ID, "ln").send_keys("alice" + Keys.ENTER)
        a.wait_header(nick="alice")
        a.wait(lambda x: not x.driver.find_element(By.ID, "lf").is_displayed(), "nick form hidden once named")
        line = "%s is now known as alice" % s["an"]
        assert "sys" in b.wait_line(line)
        t.expect(re.escape("* " + line))
        b.type("/nick bob")
        b.wait_header(nick="bob")
        line = "%s is now known as bob" % s["bn"]
        a.wait_line(line)
        t.expect(re.escape("* " + line))
        t.send("/nick tom")
        t.expect(re.escape("* %s is now known as tom" % s["tn"]))
        for x in (a, b):
            x.wait_line("%s is now known as tom" % s["tn"])
        a.wait_members(["alice", "bob", "tom"])

    def chat_all_directions():
        a, b, t = s["a"], s["b"], s["t"]
        a.type("hello from the desktop")
        cls = b.wait_line("<alice> hello from the desktop")
        assert "chat" in cls and "self" not in cls, cls
        t.expect(re.escape("<alice> hello from the desktop"))
        # The sender's own line is drawn from the server's echo: once, marked, with the id and time
        # every other browser got for it.
        a.wait(lambda x: x.count("<alice> hello from the desktop", from_server=False) == 1, "own line drawn")
        b.type("hello from the phone")
        a.wait_line("<bob> hello from the phone")
        t.expect(re.escape("<bob> hello from the phone"))
        t.send("hello from telnet")
        a.wait_line("<tom> hello from telnet")
        b.wait_line("<tom> hello from telnet")
        own = a.driver.execute_script(ROW_IDS_JS, "<alice> hello from the desktop")
        theirs = b.driver.execute_script(ROW_IDS_JS, "<alice> hello from the desktop")
        assert len(own) == 1 and "self" in own[0][0].split(), "the sender sees its own line once, marked: %r" % own
        assert len(theirs) == 1 and "self" not in theirs[0][0].split(), "the others see it once, unmarked: %r" % theirs
        assert own[0][1] and own[0][1:] == theirs[0][1:], "own line id/time %r, others' %r" % (own, theirs)
        ids = [i for _, i, _ in a.driver.execute_script(ROW_IDS_JS, None)[-3:]]
        assert all(ids) and ids == sorted(ids, key=int), "own line in the room's order by id: %r" % ids
        # /me and a private message come back the same way.
        a.type("/me waves once")
        a.wait(lambda x: x.count("* alice waves once", from_server=False) == 1, "own action drawn")
        assert "act" in a.driver.execute_script(ROW_IDS_JS, "* alice waves once")[0][0]
        b.wait_line("* alice waves once")
        a.type("//slash at the start")
        b.wait_line("<alice> /slash at the start")
        t.expect(re.escape("<alice> /slash at the start"))
        times = a.driver.execute_script("return Array.from(document.querySelectorAll('#log time'), e => "
                                        "[e.textContent, e.dateTime]).slice(-3)")
        for shown, iso in times:
            assert re.fullmatch(r"\d\d:\d\d", shown) and iso.endswith("Z"), "time %r %r" % (shown, iso)

    def colours():
        a, b = s["a"], s["b"]
        for nick in ("tom", "alice", "bob"):
            ca, cb = a.nick_colour(nick), b.nick_colour(nick)
            assert ca and ca == cb, "%s is %r on the desktop and %r on the phone" % (nick, ca, cb)
        assert len({a.nick_colour(n) for n in ("tom", "alice", "bob")}) > 1, "every nick has the same colour"
        bad = []
        for scheme in ("light", "dark"):
            a.driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                     {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
            got = a.driver.execute_script(CONTRAST_JS)
            print("     %s: lowest %s" % (scheme, ", ".join("%s %.2f:1" % (w, r) for w, r in got)))
            for what, ratio in got:
                if ratio < 4.5:
                    bad.append("%s: %s at %.2f:1" % (scheme, what, ratio))
        a.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        assert not bad, "under 4.5:1: %s" % bad

    def html_literal():
        a, b, t = s["a"], s["b"], s["t"]
        evil = "<b>bold</b><script>x</script>"
        t.send(evil)
        for x in (a, b):
            x.wait_line("<tom> " + evil)
        a.type("<i>it</i><img src=x onerror=alert(1)>")
        b.wait_line("<alice> <i>it</i><img src=x onerror=alert(1)>")
        t.expect(re.escape("<alice> <i>it</i><img src=x onerror=alert(1)>"))
        t.send("see https://example.org/a?b=1, javascript:alert(1) and http://x.test/)")
        a.wait_line("<tom> see https://example.org/a?b=1, javascript:alert(1) and http://x.test/)")
        links = a.driver.execute_script(
            "return Array.from(document.querySelectorAll('#log a'), e => [e.getAttribute('href'), e.rel, e.textContent])")
        assert links == [["https://example.org/a?b=1", "noopener noreferrer", "https://example.org/a?b=1"],
                         ["http://x.test/", "noopener noreferrer", "http://x.test/"]], "links %r" % links
        for x in (a, b):
            found = x.driver.execute_script(
                "return document.querySelectorAll('#log b, #log i, #log img, #log script').length")
            assert found == 0, "%s: %d elements made from chat text" % (x.name, found)
            try:
                x.driver.switch_to.alert
                raise AssertionError("%s: an alert opened" % x.name)
            except NoAlertPresentException:
                pass
        dirs = a.driver.execute_script("return Array.from(document.querySelectorAll('#log .x'), e => e.dir)")
        assert dirs and set(dirs) == {"auto"}, "message text without dir=auto: %r" % set(dirs)

    def styles():
        a, t = s["a"], s["t"]
        a.type("/bogus")
        cls = a.wait_line("error: unknown command: /bogus (try /help)")
        assert "err" in cls, "error classes %r" % cls
        cls = a.wait_line("%s joined" % s["bn"])
        assert "sys" in cls, "join notice classes %r" % cls
        # Anyone can type "/me joined": it must read as an action, never as the server's notice.
        t.send("/me joined")
        cls = a.wait_line("* tom joined")
        assert "act" in cls and "sys" not in cls, "a spoofed join has classes %r" % cls
        look = a.driver.execute_script(
            "const st = s => { const m = document.querySelector('#log .pane:not([hidden]) .l.' + s + ' .m');"
            " const c = getComputedStyle(m), b = getComputedStyle(m, '::before');"
            " return [c.color, c.fontStyle, b.content]; };"
            "return {err: st('err'), sys: st('sys'), act: st('act'), chat: st('chat')};")
        r, g, bl = [int(v) for v in re.findall(r"\d+", look["err"][0])[:3]]
        assert r > 150 and r > 2 * g and r > 2 * bl, "errors are not red: %s" % look["err"]
        assert look["sys"][0] != look["chat"][0], "notices look like chat (%s)" % look
        assert look["act"][1] == "italic" and look["sys"][1] != "italic", "actions are not italic: %s" % look
        assert look["sys"][2] not in ("none", "normal") and look["act"][2] in ("none", "normal"), \
            "only server notices carry the arrow: %s" % look

    def private_and_mention():
        a, b, t = s["a"], s["b"], s["t"]
        t.send("hey alice, look at this")
        cls = a.wait_line("<tom> hey alice, look at this")
        assert "hl" in cls, "a mention of alice is not highlighted: %r" % cls
        cls = b.wait_line("<tom> hey alice, look at this")
        assert "hl" not in cls, "bob sees alice's mention highlighted: %r" % cls
        t.send("/msg alice psst, only you")
        a.wait(lambda x: x.rooms().get("@tom") == ("1", "@"), "a @tom conversation with 1 unread, marked")
        assert "(1)" in a.driver.title, "title %r without the unread count" % a.driver.title
        a.click_room("@tom")
        a.wait_header(room="@tom")
        cls = a.wait_line("<tom> psst, only you")
        assert "priv" in cls, "private message classes %r" % cls
        assert a.rooms()["@tom"] == ("", ""), "unread stays after reading: %r" % a.rooms()
        bg = a.driver.execute_script(
            "return getComputedStyle(document.querySelector('#log .pane:not([hidden]) .l.priv')).backgroundColor")
        assert bg not in ("rgba(0, 0, 0, 0)", "transparent"), "private messages are not highlighted"
        a.type("psst back")
        t.expect(re.escape("*alice* psst back"))
        a.wait(lambda x: x.count("<alice> psst back", from_server=False) == 1, "own private line, once")
        a.click_room("#lobby")
        a.wait_header(room="#lobby")

    def who():
        s["a"].type("/who")
        s["a"].wait_line("in #lobby: alice, bob, tom")

    def confirmation(x):
        """The confirmation dialog the page opened (a selenium Alert), waited for."""
        def present(_):
            try:
                return x.driver.switch_to.alert
            except NoAlertPresentException:
                return None
        try:
            return WebDriverWait(x.driver, PATIENCE, poll_frequency=0.05).until(present)
        except TimeoutException:
            raise AssertionError("%s: no confirmation within %.0f s" % (x.name, PATIENCE)) from None

    def paste():
        a, b, t = s["a"], s["b"], s["t"]
        box = a.driver.find_element(By.ID, "i")
        box.send_keys("typed, then ")
        a.driver.execute_script(PASTE_JS, "pasted one\r\npasted two\n\n  \npasted three")
        ask = confirmation(a)
        assert ask.text == "Send 3 lines?", "the confirmation reads %r" % ask.text
        ask.accept()
        for text in ("typed, then pasted one", "pasted two", "pasted three"):
            t.expect(re.escape("<alice> " + text))
        both = "<alice> typed, then pasted one\npasted two\npasted three"
        b.wait_line(both)
        a.wait(lambda x: x.count(both, from_server=False) == 1, "the pasted lines drawn once, as sent back")
        assert box.get_attribute("value") == "", "input after sending the paste: %r" % box.get_attribute("value")
        # Declined: nothing is sent, the text stays in the input on one line.
        a.driver.execute_script(PASTE_JS, "not sent one\nnot sent two")
        ask = confirmation(a)
        assert ask.text == "Send 2 lines?", "the confirmation reads %r" % ask.text
        ask.dismiss()
        a.wait(lambda x: box.get_attribute("value") == "not sent one not sent two", "the declined paste in the input")
        box.clear()
        a.type("after the paste")
        _, skipped = t.expect(re.escape("<alice> after the paste"))
        assert not any("not sent" in l for l in skipped), "a declined paste was sent: %r" % skipped
        # One line is left to the browser to paste, without a question.
        a.driver.execute_script(PASTE_JS, "a single pasted line")
        a.wait(lambda x: x.driver.execute_script("return window.pasted") is not None, "the one-line paste handled")
        assert a.driver.execute_script("return window.pasted") is True, "the page took over a one-line paste"

    def rooms():
        a, b, t = s["a"], s["b"], s["t"]
        a.type("/join dev")
        a.wait_header(room="#dev")
        a.wait_line("you joined #dev (1 member)")
        a.wait_members(["alice"])
        assert "#lobby" in a.rooms(), "joining dev left the lobby: %r" % a.rooms()
        b.driver.find_element(By.ID, "mb").click()  # the phone shows rooms behind a button
        b.driver.find_element(By.ID, "jr").send_keys("#dev" + Keys.ENTER)
        b.wait_header(room="#dev")
        a.wait_line("bob joined")
        a.wait_members(["alice", "bob"])
        a.type("just us in dev")
        b.wait_line("<alice> just us in dev")
        t.send("/who")
        _, skipped = t.expect(r"\* in lobby: .*")
        assert not any("just us" in l for l in skipped), "the lobby got lines from dev: %r" % skipped
        t.send("meanwhile in the lobby")
        a.wait(lambda x: x.rooms().get("#lobby") == ("1", ""), "lobby unread 1 without mention")
        b.wait(lambda x: x.driver.find_element(By.ID, "mb").text == "Rooms (1)", "the phone's Rooms button counting 1")
        assert a.count("<tom> meanwhile in the lobby") == 0, "a lobby line shown in dev"
        assert a.count("<tom> meanwhile in the lobby", room="#lobby") == 1, "the lobby line is not in the lobby"
        t.send("alice: are you there?")
        a.wait(lambda x: x.rooms().get("#lobby") == ("2", "@"), "lobby unread 2 with the mention marker")
        # The count and the marker sit in the middle of their badges.
        off = a.driver.execute_script(BADGE_JS)
        assert len(off) == 2 and all(abs(d) <= 1 for _, d in off), "badge text off its middle (px): %r" % off
        a.driver.save_screenshot(os.path.join(shots, "web-unread.png"))
        t.send("/join dev")
        t.expect(r"\* joined dev \(3 members\)")
        a.wait_members(["alice", "bob", "tom"])
        t.send("hi dev")
        a.wait_line("<tom> hi dev")
        assert a.count("<tom> hi dev", room="#lobby") == 0, "a dev line shown in the lobby"
        # Leaving with a click: the others' member lists follow.
        b.driver.find_element(By.ID, "mb").click()
        b.driver.find_element(By.CSS_SELECTOR, '#rooms li[data-room="#dev"] .x').click()
        b.wait_header(room="#lobby")
        a.wait_line("bob left")
        t.expect(r"\* bob left")
        a.wait_members(["alice", "tom"])
        a.type("/who")
        a.wait_line("in #dev: alice, tom")
        # Tab completes a member's nick; Alt+Up/Down walk the room list; /msg opens the conversation.
        box = a.driver.find_element(By.ID, "i")
        box.send_keys("to" + Keys.TAB)
        assert box.get_attribute("value") == "tom: ", "Tab gave %r" % box.get_attribute("value")
        box.clear()
        assert list(a.rooms()) == ["#lobby", "@tom", "#dev"], "room list %r" % list(a.rooms())
        box.send_keys(Keys.ALT, Keys.ARROW_UP, Keys.NULL)
        a.wait_header(room="@tom")
        box.send_keys(Keys.ALT, Keys.ARROW_DOWN, Keys.NULL)
        a.wait_header(room="#dev")
        a.click_room("#lobby")
        a.type("/msg tom sent with /msg")
        a.wait_header(room="@tom")
        t.expect(re.escape("*alice* sent with /msg"))
        a.wait(lambda x: x.count("<alice> sent with /msg", from_server=False) == 1, "own /msg line in @tom")
        assert a.count("<alice> sent with /msg", from_server=False, room="#lobby") == 0, "/msg echoed in the lobby"
        a.click_room("#dev")
        a.wait_header(room="#dev")

    def reload_keeps_nick_and_rooms():
        a = s["a"]
        a.driver.refresh()
        a.wait_header(nick="alice", room="#dev", state="open")
        a.wait(lambda x: set(x.rooms()) == {"#lobby", "#dev"}, "rooms #lobby and #dev after the reload")
        a.wait_members(["alice", "tom"])
        assert not a.driver.find_element(By.ID, "lf").is_displayed(), "nick form shown to a known nick"
        a.type("back from a reload")
        s["t"].expect(re.escape("<alice> back from a reload"))

    def screenshots():
        a, b = s["a"], s["b"]
        a.type("/me takes a screenshot, see https://example.org")
        s["t"].expect(re.escape("* alice takes a screenshot, see https://example.org"))
        s["t"].send("alice: nice, and a mention")
        assert "hl" in a.wait_line("<tom> alice: nice, and a mention")
        b.wait(lambda x: x.rooms().get("#lobby") is not None, "phone room list")
        # This server keeps no history: the page asked once, and offers no Load older.
        a.wait(lambda x: x.driver.execute_script(TOP_JS) == "this server keeps no history", "no Load older offered")
        a.screenshot(os.path.join(shots, "web-desktop.png"))
        b.screenshot(os.path.join(shots, "web-phone.png"))
        dark = [{"name": "prefers-color-scheme", "value": "dark"}]
        for x in (a, b):
            x.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": dark})
            x.wait(lambda y: y.driver.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches"),
                   "dark colour scheme")
        a.screenshot(os.path.join(shots, "web-desktop-dark.png"))
        b.screenshot(os.path.join(shots, "web-phone-dark.png"))
        for x in (a, b):
            x.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        layout = b.driver.execute_script(
            "const i = document.getElementById('i').getBoundingClientRect();"
            "const h = document.querySelector('header').getBoundingClientRect();"
            "return {vw: innerWidth, sw: document.documentElement.scrollWidth, vh: innerHeight,"
            " inputBottom: i.bottom, headerTop: h.top, headerBottom: h.bottom};")
        assert layout["vw"] == 390, "phone viewport is %r wide" % layout["vw"]
        assert layout["sw"] <= layout["vw"], "the phone page scrolls sideways: %r" % layout
        assert layout["vh"] - 80 < layout["inputBottom"] <= layout["vh"], "input is not at the bottom: %r" % layout
        assert layout["headerTop"] == 0, "header is not at the top: %r" % layout
        print("     screenshots: %s" % ", ".join(os.path.join(shots, n) for n in (
            "web-desktop.png", "web-desktop-dark.png", "web-phone.png", "web-phone-dark.png")))

    def accessible():
        a, b = s["a"], s["b"]
        structure = a.driver.execute_script(
            "return {h1: document.querySelectorAll('h1').length, mains: document.querySelectorAll('main').length,"
            " log: !!document.querySelector('main #log[role=log][aria-live=polite]'),"
            " mainRole: document.querySelector('main').getAttribute('role'),"
            " nav: !!document.querySelector('nav'), header: !!document.querySelector('body > header'),"
            " unlabelled: Array.from(document.querySelectorAll('input')).filter(i => !i.labels.length).map(i => i.id)}")
        assert structure == {"h1": 1, "mains": 1, "log": True, "mainRole": None, "nav": True, "header": True,
                             "unlabelled": []}, "structure %r" % structure

    def axe_core(axe, pages=None):
        with open(axe, encoding="utf-8") as f:
            source = f.read()
        bad = []
        for x, scheme in ((x, scheme) for x in (pages or (s["a"], s["b"])) for scheme in ("light", "dark")):
            x.driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                     {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
            if not x.driver.execute_script("return !!window.axe"):
                x.driver.execute_script(source)
            found = x.driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})"
                ".then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length,"
                " v.nodes[0].target.join(' ')])), e => done([['axe failed', 'critical', 0, String(e)]]));")
            for v in found:
                print("     axe %s %s: %r" % (x.name, scheme, v))
                bad.append("%s %s: %r" % (x.name, scheme, v))  # any impact: the issue asks for zero
            x.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        assert not bad, "axe-core: %s" % bad

    def restart():
        a, b, t = s["a"], s["b"], s["t"]
        before = {x.name: x.count("server shutting down") for x in (a, b)}
        status = server.stop()
        assert status == 0, "server exited with %r after SIGTERM; log:\n%s" % (status, server.text()[-3000:])
        t.expect_eof()
        for x in (a, b):
            x.wait_line("server shutting down", more_than=before[x.name])
            h = x.wait_header(state="wait")
            assert re.fullmatch(r"reconnecting in \d+ s\u2026.*", h["status"]), "status reads %r" % h["status"]
        # The first retry comes within 0.65 s, so a wait of 2 s or more shows the backoff growing.
        a.wait(lambda x: int(re.search(r"\d+", x.header()["status"] + " 0").group()) >= 2,
               "longer retry delay while the server is down")
        a.screenshot(os.path.join(shots, "web-reconnecting.png"))
        start_server()
        a.wait_header(nick="alice", room="#dev", state="open")
        b.wait_header(nick="bob", room="#lobby", state="open")
        a.wait(lambda x: set(x.rooms()) == {"#lobby", "#dev"}, "both rooms rejoined")
        a.wait_members(["alice"])
        t2, _ = tcp()
        s["t"] = t2
        t2.send("/nick tom")
        t2.expect(re.escape("* ") + r"\S+ is now known as tom")
        t2.send("/join dev")
        t2.expect(r"\* joined dev \(2 members\)")
        a.wait_members(["alice", "tom"])
        a.type("back after the restart")
        t2.expect(re.escape("<alice> back after the restart"))
        t2.send("telnet is back too")
        a.wait_line("<tom> telnet is back too")
        assert a.count("<tom> alice: nice, and a mention") == 1, "a line shown twice after the rejoin: %r" % a.lines()

    def quit_and_come_back():
        a, b, t = s["a"], s["b"], s["t"]
        b.type("/quit see you")
        a.wait_line("bob left (quit: see you)", room="#lobby")
        h = b.wait_header(state="closed")
        assert "connect again" in h["status"], "closed status reads %r" % h["status"]
        back = re.compile(r"guest-\d+ is now known as bob")
        renames = lambda: sum(1 for _, t in a.lines("#lobby") if back.fullmatch(t))
        before = renames()
        b.type("")  # Send on a closed page connects again, and takes its nick back
        b.wait_header(nick="bob", room="#lobby", state="open")
        a.wait(lambda x: renames() > before, "bob back in the lobby under his nick")

    def bounded_dom():
        a, b, t = s["a"], s["b"], s["t"]
        a.click_room("#lobby")
        a.wait_header(room="#lobby")
        # 2100 events: a second JSON connection from the phone's page alternates say and me (the
        # server gathers consecutive lines of one member into one event, as it does a TCP burst).
        b.driver.execute_script(
            "const w = new WebSocket('ws://' + location.host + '/ws', 'chatroom.v1'); window.flood = w;"
            "w.onopen = () => { for (let i = 0; i < 2100; i++)"
            " w.send(JSON.stringify({type: i % 2 ? 'me' : 'say', room: 'lobby', text: 'flood ' + String(i).padStart(4, '0')})); };")
        a.wait(lambda x: any(t.endswith(" flood 2099") for _, t in x.lines()[-3:]), "the flood's last line")
        n, first = a.driver.execute_script(
            "const l = document.querySelectorAll('#log .pane:not([hidden]) .l');"
            "return [l.length, l[0].querySelector('.m').textContent];")
        b.driver.execute_script("window.flood.close()")
        assert n <= 2000, "%d lines in the DOM" % n
        assert n >= 1900 and not first.endswith("> flood 0000"), "%d rows, the first %r" % (n, first)
        a.type("still responsive")
        b.wait_line("<alice> still responsive")

    def start_history_server():
        hs.start("--port", hs.ports.get("tcp", 0), "--web-port", hs.ports.get("web", 0), "--bind", "127.0.0.1",
                 "--web-bind", "127.0.0.1", "--history", "10", "--history-db", hdb, "--history-keep", "90",
                 want=("tcp", "web"), retry=True)

    def hurl(path="/"):
        return "http://127.0.0.1:%d%s" % (hs.ports["web"], path)

    def hs_tcp():
        c = TcpClient(hs.ports["tcp"])
        clients.append(c)
        c.expect(r"\* joined lobby \(\d+ members?\)")
        return c

    def say_paced(w, rd, texts):
        """w says each text, once rd saw the one before: one message per line, in this order."""
        for text in texts:
            w.send(text)
            rd.expect(r"<\S+> " + re.escape(text))

    def store(sql):
        """The first value sql reads from the history file (read-only; the server writes it in batches)."""
        try:
            with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % hdb, uri=True, timeout=PATIENCE)) as db:
                return db.execute(sql).fetchone()[0]
        except sqlite3.Error:
            return None

    def committed(n):
        kit.eventually(lambda: (store("SELECT count(*) FROM messages WHERE room_key = 'lobby'") or 0) >= n,
                       PATIENCE, "%d lobby messages in the history file" % n)

    def said(x, words=r"older|mine|missed|after|lost"):
        """The numbered test lines the lobby pane of x shows, top to bottom."""
        out = []
        for _, text in x.lines("#lobby"):
            out += re.findall(r"(?:%s) \d+" % words, text)
        return out

    def numbered(word, first, end):
        return ["%s %02d" % (word, i) for i in range(first, end)]

    def load_older():
        start_history_server()
        w, rd = hs_tcp(), hs_tcp()
        s.update(w=w, rd=rd)
        w.send("/nick carol")
        w.expect(r"\* \S+ is now known as carol")
        say_paced(w, rd, numbered("older", 0, 70))
        committed(70)
        h = Browser("history")
        browsers.append(h)
        s["h"] = h
        h.open(hurl("/"))
        h.wait_header(state="open", room="#lobby")
        h.driver.find_element(By.ID, "ln").send_keys("dana" + Keys.ENTER)
        h.wait_header(nick="dana")
        h.wait(lambda x: said(x) == numbered("older", 60, 70), "the joiner's replay: older 60 to 69")
        assert h.driver.execute_script(TOP_JS) == "Load older messages", "top reads %r" % h.driver.execute_script(TOP_JS)
        # The button, from the keyboard: the 50 before the oldest shown go above it, and the
        # view stays on the newest line (the pane did not scroll before).
        h.driver.find_element(By.CSS_SELECTOR, "#log .pane:not([hidden]) .top button").send_keys(Keys.ENTER)
        h.wait(lambda x: said(x) == numbered("older", 10, 70), "older 10 to 69 after Load older")
        view = h.driver.execute_script(
            "const log = document.getElementById('log'), r = log.getBoundingClientRect();"
            "const last = document.querySelector('#log .pane:not([hidden]) .l:last-child').getBoundingClientRect();"
            "return [log.scrollTop, last.bottom <= r.bottom + 1 && last.top >= r.top];")
        assert view[0] > 0 and view[1], "the newest line is out of view after Load older: %r" % view
        h.screenshot(os.path.join(shots, "web-history.png"))
        # Scrolling to the top: the last 10, then (a short page) one more ask finds nothing older.
        y = h.driver.execute_script(ANCHOR_JS, "older 10", True)
        h.wait(lambda x: x.driver.execute_script(TOP_JS) == "start of history", "start of history")
        assert said(h) == numbered("older", 0, 70), "lines %r" % said(h)
        y2 = h.driver.execute_script(ANCHOR_JS, "older 10", False)
        assert abs(y2 - y) <= 1, "older 10 moved from %r to %r px" % (y, y2)
        h.driver.execute_script("document.getElementById('log').scrollTop = 0")
        h.screenshot(os.path.join(shots, "web-history-start.png"))

    def older_trimmed():
        """Load older past the page's cap: rows go from the newest end, the view stays, and "Show newest
        messages" brings the latest page back. While paged back, lines said (own, telnet) wait for it, and
        /who is answered in the page and to a new TCP client. On a third server whose store keeps 2400
        messages."""
        ds.start("--port", 0, "--web-port", 0, "--bind", "127.0.0.1", "--web-bind", "127.0.0.1",
                 "--history", "10", "--history-db", os.path.join(hdir, "deep.db"), "--history-keep", "2400",
                 "--history-page", "100", want=("tcp", "web"))
        d = Browser("deep")
        browsers.append(d)
        d.open("http://127.0.0.1:%d/" % ds.ports["web"])
        d.wait_header(state="open", room="#lobby")
        # 2300 messages from a second JSON connection (say and me alternate: one event each).
        d.driver.execute_script(
            "const w = new WebSocket('ws://' + location.host + '/ws', 'chatroom.v1'); window.deep = w;"
            "w.onopen = () => { for (let i = 0; i < 2300; i++)"
            " w.send(JSON.stringify({type: i % 2 ? 'me' : 'say', room: 'lobby', text: 'deep ' + String(i).padStart(4, '0')})); };")
        d.wait(lambda x: any(t.endswith(" deep 2299") for _, t in x.lines()[-3:]), "the flood's last line")
        d.driver.execute_script("window.deep.close()")
        db = os.path.join(hdir, "deep.db")

        def stored():
            try:
                with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=PATIENCE)) as c:
                    return c.execute("SELECT count(*) FROM messages WHERE room_key = 'lobby'").fetchone()[0]
            except sqlite3.Error:
                return 0
        kit.eventually(lambda: stored() >= 2300, PATIENCE, "2300 messages in the deep store")
        d.type("/nick deepreader")
        d.wait_header(nick="deepreader")
        d.driver.refresh()  # a fresh pane: the last 10 replayed, the rest only through Load older
        d.wait_header(state="open", room="#lobby", nick="deepreader")
        d.wait(lambda x: any(t.endswith(" deep 2299") for _, t in x.lines()), "the replay's last line")
        rows = lambda: d.driver.execute_script("return document.querySelectorAll('#log .pane:not([hidden]) .l').length")
        first = lambda: d.driver.execute_script(
            "return document.querySelector('#log .pane:not([hidden]) .l[data-id] .m').textContent")
        for _ in range(80):  # 2300 / 50 a page, with room to spare; each round waits for its page
            if first().endswith(" deep 0000"):
                break
            before = first()
            # At the top, as a reader who pages back is; the button too while the pane cannot scroll.
            top = d.driver.execute_script(ANCHOR_JS, before[-9:], True)
            d.driver.execute_script("const b = document.querySelector('#log .pane:not([hidden]) .top button');"
                                    "if (b) b.click();")
            d.wait(lambda x: first() != before, "a page older than %r" % before)
            d.wait(lambda x: x.driver.execute_script(TOP_JS) != "loading\u2026", "the page placed")
            after = d.driver.execute_script(ANCHOR_JS, before[-9:], False)
            # (Once the pane is taller than the view: a short one cannot scroll to keep its place.)
            assert after is not None and (rows() < 200 or abs(after - top) <= 1), \
                "%r moved from %r to %r px" % (before, top, after)
            assert rows() <= 2000, "%d rows after Load older" % rows()
        assert first().endswith(" deep 0000"), "never reached the oldest line: %r" % first()
        texts = [t for _, t in d.lines()]
        assert 1900 <= len(texts) <= 2000, "%d rows kept" % len(texts)
        assert not any(t.endswith(" deep 2299") for t in texts), "the newest end was not trimmed"
        nums = [int(t[-4:]) for t in texts if re.search(r"deep \d{4}$", t)]
        assert nums == sorted(nums) and nums[0] == 0 and len(set(nums)) == len(nums), "rows out of order or twice"
        nm = d.driver.find_element(By.ID, "nm")
        assert nm.is_displayed() and nm.text == "Show newest messages", "no way back to the present: %r" % nm.text
        d.screenshot(os.path.join(shots, "web-history-trimmed.png"))
        # Lines said while paged back (the reader's own, a TCP client's) wait for Show newest; answers
        # do not: /who from the page and from a new TCP client are answered, the server still serving.
        d.type("said while paged back")
        tc = TcpClient(ds.ports["tcp"])
        clients.append(tc)
        tc.expect(r"\* joined lobby \(\d+ members?\)")
        tc.send("telnet while paged back")
        tc.send("/who")
        tc.expect(r"\* in lobby: deepreader, guest-\d+")
        d.type("/who")
        d.wait(lambda x: any(re.fullmatch(r"in #lobby: deepreader, guest-\d+", t) for _, t in x.lines()),
               "the /who answer while paged back")
        texts = [t for _, t in d.lines()]
        assert 1900 <= len(texts) <= 2000 and nums[0] == 0, "%d rows after /who" % len(texts)
        assert not any("while paged back" in t for t in texts), "a new line drawn into the cut pane"
        # Show newest messages: the room's latest page again, the cut gone.
        nm.click()
        d.wait(lambda x: any(t.endswith(" telnet while paged back") for _, t in x.lines()), "the present again")
        texts = [t for _, t in d.lines()]
        assert sum(t.endswith(" deep 2299") for t in texts) == 1, "the present after Show newest: %r" % texts[-3:]
        said_back = [t for t in texts if t.endswith("while paged back")]
        assert len(said_back) == 2 and said_back[0] == "<deepreader> said while paged back" \
            and re.fullmatch(r"<guest-\d+> telnet while paged back", said_back[1]), "%r" % said_back
        assert not d.driver.find_element(By.ID, "nm").is_displayed(), "Show newest still offered"
        assert len(texts) <= 60, "%d rows after Show newest" % len(texts)

    def offline(x, on):
        """Chromium's network emulation: while offline the page cannot connect again."""
        x.driver.execute_cdp_cmd("Network.enable", {})
        x.driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                                 {"offline": on, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    def history_restart(say):
        """Stops the history server under the open page, starts it again with the page kept offline,
        lets say(writer, reader) speak, and lets the page reconnect."""
        h = s["h"]
        status = hs.stop()
        assert status == 0, "history server exited with %r; log:\n%s" % (status, hs.text()[-3000:])
        for c in (s["w"], s["rd"]):
            c.expect_eof()
        h.wait_header(state="wait")
        offline(h, True)
        start_history_server()
        w, rd = hs_tcp(), hs_tcp()
        w.send("/nick carol")
        w.expect(r"\* \S+ is now known as carol")
        s.update(w=w, rd=rd)
        say(w, rd)
        offline(h, False)
        h.wait_header(state="open", nick="dana", room="#lobby")

    def reconnect_once():
        h = s["h"]
        h.type("mine 00")
        s["rd"].expect(r"<dana> mine 00")
        # While the page is away: 15 lines, 5 more than a joiner's replay holds.
        def say(w, rd):
            say_paced(w, rd, numbered("missed", 0, 15))
            committed(86)
        history_restart(say)
        h.wait(lambda x: "missed 14" in said(x), "missed 14 after the reconnect")
        s["w"].send("after 00")
        h.wait(lambda x: said(x)[-1:] == ["after 00"], "after 00, said live")
        want = numbered("older", 0, 70) + ["mine 00"] + numbered("missed", 0, 15) + ["after 00"]
        # The answer to "after" may come after the replay and the live line: placed by id, once.
        h.wait(lambda x: said(x) == want, "every line once and in order")
        assert not any("gap" in cls for cls, _ in h.lines("#lobby")), "a missing-lines marker with nothing missing"

    def reconnect_short():
        h = s["h"]
        # Two lines while away: the rejoin's replay of 10 holds 8 the page has (one seen live, with the
        # time the server sent then, now read back from the file), and the answer to "after" the same 2.
        def say(w, rd):
            say_paced(w, rd, numbered("short", 0, 2))
            committed(89)
        history_restart(say)
        h.wait(lambda x: said(x, "short") == numbered("short", 0, 2), "short 00 and 01 after the reconnect")
        want = numbered("older", 0, 70) + ["mine 00"] + numbered("missed", 0, 15) + ["after 00"] + numbered("short", 0, 2)
        got = said(h, r"older|mine|missed|after|short")
        assert got == want, "after the second restart the page shows %r" % got

    def reconnect_gap():
        h = s["h"]
        # 95 lines while the page is away: the store keeps 90, so what followed its last line is gone.
        def say(w, rd):
            say_paced(w, rd, numbered("lost", 0, 95))
            kit.eventually(lambda: (store("SELECT text FROM messages WHERE room_key = 'lobby' ORDER BY seq DESC")
                                    or "").strip() == "lost 94" and store("SELECT count(*) FROM messages WHERE room_key = 'lobby'") == 90,
                           PATIENCE, "the store holding the last 90 lines, up to lost 94",
                           lambda: "it holds %r, up to %r" % (store("SELECT count(*) FROM messages WHERE room_key = 'lobby'"),
                                                              store("SELECT text FROM messages WHERE room_key = 'lobby' "
                                                                    "ORDER BY seq DESC")))
        history_restart(say)
        h.wait(lambda x: said(x, "lost") == numbered("lost", 5, 95) and any("gap" in c for c, _ in x.lines("#lobby")),
               "the marker and lost 05 to 94 once each")
        rows = h.lines("#lobby")
        gaps = [i for i, (cls, _) in enumerate(rows) if "gap" in cls]
        assert len(gaps) == 1, "%d missing-lines markers" % len(gaps)
        assert rows[gaps[0]][1] == "some messages from while you were away are no longer available", rows[gaps[0]]
        first = next(i for i, (_, t) in enumerate(rows) if "lost" in t)
        assert gaps[0] < first, "the marker comes after the lines it is about"
        h.driver.execute_script("document.querySelector('#log .pane:not([hidden]) .gap').scrollIntoView({block: 'center'})")
        h.screenshot(os.path.join(shots, "web-history-gap.png"))

    def notifications():
        a, t = s["a"], s["t"]
        a.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NOTIFICATION_SPY})
        a.driver.refresh()
        a.wait_header(nick="alice", room="#lobby", state="open")
        a.wait(lambda x: "#dev" in x.rooms(), "#dev rejoined")
        a.click_room("#dev")  # where tom is since the restart
        a.wait_header(room="#dev")
        bell = a.driver.find_element(By.ID, "nb")
        got = a.driver.execute_script("return [window.asked, Notification.permission]")
        assert got == [0, "default"], "permission asked on load: %r" % got
        assert bell.is_displayed() and bell.get_attribute("aria-pressed") == "false", "no bell, or it is on"
        a.driver.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["notifications"], "origin": url("")})
        bell.click()
        a.wait(lambda x: bell.get_attribute("aria-pressed") == "true", "the bell turned on")
        assert a.driver.execute_script("return window.asked") == 1, "the click did not ask once"
        # Focused: a mention makes no notification.
        t.send("alice: seen while here")
        a.wait_line("<tom> alice: seen while here")
        assert a.driver.execute_script("return window.made") == [], "a notification while focused"
        # Another tab in front hides the page's: a mention and a private message notify, the title counts.
        page = a.driver.current_window_handle
        a.driver.switch_to.new_window("tab")
        try:
            t.send("alice: ping while away")
            t.send("/msg alice private while away")
            title = lambda: next((i["title"] for i in a.driver.execute_cdp_cmd("Target.getTargets", {})["targetInfos"]
                                  if i["type"] == "page" and i["url"].startswith(url("/"))), "")
            a.wait(lambda x: title().startswith("(2) "), "the hidden tab's title counting 2 unread (%r)" % title())
        finally:
            a.driver.close()
            a.driver.switch_to.window(page)
        made = a.driver.execute_script("return window.made")
        assert made == [["#dev", "<tom> alice: ping while away"], ["tom (private)", "<tom> private while away"]], \
            "notifications %r" % made
        # Back: the room shown is read; the private message still counts.
        a.wait(lambda x: x.rooms().get("#dev") == ("", ""), "#dev read once the tab is back")
        assert a.driver.title.startswith("(1) "), "title %r" % a.driver.title

    def lost_line():
        """A line sent just as the server dies (stopped, then killed: no echo) comes back into the input and
        is marked not sent; a line still being typed stays in its input; both go once the page is back."""
        a, b = s["a"], s["b"]
        a.click_room("#lobby")
        a.wait_header(room="#lobby")
        b.driver.find_element(By.ID, "i").send_keys("still typing")
        server.send_signal(signal.SIGSTOP)
        try:
            a.type("said as it died")
        finally:
            server.kill()
        a.wait_line("not sent: said as it died")
        assert "err" in a.wait_line("not sent: said as it died")
        box = a.driver.find_element(By.ID, "i")
        a.wait(lambda x: box.get_attribute("value") == "said as it died", "the lost line back in the input")
        assert a.count("<alice> said as it died", from_server=False) == 0, "the lost line drawn as said"
        start_server()
        for x in (a, b):
            x.wait_header(state="open")
        assert box.get_attribute("value") == "said as it died", "input after the reconnect: %r" % box.get_attribute("value")
        t, _ = tcp()
        s["t"] = t
        box.send_keys(Keys.ENTER)
        t.expect(re.escape("<%s> said as it died" % a.header()["nick"]))
        assert b.driver.find_element(By.ID, "i").get_attribute("value") == "still typing", "the phone's typed text lost"
        b.type("")
        t.expect(re.escape("<bob> still typing"))

    def login():
        """A server with accounts asks for a login: the first visit's form shows a password field and logs in
        with it (a wrong secret first); the secret is kept nowhere."""
        r = subprocess.run([os.path.abspath(args.server), "--hash-password"], input=b"s3cret pass\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=PATIENCE)
        assert r.returncode == 0, "--hash-password failed: %r" % r.stderr
        users = os.path.join(hdir, "users")
        with open(users, "w") as f:
            f.write("ann:%s\n" % r.stdout.decode().strip())
        ls.start("--port", 0, "--web-port", 0, "--bind", "127.0.0.1", "--web-bind", "127.0.0.1",
                 "--users", users, "--require-login", want=("tcp", "web"))
        g = Browser("login")
        browsers.append(g)
        g.open("http://127.0.0.1:%d/" % ls.ports["web"])
        g.wait_header(state="open", nick=GUEST)
        lw = g.driver.find_element(By.ID, "lp")
        g.wait(lambda x: lw.is_displayed(), "the password field, once the server asked for a login")
        assert g.driver.execute_script(TOP_JS) == "", "Load older offered in no room: %r" % g.driver.execute_script(TOP_JS)
        g.screenshot(os.path.join(shots, "web-login.png"))
        if axe:  # the form with its password field
            axe_core(axe, [g])
        g.driver.find_element(By.ID, "ln").send_keys("ann")
        lw.send_keys("not it" + Keys.ENTER)
        assert "err" in g.wait_line("error: wrong name or secret")
        assert lw.is_displayed() and lw.get_attribute("value") == "", "after a refused login: %r" % lw.get_attribute("value")
        lw.send_keys("s3cret pass" + Keys.ENTER)
        g.wait_header(nick="ann", room="#lobby")
        g.wait(lambda x: not x.driver.find_element(By.ID, "lf").is_displayed(), "the form gone once logged in")
        g.type("logged in and talking")
        g.wait(lambda x: x.count("<ann> logged in and talking", from_server=False) == 1, "own line once logged in")
        kept = g.driver.execute_script("return JSON.stringify(localStorage) + document.body.textContent")
        assert "s3cret" not in kept and "not it" not in kept, "a secret kept in the page or its storage"

    def hashed(secret):
        r = subprocess.run([os.path.abspath(args.server), "--hash-password"], input=secret.encode() + b"\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=PATIENCE)
        assert r.returncode == 0, "--hash-password failed: %r" % r.stderr
        return r.stdout.decode().strip()

    def login_when_registered():
        """Accounts without --require-login: a guest chats; the nick form with an account's nick gets
        nick_registered, which shows the password field, and the login from it takes the nick; /login
        typed in the input logs in too; the secrets are kept nowhere."""
        users = os.path.join(hdir, "users-open")
        with open(users, "w") as f:
            f.write("ann:%s\nbob:%s\n" % (hashed("s3cret pass"), hashed("b0b two words")))
        ols.start("--port", 0, "--web-port", 0, "--bind", "127.0.0.1", "--web-bind", "127.0.0.1",
                  "--users", users, want=("tcp", "web"))
        t = TcpClient(ols.ports["tcp"])
        clients.append(t)
        t.expect(r"\* welcome to .*, you are (\S+)")
        t.expect(r"\* joined lobby \(\d+ members?\)")
        g = Browser("open-login")
        browsers.append(g)
        g.open("http://127.0.0.1:%d/" % ols.ports["web"])
        guest = g.wait_header(state="open", nick=GUEST, room="#lobby")["nick"]
        lf, ln, lw = (g.driver.find_element(By.ID, i) for i in ("lf", "ln", "lp"))
        assert lf.is_displayed() and not lw.is_displayed(), "a guest is asked for a nick, not a password"
        g.type("a guest may talk")
        t.expect(re.escape("<%s> a guest may talk" % guest))
        # The nick of an account: refused with nick_registered, and the form asks for its password.
        ln.send_keys("ann" + Keys.ENTER)
        registered = "error: nick registered: log in with /login ann SECRET"
        assert "err" in g.wait_line(registered)
        g.wait(lambda x: lf.is_displayed() and lw.is_displayed(), "the password field after nick_registered")
        assert ln.get_attribute("value") == "ann", "the nick asked for: %r" % ln.get_attribute("value")
        assert g.header()["nick"] == guest, "renamed without a login: %r" % g.header()
        lw.send_keys("not it" + Keys.ENTER)
        assert "err" in g.wait_line("error: wrong name or secret")
        lw.send_keys("s3cret pass" + Keys.ENTER)
        g.wait_header(nick="ann", room="#lobby")
        t.expect(re.escape("* %s is now known as ann" % guest))
        g.wait(lambda x: not lf.is_displayed(), "the form gone once logged in")
        g.type("logged in from the form")
        t.expect(re.escape("<ann> logged in from the form"))
        g.wait(lambda x: x.count("<ann> logged in from the form", from_server=False) == 1, "own line once")
        # /login typed in the input, by a second guest.
        h = Browser("open-login-typed")
        browsers.append(h)
        h.open("http://127.0.0.1:%d/" % ols.ports["web"])
        guest2 = h.wait_header(state="open", nick=GUEST, room="#lobby")["nick"]
        h.type("/login bob b0b two words")  # a secret with spaces
        h.wait_header(nick="bob", room="#lobby")
        t.expect(re.escape("* %s is now known as bob" % guest2))
        h.type("typed a login")
        t.expect(re.escape("<bob> typed a login"))
        for x, secrets in ((g, ("s3cret", "not it")), (h, ("b0b two",))):
            kept = x.driver.execute_script("return JSON.stringify(localStorage) + document.body.textContent")
            assert not any(w in kept for w in secrets), "a secret kept in %s's page or its storage" % x.name

    def days_and_new_below():
        h = s["h"]
        # Lines of yesterday and the day before: the history file changed while its server is stopped.
        status = hs.stop()
        assert status == 0, "history server exited with %r" % status
        for c in (s["w"], s["rd"]):
            c.expect_eof()
        day = 24 * 3600 * 1000
        with contextlib.closing(sqlite3.connect(hdb, timeout=PATIENCE)) as db:
            db.execute("UPDATE messages SET time_ms = time_ms - ? WHERE room_key = 'lobby' AND text LIKE 'lost 0%'",
                       (2 * day,))
            db.execute("UPDATE messages SET time_ms = time_ms - ? WHERE room_key = 'lobby' AND text LIKE 'lost 1%'",
                       (day,))
            db.commit()
        start_history_server()
        w, rd = hs_tcp(), hs_tcp()
        s.update(w=w, rd=rd)
        w.send("/nick carol")
        w.expect(r"\* \S+ is now known as carol")
        h.driver.refresh()
        h.wait_header(state="open", nick="dana", room="#lobby")
        h.wait(lambda x: said(x, "lost") == numbered("lost", 85, 95), "the replay of lost 85 to 94")
        h.driver.find_element(By.CSS_SELECTOR, "#log .pane:not([hidden]) .top button").click()
        h.wait(lambda x: said(x, "lost") == numbered("lost", 35, 95), "lost 35 to 94")
        h.driver.execute_script(ANCHOR_JS, "lost 35", True)
        h.wait(lambda x: x.driver.execute_script(TOP_JS) == "start of history", "start of history")
        assert said(h, "lost") == numbered("lost", 5, 95), "lines %r" % said(h, "lost")
        days = h.driver.execute_script(
            "const f = d => new Date(Date.now() - d * 864e5).toLocaleDateString(undefined,"
            " {weekday: 'long', year: 'numeric', month: 'long', day: 'numeric'});"
            "return [[f(2), f(1), f(0)], Array.from(document.querySelectorAll('#log .pane:not([hidden]) .day'),"
            " e => [e.textContent, e.nextElementSibling.querySelector('.m').textContent])];")
        assert days[1] == [[days[0][0], "<carol> lost 05"], [days[0][1], "<carol> lost 10"],
                           [days[0][2], "<carol> lost 20"]], "dates %r, want %r" % (days[1], days[0])
        # Scrolled up, a new line: a button says so, and the view stays.
        h.driver.execute_script("document.getElementById('log').scrollTop = 0")
        w.send("below 00")
        h.wait(lambda x: said(x, "below") == ["below 00"], "below 00")
        nm = h.driver.find_element(By.ID, "nm")
        h.wait(lambda x: nm.is_displayed(), "the New messages below button")
        assert h.driver.execute_script("return document.getElementById('log').scrollTop") == 0, "the view moved"
        h.screenshot(os.path.join(shots, "web-history-days.png"))
        if axe:  # the history page's new parts: dates, the marker, the button, start of history
            axe_core(axe, [h])
        nm.click()
        h.wait(lambda x: not nm.is_displayed(), "the button gone once clicked")
        assert h.driver.execute_script(
            "const log = document.getElementById('log');"
            "return log.scrollHeight - log.scrollTop - log.clientHeight < 2"), "not at the newest line"

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
        run.run("two browsers and a TCP client arrive in the lobby; the first visit asks for a nick", arrive,
                fatal=True)
        run.run("the nick form and /nick rename everywhere; header and member list follow", rename, fatal=True)
        run.run("chat goes browser->browser, browser->telnet, telnet->browsers; own lines marked", chat_all_directions)
        run.run("a nick has the same colour everywhere; every hue and the button >= 4.5:1 in both themes", colours)
        run.run("lines with HTML show literally; only http(s) URLs become links; dir=auto", html_literal)
        run.run("errors red, server notices apart; a typed '/me joined' is an action", styles)
        run.run("mentions highlighted; a private message opens a conversation with an unread mark", private_and_mention)
        run.run("/who from the page lists the room", who)
        run.run("a multi-line paste asks 'Send N lines?' and sends them as lines; declined, it stays in the input",
                paste)
        run.run("several rooms: messages in the right room, unread counts, mention marker, member lists", rooms,
                fatal=True)
        run.run("a reload keeps the nick and the rooms", reload_keeps_nick_and_rooms, fatal=True)
        run.run("screenshots saved; the phone layout fits 390 px with the input at the bottom", screenshots)
        run.run("landmarks (header, nav, main), one h1, the polite log inside main, every input labelled", accessible)
        if axe:
            run.run("axe-core (%s): no violations, light and dark, desktop and phone" % axe,
                    axe_core, axe)
        else:
            print("SKIP axe-core: axe.min.js not found (npm install --prefix BUILD/axe axe-core, or set "
                  "CHATROOM_AXE_JS to its path)", flush=True)
        run.run("after a restart on the same ports the pages reconnect and rejoin with nick and rooms", restart,
                fatal=True)
        run.run("/quit from the page leaves; the page stays closed until Send", quit_and_come_back)
        run.run("a burst of 2100 lines leaves at most 2000 in the DOM", bounded_dom)
        run.run("notifications: asked for on a click only; a mention and a private message while the tab is "
                "hidden notify and count in the title", notifications)
        run.run("a line sent as the connection dies is marked not sent and put back in the input; typed text "
                "stays; both are sent once the page is back", lost_line)
        run.run("with --users and --require-login the first visit's form shows a password field and logs in "
                "with it", login)
        run.run("with --users and no --require-login a guest chats; an account's nick gets nick_registered, "
                "the password field, and the login from the page (form and typed /login) takes it",
                login_when_registered)
        if args.with_store:
            run.run("Load older (button, keyboard, scrolling to the top) prepends the page before the oldest "
                    "line, keeps the view, and says start of history", load_older)
            run.run("a server restart with lines said while the page was away: each line shown once, in order; "
                    "own lines too", reconnect_once)
            run.run("a short outage: what the replay repeats is not shown again", reconnect_short)
            run.run("more missed than the store kept: a visible marker, then what is left, once each", reconnect_gap)
            run.run("Load older past the 2000-row cap trims the newest end, keeps the view, offers "
                    "Show newest messages; /who while paged back is answered, lines said meanwhile come "
                    "with the latest page", older_trimmed)
            run.run("a date above each day's first line; scrolled up, a new line shows New messages below; "
                    "axe-core clean there, light and dark",
                    days_and_new_below)
        else:
            print("SKIP the history checks: the server has no SQLite store (run with --with-store when it has)",
                  flush=True)
        run.run("no CSP violations or script errors in the consoles", clean_console, always=True)
    finally:
        for c in clients:
            c.close()
        for x in browsers:
            x.quit()
        try:
            server.stop()
            hs.stop()
            ds.stop()
            ls.stop()
            ols.stop()
        finally:
            server.close()
            hs.close()
            ds.close()
            ls.close()
            ols.close()
            shutil.rmtree(hdir, ignore_errors=True)
    return run.summary()


if __name__ == "__main__":
    sys.exit(main())
