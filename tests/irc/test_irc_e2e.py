#!/usr/bin/python3
"""chatroom-server --irc-port driven by raw-socket IRC clients beside a telnet-style client.

Usage: test_irc_e2e.py PATH/TO/chatroom-server

Starts `SERVER --port 0 --irc-port 0 --bind 127.0.0.1 --welcome ... --history 20`, reads both ports from
its log, and checks: registration (CAP LS 302/REQ/ACK/NAK/END, NICK, USER,
001-005, LUSERS, MOTD or 422), one conversation between an IRC user in #dev and a
telnet user in dev (chat, /me and CTCP ACTION, private messages both ways,
server-time and msgid only for a client that asked, long text cut into
lines of at most 512 bytes at UTF-8 boundaries), NAMES, WHO, MODE, LIST,
TOPIC, PING, the error numerics (401 403 421 431 432 433 442 451 461 462
417), PART and QUIT as the telnet user sees them. Every wait has a deadline;
prints PASS/FAIL per check and "N passed, M failed"; exits 1 on any failure.
"""
import contextlib
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
    """A raw IRC client (the kit's), patient as this suite is."""
    return kit.IrcClient(port, name, PATIENCE)


@contextlib.contextmanager
def account_server(name, role=""):
    """chatroom-server (telnet and IRC) with a --users file of one account, name with a fresh secret (role
    ":op": a server operator's); yields the server and the secret, and stops the server."""
    secret = "irc-secret-%s-%d" % (name, os.getpid())
    r = subprocess.run([sys.argv[1], "--hash-password"], input=(secret + "\n").encode(), capture_output=True,
                       timeout=PATIENCE)
    assert r.returncode == 0, r
    with tempfile.TemporaryDirectory(prefix="irc-users-") as tmp:
        users = os.path.join(tmp, "users")
        with open(users, "w") as f:
            f.write("%s:%s%s\n" % (name, r.stdout.decode().strip(), role))
        srv = kit.ServerProcess([sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1",
                                 "--users", users], PATIENCE)
        srv.start(want=("tcp", "irc"))
        try:
            yield srv, secret
        finally:
            srv.stop()


def telnet_tom_in_dev(srv):
    """A telnet user of srv, named tom, in room dev."""
    tom = kit.LineClient(srv.ports["tcp"], PATIENCE, name="tom (telnet)")
    tom.greet()
    tom.send("/nick tom")
    tom.wait_for(lambda l: "is now known as tom" in l)
    tom.send("/join dev")
    tom.wait_for(lambda l: l.startswith("* joined dev"))
    return tom


def join_dev(*clients):
    """Each (IRC client, nick) joins #dev, waiting for the end of its NAMES."""
    for c, n in clients:
        c.send("JOIN #dev")
        c.expect(r" 366 %s #dev " % n)


def body_of(line):
    """The line without its tags."""
    return line.split(" ", 1)[1] if line.startswith("@") else line


