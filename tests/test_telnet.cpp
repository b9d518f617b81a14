// The server side of telnet in line_framer, byte for byte: what a telnet
// client sends (the traces are the ones recorded from inetutils telnet 2.4,
// netkit telnet-ssl 0.17 and busybox telnet in issue 12) and exactly what the
// server must send back.

#include <chatroom/line/framer.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace {

using chatroom::frame_event;
using chatroom::line_framer;
using chatroom::telnet_mode;

// Bytes written as hex ("ff fd 06"), so failures print readably.
std::string bytes(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i < hex.size();) {
        if (hex[i] == ' ') {
            ++i;
            continue;
        }
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        i += 2;
    }
    return out;
}

std::string hex(const std::string& s) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        if (!out.empty()) out += ' ';
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

const std::string offer = bytes("ff fd 00 ff fb 00"); // IAC DO BINARY, IAC WILL BINARY

// One peer of the server: feeds what it sends, keeps the lines, and takes
// the replies after each feed as the server's read path does.
struct peer {
    explicit peer(telnet_mode mode = telnet_mode::answer, std::size_t max = 64) : framer(max, mode) {}

    auto handler() {
        return [this](frame_event ev, std::string_view line) {
            if (ev == frame_event::line) lines.emplace_back(line);
            else lines.emplace_back("<too long>");
            return true;
        };
    }

    // Returns the replies this feed produced, as hex.
    std::string send(const std::string& data) {
        const std::size_t used = framer.feed(data.data(), data.size(), handler());
        REQUIRE(used == data.size());
        CHECK(framer.buffered() <= framer.max_line_bytes() + 1);
        return hex(framer.take_replies());
    }
    std::string send_hex(const std::string& h) { return send(bytes(h)); }

    std::string finish() {
        framer.finish(handler());
        return hex(framer.take_replies());
    }

    line_framer framer;
    std::vector<std::string> lines;
};

using lines = std::vector<std::string>;

} // namespace

TEST_CASE("telnet: a plain client never gets a telnet byte", "[telnet]") {
    peer nc;
    CHECK(nc.send("hello\r\n/who\n") == "");
    // Bytes that are not telnet commands, 0xFF doubled (a data byte) included.
    CHECK(nc.send(bytes("e6 97 a5 80 fe 0d 00 ff ff 0a")) == "");
    CHECK(nc.send(std::string(5000, 'x') + "\n") == "");
    CHECK(nc.finish() == "");
    CHECK(nc.lines == lines{"hello", "/who", bytes("e6 97 a5 80 fe 0d 00 ff"), "<too long>"});
    CHECK_FALSE(nc.framer.peer_binary());
}

TEST_CASE("telnet: BINARY is offered once, on the first command, before its answer", "[telnet]") {
    peer t;
    CHECK(t.send("before\r\n") == "");
    CHECK(t.send_hex("ff f1") == hex(offer)); // IAC NOP: the peer speaks telnet
    CHECK(t.send_hex("ff f1") == "");
    CHECK(t.send_hex("ff fd 18") == "ff fc 18"); // DO TTYPE: refused, no second offer
    CHECK(t.send("after\r\n") == "");
    CHECK(t.lines == lines{"before", "after"});

    // The first command's own answer follows the offer.
    peer u;
    CHECK(u.send_hex("ff fd 01") == hex(offer) + " ff fc 01");
}

TEST_CASE("telnet: Ctrl-C, Ctrl-Z and Ctrl-\\ are answered every time", "[telnet]") {
    peer t;
    // IAC IP IAC DO TIMING-MARK, twice: a second Ctrl-C left unanswered freezes BSD telnet.
    CHECK(t.send_hex("ff f4 ff fd 06") == hex(offer) + " ff fb 06");
    CHECK(t.send_hex("ff f4 ff fd 06") == "ff fb 06");
    CHECK(t.send_hex("ff ed ff fd 06") == "ff fb 06"); // Ctrl-Z: SUSP
    CHECK(t.send_hex("ff f3 ff fd 06") == "ff fb 06"); // Ctrl-\: BRK
    CHECK(t.send_hex("ff f4 ff fd 06 ff f4 ff fd 06") == "ff fb 06 ff fb 06");
    // IP outside a UTF-8 character is consumed: it does not touch the line.
    CHECK(t.send("ab" + bytes("ff f4 ff fd 06") + "c\r\n") == "ff fb 06");
    CHECK(t.lines == lines{"abc"});
    // The peer offering TIMING-MARK itself is refused; its WONT and DONT are not answered.
    CHECK(t.send_hex("ff fb 06") == "ff fe 06");
    CHECK(t.send_hex("ff fc 06 ff fe 06") == "");
}

