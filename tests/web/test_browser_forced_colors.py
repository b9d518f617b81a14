#!/usr/bin/python3
"""The chat page in forced-colours mode (Windows High Contrast and the like):
headless Chromium with forced-colors emulated through the DevTools protocol
(Emulation.setEmulatedMedia, forced-colors: active), against chatroom-server.

Usage:
    test_browser_forced_colors.py --server PATH/TO/chatroom-server [--screenshot-dir DIR]

In forced-colours mode the browser replaces the page's colours with the
system's: backgrounds and box shadows, which is how the page marks a mention,
an own line and an unread count, are gone unless the page says otherwise.
A page with alice in #dev: a plain line of tom's, a line mentioning alice, a
line of alice's own, and in the room list the lobby's unread count and
mention marker. Checked, with forced colours on:
- the mention and the own line each differ from the plain line in something
  forced colours keep (a border, an outline, a font property, generated
  content, or a colour the page chose from the system colours);
- the mention and the own line differ from each other the same way (so a
  mention of you is not taken for your own line);
- the unread count and the mention marker are shown, their text at least
  4.5:1 against what is behind them, and set apart from the room name they
  sit beside the same way;
- the Join and Send buttons have a border on every side (forced colours
  drop their background, which is what shows them as buttons otherwise),
  at least 3:1 against what is behind them.
Screenshots with and without forced colours go to DIR.

Needs Debian's chromium, chromium-driver and python3-selenium; run with
/usr/bin/python3. Every wait has a deadline; every process started here is
stopped by its PID. Prints PASS/FAIL per check, then "N passed, M failed".
"""
import argparse
import os
import sys
import tempfile

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import chatroom_testkit as kit  # noqa: E402
from test_browser import Browser, GUEST, PATIENCE, TcpClient  # noqa: E402

# The computed style of an element (by selector), as forced colours leave it to tell it apart: the
# element's own box and its pseudo-elements. Colours are kept too (a system colour the page chose
# survives); the background is the one seen (its own if opaque, else what is behind it).
STYLE_JS = """const e = document.querySelector(arguments[0]);
if (!e) return null;
const c = getComputedStyle(e), b = getComputedStyle(e, '::before'), a = getComputedStyle(e, '::after');
const sides = ['Top', 'Right', 'Bottom', 'Left'];
const out = {};
for (const s of sides) {
  const w = parseFloat(c['border' + s + 'Width']), st = c['border' + s + 'Style'];
  out['border-' + s.toLowerCase()] = w > 0 && st !== 'none' && st !== 'hidden' ? w + 'px ' + st + ' ' + c['border' + s + 'Color'] : 'none';
}
out.outline = c.outlineStyle !== 'none' && parseFloat(c.outlineWidth) > 0 ? c.outlineWidth + ' ' + c.outlineStyle + ' ' + c.outlineColor : 'none';
out['font-weight'] = c.fontWeight;
out['font-style'] = c.fontStyle;
out['text-decoration'] = c.textDecorationLine;
out.color = c.color;
// The background as seen: the element's own when opaque, else the first opaque one behind it (a
// background forced to the page's Canvas colour is then no difference).
let bgOf = e;
out.background = getComputedStyle(document.documentElement).backgroundColor;
while (bgOf) {
  const bg = getComputedStyle(bgOf).backgroundColor;
  if (bg && !/rgba\(.*, 0\)$/.test(bg) && bg !== 'transparent') { out.background = bg; break; }
  bgOf = bgOf.parentElement;
}
out['box-shadow'] = c.boxShadow;
out['::before'] = b.content;
out['::after'] = a.content;
const r = e.getBoundingClientRect();
out.shown = r.width > 0 && r.height > 0 && c.visibility !== 'hidden' && (e.textContent || '').trim() !== '';
return out;"""
# The colour behind an element: its own background or the first opaque one of its ancestors.
BEHIND_JS = """let e = document.querySelector(arguments[0]);
const own = getComputedStyle(e).color;
while (e) {
  const bg = getComputedStyle(e).backgroundColor;
  if (bg && !/rgba\\(.*, 0\\)$/.test(bg) && bg !== 'transparent') return [own, bg];
  e = e.parentElement;
}
return [own, getComputedStyle(document.documentElement).backgroundColor];"""
FORCED_JS = "return matchMedia('(forced-colors: active)').matches"
# What forced colours leave to tell two elements apart (box-shadow is removed by them; a background
# colour is replaced unless it is a system colour, so it counts only when it still differs).
KEEPS = ("border-top", "border-right", "border-bottom", "border-left", "outline", "font-weight", "font-style",
         "text-decoration", "::before", "::after", "color", "background")


