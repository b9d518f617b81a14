#!/usr/bin/env python3
"""Writes the seed corpora of the fuzzers: tests/fuzz/corpus/<harness>/.

fuzz_framing takes raw client bytes; fuzz_session takes control-byte chunks
(the format is described at the top of fuzz_session.cpp); fuzz_redis_entry
takes Redis stream entries as field maps (format at the top of
fuzz_redis_entry.cpp); fuzz_deflate takes a control byte (hash-chain bound,
repetitions: fuzz_deflate.cpp) and bytes to compress. Run it again after
changing a seed; it rewrites the files it owns and leaves others alone.
"""

import pathlib
import random

HERE = pathlib.Path(__file__).resolve().parent

# ---- raw client byte streams -------------------------------------------------

LINES = {
    "plain": b"hello world\nsecond line\n",
    "crlf": b"one\r\ntwo\r\n\r\nthree\r\r\nno newline at the end",
    "telnet": (b"\xff\xfb\x01\xff\xfd\x03hi\xff\xff there\r\n"      # WILL ECHO, DO SGA, IAC IAC
               b"\xff\xfa\x18\x00xterm\xff\xf0after sb\n"          # SB TTYPE ... SE
               b"\xff\xf1nop\n\xff\xfe\n\xff\xfa\xff\xff\n\xff\xf0tail\n"),
    "long": (b"a" * 70 + b"\n" + b"b" * 200 + b"\r\n" + b"c" * 64 + b"\r\n"
             + b"d" * 65 + b"\n" + b"e" * 300 + b"\nshort\n" + b"f" * 100),
    "utf8": (b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n"           # valid
             b"\xc0\xaf \xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80\n"  # overlong, surrogate, > U+10FFFF
             b"\xc2\x85\xc2\x9b\xc2\xa0 \xe2\x82\n\x80\xbf\xfe\n"),   # C1, NBSP, cut, stray
    "ansi": b"\x1b[31mred\x1b[0m\n\x1b]0;title\x07\n\x9b2J\n\x7fdel\x08\x00nul\t tab\n",
    "commands": (b"/nick alice\n/join #x\n/msg a b\n/me waves\n/who\n/rooms\n/help\n"
                 b"//x\n/NICK Bob\n/unknown arg\n/msg  bob   hi there  \n/join\n/join # x\n"
                 b"/me\n/\n/ \n/msg\tbob\thi\n/quit bye\n"),
    "blank": b"\n\n\r\n\r\r\n \t \n\r",
}

# ---- fuzz_session chunks ------------------------------------------------------