TEST_CASE("telnet: character mode is refused and CR NUL ends lines", "[telnet]") {
    peer t;
    // `mode character`: DO SUPPRESS-GO-AHEAD, DO ECHO; both refused, which returns the client to line mode.
    CHECK(t.send_hex("ff fd 03 ff fd 01") == hex(offer) + " ff fc 03 ff fc 01");
    CHECK(t.send("/who\r" + std::string(1, '\0') + "hello") == "");
    CHECK(t.send(bytes("0d 00")) == "");
    CHECK(t.lines == lines{"/who", "hello"});
    // A CR NUL split from its CR, and a CR in the data that is not a line end.
    CHECK(t.send("split\r") == "");
    CHECK(t.send(std::string(1, '\0')) == "");
    CHECK(t.send("a\rb" + bytes("0d 00") + "x" + std::string(1, '\0') + "y\r\r\n") == "");
    CHECK(t.lines == lines{"/who", "hello", "split", "a\rb", "x" + std::string(1, '\0') + "y\r"});
    // The client's DONT/WONT for options already off are not answered.
    CHECK(t.send_hex("ff fe 03 ff fe 01 ff fc 03 ff fc 01") == "");
}

TEST_CASE("telnet: CR NUL ends a line only for a peer that spoke telnet", "[telnet]") {
    // Only telnet ends lines with CR NUL; for anyone else the bytes stay data,
    // as they always were.
    peer nc;
    CHECK(nc.send("a\r" + std::string(1, '\0') + "b\n") == "");
    CHECK(nc.lines == lines{"a\r" + std::string(1, '\0') + "b"});
    peer ws(telnet_mode::ignore);
    CHECK(ws.send("x" + bytes("ff f1") + "a\r" + std::string(1, '\0') + "b\n") == "");
    CHECK(ws.lines == lines{"xa", "b"});
}

TEST_CASE("telnet: port-23 style offers are answered once each, with no loop", "[telnet]") {
    peer t;
    // DO ENCRYPT, WILL ENCRYPT, DO SGA, WILL TTYPE
    CHECK(t.send_hex("ff fd 26 ff fb 26 ff fd 03 ff fb 18") ==
          hex(offer) + " ff fc 26 ff fe 26 ff fc 03 ff fe 18");
    // The client acknowledges the refusals and accepts BINARY: nothing more to say.
    CHECK(t.send_hex("ff fc 26 ff fe 26 ff fb 00 ff fd 00") == "");
    CHECK(t.framer.peer_binary());
    // Repeating an acceptance changes nothing and is not answered.
    CHECK(t.send_hex("ff fb 00 ff fd 00") == "");
    // Asking again for a refused option is refused again (RFC 1143: answer a request, not a confirmation).
    CHECK(t.send_hex("ff fb 18") == "ff fe 18");
    // Whatever option the client tries, every verb, every option byte.
    for (int o = 1; o < 256; ++o) {
        const std::string opt = hex(std::string(1, static_cast<char>(o)));
        CHECK(t.send_hex("ff fc " + opt + " ff fe " + opt) == "");
        if (o == 6) continue; // TIMING-MARK: WILL, every time
        CHECK(t.send_hex("ff fd " + opt) == "ff fc " + opt);
        CHECK(t.send_hex("ff fb " + opt) == "ff fe " + opt);
    }
    CHECK(t.lines.empty());
}

