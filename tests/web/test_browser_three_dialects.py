#!/usr/bin/python3
"""Three dialects in one room: the chat page in headless Chromium (JSON over
WebSocket), a telnet user (the line protocol) and a raw IRC client, all in
the lobby of one chatroom-server (--port, --web-port, --irc-port).

Usage:
    test_browser_three_dialects.py --server PATH/TO/chatroom-server [--screenshot PATH]

ann (the page), tom (telnet) and ivy (IRC, NICK/USER then JOIN #lobby) each
say three lines, all nine sent back to back without waiting for one another,
so the server alone decides their order. Checked: the page shows all nine
(its own three drawn from the server's echo) in the order of their ids; tom
sees the six that are not his, as "<nick> text", in that order; ivy sees the
six that are not hers, as PRIVMSG #lobby, in that order. One conversation,
one order, three ways of reading it. Joins are seen across dialects first.
A screenshot of the page (PATH; default a new /tmp directory) shows the
conversation. Then alice, bob and una (telnet) join, and the six nicks the
project's screenshots show (ann, tom, ivy, alice, bob, una) are told apart
by colour: in the member list, in the light and the dark theme, every two of
them at least MIN_DELTA_E apart in OKLab (the colours as shown, in sRGB).

Needs Debian's chromium, chromium-driver and python3-selenium; run with
/usr/bin/python3. Every wait has a deadline; every process started here is
stopped by its PID. Prints PASS/FAIL per check, then "N passed, M failed".
"""
import argparse
import os
import re
import sys
import tempfile

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import chatroom_testkit as kit  # noqa: E402
from test_browser import Browser, GUEST, MEMBER_RGB_JS, PATIENCE, ROW_IDS_JS, TcpClient, delta_e  # noqa: E402