def data(client, payload, pump=True):
    """Chunks that send payload from client 0..2."""
    out = bytearray()
    while payload:
        n = len(payload)
        if n >= 64:
            k = min(n // 64, 12)
            size, code = 64 * k, 19 + k
        else:
            size = min(n, 20)
            code = size - 1
        out.append(client | (4 if pump else 0) | (code << 3))
        out += payload[:size]
        payload = payload[size:]
    return bytes(out)


def action(op, a=0, payload=None, pump=True):
    out = bytearray([3 | (4 if pump else 0) | ((op | (a << 3)) << 3)])
    if payload is not None:
        out.append(len(payload))
        out += payload
    return bytes(out)


HALF_CLOSE, CLOSE, SAY, NOTICE, STOP, STALL, RECONNECT, PUMP = range(8)

SESSIONS = {
    "chat": data(0, b"hello everyone\n") + data(1, b"hi there\r\n") + data(2, b"how are you?\n"),
    "commands": (data(0, b"/nick alice\n") + data(1, b"/nick bob\n") + data(0, b"/msg bob hi bob\n")
                 + data(1, b"/join #x\n") + data(0, b"said in the lobby\n") + data(2, b"/join x\n")
                 + data(1, b"said in x\n") + data(2, b"/who\n/rooms\n/me waves\n") + data(0, b"//x\n")
                 + data(1, b"/nick ALICE\n/help\n/nick bob\n/join X\n") + data(2, b"/msg nobody hi\n/bogus\n/join LOBBY\n")
                 + data(1, b"/quit bye\n") + data(0, b"anyone?\n")),
    "telnet": data(0, b"\xff\xfb\x01\xff\xfd\x03hi\xff\xff there\r\n\xff\xfa\x18\x00xterm\xff\xf0ok\n"),
    "hostile": (data(0, b"\x1b[2J\x1b]0;pwned\x07\n") + data(1, b"caf\xc3\xa9 \xc0\xaf \xed\xa0\x80\xc2\x9b\n")
                + data(2, b"\x7f\x08\x00\r\r\n") + data(0, b"/nick \x1b[31mx\n/me \xc2\x85\n")),
    "long": data(0, b"x" * 300 + b"\r\n" + b"y" * 256 + b"\r\n" + b"after\n") + data(1, b"z" * 257 + b"\n"),
    "split": (data(0, b"hel", pump=False) + data(1, b"wor") + data(0, b"lo\r") + data(1, b"ld\r\n")
              + data(0, b"\n/ni") + data(0, b"ck carol\n", pump=False)),
    "actions": (action(SAY, 0, b"hostbot the host says \x1b[1mhi\x07") + action(NOTICE, 2, b"notice\r\nsecond")
                + action(STALL, 1) + data(0, b"/help\n" * 8) + action(STALL, 1)
                + action(HALF_CLOSE, 2) + data(0, b"still here\n") + action(RECONNECT, 1)
                + data(1, b"/nick newbie\n") + action(CLOSE, 0) + data(2, b"ignored\n")),
    "early_stop": (data(0, b"/join x\n") + data(1, b"hi\n") + action(STOP) + data(0, b"after stop\n")
                   + action(RECONNECT, 2) + data(2, b"too late\n")),
    "flood": data(0, b"/help\n" * 150, pump=False) + data(1, b"still fine\n"),
    "host_calls": (data(0, b"!notice from a handler\n") + data(1, b"!say \x1b[7mhi\n") + data(2, b"/join x\n")
                   + data(2, b"!stop\n") + data(0, b"after\n")),
    "vanish": (action(CLOSE, 0, pump=False) + data(1, b"to nobody\n" * 3, pump=False)
               + action(CLOSE, 2, pump=False) + data(1, b"/who\n")),
}


# ---- fuzz_redis_entry field maps ---------------------------------------------

FIELD = {name: i for i, name in enumerate("k n e s w u x m o r t".split())}
ANY, ROOM, NODE = 0, 1, 2
MAX_LINES = [1, 2, 3, 8, 16, 64, 512, 4096]


def entry(fields, stream=ROOM, max_line=4096, writer=True, entry_id=1):
    """An entry: rules, an ID, then (name, value) fields."""
    out = bytearray([stream | (MAX_LINES.index(max_line) << 2) | (0x20 if writer else 0), entry_id])
    for name, value in fields:
        long = len(value) > 255
        out.append(FIELD[name] | (0x40 if long else 0))
        out += len(value).to_bytes(2, "big") if long else bytes([len(value)])
        out += value
    return bytes(out)


HOSTILE = b"\x1b]0;pwned\x07title\x1b[2J nul\x00byte c1\xc2\x9b bare\rcr ff\xff bad\xc0\xaf\xed\xa0\x80 end"

ENTRIES = {
    "chat": entry([("k", b"c"), ("w", b"Lobby"), ("u", b"alice"), ("x", b"hello\nworld\n"), ("m", b"42")]),
    "chat_hostile": entry([("k", b"c"), ("u", b"mallory"), ("x", HOSTILE + b"\n\r\n" + HOSTILE)]),
    "chat_long_lines": entry([("k", b"c"), ("u", b"a"), ("x", b"x" * 16 + b"\n" + b"y" * 17 + b"\n")], max_line=16),
    "chat_utf8": entry([("k", b"c"), ("u", b"a"), ("x", b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\t\xe2\x80\xae\n")],
                       max_line=64),
    "action": entry([("k", b"a"), ("u", b"bob"), ("x", b"waves \x1b[1m\x9b")]),
    "joined": entry([("k", b"j"), ("w", b"dev"), ("u", b"carol")]),
    "left": entry([("k", b"l"), ("u", b"carol"), ("r", b"quit: \x1b[2Jbye\xff")]),
    "renamed": entry([("k", b"r"), ("u", b"bob"), ("o", b"guest-zz-2")]),
    "notice": entry([("k", b"n"), ("x", b"\x1b[5mnotice\x9b")]),
    "private": entry([("k", b"p"), ("u", b"alice"), ("t", b"bob"), ("x", b"psst\x07")], stream=NODE),
    "private_in_room": entry([("k", b"p"), ("u", b"alice"), ("t", b"bob"), ("x", b"psst")]),
    "fake_nick": entry([("k", b"c"), ("u", b"alice> fake"), ("x", b"hi\n")]),
    "empty_nick": entry([("k", b"j"), ("u", b"")], stream=ANY),
    "unknown_kind": entry([("k", b"z"), ("u", b"a"), ("x", b"hi\n")]),
    "no_writer": entry([("k", b"c"), ("u", b"a"), ("x", b"hi\n")], writer=False),
    "bad_writer": entry([("k", b"j"), ("u", b"a"), ("s", b"99999999999999999999999"), ("e", b"a b")]),
    "big_line": entry([("k", b"a"), ("u", b"a"), ("x", b"A" * 3000)], max_line=512),
    "bad_id": entry([("k", b"j"), ("u", b"a")], entry_id=0xF8),
}


# ---- fuzz_deflate: a control byte, then the bytes to compress ----------------
# Byte 0: bits 0-2 the hash-chain bound (1 << b), bits 3-7 the repetitions - 1.
DEFLATE = {
    "empty": b"\x07",
    "html": b"\x00<!doctype html><html><head><style>body{margin:0}</style></head><body>"
            b"<div class=\"line\">hello</div><div class=\"line\">hello again</div></body></html>\n",
    "repeated": b"\xf8abcabcabcabd",
    "random": b"\x10" + random.Random(23).randbytes(300),
    "script": b"\x03function send(text) { ws.send(JSON.stringify({type: \"say\", text})); }\n"
              b"function sendAll(lines) { for (const l of lines) send(l); }\n",
}


def write(harness, name, payload):
    d = HERE / "corpus" / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(payload)


def main():
    for name, payload in LINES.items():
        write("fuzz_framing", name, payload)
    for name, payload in SESSIONS.items():
        write("fuzz_session", name, payload)
    for name, payload in ENTRIES.items():
        write("fuzz_redis_entry", name, payload)
    for name, payload in DEFLATE.items():
        write("fuzz_deflate", name, payload)


if __name__ == "__main__":
    main()