TEST_CASE("telnet: BINARY accepted, refused, or turned off later", "[telnet]") {
    SECTION("BSD telnet accepts: a bare CR after each line, queued before the line is handled") {
        peer t;
        CHECK(t.send_hex("ff f4 ff fd 06") == hex(offer) + " ff fb 06");
        CHECK(t.send_hex("ff fb 00 ff fd 00") == ""); // WILL BINARY, DO BINARY
        CHECK(t.framer.peer_binary());
        std::vector<std::string> seen;
        const std::string in = "one\r\ntwo\r\nthr";
        t.framer.feed(in.data(), in.size(), [&](frame_event, std::string_view line) {
            seen.emplace_back(line);
            CHECK(t.framer.replies() == std::string(seen.size(), '\r'));
            return true;
        });
        CHECK(seen == lines{"one", "two"});
        CHECK(t.framer.take_replies() == "\r\r");
        CHECK(t.send("ee\r\n") == "0d");
        CHECK(t.send(std::string(100, 'x') + "\r\n") == "0d"); // too long: the Enter still moved the cursor
        CHECK(t.lines == lines{"three", "<too long>"});
        // Now in BINARY, an IP in the middle of a character is a real IP: nothing is put back.
        CHECK(t.send(bytes("d1 ff f4 ff fd 06 83 0d 0a")) == "ff fb 06 0d");
        CHECK(t.lines.back() == bytes("d1 83"));
    }
    SECTION("busybox refuses: accepted without another word, no CR") {
        peer t;
        CHECK(t.send_hex("ff fd 01") == hex(offer) + " ff fc 01");
        CHECK(t.send_hex("ff fc 00 ff fe 00") == ""); // WONT BINARY, DONT BINARY
        CHECK_FALSE(t.framer.peer_binary());
        CHECK(t.send("hi\r\n") == "");
        CHECK(t.lines == lines{"hi"});
        // Asking for BINARY later on its own is agreed to.
        CHECK(t.send_hex("ff fb 00") == "ff fd 00");
        CHECK(t.send_hex("ff fd 00") == "ff fb 00");
        CHECK(t.framer.peer_binary());
        CHECK(t.send("ho\r\n") == "0d");
    }
    SECTION("the peer's own DO BINARY as its first command is taken as the answer to the offer") {
        peer t;
        CHECK(t.send_hex("ff fd 00") == hex(offer));
        CHECK(t.send_hex("ff fb 00") == "");
        CHECK(t.framer.peer_binary());
    }
    SECTION("BINARY turned off after it was on is confirmed once") {
        peer t;
        CHECK(t.send_hex("ff fb 00 ff fd 00") == hex(offer));
        CHECK(t.send_hex("ff fc 00") == "ff fe 00"); // WONT BINARY: DONT BINARY
        CHECK(t.send_hex("ff fe 00") == "ff fc 00"); // DONT BINARY: WONT BINARY
        CHECK(t.send_hex("ff fc 00 ff fe 00") == "");  // already off: silence
        CHECK_FALSE(t.framer.peer_binary());
        CHECK(t.send("x\n") == "");
    }
}

TEST_CASE("telnet: UTF-8 typed in inetutils telnet before BINARY arrives intact", "[telnet]") {
    SECTION("the recorded trace of 日本語: 0x9c was sent as IAC BRK") {
        peer t;
        CHECK(t.send(bytes("e6 97 a5 e6 ff f3 ff fd 06 ac e8 aa 9e 0d 0a")) == hex(offer) + " ff fb 06");
        CHECK(t.lines == lines{"日本語"});
    }
    SECTION("у я σ Ě: 0x83, 0x8f, 0x83 and 0x9a sent as IP, AO, IP and SUSP") {
        peer t;
        const std::string tm = "ff fd 06";
        CHECK(t.send(bytes("d1 ff f4 " + tm + " 20 d1 ff f5 " + tm + " 20 cf ff f4 " + tm + " 20 c4 ff ed " + tm +
                           " 0d 0a")) == hex(offer) + " ff fb 06 ff fb 06 ff fb 06 ff fb 06");
        CHECK(t.lines == lines{"у я σ Ě"});
    }
    SECTION("a four-byte emoji and the last byte of a three-byte character") {
        peer t;
        // 😃 is f0 9f 98 83; 七 (U+4E03) is e4 b8 83.
        CHECK(t.send(bytes("f0 9f 98 ff f4 ff fd 06 e4 b8 ff f4 ff fd 06 0d 0a")) == hex(offer) + " ff fb 06 ff fb 06");
        CHECK(t.lines == lines{"😃七"});
    }
    SECTION("split across reads anywhere") {
        const std::string trace = bytes("e6 97 a5 e6 ff f3 ff fd 06 ac e8 aa 9e 0d 0a");
        for (std::size_t cut = 0; cut <= trace.size(); ++cut) {
            peer t;
            std::string replies = t.send(trace.substr(0, cut));
            replies += " " + t.send(trace.substr(cut));
            CHECK(bytes(replies) == offer + bytes("ff fb 06"));
            CHECK(t.lines == lines{"日本語"});
        }
    }
    SECTION("outside a character, after a complete one, or with ignore, nothing is put back") {
        peer t;
        CHECK(t.send(bytes("61 ff f4 62 c3 a9 ff f5 63 ff f3 ff ed 0d 0a")) == hex(offer));
        CHECK(t.lines == lines{"abéc"});
        peer ws(telnet_mode::ignore);
        CHECK(ws.send(bytes("e6 ff f3 ff fd 06 ac 0a")) == "");
        CHECK(ws.lines == lines{bytes("e6 ac")});
    }
}

