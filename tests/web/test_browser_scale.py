#!/usr/bin/python3
"""The chat page under a burst: five headless Chromium pages in one room while
a telnet client sends 10,000 lines as fast as the server takes them.

Usage:
    test_browser_scale.py --server PATH/TO/chatroom-server [--screenshot-dir DIR]
                          [--lines N] [--long-task-ms MS] [--report-only]

Each page records its long tasks (PerformanceObserver 'longtask', buffered,
installed through the DevTools protocol before the page's own script) and
counts the burst's events on its WebSocket (a listener added to the page's
socket; it only looks). The burst's lines alternate a said line and a /me, so
that each is its own event (the server gathers consecutive lines of one
sender into one event) and each is a row of its own on the page.

"During the burst" is, in each page, from just before the first line is sent
to the end of the frame after the burst's last event arrived (then the pages
that follow the newest show that last line, in view). "After the burst" is
the following AFTER_MS (3 s) of that page's own clock, while the room goes
on: a line typed in one page reaches the others. The check is the issue's
target: no long task over 100 ms after the burst. The maximum during the
burst is printed, not asserted: a page busy drawing 10,000 rows on a shared
2-core machine has long tasks, which the one-layout-a-frame drawing and the
2000-row cap bound. Long animation frames after the burst are printed with
their script and style-and-layout shares.

Also checked: every page got all 10,000 events; each pane keeps at most 2000
rows (and, at the newest, at least 2000 less the page's trim batch of 50); two readers scrolled up before the burst (one far up, one a few rows
above the newest) still have the row they were reading in the DOM and in
view afterwards, and the button to the newest lines shown.

With --report-only the long-task target is printed and not asserted (for a
machine too loaded to measure on). ctest asserts it: the frame that draws the
next line into a full pane took 50 to 165 ms on the shared 2-core machine,
mostly style, layout and paint of the whole pane, while each row taken from
its top moved every other row; with rows contained (contain: content) and
trimmed 50 at a time, the longest task after the burst was 0-82 ms in 10 runs
(none at all in 9). Needs Debian's chromium, chromium-driver
and python3-selenium; run with /usr/bin/python3. Every wait has a deadline;
every process started here is stopped by its PID.
"""
import argparse
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import chatroom_testkit as kit  # noqa: E402
from test_browser import Browser, GUEST, PATIENCE, TcpClient  # noqa: E402

MAX_ROWS = 2000  # the page's MAX_LINES
TRIM = 50  # the page's TRIM: past MAX_ROWS, it takes this many rows away at once
BURST_PATIENCE = 240.0  # seconds for the whole burst to be drawn everywhere
AFTER_MS = 3000  # the window "after the burst", in each page's clock

# Before the page's script (the DevTools protocol injects it; the CSP does not apply): long tasks
# into window.__lt as [startTime, duration]; every WebSocket's messages mentioning the burst counted
# into window.__burst, with the time (performance.now()) the last one came.
SPY = """window.__lt = [];
try {
  new PerformanceObserver(l => { for (const e of l.getEntries()) window.__lt.push([e.startTime, e.duration]); })
    .observe({type: 'longtask', buffered: true});
  window.__ltOk = true;
} catch (e) { window.__ltOk = String(e); }
// Long animation frames (where a slow frame's time went): [start, duration, script ms, style and layout ms].
window.__loaf = [];
try {
  new PerformanceObserver(l => { for (const e of l.getEntries()) window.__loaf.push([e.startTime, e.duration,
      e.scripts.reduce((a, x) => a + x.duration, 0),
      e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0]); })
    .observe({type: 'long-animation-frame', buffered: true});
} catch (e) { /* older Chromium: no attribution printed */ }
window.__burst = {n: 0, lastText: null, lastAt: null, drawnAt: null};
const Real = window.WebSocket;
window.WebSocket = function (...a) {
  const w = new Real(...a);
  w.addEventListener('message', m => {
    if (typeof m.data !== 'string') return;
    if (m.data.includes('after the burst')) window.__after = performance.now();
    if (!m.data.includes('burst ')) return;
    window.__burst.n++;
    if (!m.data.includes(window.__burst.lastText)) return;
    // The last event came: the page draws it in its next frame; drawnAt is after that frame's work.
    window.__burst.lastAt = performance.now();
    setTimeout(() => requestAnimationFrame(() => setTimeout(() => { window.__burst.drawnAt = performance.now(); })));
  });
  return w;
};
window.WebSocket.prototype = Real.prototype;
for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) window.WebSocket[k] = Real[k];"""