def lum(c):
    import re
    v = [float(x) / 255 for x in re.findall(r"[\d.]+", c)[:3]]
    v = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in v]
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]


def contrast(a, b):
    x, y = lum(a), lum(b)
    return (max(x, y) + 0.05) / (min(x, y) + 0.05)


def differences(a, b):
    return {k: (a[k], b[k]) for k in KEEPS if a[k] != b[k]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="path to chatroom-server")
    parser.add_argument("--screenshot-dir", help="where to save screenshots (default: a new /tmp directory)")
    args = parser.parse_args()
    shots = args.screenshot_dir or tempfile.mkdtemp(prefix="chatroom-screenshots-")
    os.makedirs(shots, exist_ok=True)

    server = kit.ServerProcess([os.path.abspath(args.server)], PATIENCE, prefix="chatroom-web-forced-")
    run = kit.CheckRunner(tracebacks=False)
    browsers, clients, s = [], [], {}
    rows = {"plain": '#log .pane:not([hidden]) .l.chat:not(.hl):not(.self)',
            "mention": '#log .pane:not([hidden]) .l.hl',
            "own": '#log .pane:not([hidden]) .l.self'}
    badges = {"unread count": '#rooms li[data-room="#lobby"] .u',
              "mention marker": '#rooms li[data-room="#lobby"] .at',
              "room name": '#rooms li[data-room="#lobby"] .go'}
    buttons = {"join button": "#jf button", "send button": "#f button"}
    everything = dict(rows, **badges, **buttons)

    def start_server():
        server.start("--port", 0, "--web-port", 0, "--bind", "127.0.0.1", "--web-bind", "127.0.0.1",
                     want=("tcp", "web"))

    def tcp(nick):
        c = TcpClient(server.ports["tcp"])
        clients.append(c)
        c.expect(r"\* joined lobby \(\d+ members?\)")
        c.send("/nick " + nick)
        c.expect(r"\* \S+ is now known as %s" % nick)
        return c

    def setup():
        a = Browser("desktop")
        browsers.append(a)
        a.open("http://127.0.0.1:%d/" % server.ports["web"])
        a.wait_header(nick=GUEST, room="#lobby", state="open")
        a.driver.find_element(By.ID, "ln").send_keys("alice" + Keys.ENTER)
        a.wait_header(nick="alice")
        a.type("/join dev")
        a.wait_header(room="#dev")
        tom, una = tcp("tom"), tcp("una")
        una.send("/join dev")
        una.expect(r"\* joined dev \(2 members\)")
        tom.send("alice: a mention in the lobby")
        a.wait(lambda x: x.rooms().get("#lobby") == ("1", "@"), "the lobby's unread count 1 and its marker")
        una.send("a plain line")
        una.send("alice: a mention in dev")
        a.wait_line("<una> alice: a mention in dev")
        a.type("my own line")
        a.wait(lambda x: x.count("<alice> my own line", from_server=False) == 1, "own line drawn")
        for what, sel in everything.items():
            assert a.driver.execute_script("return !!document.querySelector(arguments[0])", sel), \
                "no %s (%s) on the page" % (what, sel)
        s["a"] = a
        s["normal"] = {w: a.driver.execute_script(STYLE_JS, sel) for w, sel in everything.items()}
        a.screenshot(os.path.join(shots, "web-forced-colors-off.png"))

    def forced_on():
        a = s["a"]
        a.driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                 {"features": [{"name": "forced-colors", "value": "active"}]})
        assert a.driver.execute_script(FORCED_JS), "matchMedia('(forced-colors: active)') does not match"
        s["forced"] = {w: a.driver.execute_script(STYLE_JS, sel) for w, sel in everything.items()}
        for w, style in s["forced"].items():
            kept = {k: v for k, v in style.items() if k in KEEPS and (k, v) not in (("box-shadow", "none"),)}
            print("     forced %-15s %s" % (w + ":", kept))
        a.screenshot(os.path.join(shots, "web-forced-colors-on.png"))

    def rows_apart(which):
        f = s["forced"]
        diff = differences(f[which], f["plain"])
        normal = differences(s["normal"][which], s["normal"]["plain"])
        print("     %s against a plain line: without forced colours %r; with them %r" % (which, normal, diff))
        assert diff, "with forced colours the %s row looks like a plain line (without them it differs in %r)" % (
            which, sorted(normal))

    def badge_shown(which):
        a, f = s["a"], s["forced"]
        assert f[which]["shown"], "the %s is not shown" % which
        fg, bg = a.driver.execute_script(BEHIND_JS, badges[which])
        ratio = contrast(fg, bg)
        diff = differences(f[which], f["room name"])
        print("     %s: %s on %s (%.2f:1); apart from the room name by %r" % (which, fg, bg, ratio, diff))
        assert ratio >= 4.5, "the %s's text is %.2f:1 against what is behind it" % (which, ratio)
        assert diff, "the %s looks like the room name beside it" % which

    def mention_vs_own():
        diff = differences(s["forced"]["mention"], s["forced"]["own"])
        print("     the mention and the own line, with forced colours, differ in: %r" % (diff or "nothing"))
        assert diff, "with forced colours a mention looks like an own line"

    def button_border(which):
        a, f = s["a"], s["forced"]
        sides = {k: f[which][k] for k in ("border-top", "border-right", "border-bottom", "border-left")}
        print("     %s: %r (without forced colours: %r)" % (
            which, sides, {k: s["normal"][which][k] for k in sides}))
        assert all(v != "none" for v in sides.values()), "the %s has no border on some side: %r" % (which, sides)
        # The border's colour against what is behind the button (its parent's background, as it is drawn).
        _, bg = a.driver.execute_script(BEHIND_JS.replace("let e = document.querySelector(arguments[0]);",
                                                          "let e = document.querySelector(arguments[0]).parentElement;"),
                                        buttons[which])
        colour = a.driver.execute_script("return getComputedStyle(document.querySelector(arguments[0]))"
                                         ".borderTopColor", buttons[which])
        ratio = contrast(colour, bg)
        print("     %s border %s on %s: %.2f:1" % (which, colour, bg, ratio))
        assert ratio >= 3, "the %s's border is %.2f:1 against what is behind it" % (which, ratio)

    try:
        run.run("server starts", start_server, fatal=True)
        run.run("alice in #dev: a plain line, a mention, her own line; the lobby counts 1 unread, marked",
                setup, fatal=True)
        run.run("forced colours emulated (matchMedia matches)", forced_on, fatal=True)
        run.run("forced colours: a mention differs from a plain line", rows_apart, "mention")
        run.run("forced colours: an own line differs from a plain line", rows_apart, "own")
        run.run("forced colours: the unread count is shown, readable, set apart", badge_shown, "unread count")
        run.run("forced colours: the mention marker is shown, readable, set apart", badge_shown, "mention marker")
        run.run("forced colours: a mention differs from an own line", mention_vs_own)
        run.run("forced colours: the Join button has a visible border", button_border, "join button")
        run.run("forced colours: the Send button has a visible border", button_border, "send button")
    finally:
        for c in clients:
            c.close()
        for b in browsers:
            b.quit()
        try:
            server.stop()
        finally:
            server.close()
    print("     screenshots in %s" % shots)
    return run.summary()


if __name__ == "__main__":
    sys.exit(main())