TEST_CASE("telnet: AYT is answered with a visible line, EC and EL edit the line", "[telnet]") {
    peer t;
    CHECK(t.send_hex("ff f6") == hex(offer + std::string(chatroom::detail::telnet::ayt_reply)));
    CHECK(t.send_hex("ff f6") == hex("* yes, still here\r\n"));
    CHECK(t.send("ab" + bytes("ff f6") + "c\r\n") == hex("* yes, still here\r\n"));
    CHECK(t.lines == lines{"abc"});

    t.lines.clear();
    CHECK(t.send("abc" + bytes("ff f7") + "d\r\n") == ""); // EC: the last character
    CHECK(t.send("日本" + bytes("ff f7") + "\r\n") == "");  // a whole UTF-8 character
    CHECK(t.send("é" + bytes("ff f7 ff f7 ff f7") + "x\r\n") == ""); // EC on an empty line does nothing
    CHECK(t.send("a" + bytes("e6 97 ff f7") + "\r\n") == "");    // a character cut short goes whole
    CHECK(t.send("ok" + bytes("ff f8") + "gone\r\n") == "");     // EL: the whole line
    CHECK(t.send("part one ") == "");
    CHECK(t.send(bytes("ff f8") + "part two\r\n") == ""); // the line being received, over several reads
    CHECK(t.send("x\r" + bytes("ff f7") + "y\n") == "");  // a pending CR is a character too
    CHECK(t.lines == lines{"abd", "日", "x", "a", "gone", "part two", "xy"});

    // Without answers, the commands vanish but do nothing.
    peer ws(telnet_mode::ignore);
    CHECK(ws.send("ab" + bytes("ff f6 ff f7 ff f8") + "c\n") == "");
    CHECK(ws.lines == lines{"abc"});
}

TEST_CASE("telnet: subnegotiations are consumed in bounded memory", "[telnet]") {
    peer t;
    // SB NAWS 0 80 0 24 SE, and one whose data holds an escaped 0xFF.
    CHECK(t.send("a" + bytes("ff fa 1f 00 50 00 18 ff f0") + "b" + bytes("ff fa 18 00 ff ff 41 ff f0") + "c\r\n") ==
          hex(offer));
    CHECK(t.lines == lines{"abc"});
    // A megabyte of it keeps nothing.
    CHECK(t.send(bytes("ff fa 18")) == "");
    for (int i = 0; i < 1024; ++i) {
        CHECK(t.send(std::string(1024, 'q')) == "");
        REQUIRE(t.framer.buffered() == 0);
    }
    CHECK(t.send(bytes("ff f0") + "after\n") == "");
    CHECK(t.lines == lines{"abc", "after"});
}