# Where the row whose text ends with arguments[0] is against the log's box: null when not in the
# DOM; else [row top - log top, row bottom <= log bottom && row top >= log top].
PLACE_JS = """const log = document.getElementById('log');
const row = Array.from(document.querySelectorAll('#log .pane:not([hidden]) .l'))
  .find(e => e.querySelector('.m').textContent.endsWith(arguments[0]));
if (!row) return null;
const b = log.getBoundingClientRect(), r = row.getBoundingClientRect();
return [r.top - b.top, r.top >= b.top - 1 && r.bottom <= b.bottom + 1];"""
ROWS_JS = "return Array.from(document.querySelectorAll('#log .pane'), p => p.querySelectorAll('.l').length);"


def text(i):
    return "burst %05d" % i


def command(i):
    """The telnet line of the burst's i-th event: odd ones are actions."""
    return ("/me " if i % 2 else "") + text(i)


def shown(i, nick):
    return ("* %s %s" if i % 2 else "<%s> %s") % (nick, text(i))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="path to chatroom-server")
    parser.add_argument("--screenshot-dir", help="where to save a screenshot (default: a new /tmp directory)")
    parser.add_argument("--lines", type=int, default=10000, help="lines in the burst")
    parser.add_argument("--long-task-ms", type=float, default=100.0, help="longest task allowed after the burst")
    parser.add_argument("--report-only", action="store_true", help="print the long-task figures, do not assert them")
    args = parser.parse_args()
    shots = args.screenshot_dir or tempfile.mkdtemp(prefix="chatroom-screenshots-")
    os.makedirs(shots, exist_ok=True)
    n = args.lines

    server = kit.ServerProcess([os.path.abspath(args.server)], PATIENCE, prefix="chatroom-web-scale-")
    run = kit.CheckRunner(tracebacks=False)
    browsers, clients, s = [], [], {}

    def start_server():
        server.start("--port", 0, "--web-port", 0, "--bind", "127.0.0.1", "--web-bind", "127.0.0.1",
                     "--quiet", want=("tcp", "web"))
        print("     server: tcp port %d, web port %d" % (server.ports["tcp"], server.ports["web"]))

    def tcp(nick):
        c = TcpClient(server.ports["tcp"])
        clients.append(c)
        c.expect(r"\* joined lobby \(\d+ members?\)")
        c.send("/nick " + nick)
        c.expect(r"\* \S+ is now known as %s" % nick)
        return c

    def arrive():
        for i in range(5):
            b = Browser("page %d" % i)
            browsers.append(b)
            b.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SPY})
            b.open("http://127.0.0.1:%d/" % server.ports["web"])
            b.wait_header(nick=GUEST, room="#lobby", state="open")
            ok = b.driver.execute_script("return window.__ltOk")
            assert ok is True, "%s: no longtask observer: %r" % (b.name, ok)
            b.driver.execute_script("window.__burst.lastText = arguments[0]", text(n - 1))
        s["flood"] = tcp("flooder")
        s["t"] = tcp("tom")
        for b in browsers:
            b.wait(lambda x: any(t.endswith(" is now known as tom") for _, t in x.lines()), "tom named")

    def readers_scroll_up():
        # 300 rows before the burst, then reader 3 scrolls to row 100 and reader 4 a few rows above the newest.
        t = s["t"]
        for i in range(300):
            t.send(("/me " if i % 2 else "") + "before %03d" % i)
        for b in browsers:
            b.wait(lambda x: x.count("* tom before 299") == 1, "before 299")
        far, near = browsers[3], browsers[4]
        far.driver.execute_script(
            "Array.from(document.querySelectorAll('#log .pane:not([hidden]) .l'))"
            ".find(e => e.querySelector('.m').textContent === '<tom> before 100').scrollIntoView({block: 'start'})")
        # 200 px above the newest (the page sticks to the bottom within 48 px): its anchor is the row at the
        # top of the view.
        near_anchor = near.driver.execute_script(
            "const log = document.getElementById('log'); log.scrollTop = log.scrollHeight - log.clientHeight - 200;"
            "const top = log.getBoundingClientRect().top;"
            "const row = Array.from(document.querySelectorAll('#log .pane:not([hidden]) .l'))"
            "  .find(e => e.getBoundingClientRect().top >= top);"
            "return row ? row.querySelector('.m').textContent : null;")
        assert near_anchor and "before" in near_anchor, "%s: no row at the top of the view" % near.name
        s["anchors"] = {3: "<tom> before 100", 4: near_anchor}
        s["before"] = {}
        for i, anchor in s["anchors"].items():
            # The page hears the scroll event a frame later: wait until it is no longer stuck to the bottom.
            b = browsers[i]
            place = b.wait(lambda x: x.driver.execute_script(PLACE_JS, anchor), "%r placed" % anchor)
            assert place[1], "%s: %r not in view after scrolling (%r)" % (b.name, anchor, place)
            s["before"][i] = place[0]
        far.screenshot(os.path.join(shots, "web-scale-reader-before.png"))

    def burst():
        flood = s["flood"]
        for b in browsers:
            b.driver.execute_script("window.__t0 = performance.now()")
        blob = "".join(command(i) + "\r\n" for i in range(n)).encode()
        sent = {}

        def send():
            t0 = time.monotonic()
            flood.sock.settimeout(BURST_PATIENCE)
            try:
                flood.sock.sendall(blob)
            except OSError as e:
                sent["error"] = e
            sent["seconds"] = time.monotonic() - t0
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        t0 = time.monotonic()
        last = shown(n - 1, "flooder")
        ends = {}
        deadline = t0 + BURST_PATIENCE
        while len(ends) < len(browsers):
            assert time.monotonic() < deadline, "after %.0f s, pages done: %r" % (BURST_PATIENCE, sorted(ends))
            for i, b in enumerate(browsers):
                if i in ends:
                    continue
                got = b.driver.execute_script("return window.__burst.drawnAt")
                if got is not None and i not in s["anchors"]:
                    # A follower: the last line is the pane's last row, in view.
                    place = b.driver.execute_script(PLACE_JS, last)
                    assert place and place[1], "%s: the last line drawn but %s" % (
                        b.name, "out of view (%r)" % place if place else "not in the DOM")
                if got is not None:
                    ends[i] = got
                    print("     %s: burst done after %.1f s" % (b.name, time.monotonic() - t0), flush=True)
            time.sleep(0.1)
        sender.join(BURST_PATIENCE)
        assert "error" not in sent, "the burst's sender: %r" % sent.get("error")
        print("     sendall of the %d lines returned after %.1f s (socket buffers hold them; the pages' times "
              "above are the burst's)" % (n, sent["seconds"]), flush=True)
        s["ends"] = ends

    def all_arrived():
        for b in browsers:
            got = b.driver.execute_script("return window.__burst.n")
            assert got == n, "%s: %d of the burst's %d events arrived" % (b.name, got, n)

    def dom_capped():
        for i, b in enumerate(browsers):
            rows = b.driver.execute_script(ROWS_JS)
            assert rows and max(rows) <= MAX_ROWS, "%s: rows per pane %r" % (b.name, rows)
            if i not in s["anchors"]:
                assert max(rows) >= MAX_ROWS - TRIM - 10, "%s: rows per pane %r, the cap not reached" % (b.name, rows)
            print("     %s: %r rows" % (b.name, rows))

    def readers_keep_their_line():
        bad = []
        for i, anchor in s["anchors"].items():
            b = browsers[i]
            place = b.driver.execute_script(PLACE_JS, anchor)
            print("     %s: %r %s (at %.0f px before, %s after)" % (
                b.name, anchor, "in view" if place and place[1] else "NOT in view", s["before"][i],
                "%.0f px" % place[0] if place else "gone"), flush=True)
            if place is None:
                bad.append("%s: %r trimmed out of the DOM" % (b.name, anchor))
            elif not place[1]:
                bad.append("%s: %r in the DOM but out of view (%.0f px, was %.0f px)"
                           % (b.name, anchor, place[0], s["before"][i]))
            # What was not drawn for them is offered: the button under the log.
            nm = b.driver.execute_script(
                "const n = document.getElementById('nm'); return n.hidden ? null : n.textContent")
            if nm is None:
                bad.append("%s: no button to the newest lines" % b.name)
        browsers[3].screenshot(os.path.join(shots, "web-scale-reader-after.png"))
        browsers[0].screenshot(os.path.join(shots, "web-scale-follower-after.png"))
        assert not bad, "; ".join(bad)

    def after_the_burst():
        # The room goes on after the burst: a line typed in page 0 reaches every page.
        browsers[0].type("after the burst")
        s["t"].expect(r"<\S+> after the burst")
        for b in browsers[1:3]:
            b.wait_line("<%s> after the burst" % browsers[0].header()["nick"])
        # Then each page's AFTER_MS window must be over, in its own clock.
        for i, b in enumerate(browsers):
            b.wait(lambda x: x.driver.execute_script("return performance.now()") > s["ends"][i] + AFTER_MS,
                   "the end of the after-burst window")
        report, bad = [], []
        for i, b in enumerate(browsers):
            t0, t1 = b.driver.execute_script("return window.__t0"), s["ends"][i]
            tasks = b.driver.execute_script("return window.__lt")
            typed = b.driver.execute_script("return window.__after || null")
            during = [d for st, d in tasks if t0 <= st < t1]
            after = [d for st, d in tasks if st >= t1]
            # A task under way when the burst ended counts for what it lasted past that moment.
            after += [st + d - t1 for st, d in tasks if st < t1 < st + d]
            report.append("%s: during the burst (%.1f s) %d long tasks, max %.0f ms; after it %d, max %.0f ms %s"
                          % (b.name, (t1 - t0) / 1000, len(during), max(during, default=0), len(after),
                             max(after, default=0),
                             ["%.0f ms at +%.0f ms%s" % (d, st - t1, " (%+.0f ms from the typed line's arrival)"
                                                          % (st - typed) if typed else "")
                              for st, d in tasks if st + d > t1]))
            if max(after, default=0) > args.long_task_ms:
                bad.append("%s: %s ms" % (b.name, ", ".join("%.0f" % d for d in after if d > args.long_task_ms)))
        for line in report:
            print("     " + line, flush=True)
        for i, b in enumerate(browsers):
            frames = [f for f in b.driver.execute_script("return window.__loaf") if f[0] + f[1] > s["ends"][i]
                      and f[1] > 50]
            if frames:
                print("     %s: long frames after the burst: %s" % (b.name, ", ".join(
                    "%.0f ms (script %.0f, style and layout %.0f)" % (d, sc, lay) for _, d, sc, lay in frames)))
        if bad and args.report_only:
            print("     (--report-only) long tasks over %.0f ms after the burst: %s" % (args.long_task_ms, bad))
        else:
            assert not bad, "long tasks over %.0f ms after the burst: %s" % (args.long_task_ms, "; ".join(bad))

    try:
        run.run("server starts", start_server, fatal=True)
        run.run("five pages with a long-task observer and a telnet flooder in the lobby", arrive, fatal=True)
        run.run("300 rows; two readers scroll up (far, and a few rows above the newest)", readers_scroll_up,
                fatal=True)
        run.run("a telnet client sends %d lines as fast as the server takes them; the pages at the newest "
                "show the last in view" % n, burst, fatal=True)
        run.run("every page got all %d events" % n, all_arrived)
        run.run("each pane holds at most %d rows" % MAX_ROWS, dom_capped)
        run.run("the readers' rows are still in the DOM and in view; a button leads to the newest",
                readers_keep_their_line)
        run.run("no long task over %.0f ms after the burst; the maxima during it reported" % args.long_task_ms,
                after_the_burst)
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