ROUNDS = 3
LINES = {"ann": "from the browser, line %d", "tom": "from telnet, line %d", "ivy": "from IRC, line %d"}
SAID = re.compile(r"<(ann|tom|ivy)> (from .*, line \d)$")
# Two nick colours closer than this (OKLab distance) are hard to tell apart at a glance. With 12 hues
# at one lightness (the page before), tom and ivy had the very same colour (0.000 apart).
MIN_DELTA_E = 0.04
MORE = ("alice", "bob", "una")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="path to chatroom-server")
    parser.add_argument("--screenshot", help="where to save the page's screenshot (a .png)")
    args = parser.parse_args()
    shot = args.screenshot or os.path.join(tempfile.mkdtemp(prefix="chatroom-screenshots-"),
                                           "screenshot-three-dialects.png")
    os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)

    server = kit.ServerProcess([os.path.abspath(args.server)], PATIENCE, prefix="chatroom-web-three-")
    run = kit.CheckRunner(tracebacks=False)
    browsers, clients, s = [], [], {}

    def start_server():
        server.start("--port", 0, "--web-port", 0, "--irc-port", 0, "--bind", "127.0.0.1",
                     "--web-bind", "127.0.0.1", "--name", "three-dialects", want=("tcp", "web", "irc"))
        print("     server: tcp %d, web %d, irc %d" % (server.ports["tcp"], server.ports["web"], server.ports["irc"]))

    def arrive():
        ann = Browser("ann (page)")
        browsers.append(ann)
        ann.open("http://127.0.0.1:%d/" % server.ports["web"])
        ann.wait_header(nick=GUEST, room="#lobby", state="open")
        ann.driver.find_element(By.ID, "ln").send_keys("ann" + Keys.ENTER)
        ann.wait_header(nick="ann")
        tom = TcpClient(server.ports["tcp"])
        clients.append(tom)
        tom.expect(r"\* joined lobby \(\d+ members?\)")
        tom.send("/nick tom")
        tom.expect(r"\* \S+ is now known as tom")
        ann.wait(lambda x: any(t.endswith(" is now known as tom") for _, t in x.lines()), "tom named")
        ivy = kit.IrcClient(server.ports["irc"], "ivy (IRC)", PATIENCE)
        clients.append(ivy)
        ivy.register("ivy")
        ivy.send("JOIN #lobby")
        names = ivy.expect(r" 353 ivy [=*@] #lobby :")
        assert set(names.split(":")[-1].split()) >= {"ann", "tom", "ivy"}, names
        ivy.expect(r" 366 ivy #lobby ")
        tom.expect(r"\* ivy joined")
        ann.wait_line("ivy joined")
        ann.wait_members(["ann", "ivy", "tom"])
        s.update(ann=ann, tom=tom, ivy=ivy)

    def converse():
        ann, tom, ivy = s["ann"], s["tom"], s["ivy"]
        for i in range(1, ROUNDS + 1):  # back to back: nobody waits for anybody
            ann.type(LINES["ann"] % i)
            tom.send(LINES["tom"] % i)
            ivy.send("PRIVMSG #lobby :" + LINES["ivy"] % i)
        everyone = {(n, LINES[n] % i) for n in LINES for i in range(1, ROUNDS + 1)}

        def page_lines():
            return [(m.group(1), m.group(2)) for _, t in ann.lines("#lobby") for m in [SAID.match(t)] if m]
        ann.wait(lambda x: set(page_lines()) == everyone and len(page_lines()) == len(everyone), "all nine lines")
        order = page_lines()
        ids = [int(i) for _, i, _ in ann.driver.execute_script(ROW_IDS_JS, None) if i]
        assert ids == sorted(ids), "the page's rows are not in id order: %r" % ids
        own = [t for cls, t in ann.lines("#lobby") if "self" in cls and SAID.match(t)]
        assert own == ["<ann> " + LINES["ann"] % i for i in range(1, ROUNDS + 1)], "own lines %r" % own
        want_tom = [x for x in order if x[0] != "tom"]
        want_ivy = [x for x in order if x[0] != "ivy"]
        got_tom = []
        while len(got_tom) < len(want_tom):
            m = SAID.match(tom.line(PATIENCE))
            if m:
                got_tom.append((m.group(1), m.group(2)))
        prefix = re.compile(r"^(?:@\S+ )?:(ann|tom|ivy)!\S+ PRIVMSG #lobby :(.*)$")
        got_ivy = []
        while len(got_ivy) < len(want_ivy):
            m = prefix.match(ivy.line(PATIENCE))
            if m:
                got_ivy.append((m.group(1), m.group(2)))
        print("     the room's order: %s" % ", ".join("%s %s" % (n, t.rsplit(" ", 1)[1]) for n, t in order))
        assert got_tom == want_tom, "telnet saw %r, the page %r" % (got_tom, order)
        assert got_ivy == want_ivy, "IRC saw %r, the page %r" % (got_ivy, order)
        for n in LINES:
            mine = [t for who, t in order if who == n]
            assert mine == [LINES[n] % i for i in range(1, ROUNDS + 1)], "%s's lines out of order: %r" % (n, mine)

    def screenshot():
        ann = s["ann"]
        ann.type("/who")
        ann.wait_line("in #lobby: ann, ivy, tom")
        ann.screenshot(shot)
        print("     screenshot: %s" % shot)

    def colours_apart():
        ann = s["ann"]
        for nick in MORE:
            c = TcpClient(server.ports["tcp"])
            clients.append(c)
            c.expect(r"\* joined lobby \(\d+ members?\)")
            c.send("/nick " + nick)
            c.expect(r"\* \S+ is now known as %s" % nick)
        ann.wait_members(sorted(("ann", "ivy", "tom") + MORE))
        bad = []
        for scheme in ("light", "dark"):
            ann.driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                       {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
            shown = dict(ann.driver.execute_script(MEMBER_RGB_JS))
            pairs = sorted((delta_e(shown[x], shown[y]), x, y) for i, x in enumerate(sorted(shown))
                           for y in sorted(shown)[i + 1:])
            print("     %s: %s; closest pairs %s" % (scheme, ", ".join("%s %r" % kv for kv in sorted(shown.items())),
                                                    ", ".join("%s/%s %.3f" % (x, y, d) for d, x, y in pairs[:3])))
            bad += ["%s: %s and %s %.3f apart" % (scheme, x, y, d) for d, x, y in pairs if d < MIN_DELTA_E]
        ann.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        assert not bad, "nick colours closer than %.2f: %s" % (MIN_DELTA_E, "; ".join(bad))

    try:
        run.run("server starts with TCP, web and IRC listeners", start_server, fatal=True)
        run.run("a page (ann), a telnet user (tom) and an IRC client (ivy) in the lobby; each sees the others "
                "arrive", arrive, fatal=True)
        run.run("nine lines back to back: the page, telnet and IRC see one conversation in one order", converse)
        run.run("screenshot of the page", screenshot)
        run.run("six nicks' colours apart (OKLab >= %.2f) in both themes" % MIN_DELTA_E, colours_apart)
    finally:
        for c in clients:
            c.close()
        for b in browsers:
            b.quit()
        try:
            server.stop()
        finally:
            server.close()
    return run.summary()


if __name__ == "__main__":
    sys.exit(main())
