#!/usr/bin/python3
"""IRC's OPER, client-only message tags and the relay of long lines, driven by raw IRC clients.

Usage: test_irc_oper_tags.py PATH/TO/chatroom-server

Starts `SERVER --port 0 --irc-port 0 --users FILE` with an operator's
account and a plain one (Argon2id hashes from `SERVER --hash-password`) and
checks:
- OPER with an operator's account: 381 and `MODE nick :+o`, the nick
  unchanged (no login: no 900, no NICK); then 221 shows o, WHOIS has 313,
  WHO nick flags `H*` (`G*` once away); a telnet operator command (/kick)
  is permitted to it;
- OPER with a wrong password, with an account that is not an operator's,
  and for an unknown account: 464, no 381, no +o; OPER with one parameter: 461;
- client-only tags (`+key=value`) of a PRIVMSG to a channel and to a nick
  reach a recipient that negotiated message-tags (escaped as sent, beside
  msgid), not one that did not, nor a telnet user as text; a server tag sent
  by a client (`fizz=buzz`) is dropped; tag data over 4094 bytes: 417;
- a PRIVMSG of the longest line a client may send is relayed as one line of
  at most 512 bytes (cut at a UTF-8 boundary), never as two.

Every wait has a deadline; prints PASS/FAIL per check and "N passed, M
failed"; exits 1 on any failure.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

PATIENCE = 20.0  # seconds for any one condition; generous for a loaded 2-core machine
runner = kit.CheckRunner(tracebacks=False)


def IrcClient(port, name):
    return kit.IrcClient(port, name, PATIENCE)


def users_file(server_path, tmp, accounts):
    """A --users file: {name: (password, op)}."""
    lines = []
    for name, (password, op) in accounts.items():
        r = subprocess.run([server_path, "--hash-password"], input=(password + "\n").encode(), capture_output=True,
                           timeout=PATIENCE)
        assert r.returncode == 0, r
        lines.append("%s:%s%s" % (name, r.stdout.decode().strip(), ":op" if op else ""))
    path = os.path.join(tmp, "users")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def sync(c, token):
    """Everything the server sent c before a PING it answers now: those lines."""
    c.send("PING :" + token)
    _, before = c.read_until(lambda l: re.search(r" PONG \S+ :%s$" % token, l))
    return before


def tags_of(line):
    if not line.startswith("@"):
        return {}
    out = {}
    for t in line[1:].split(" ", 1)[0].split(";"):
        k, _, v = t.partition("=")
        out[k] = v
    return out


def main():
    server_path = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="irc-oper-tags-") as tmp:
        users = users_file(server_path, tmp, {"operuser": ("operpassword", True), "plain": ("plainpw", False)})
        srv = kit.ServerProcess([server_path, "--bind", "127.0.0.1", "--port", "0", "--irc-port", "0",
                                 "--users", users], PATIENCE)
        srv.start(want=("tcp", "irc"))
        try:
            irc = srv.ports["irc"]

            def oper_success():
                baz = IrcClient(irc, "baz")
                baz.register("baz")
                other = IrcClient(irc, "other")
                other.register("other")
                baz.send("JOIN #ops")
                baz.expect(r" 366 baz #ops ")
                baz.send("OPER operuser operpassword")
                said = sync(baz, "o1")
                assert any(re.search(r" 381 baz :", l) for l in said), said
                assert any(re.search(r"^:baz!baz@\S+ MODE baz :\+o$", l) for l in said), said
                assert not any(re.search(r" (900|NICK|464|491) ", l) for l in said), said
                baz.send("MODE baz")
                baz.expect(r" 221 baz \+o$")
                other.send("WHOIS baz")
                _, lines = other.read_until(lambda l: " 318 other baz " in l)
                assert any(re.search(r" 313 other baz :", l) for l in lines), lines
                other.send("WHO baz")
                other.expect(r" 352 other \* baz \S+ \S+ baz H\* :0 ")
                baz.send("AWAY :later")
                baz.expect(r" 306 baz ")
                other.send("WHO baz")
                other.expect(r" 352 other \* baz \S+ \S+ baz G\* :0 ")
                other.send("WHO other")
                other.expect(r" 352 other \* other \S+ \S+ other H :0 ")
                # A server operator is an operator of every channel: its KICK puts the
                # member out of the channel (KILL is the server's /kick).
                victim = IrcClient(irc, "victim")
                victim.register("victim")
                victim.send("JOIN #ops")
                victim.expect(r" 366 victim #ops ")
                baz.send("KICK #ops victim :bye")
                victim.expect(r"^:baz!baz@\S+ KICK #ops victim :bye$")
                victim.send("PING :still-here")
                victim.expect(r":still-here$")
            runner.run("OPER with an operator's account: 381 and MODE baz :+o, the nick kept, no login; 221 +o, "
                       "WHOIS 313, WHO flags H* then G*; KICK permitted", oper_success)

            def oper_failures():
                c = IrcClient(irc, "qux")
                c.register("qux")
                for line in ("OPER operuser wrong", "OPER plain plainpw", "OPER nobody secret"):
                    c.send(line)
                    said = sync(c, "f%d" % len(line))
                    assert any(re.search(r" 464 qux :", l) for l in said), (line, said)
                    assert not any(re.search(r" (381|900) ", l) or " MODE " in l for l in said), (line, said)
                c.send("OPER operuser")
                c.expect(r" 461 qux OPER :")
                c.send("MODE qux")
                c.expect(r" 221 qux \+$")
            runner.run("OPER refused: a wrong password, an account that is not an operator's, an unknown one: "
                       "464 and no +o; one parameter: 461", oper_failures)

            def client_tags():
                alice = IrcClient(irc, "alice")
                alice.register("alice", caps="message-tags echo-message")
                bob = IrcClient(irc, "bob")
                bob.register("bob", caps="message-tags")
                carol = IrcClient(irc, "carol")
                carol.register("carol", caps="server-time")
                tel = kit.LineClient(srv.ports["tcp"], PATIENCE, name="telnet")
                tel.greet()
                tel.send("/nick dave")
                tel.send("/join tags")
                for c, n in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
                    c.send("JOIN #tags")
                    c.expect(r" 366 %s #tags " % n)
                alice.send(r"@+baz=b\sa\:t;fizz=buzz;+draft/reply=7 PRIVMSG #tags :hi")
                echo = alice.expect(r" PRIVMSG #tags :hi$")
                relay = bob.expect(r" PRIVMSG #tags :hi$")
                plain = carol.expect(r" PRIVMSG #tags :hi$")
                for got in (echo, relay):
                    t = tags_of(got)
                    assert t.get("+baz") == r"b\sa\:t" and t.get("+draft/reply") == "7" and "msgid" in t, got
                    assert "fizz" not in t, got
                assert tags_of(echo)["msgid"] == tags_of(relay)["msgid"], (echo, relay)
                assert "+baz" not in tags_of(plain) and "time" in tags_of(plain), plain
                line = tel.wait_for(lambda l: l.endswith("hi"))
                assert line == "<alice> hi", line
                alice.send("@+draft/reply=1 PRIVMSG bob :psst")
                relay = bob.expect(r" PRIVMSG bob :psst$")
                assert tags_of(relay).get("+draft/reply") == "1", relay
                alice.send("@+draft/reply=2 PRIVMSG carol :psst")
                plain = carol.expect(r" PRIVMSG carol :psst$")
                assert "+draft/reply" not in tags_of(plain), plain
                # TAGMSG: the tags alone, to message-tags members (the sender's echo too); not to carol,
                # not to the telnet user.
                alice.send(r"@+typing=active;cat=dog TAGMSG #tags")
                echo = alice.expect(r" TAGMSG #tags$")
                relay = bob.expect(r" TAGMSG #tags$")
                for got in (echo, relay):
                    t = tags_of(got)
                    assert t.get("+typing") == "active" and "cat" not in t and "msgid" in t, got
                    assert got.split(" ", 1)[1].startswith(":alice!alice@"), got
                assert tags_of(echo)["msgid"] == tags_of(relay)["msgid"], (echo, relay)
                alice.send("PRIVMSG #tags :after the tagmsg")
                for c in (carol, bob):
                    _, between = c.read_until(lambda l: l.endswith("PRIVMSG #tags :after the tagmsg"))
                    assert c is bob or not any("TAGMSG" in l for l in between), between
                _, between = tel.read_until(lambda l: l == "<alice> after the tagmsg")
                assert between == [], between
                alice.send("TAGMSG #nowhere")
                alice.expect(r" 404 alice #nowhere ")
                alice.send("@+baz=%s PRIVMSG #tags :too much" % ("a" * 4090))
                alice.expect(r" 417 alice :")
                alice.send("@+baz=%s PRIVMSG #tags :just fits" % ("a" * 4089))
                relay = bob.expect(r" PRIVMSG #tags :just fits$")
                assert tags_of(relay)["+baz"] == "a" * 4089
            runner.run("client-only tags: relayed escaped to message-tags recipients (channel and private), with "
                       "the echo's msgid; not to others, not as text to telnet; server tags dropped; 4095 bytes: 417",
                       client_tags)

            def long_lines():
                a = IrcClient(irc, "nick1")
                a.register("nick1")
                b = IrcClient(irc, "nick2")
                b.register("nick2")
                for text in ("a" * 495, "a" * 491 + "\U0001F603", "a" * 475 + "\u00e9" * 10):
                    a.send("PRIVMSG nick2 :" + text)
                    before = len(b.raw)
                    got = b.expect(r" PRIVMSG nick2 :")
                    sync(b, "l%d" % len(text))
                    raw = bytes(b.raw[before:])
                    assert raw.count(b" PRIVMSG nick2 :") == 1, raw[:200]
                    line = raw.split(b"\r\n", 1)[0] + b"\r\n"
                    assert len(line) <= 512, len(line)
                    body = got.split(" :", 1)[1]
                    assert text.startswith(body) and len(body) >= 400, body
                a.send("JOIN #long")
                a.expect(r" 366 nick1 #long ")
                b.send("JOIN #long")
                b.expect(r" 366 nick2 #long ")
                a.send("PRIVMSG #long :" + "b" * 495)
                got = b.expect(r" PRIVMSG #long :")
                assert len(got.encode()) + 2 <= 512 and set(got.split(" :", 1)[1]) == {"b"}, got
                a.send("PRIVMSG #long :short")
                b.expect(r" PRIVMSG #long :short$")
            runner.run("a long PRIVMSG is relayed as one line of at most 512 bytes, cut at a UTF-8 boundary",
                       long_lines)
            def kill_and_info():
                op = IrcClient(irc, "killer")
                op.register("killer")
                a = IrcClient(irc, "alice2")
                a.register("alice2")
                b = IrcClient(irc, "bob2")
                b.register("bob2")
                a.send("KILL bob2 :go")
                a.expect(r" 481 alice2 :")
                a.send("KILL nobody")
                a.expect(r" 481 alice2 :")
                op.send("OPER operuser operpassword")
                op.expect(r" 381 killer ")
                op.send("KILL nobody :x")
                op.expect(r" 401 killer nobody ")
                op.send("KILL bob2 :some reason")
                b.expect(r"^ERROR :Closing link")
                b.until_closed(PATIENCE)
                a.send("INFO")
                _, lines = a.read_until(lambda l: " 374 alice2 :" in l)
                assert lines and all(re.search(r" 371 alice2 :", l) for l in lines), lines
            runner.run("KILL: 481 for a non-operator; an operator's closes the member (401 for no such nick); "
                       "INFO: 371 lines and 374", kill_and_info)
        finally:
            srv.stop()
            print(srv.text()[-2000:] if runner.failed else "", end="")
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