def main():
    server = kit.ServerProcess([sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1",
                                 "--welcome", "Test server MOTD", "--history", "20"], PATIENCE)
    server.start(want=("tcp", "irc"))
    irc_port, tcp_port = server.ports["irc"], server.ports["tcp"]
    alice = IrcClient(irc_port, "alice (IRC)")
    plain = IrcClient(irc_port, "carol (IRC, no caps)")
    bob = kit.LineClient(tcp_port, PATIENCE, name="bob (telnet)")
    bob.greet()
    bob.send("/nick bob")
    bob.wait_for(lambda l: "is now known as bob" in l)

    def registration():
        plain.send("JOIN #dev")
        plain.expect(r" 451 \* :You have not registered")
        ls = alice.register("alice", "server-time message-tags")
        assert "server-time" in ls and "message-tags" in ls, ls
        alice.expect(r" 004 alice \S+ \S+ iow biklmnostv$")  # the user modes kept (user_modes.hpp), the channel modes known
        isupport = alice.expect(r" 005 alice ")
        for token in ("CASEMAPPING=ascii", "CHANTYPES=#", "CHANMODES=b,k,l,imnst", "PREFIX=(ov)@+", "NICKLEN=32", "CHANNELLEN=33", "NETWORK="):
            assert token in isupport, (token, isupport)
        alice.expect(r" 251 alice :There are \d+ users")
        alice.expect(r" 375 alice :")
        alice.expect(r" 372 alice :- Test server MOTD$")
        alice.expect(r" 376 alice :End of /MOTD")
        plain.send("CAP LS 302")
        plain.send("CAP REQ :no-such-cap")
        plain.expect(r" CAP \* NAK :no-such-cap$")
        plain.send("NICK alice")  # taken
        plain.send("USER carol 0 * :Carol")
        plain.send("CAP END")
        plain.expect(r" 433 \* alice :Nickname is already in use")
        plain.send("NICK bad[nick]")
        plain.expect(r" 432 \* bad\[nick\] :Erroneous nickname")
        plain.send("NICK carol")
        plain.expect(r"^:\S+ 001 carol ")
        plain.send("USER again 0 * :Again")
        plain.expect(r" 462 carol :You may not reregister")
        # IRC users start in no room: the lobby's telnet user never heard them arrive or go.
        bob.send("/who")
        bob.wait_for(lambda l: l == "* in lobby: bob")
        noise = [l for l in bob.seen
                 if re.match(r"\* ((guest-\d+|alice|carol) (joined|left)|\S+ is now known as (alice|carol))", l)]
        assert not noise, noise
    runner.run("registration: CAP LS/REQ/ACK/NAK/END, NICK, USER, 001-005, LUSERS, MOTD 375/372/376; 451 432 433 462; "
               "in no room until JOIN (the lobby hears nothing)", registration,
               fatal=True)

    def join_names():
        bob.send("/join dev")
        bob.wait_for(lambda l: l.startswith("* joined dev"))
        bob.send("said before you came")
        alice.send("NAMES #lobby")
        alice.expect(r" 366 alice #lobby ")  # not in the lobby: an IRC client is in the channels it joins
        alice.send("JOIN #dev,#bad!name")
        alice.expect(r"^@time=\S+Z :alice!\S+ JOIN #dev$")  # its own JOIN stamped too (server-time)
        # The room's kept history, with the time it was said (server-time) and its id.
        past = alice.expect(r"PRIVMSG #dev :said before you came$")
        assert re.match(r"^@msgid=\S+;time=\S+Z :bob!", past), past
        names = alice.expect(r" 353 alice = #dev :")
        # bob (telnet) came first: the room's operator, marked @ (the core's roles, any dialect).
        assert set(names.split(":")[-1].split()) == {"alice", "@bob"}, names
        alice.expect(r" 366 alice #dev :End of /NAMES list")
        alice.expect(r" 403 alice #bad!name :No such channel")
        bob.wait_for(lambda l: l == "* alice joined")
        plain.send("JOIN #dev")
        plain.expect(r" 366 carol #dev ")
        alice.expect(r"^@\S+ :carol!\S+ JOIN #dev$")
    runner.run("JOIN several channels (one refused with 403), history with its times, NAMES 353/366; telnet sees the join", join_names,
               fatal=True)

    def conversation():
        alice.send("PRIVMSG #dev :hello from IRC é日本")
        bob.wait_for(lambda l: l == "<alice> hello from IRC é日本")
        bob.send("hi from telnet")
        got = alice.expect(r"PRIVMSG #dev :hi from telnet$")
        assert re.match(r"^@msgid=[^; ]+;time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z :bob!bob@\S+ PRIVMSG", got), got
        untagged = plain.expect(r"PRIVMSG #dev :hi from telnet$")
        assert untagged.startswith(":bob!"), untagged  # no tags for a client that did not ask
        alice.send("PRIVMSG #dev :\x01ACTION waves\x01")
        bob.wait_for(lambda l: l == "* alice waves")
        bob.send("/me nods")
        alice.expect(r":bob!\S+ PRIVMSG #dev :\x01ACTION nods\x01$")
        alice.send("PRIVMSG bob :psst")
        bob.wait_for(lambda l: l == "*alice* psst")
        bob.send("/msg alice back at you")
        alice.expect(r":bob!\S+ PRIVMSG alice :back at you$")
    runner.run("one conversation: chat, actions and private messages both ways; tags only when asked", conversation)

    def long_text():
        text = "é日本語 " * 300
        bob.send("/me " + "x")  # a marker before the long line
        alice.expect(r"ACTION x\x01$")
        bob.send(text.strip())
        pieces = []
        while len("".join(pieces)) < len(text.strip()):
            line = alice.expect(r"PRIVMSG #dev :")
            body = body_of(line)
            assert len(body.encode()) + 2 <= 512, len(body.encode())
            pieces.append(body.split(" :", 1)[1])
        assert "".join(pieces) == text.strip()
    runner.run("a long line reaches IRC as several lines of at most 512 bytes, cut at UTF-8 boundaries", long_text)

    def queries():
        alice.send("WHO #dev")
        who = [alice.expect(r" 352 alice #dev ")]
        alice.expect(r" 315 alice #dev :End of /WHO list")
        assert who
        alice.send("MODE #dev")
        alice.expect(r" 324 alice #dev \+nt$")
        alice.send("MODE #dev +o bob")
        alice.expect(r" 482 alice #dev :")
        alice.send("MODE alice")
        alice.expect(r" 221 alice \+$")
        alice.send("LIST")
        alice.expect(r" 321 alice ")
        alice.expect(r" 322 alice #dev 3 :")
        alice.expect(r" 323 alice :End of /LIST")
        alice.send("TOPIC #dev")
        alice.expect(r" 331 alice #dev :No topic is set")
        alice.send("PING :token-1")
        alice.expect(r" PONG \S+ :token-1$")
        alice.send("MOTD")
        alice.expect(r" 372 alice :- Test server MOTD$")
        alice.send("WHOIS bob")
        alice.expect(r" 311 alice bob bob \S+ \* :bob$")
        alice.expect(r" 319 alice bob :#dev$")
        alice.expect(r" 318 alice bob :End of /WHOIS")
        alice.send("WHOIS alice")
        alice.expect(r" 311 alice alice alice \S+ \* :The alice$")
        alice.send("WHOIS nobody")
        alice.expect(r" 401 alice nobody :")
        alice.expect(r" 318 alice nobody :")
        alice.send("LUSERS")
        alice.expect(r" 255 alice :I have \d+ clients")
    runner.run("WHO 352/315, WHOIS 311/319/318/401, MODE 324/482/221, LIST 321/322/323, TOPIC 331, PING/PONG, MOTD, "
               "LUSERS", queries)

    def names_caps():
        erin = IrcClient(irc_port, "erin (IRC, userhost-in-names)")
        erin.send("USER erin 0 * :")
        erin.expect(r" 461 \* USER :Not enough parameters")
        erin.register("erin", "multi-prefix userhost-in-names")
        erin.send("CAP LIST")
        erin.expect(r" CAP erin LIST :multi-prefix userhost-in-names$")
        erin.send("JOIN #dev")
        names = erin.expect(r" 353 erin = #dev :")
        assert "alice!alice@chatroom.irc" in names.split(" :", 1)[1].split(), names
        erin.send("QUIT")
        erin.until_closed(PATIENCE)
    runner.run("userhost-in-names and multi-prefix: NAMES lists nick!user@host; USER with an empty realname is 461",
               names_caps)

    def errors():
        alice.send("FOO bar")
        alice.expect(r" 421 alice FOO :Unknown command")
        alice.send("JOIN")
        alice.expect(r" 461 alice JOIN :Not enough parameters")
        alice.send("NICK")
        alice.expect(r" 431 alice :No nickname given")
        alice.send("NICK bob")
        alice.expect(r" 433 alice bob :Nickname is already in use")
        alice.send("PRIVMSG nobody :hello?")
        alice.expect(r" 401 alice nobody :No such nick")
        alice.send("PART #elsewhere")
        alice.expect(r" 442 alice #elsewhere :You're not on that channel")
        alice.send("PRIVMSG #elsewhere :hi")
        alice.expect(r" 404 alice #elsewhere :")
        alice.send("PRIVMSG #dev :" + "x" * 600)
        alice.expect(r" 417 alice :Input line was too long")
        alice.send("@+a=" + "t" * (4094 - 3) + " PRIVMSG #dev :tagged at the limit")  # 4094 bytes of tag data
        bob.wait_for(lambda l: l == "<alice> tagged at the limit")
        alice.send("@+a=" + "t" * (4094 - 2) + " PRIVMSG #dev :tagged past the limit")
        alice.expect(r" 417 alice :Input line was too long")
        alice.send("PING :still-here")
        alice.expect(r":still-here$")
    runner.run("errors: 401 403 404 417 (a body past 510 bytes, a client's tag data past 4094) 421 431 433 442 461", errors)

    def channel_operations():
        plain.send("JOIN #side")  # a room alice is not in
        plain.expect(r" 366 carol #side ")
        alice.send("KICK #dev carol :bye")  # alice is no operator: the core refuses
        alice.expect(r" 482 alice #dev :You're not channel operator")
        alice.send("KICK #nosuch carol")
        alice.expect(r" 403 alice #nosuch :No such channel")
        alice.send("KICK #side carol")
        alice.expect(r" 442 alice #side :You're not on that channel")
        alice.send("KICK #dev nobody")
        alice.expect(r" 401 alice nobody :No such nick")
        alice.send("KICK #dev")
        alice.expect(r" 461 alice KICK :Not enough parameters")
        alice.send("MODE #nosuch")
        alice.expect(r" 403 alice #nosuch :No such channel")
        alice.send("MODE #nosuch +o alice")
        alice.expect(r" 403 alice #nosuch :No such channel")
        alice.send("MODE #side +o carol")
        alice.expect(r" 442 alice #side :You're not on that channel")
        alice.send("MODE #dev +o nobody")
        alice.expect(r" 401 alice nobody :No such nick")
        alice.send("MODE #dev +o bob")
        alice.expect(r" 482 alice #dev :You're not channel operator")
        alice.send("MODE #dev +b carol!*@*")  # a channel ban: its operators only
        alice.expect(r" 482 alice #dev :You're not channel operator")
        alice.send("MODE #dev +b")
        alice.expect(r" 368 alice #dev :End of channel ban list")
        alice.send("INVITE nobody #dev")
        alice.expect(r" 401 alice nobody :No such nick")
        alice.send("INVITE carol #dev")
        alice.expect(r" 443 alice carol #dev :is already on channel")
        alice.send("INVITE carol #side")
        alice.expect(r" 442 alice #side :You're not on that channel")
        alice.send("INVITE carol #nosuch")
        alice.expect(r" 403 alice #nosuch :No such channel")
        plain.send("PART #side")
        plain.expect(r"^:carol!\S+ PART #side$")
    runner.run("KICK, MODE #chan +o/+b and INVITE refused as modern.ircdocs orders it: 461 403 442 401 443, then 482 "
               "from the core for a member that is no operator", channel_operations)

    def several_channels():
        alice.send("JOIN #ops")
        alice.expect(r" 366 alice #ops ")
        plain.send("JOIN #ops")
        plain.expect(r" 366 carol #ops ")
        alice.send("PRIVMSG #ops :ops only")
        plain.expect(r":alice!\S+ PRIVMSG #ops :ops only$")
        bob.send("still in dev")
        alice.expect(r":bob!\S+ PRIVMSG #dev :still in dev$")
        alice.send("PRIVMSG #dev :back in dev")
        bob.wait_for(lambda l: l == "<alice> back in dev")
        assert not any("ops only" in l for l in bob.seen), bob.seen[-5:]
        alice.send("PART #ops")
        alice.expect(r"^@time=\S+Z :alice!\S+ PART #ops$")
        plain.expect(r":alice!\S+ PART #ops$")
        alice.send("PRIVMSG #ops :gone?")
        alice.expect(r" 404 alice #ops :")
    runner.run("several channels at once: each room's events, PART of one keeps the other", several_channels)

    def echo_message():
        dave = IrcClient(irc_port, "dave (IRC, echo-message)")
        ls = dave.register("dave", "echo-message message-tags")
        assert "echo-message" in ls, ls
        dave.send("CAP LIST")
        dave.expect(r" CAP dave LIST :echo-message message-tags$")
        dave.send("JOIN #dev")
        dave.expect(r" 366 dave #dev ")
        dave.send("PRIVMSG #dev :echo me")
        # Back to the sender with the id everyone else gets, once; the others get it once too.
        mine = dave.expect(r"PRIVMSG #dev :echo me$")
        assert re.match(r"^@msgid=[^; ]+ :dave!\S+ PRIVMSG #dev :echo me$", mine), mine  # no server-time asked
        theirs = alice.expect(r":dave!\S+ PRIVMSG #dev :echo me$")
        msgid = lambda line: re.search(r"msgid=([^; ]+)", line).group(1)
        assert msgid(theirs) == msgid(mine), (mine, theirs)
        bob.wait_for(lambda l: l == "<dave> echo me")
        dave.send("PRIVMSG bob :private echo")
        bob.wait_for(lambda l: l == "*dave* private echo")
        dave.expect(r":dave!\S+ PRIVMSG bob :private echo$")
        # Without the capability nothing comes back: alice's own line reaches bob, not her.
        alice.send("PRIVMSG #dev :no echo for alice")
        bob.wait_for(lambda l: l == "<alice> no echo for alice")
        dave.expect(r":alice!\S+ PRIVMSG #dev :no echo for alice$")
        alice.send("PING :after-echo")  # answered after anything queued for her before it
        alice.expect(r" PONG \S+ :after-echo$")
        assert not any("no echo for alice" in l for l in alice.seen), alice.seen[-5:]
        dave.send("CAP REQ :-echo-message")
        dave.expect(r" CAP dave ACK :-echo-message$")
        dave.send("PRIVMSG #dev :not echoed")
        alice.expect(r":dave!\S+ PRIVMSG #dev :not echoed$")
        dave.send("QUIT :bye")
        dave.expect(r"^ERROR ")
        assert not any("not echoed" in l for l in dave.seen), dave.seen[-5:]
        assert sum(l.endswith(":echo me") for l in dave.seen) == 1, dave.seen[-12:]
    runner.run("echo-message: the sender's channel and private messages come back once, with the id the others get; "
               "not without the capability", echo_message)

    def notices():
        erin = IrcClient(irc_port, "erin (IRC, echo-message)")
        erin.register("erin", "echo-message message-tags")
        erin.send("JOIN #dev")
        erin.expect(r" 366 erin #dev ")
        # A PRIVMSG and a NOTICE in one write stay two events: a notice is not batched with chat lines.
        erin.send_raw(b"PRIVMSG #dev :plain line\r\nNOTICE #dev :heads up\r\n")
        alice.expect(r"^@\S+ :erin!erin@\S+ PRIVMSG #dev :plain line$")
        alice.expect(r"^@\S+ :erin!erin@\S+ NOTICE #dev :heads up$")
        plain.expect(r"^:erin!erin@\S+ NOTICE #dev :heads up$")
        erin.expect(r"^@msgid=\S+ :erin!erin@\S+ NOTICE #dev :heads up$")  # echoed as a NOTICE
        # The line protocol shows a notice as it always showed chat: its output is unchanged.
        bob.wait_for(lambda l: l == "<erin> heads up")
        erin.send("NOTICE alice :just you")
        alice.expect(r":erin!erin@\S+ NOTICE alice :just you$")
        erin.expect(r":erin!erin@\S+ NOTICE alice :just you$")
        erin.send("NOTICE bob :telnet too")
        bob.wait_for(lambda l: l == "*erin* telnet too")
        bob.send("/msg erin a reply")
        erin.expect(r":bob!bob@\S+ PRIVMSG erin :a reply$")  # what telnet users say stays PRIVMSG
        erin.send("NOTICE #dev :\x01ACTION shrugs\x01")  # a CTCP ACTION is /me whatever carries it
        alice.expect(r":erin!\S+ PRIVMSG #dev :\x01ACTION shrugs\x01$")
        erin.send("QUIT")
        erin.expect(r"^ERROR ")
    runner.run("NOTICE is relayed as NOTICE (channel, nick, echo-message), never merged with chat lines; "
               "the line protocol shows it as before", notices)

    def caps_after_registration():
        # Fan-out keeps each IRC member's shared renderer for chat lines at
        # hand: a CAP REQ after 001 must change what the next line reads.
        fay = IrcClient(irc_port, "fay (IRC, caps later)")
        fay.register("fay")
        fay.send("JOIN #dev")
        fay.expect(r" 366 fay #dev ")
        bob.send("before the caps")
        assert fay.expect(r"PRIVMSG #dev :before the caps$").startswith(":bob!")
        fay.send("CAP REQ :server-time")
        fay.expect(r" CAP fay ACK :server-time$")
        bob.send("with server-time")
        got = fay.expect(r"PRIVMSG #dev :with server-time$")
        assert re.match(r"^@time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z :bob!", got), got
        bob.send("/me acts timed")
        got = fay.expect(r"PRIVMSG #dev :\x01ACTION acts timed\x01$")
        assert got.startswith("@time="), got
        fay.send("CAP REQ :-server-time")
        fay.expect(r" CAP fay ACK :-server-time$")
        bob.send("untimed again")
        assert fay.expect(r"PRIVMSG #dev :untimed again$").startswith(":bob!")
        fay.send("QUIT")
        fay.expect(r"^ERROR ")
    runner.run("capabilities asked after registration change how the next chat line and action read", caps_after_registration)

    def away_and_users():
        frank = IrcClient(irc_port, "frank (IRC)")
        gina = IrcClient(irc_port, "gina (IRC)")
        frank.register("frank")
        gina.register("gina")  # they share no channel: found through the listener's directory
        henry = IrcClient(irc_port, "henry (IRC, registering)")
        henry.send("NICK henry")
        henry.send("PING :henry-here")
        henry.expect(r":henry-here$")
        # Members now: bob (telnet, in dev), alice and carol (IRC, in #dev), frank and gina (IRC, in no
        # channel); henry is still registering.
        gina.send("LUSERS")
        gina.expect(r" 251 gina :There are 5 users and 0 invisible on 1 servers$")
        gina.expect(r" 253 gina 1 :")
        gina.expect(r" 255 gina :I have 5 clients and 0 servers$")
        gina.expect(r" 265 gina :Current local users: 5$")
        gina.expect(r" 266 gina :Current global users: 5$")
        henry.close()
        frank.send("NICK frankie")  # in no channel: the rename is told to itself all the same
        frank.expect(r"^:frank!\S+ NICK frankie$")
        frank.send("NICK frank")
        frank.expect(r"^:frankie!\S+ NICK frank$")
        gina.send("JOIN #gina")
        gina.expect(r" 366 gina #gina ")
        gina.send("INVITE frank #gina")
        gina.expect(r" 341 gina frank :#gina$")
        frank.expect(r"^:gina!\S+ INVITE frank #gina$")
        # gina, its first member, is #gina's operator: +i, +k and +l keep others out; her invitation lets frank in.
        gina.send("MODE #gina +ik-l beer")  # -l: not set, nothing to tell; the rest in one MODE line
        gina.expect(r"^:gina!\S+ MODE #gina \+ik beer$")
        gina.send("MODE #gina")
        gina.expect(r" 324 gina #gina \+iknt beer$")
        gina.expect(r" 329 gina #gina \d+$")
        henry2 = IrcClient(irc_port, "henry2 (IRC)")
        henry2.register("henry2")
        henry2.send("JOIN #gina")
        henry2.expect(r" 473 henry2 #gina :Cannot join channel \(\+i\)")
        gina.send("MODE #gina -i+l 1")
        gina.expect(r"^:gina!\S+ MODE #gina -i\+l 1$")
        henry2.send("JOIN #gina beer")
        henry2.expect(r" 471 henry2 #gina :Cannot join channel \(\+l\)")
        gina.send("MODE #gina -l")
        gina.expect(r"^:gina!\S+ MODE #gina -l$")
        henry2.send("JOIN #gina wine")
        henry2.expect(r" 475 henry2 #gina :Cannot join channel \(\+k\)")
        henry2.send("JOIN #gina beer")
        henry2.expect(r" 353 henry2 = #gina :")
        frank.send("JOIN #gina")  # invited: past the key
        names = frank.expect(r" 353 frank = #gina :")
        assert set(names.split(":")[-1].split()) == {"@gina", "henry2", "frank"}, names
        henry2.close()
        # Ban masks, matched on nick!nick@address with the names' case folding: a banned user may not join
        # (474), nor speak in the channel, from in it or (-n) outside it; a voiced member speaks through one.
        # A host part other than * matches real addresses, which IRC never shows: a server operator's only.
        gina.send("MODE #gina +b fr?nk!*@127.*")
        gina.expect(r" 696 gina #gina b fr\?nk!\*@127\.\* :only server operators may ban by address$")
        gina.send("MODE #gina +bb henry3 fr?nk!*@*")
        gina.expect(r"^:gina!\S+ MODE #gina \+bb henry3!\*@\* fr\?nk!\*@\*$")
        frank.expect(r"^:gina!\S+ MODE #gina \+bb henry3!\*@\* fr\?nk!\*@\*$")
        gina.send("MODE #gina +b henry3")  # already there: nothing to tell, nothing added
        gina.send("MODE #gina b")
        gina.expect(r" 367 gina #gina henry3!\*@\* gina \d+$")
        gina.expect(r" 367 gina #gina fr\?nk!\*@\* gina \d+$")
        gina.expect(r" 368 gina #gina :End of channel ban list")
        gina.send("MODE #gina +b bad mask")  # "bad" (as bad!*@*) is a mask; "mask" is a stray parameter
        gina.expect(r"^:gina!\S+ MODE #gina \+b bad!\*@\*$")
        gina.send("MODE #gina +b !x@y")
        gina.expect(r" 696 gina #gina b \* :Invalid ban mask")
        gina.send("MODE #gina +b ::x")  # ":x" would read as a trailing parameter in 367 and MODE
        gina.expect(r" 696 gina #gina b \* :Invalid ban mask")
        frank.send("PRIVMSG #gina :hello?")
        frank.expect(r" 404 frank #gina :Cannot send to channel \(\+b\)$")
        henry3 = IrcClient(irc_port, "henry3 (IRC, echo-message)")
        henry3.register("henry3", "echo-message")
        henry3.send("JOIN #gina beer")
        henry3.expect(r" 474 henry3 #gina :Cannot join channel \(\+b\)")
        henry3.send("PRIVMSG #gina :from outside")
        henry3.expect(r" 404 henry3 #gina :Cannot send to channel$")
        gina.send("MODE #gina -n")
        gina.expect(r"^:gina!\S+ MODE #gina -n$")
        henry3.send("PRIVMSG #gina :still banned")
        henry3.expect(r" 404 henry3 #gina :Cannot send to channel \(\+b\)$")
        gina.send("MODE #gina -bb+v HENRY3!*@* bad frank")
        gina.expect(r"^:gina!\S+ MODE #gina -bb\+v HENRY3!\*@\* bad!\*@\* frank$")
        frank.send("PRIVMSG #gina :voiced")
        gina.expect(r"^:frank!\S+ PRIVMSG #gina :voiced$")
        henry3.send("PRIVMSG #gina :from outside")  # -n, no longer banned: the channel hears it
        gina.expect(r"^:henry3!\S+ PRIVMSG #gina :from outside$")
        henry3.expect(r"^:henry3!\S+ PRIVMSG #gina :from outside$")  # echo-message from outside the channel too
        gina.send("MODE #gina +n")
        gina.expect(r"^:gina!\S+ MODE #gina \+n$")
        henry3.send("PRIVMSG #gina :again")
        henry3.expect(r" 404 henry3 #gina :Cannot send to channel$")
        henry3.close()
        gina.send("MODE #gina -t+t")  # each letter against the settings as the line leaves them so far
        gina.expect(r"^:gina!\S+ MODE #gina -t\+t$")
        gina.send("MODE #gina")
        gina.expect(r" 324 gina #gina \+knt beer$")
        gina.send("TOPIC #gina :fish")
        gina.expect(r"^:gina!\S+ TOPIC #gina :fish$")
        gina.send("TOPIC #gina :\x02\x03")  # text that sanitizes to nothing is no topic, and clears nothing
        gina.expect(r" 461 gina TOPIC :Not enough parameters$")
        gina.send("TOPIC #gina :")  # an empty topic clears it
        gina.expect(r"^:gina!\S+ TOPIC #gina :$")
        frank.expect(r"^:gina!\S+ TOPIC #gina :$")
        gina.send("TOPIC #gina")
        gina.expect(r" 331 gina #gina :No topic is set")
        gina.send("TIME")
        gina.expect(r" 391 gina chatroom\.irc \d+ 0 :\d{4}-")
        gina.send("USERHOST frank bob nobody")  # bob, a telnet user sharing no room with gina, is not seen
        gina.expect(r" 302 gina :frank=\+frank@chatroom\.irc$")
        frank.send("AWAY :gone fishing")
        frank.expect(r" 306 frank :You have been marked as being away")
        gina.send("PRIVMSG frank :there?")
        frank.expect(r":gina!\S+ PRIVMSG frank :there\?$")
        gina.expect(r" 301 gina frank :gone fishing$")
        gina.send("WHOIS frank")
        gina.expect(r" 311 gina frank frank chatroom\.irc \* :The frank$")
        gina.expect(r" 312 gina frank chatroom\.irc :")
        gina.expect(r" 301 gina frank :gone fishing$")
        gina.expect(r" 318 gina frank :End of /WHOIS")
        gina.send("WHO FRA*")
        gina.expect(r" 352 gina \* frank chatroom\.irc chatroom\.irc frank G :0 The frank$")
        gina.expect(r" 315 gina FRA\* :End of /WHO list")
        gina.send("USERHOST frank")
        gina.expect(r" 302 gina :frank=-frank@chatroom\.irc$")
        gina.send("ISON nobody FRANK")
        gina.expect(r" 303 gina :frank$")
        frank.send("AWAY :")
        frank.expect(r" 305 frank :You are no longer marked as being away")
        gina.send("PRIVMSG frank :back?")
        frank.expect(r":gina!\S+ PRIVMSG frank :back\?$")
        gina.send("PING :after-back")
        _, between = gina.read_until(lambda l: l.endswith(":after-back"))
        assert not any(" 301 " in l for l in between), between
        for c in (frank, gina):
            c.send("QUIT")
            c.until_closed(PATIENCE)
        alice.send("WHOWAS FRANK")
        alice.expect(r" 314 alice frank frank chatroom\.irc \* :The frank$")
        alice.expect(r" 312 alice frank chatroom\.irc :")
        alice.expect(r" 369 alice FRANK :End of WHOWAS")
        alice.send("WHOWAS nobody 1")
        alice.expect(r" 406 alice nobody :There was no such nickname")
        alice.expect(r" 369 alice nobody :End of WHOWAS")
        alice.send("WHOWAS")
        alice.expect(r" 461 alice WHOWAS :Not enough parameters")
    runner.run("LUSERS counts members in no channel and apart those registering (251 253 255 265 266); "
               "AWAY 306/305, 301 to a private message and in WHOIS (311 312 301 318), USERHOST 302 (+/-), ISON 303, "
               "between IRC users sharing no channel; WHO mask (352 with G when away); INVITE 341 and the invitation "
               "as a private message; +i +k +l, several changes in one MODE line; ban masks (367 368, 474, 404 (+b), "
               "696, voice through a ban), -n, TOPIC #chan : clearing the topic (331); TIME 391; NICK told to a user in no channel; WHOWAS 314/312/369, 406", away_and_users)

    def part_quit():
        alice.send("PART #dev :see you")
        alice.expect(r"^@time=\S+Z :alice!\S+ PART #dev :see you$")
        bob.wait_for(lambda l: l == "* alice left (see you)")
        plain.send("NICK carla")
        bob.wait_for(lambda l: l == "* carol is now known as carla")
        plain.expect(r"^:carol!\S+ NICK carla$")
        alice.send("JOIN #dev,#ops")  # shares both with carla, who quits
        alice.expect(r" 366 alice #ops ")
        # A part whose text reads like a quit is still a part (no spoofed QUIT).
        plain.send("PART #ops :quit: fooled you")
        alice.expect(r"^(@\S+ )?:carla!\S+ PART #ops :quit: fooled you$")
        plain.send("JOIN #ops")
        alice.expect(r"^(@\S+ )?:carla!\S+ JOIN #ops$")
        plain.send("QUIT :bye")
        plain.expect(r"^ERROR :Closing link")
        plain.until_closed(PATIENCE)
        bob.wait_for(lambda l: l == "* carla left (quit: bye)")
        alice.expect(r"^(@\S+ )?:carla!\S+ QUIT :Quit: bye$")
        alice.send("PING :after-quit")
        _, between = alice.read_until(lambda l: l.endswith(":after-quit"))
        assert not any(" QUIT " in l for l in between), between  # said once, not once per channel
    runner.run("PART, NICK and QUIT as the telnet and IRC users see them (QUIT once for two shared channels; a PART "
               "reading 'quit: ...' stays a PART); QUIT ends in ERROR and a close", part_quit)

    def user_modes():
        alice.send("MODE alice +i")
        alice.expect(r"^(@\S+ )?:alice!\S+ MODE alice :\+i$")
        alice.send("MODE alice")
        alice.expect(r" 221 alice \+i$")
        alice.send("MODE alice +wZ")  # an unknown letter: 501, the known one applied all the same
        alice.expect(r"^(@\S+ )?:alice!\S+ MODE alice :\+w$")
        alice.expect(r" 501 alice :Unknown MODE flag$")
        alice.send("MODE alice +i")  # no change: nothing to confirm
        alice.send("MODE alice -iw")
        line, skipped = alice.read_until(lambda l: " MODE alice " in l)
        assert re.search(r":alice!\S+ MODE alice :-iw$", line) and not skipped, (line, skipped)
        alice.send("MODE alice")
        alice.expect(r" 221 alice \+$")
        alice.send("MODE bob")
        alice.expect(r" 502 alice :Can't view modes for other users$")
        alice.send("MODE bob +i")
        alice.expect(r" 502 alice :Can't change mode for other users$")
        alice.send("MODE nobody +i")
        alice.expect(r" 401 alice nobody :No such nick")
        alice.send("MODE #nowhere")
        alice.expect(r" 403 alice #nowhere :No such channel")
    runner.run("user modes: MODE nick +i/+w confirmed by a MODE from the user, 221 shows them, an unknown letter "
               "is 501 (the known ones applied), 502 for another's nick, 401/403 for none", user_modes)

    def invisible():
        ivy = IrcClient(irc_port, "ivy (IRC)")
        ivy.register("ivy")
        alice.send("WHO ivy")
        alice.expect(r" 352 alice \* ivy \S+ \S+ ivy H :0 ")
        alice.expect(r" 315 alice ivy :")
        ivy.send("MODE ivy +i")
        ivy.expect(r":ivy!\S+ MODE ivy :\+i$")
        alice.send("WHO iv*")
        _, lines = alice.read_until(lambda l: " 315 alice iv* :" in l)
        assert not any(" 352 " in l for l in lines), lines  # invisible, and no channel shared
        alice.send("WHO ivy")
        alice.expect(r" 352 alice \* ivy ")  # its exact nick still finds it
        ivy.send("WHO iv*")
        ivy.expect(r" 352 ivy \* ivy ")  # itself, always
        ivy.send("JOIN #dev")
        ivy.expect(r" 366 ivy #dev ")
        alice.send("WHO iv*")
        alice.expect(r" 352 alice \* ivy ")  # now a channel is shared
        ivy.close()
    runner.run("an invisible user (+i) is left out of a WHO mask with wildcards by those sharing no channel with it",
               invisible)

    for c in (alice, plain, bob):
        c.close()
    server.stop()

    def no_motd():
        bare = kit.ServerProcess([sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1",
                                  "--irc-name", "irc.example.org"], PATIENCE)
        bare.start(want=("tcp", "irc"))
        dave = IrcClient(bare.ports["irc"], "dave (IRC)")
        dave.register("dave")
        dave.expect(r"^:irc\.example\.org 422 dave :MOTD File is missing")
        dave.close()
        bare.stop()
    runner.run("--irc-name names the server; without --motd or --welcome, registration ends in 422", no_motd)

    def who_cap():
        many = kit.ServerProcess([sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1"], PATIENCE)
        many.start(want=("tcp", "irc"))
        try:
            crowd = []
            for i in range(101):
                c = IrcClient(many.ports["irc"], "w%d (IRC)" % i)
                c.register("w%d" % i)
                crowd.append(c)
            asker = crowd[0]
            asker.send("WHO w*")
            _, lines = asker.read_until(lambda l: " 315 w0 w* :" in l)
            assert sum(1 for l in lines if " 352 w0 * " in l) == 100, lines[-3:]
            asker.send("WHO w10?")  # w100 among them, however many came first
            _, lines = asker.read_until(lambda l: " 315 w0 w10? :" in l)
            assert any(" 352 w0 * w100 " in l for l in lines), lines
            for c in crowd:
                c.close()
        finally:
            many.stop()
    runner.run("WHO mask lists at most 100 users (each a lookup with the hub's lock held)", who_cap)

    def oper_kick_ban():
        with account_server("root", ":op") as (srv, secret):
            zed = IrcClient(srv.ports["irc"], "zed (IRC, becomes an operator)")
            vic = IrcClient(srv.ports["irc"], "vic (IRC)")
            zed.register("zed")
            vic.register("vic")
            for c, n in ((vic, "vic"), (zed, "zed")):  # vic first: the channel's operator, not zed
                c.send("JOIN #dev")
                c.expect(r" 366 %s #dev " % n)
            zed.send("OPER root wrong-secret")
            zed.expect(r" 464 zed :Password incorrect")
            zed.send("OPER root")
            zed.expect(r" 461 zed OPER :Not enough parameters")
            zed.send("KICK #dev vic :out")
            zed.expect(r" 482 zed #dev :You're not channel operator")
            zed.send("OPER root " + secret)
            zed.expect(r" 381 zed :You are now an IRC operator")
            zed.expect(r"^:zed!\S+ MODE zed :\+o$")  # the nick stays: OPER is no login
            zed.send("MODE #dev +b nobody!*@10.*")  # a server operator may ban by address
            zed.expect(r"^:zed!\S+ MODE #dev \+b nobody!\*@10\.\*$")
            # A topic change is TOPIC to every IRC member (its setter too); the telnet user
            # reads it as the line protocol always said it.
            tom = kit.LineClient(srv.ports["tcp"], PATIENCE, name="tom (telnet)")
            tom.greet()
            tom.send("/join dev")
            tom.wait_for(lambda l: l.startswith("* joined dev"))
            zed.send("TOPIC #dev :builds are green é")
            vic.expect(r"^:zed!zed@\S+ TOPIC #dev :builds are green é$")
            zed.expect(r"^:zed!zed@\S+ TOPIC #dev :builds are green é$")
            tom.wait_for(lambda l: l == "* zed set the topic: builds are green é")
            vic.send("TOPIC #dev")
            vic.expect(r" 332 vic #dev :builds are green é$")
            assert not any(" NOTICE #dev " in l for l in vic.seen), vic.seen[-5:]
            # A server operator's KICK puts vic out of the channel, not off the server.
            zed.send("KICK #dev vic :out")
            vic.expect(r"^:zed!zed@\S+ KICK #dev vic :out$")
            zed.expect(r"^:zed!zed@\S+ KICK #dev vic :out$")
            tom.wait_for(lambda l: l == "* vic was kicked out of the room by zed (out)")
            vic.send("PING :still-here")
            vic.expect(r":still-here$")
    runner.run("OPER gives an operator's account's rights (464 for a wrong secret, 461, 381 and MODE +o for an "
               "operator's account, the nick kept); an operator's TOPIC reaches IRC as TOPIC; a server operator's KICK "
               "puts the member out of the channel (KICK to all, the line protocol's words to telnet), 482 before",
               oper_kick_ban)
    def ping_timeout():
        import threading
        srv = kit.ServerProcess([sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1",
                                 "--irc-ping-interval", "1", "--irc-pong-timeout", "1"], PATIENCE)
        srv.start(want=("tcp", "irc"))
        stop = threading.Event()

        def answer_pings(c):  # on a thread of its own: a client that answers PING and reads everything
            while not stop.is_set():
                try:
                    l = c.line(timeout=0.2)
                except kit.ConnectionClosed:
                    return
                except AssertionError:
                    continue
                if l.startswith("PING "):
                    c.send("PONG " + l[5:])
        try:
            tom = telnet_tom_in_dev(srv)
            sleepy = IrcClient(srv.ports["irc"], "sleepy (IRC, silent)")
            lively = IrcClient(srv.ports["irc"], "lively (IRC, answers PING)")
            for c, n in ((sleepy, "sleepy"), (lively, "lively")):
                c.register(n)
                c.send("JOIN #dev,#ops")
                c.expect(r" 366 %s #ops " % n)
            responder = threading.Thread(target=answer_pings, args=(lively,), daemon=True)
            responder.start()
            sleepy.expect(r"^PING :\S+$")
            sleepy.expect(r"^ERROR :Closing link: \S+ \(Ping timeout: 2 seconds\)$")
            sleepy.until_closed(PATIENCE)
            tom.wait_for(lambda l: l == "* sleepy left (connection lost: Ping timeout: 2 seconds)")
            quits = lambda: [l for l in lively.seen if re.search(r":sleepy!\S+ QUIT :Ping timeout: 2 seconds$", l)]
            kit.eventually(lambda: quits(), PATIENCE, "lively sees sleepy QUIT")
            # lively answered at least two PINGs since, and is still served.
            pings = lambda: sum(1 for l in lively.seen if l.startswith("PING "))
            after = pings()
            kit.eventually(lambda: pings() >= after + 2, PATIENCE, "two more PINGs answered")
            stop.set()
            responder.join(PATIENCE)
            lively.send("PING :still-here")
            lively.expect(r" PONG \S+ :still-here$")
            assert len(quits()) == 1, quits()  # once, though they shared two channels
            assert not any(l.startswith("ERROR") for l in lively.seen), lively.seen[-5:]
        finally:
            stop.set()
            srv.stop()
    runner.run("keepalive: a silent IRC client is sent PING, then dropped with ERROR (Ping timeout); its channels "
               "see one QUIT with that reason, the telnet user the same reason; a client answering PONG stays",
               ping_timeout)

    def away_notify_account_tag():
        with account_server("ann") as (srv, secret):
            ann = IrcClient(srv.ports["irc"], "ann (IRC, logged in by PASS)")
            ann.send("PASS " + secret)
            ls = ann.register("ann")
            assert "away-notify" in ls and "account-tag" in ls, ls
            assert any(" 900 * ann!" in l for l in ann.seen), ann.seen  # logged in before 001
            watcher = IrcClient(srv.ports["irc"], "wes (IRC, away-notify and account-tag)")
            watcher.register("wes", "away-notify account-tag")
            bare = IrcClient(srv.ports["irc"], "bo (IRC, no caps)")
            bare.register("bo")
            tom = telnet_tom_in_dev(srv)
            for c, n in ((watcher, "wes"), (bare, "bo"), (ann, "ann")):
                c.send("JOIN #dev,#ops")
                c.expect(r" 366 %s #ops " % n)
            # A logged-in member's PRIVMSG carries account= to a client with account-tag only.
            ann.send("PRIVMSG #dev :hello with an account")
            watcher.expect(r"^@account=ann :ann!ann@\S+ PRIVMSG #dev :hello with an account$")
            bare.expect(r"^:ann!ann@\S+ PRIVMSG #dev :hello with an account$")
            tom.wait_for(lambda l: l == "<ann> hello with an account")
            # A guest's line carries none.
            bare.send("PRIVMSG #dev :a guest speaks")
            watcher.expect(r"^:bo!bo@\S+ PRIVMSG #dev :a guest speaks$")
            # AWAY: told once (they share two channels) to the client with away-notify, not to the others.
            ann.send("AWAY :lunch, back soon")
            ann.expect(r" 306 ann :")
            watcher.expect(r"^@account=ann :ann!ann@\S+ AWAY :lunch, back soon$")
            ann.send("AWAY")
            ann.expect(r" 305 ann :")
            watcher.expect(r"^@account=ann :ann!ann@\S+ AWAY$")
            ann.send("AWAY :gone again")
            ann.expect(r" 306 ann :")
            watcher.expect(r"AWAY :gone again$")
            # Joining while away: the JOIN, then the AWAY, to a client with away-notify.
            ann.send("JOIN #more")
            ann.expect(r" 366 ann #more ")
            watcher.send("JOIN #more")
            watcher.expect(r" 366 wes #more ")
            ann.send("PART #more")
            ann.expect(r"PART #more")
            ann.send("JOIN #more")
            ann.expect(r" 366 ann #more ")
            watcher.expect(r"^@account=ann :ann!ann@\S+ JOIN #more$")
            watcher.expect(r"^@account=ann :ann!ann@\S+ AWAY :gone again$")
            for c in (watcher, bare, ann):  # all said before this answer has arrived
                c.send("PING :sync")
                c.expect(r" PONG \S+ :sync$")
            is_away = lambda l: re.search(r"^(@\S+ )?:\S+ AWAY( |$)", l)
            aways = [l for l in watcher.seen if is_away(l)]
            assert len(aways) == 4, aways  # once each, though two channels were shared
            assert not any(is_away(l) for l in bare.seen), bare.seen[-5:]
            assert not any(l.startswith("@") for l in bare.seen), bare.seen[-5:]
            assert not any(is_away(l) for l in ann.seen), ann.seen[-5:]
            tom.send("/who")  # the telnet user read nothing of it
            tom.wait_for(lambda l: "tom" in l and "ann" in l)
            assert not any("away" in l.lower() or "lunch" in l for l in tom.seen), tom.seen[-8:]
    runner.run("away-notify: AWAY set and cleared reaches a client with the cap once (two shared channels), and "
               "after the JOIN of an away member; account-tag: a logged-in member's lines carry account= to a client "
               "with the cap, not to one without, nor a guest's; the telnet user sees no AWAY", away_notify_account_tag)

    def whox():
        with account_server("ann") as (srv, secret):
            ann = IrcClient(srv.ports["irc"], "ann (IRC, logged in by PASS)")
            ann.send("PASS " + secret)
            ann.register("ann", to_motd_end=True)
            isupport = [l for l in ann.seen if " 005 ann " in l]
            assert any(re.search(r" WHOX( |$)", l.split(" :", 1)[0]) for l in isupport), isupport
            wes = IrcClient(srv.ports["irc"], "wes (IRC, a guest)")
            wes.register("wes")
            tom = telnet_tom_in_dev(srv)
            join_dev((ann, "ann"), (wes, "wes"))
            ann.send("AWAY :out")
            ann.expect(r" 306 ann :")
            # WHO #chan with WHOX: a 354 per member (no 352), the fields in WHOX's order (t c u n f a r) whatever
            # the order asked; a logged-in member's account, 0 for a guest and for the telnet user.
            wes.send("WHO #dev %raftnuc,42")
            _, lines = wes.read_until(lambda l: " 315 wes #dev :" in l)
            assert not any(" 352 " in l for l in lines), lines
            rows = sorted(l.split(" 354 wes ", 1)[1] for l in lines if " 354 wes " in l)
            assert len(rows) == 3, rows
            for row, want in zip(rows, (r"42 #dev ann ann G[@+]* ann :The ann", r"42 #dev tom tom H[@+]* 0 :tom",
                                        r"42 #dev wes wes H[@+]* 0 :The wes")):
                assert re.fullmatch(want, row), (row, want)
            # WHO mask with WHOX: channel "*"; unknown letters ignored; a token of more than 3 digits refused (0).
            wes.send("WHO ann %acn")
            wes.expect(r" 354 wes \* ann ann$")
            wes.send("WHO WES %zna!")
            wes.expect(r" 354 wes wes 0$")
            wes.send("WHO ann %tf,1234")
            wes.expect(r" 354 wes 0 G$")
            wes.expect(r" 315 wes ann :End of /WHO list")
            # Without '%', WHO is 352 as before.
            wes.send("WHO #dev")
            wes.expect(r" 352 wes #dev ")
            wes.expect(r" 315 wes #dev :End of /WHO list")
            for c in (ann, wes, tom):
                c.close()
    runner.run("WHOX: 005 advertises WHOX; WHO #chan and WHO mask with %fields,token answer 354 with the fields asked "
               "in WHOX's order, the account (0 for a guest and a telnet user), G when away, the token", whox)

    def utf8_only():
        # Every IrcClient decodes what it reads as strict UTF-8: a byte that is not fails the check.
        srv = kit.ServerProcess([sys.argv[1], "--port", "0", "--irc-port", "0", "--bind", "127.0.0.1"], PATIENCE)
        srv.start(want=("tcp", "irc"))
        try:
            uma = IrcClient(srv.ports["irc"], "uma (IRC, sends invalid UTF-8)")
            uma.register("uma", to_motd_end=True)
            isupport = [l for l in uma.seen if " 005 uma " in l]
            assert any(re.search(r" UTF8ONLY( |$)", l.split(" :", 1)[0]) for l in isupport), isupport
            vic = IrcClient(srv.ports["irc"], "vic (IRC, message-tags)")
            vic.register("vic", "message-tags")
            tom = telnet_tom_in_dev(srv)
            join_dev((uma, "uma"), (vic, "vic"))
            # Latin-1 text and a tag value: WARN to the sender; the others read U+FFFD, nothing after it lost;
            # a tag whose key is not UTF-8 is dropped.
            uma.send_raw(b"@+x=v\xaa;+k\xaa=1 PRIVMSG #dev :caf\xe9 au lait\r\n")
            uma.expect(r"^:\S+ WARN PRIVMSG INVALID_UTF8 :")
            vic.expect(r"^@\+x=v\ufffd;msgid=\S+ :uma!\S+ PRIVMSG #dev :caf\ufffd au lait$")
            tom.wait_for(lambda l: l == "<uma> caf\ufffd au lait")
            # A target echoed in a numeric is repaired too (the core's answer comes first, then WARN).
            uma.send_raw(b"PRIVMSG nobody\xaa :x\r\n")
            uma.expect(r" 401 uma nobody\ufffd :")
            uma.expect(r"^:\S+ WARN PRIVMSG INVALID_UTF8 :")
            # Tags repaired past the client's 4,094 bytes (each byte becomes three) are refused as too long.
            uma.send_raw(b"@+x=" + b"\xe9" * 1400 + b" TAGMSG #dev\r\n")
            uma.expect(r" 417 uma :Input line was too long")
            # A NOTICE is never answered, not even with WARN; it is repaired all the same.
            uma.send_raw(b"NOTICE #dev :n\xff\xfe more text\r\n")
            vic.expect(r":uma!\S+ NOTICE #dev :n\ufffd")
            uma.send("PING :sync")
            uma.expect(r" PONG \S+ :sync$")
            assert not any("WARN NOTICE" in l for l in uma.seen), uma.seen[-5:]
            for c in (uma, vic, tom):
                c.close()
        finally:
            srv.stop()
    runner.run("UTF8ONLY: 005 advertises it; a line with invalid UTF-8 gets WARN <command> INVALID_UTF8 (none for "
               "NOTICE) and reaches IRC and telnet users repaired (U+FFFD), a tag with a non-UTF-8 key dropped",
               utf8_only)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
