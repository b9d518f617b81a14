#!/usr/bin/env python3
"""End to end: examples/coro, the C++20 coroutine bot, against chatroom-server.

Usage: test_coro_bot.py SERVER BOT
The bot joins a room and answers "!ping"; the server is stopped and started
again on the same port, and the bot must answer again once it is back, by
itself. Waits are conditions with deadlines. Prints "N passed, M failed" last.
"""
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import chatroom_testkit as kit  # noqa: E402

SERVER, BOT = sys.argv[1], sys.argv[2]
PATIENCE = 20.0


def member_of(port, room):
    """A line client in room."""
    c = kit.LineClient(port, PATIENCE, eol="\n")
    c.greet()
    c.send("/join " + room)
    c.wait_for(lambda l: l.startswith("* joined " + room))
    return c


def ping_until_pong(c, bot_nick):
    """Sends !ping until the bot answers c (it may not be in the room yet); the answer."""
    want = "<%s> pong, %s" % (bot_nick, c.nick)
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        c.send("!ping")
        try:
            return c.wait_for(lambda l: l == want, timeout=1.0)
        except AssertionError:
            continue  # nobody answered within the second: the bot is not back yet
    raise AssertionError("the bot never answered %s" % c.nick)


def check_bot_answers_and_comes_back_after_a_restart():
    srv = kit.ServerProcess([SERVER], PATIENCE, prefix="chatroom-coro-")
    bot = None
    try:
        srv.start("--bind", "127.0.0.1", "--port", "0")
        port = srv.port
        bot = subprocess.Popen([BOT, "127.0.0.1", str(port), "bots", "pingbot"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        first = member_of(port, "bots")
        ping_until_pong(first, "pingbot")

        assert srv.stop() == 0
        first.until_closed()
        srv.start("--bind", "127.0.0.1", "--port", str(port), retry=True)
        second = member_of(port, "bots")
        ping_until_pong(second, "pingbot")
        assert bot.poll() is None, "the bot exited"

        bot.send_signal(signal.SIGTERM)
        out, err = bot.communicate(timeout=PATIENCE)
        out, err = out.decode(), err.decode()
        assert bot.returncode == 0, (bot.returncode, err)
        # What the coroutine received: both welcomes, the shutdown, the pings.
        assert out.count("* welcome to chatroom") == 2, out
        assert "* server shutting down" in out, out
        assert "<%s> !ping" % second.nick in out, out
        # And how the client got there: lost, waited, connected again.
        assert "bot: disconnected" in err and "bot: waiting_to_reconnect" in err, err
        assert err.count("bot: connected") == 2, err
        assert srv.stop() == 0
    finally:
        if bot is not None and bot.poll() is None:
            bot.kill()
            bot.wait()
        srv.close()


def main():
    runner = kit.CheckRunner()
    for name, check in sorted(globals().items()):
        if name.startswith("check_"):
            runner.run(name, check)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