TEST_CASE("telnet: finish delivers a last line without its end", "[telnet][framing]") {
    peer nc;
    CHECK(nc.send("/nick ann\n/who") == "");
    CHECK(nc.lines == lines{"/nick ann"});
    CHECK(nc.finish() == "");
    CHECK(nc.lines == lines{"/nick ann", "/who"});
    CHECK(nc.framer.buffered() == 0);
    CHECK(nc.finish() == ""); // nothing pending: no empty line
    CHECK(nc.lines.size() == 2);

    peer t;
    CHECK(t.send("bye\r") == "");
    t.finish();
    CHECK(t.send("cut" + bytes("ff")) == "");
    t.finish(); // an IAC cut short is dropped, the line before it is kept
    CHECK(t.send("next\n") == "");
    CHECK(t.send(std::string(70, 'x')) == "");
    t.finish(); // already reported as too long: nothing more
    CHECK(t.send(std::string(65, 'y')) == "");
    t.finish(); // over the limit by one: too long at the end
    CHECK(t.lines == lines{"bye", "cut", "next", "<too long>", "<too long>"});
}

TEST_CASE("telnet: an IAC sequence split across two reads at every position", "[telnet]") {
    // Every kind of command, data between them, lines ended every way.
    const std::string session = bytes("ff fd 26 ff fb 26 ff fd 03 ff fb 18") + "hi" + bytes("ff f4 ff fd 06") +
                                "\r\n" + bytes("ff fa 18 00 ff ff 41 ff f0") + "x" + bytes("ff ff") + "y" +
                                bytes("ff f6") + "z" + bytes("ff f7") + "\r" + std::string(1, '\0') +
                                bytes("ff fb 00 ff fd 00") + "gone" + bytes("ff f8") + "bin\r\n" +
                                bytes("e6 ff f3 ac 0d 0a ff fc 00 ff fe 00 e6 ff f3 ff fd 06 ac 0d 00");
    peer whole;
    const std::string expected = whole.send(session);
    // In BINARY the BRK inside e6 .. ac is a real BRK; once BINARY is off again, it is 0x9c.
    CHECK(whole.lines == lines{"hi", "x\xFFy", "bin", bytes("e6 ac"), bytes("e6 9c ac")});
    CHECK(bytes(expected) == offer + bytes("ff fc 26 ff fe 26 ff fc 03 ff fe 18 ff fb 06") +
                                 std::string(chatroom::detail::telnet::ayt_reply) +
                                 bytes("0d 0d ff fe 00 ff fc 00 ff fb 06"));
    for (std::size_t cut = 0; cut <= session.size(); ++cut) {
        peer t;
        std::string got = bytes(t.send(session.substr(0, cut)));
        got += bytes(t.send(session.substr(cut)));
        CHECK(hex(got) == expected);
        CHECK(t.lines == whole.lines);
    }
    peer slow; // a byte at a time
    std::string got;
    for (char c : session) got += bytes(slow.send(std::string(1, c)));
    CHECK(hex(got) == expected);
    CHECK(slow.lines == whole.lines);
}

TEST_CASE("telnet: ignore mode removes commands and never answers", "[telnet]") {
    peer client(telnet_mode::ignore);
    CHECK(client.framer.mode() == telnet_mode::ignore);
    CHECK(client.send(bytes("ff fd 26 ff fb 26 ff f4 ff fd 06 ff fb 00 ff fd 00") + "hi\r\n") == "");
    CHECK_FALSE(client.framer.peer_binary());
    CHECK(client.send("x" + bytes("ff ff ff fa 01 ff f0") + "y\n") == "");
    CHECK(client.lines == lines{"hi", "x\xFFy"});
    CHECK(line_framer().mode() == telnet_mode::answer);
}

TEST_CASE("telnet: replies stay within their documented bound", "[telnet][limits]") {
    peer t;
    std::string flood;
    for (int i = 0; i < 1000; ++i) flood += bytes("ff f6 ff fd 01 0a");
    const std::size_t used = t.framer.feed(flood.data(), flood.size(), t.handler());
    CHECK(used == flood.size());
    CHECK(t.framer.replies().size() <= chatroom::detail::telnet::max_reply_bytes(flood.size()));
    CHECK(t.framer.replies().size() == offer.size() + 1000 * (chatroom::detail::telnet::ayt_reply.size() + 3));
    t.framer.replies().clear();
    t.framer.shrink();
    CHECK(t.framer.replies().capacity() < 64);
}
