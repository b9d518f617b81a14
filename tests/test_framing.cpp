#include <chatroom.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

struct collected {
    std::vector<std::string> lines;
    int too_long = 0;
};

collected frame(chatroom::line_framer& f, const std::string& bytes, std::size_t chunk = 0) {
    collected out;
    auto on = [&](chatroom::frame_event ev, std::string_view line) {
        if (ev == chatroom::frame_event::line) out.lines.emplace_back(line);
        else ++out.too_long;
        return true;
    };
    if (chunk == 0) chunk = bytes.size() ? bytes.size() : 1;
    for (std::size_t i = 0; i < bytes.size(); i += chunk) {
        std::string part = bytes.substr(i, chunk);
        REQUIRE(f.feed(part.data(), part.size(), on) == part.size());
        CHECK(f.buffered() <= f.max_line_bytes() + 1);
        // Nothing is ever answered in ignore mode; answers are telnet-tests' business.
        if (f.mode() == chatroom::telnet_mode::ignore) CHECK(f.replies().empty());
        f.replies().clear();
    }
    return out;
}

} // namespace

TEST_CASE("framer splits on LF and drops one CR before it", "[framing]") {
    chatroom::line_framer f(64);
    auto out = frame(f, "one\r\ntwo\nthree\r\r\n\nfour");
    CHECK(out.lines == std::vector<std::string>{"one", "two", "three\r", ""});
    CHECK(f.buffered() == 4);
    auto more = frame(f, "\n");
    CHECK(more.lines == std::vector<std::string>{"four"});
}

TEST_CASE("framer ends a line at CR NUL once the peer has sent a telnet command", "[framing]") {
    const std::string nul(1, '\0');
    for (auto mode : {chatroom::telnet_mode::answer, chatroom::telnet_mode::ignore}) {
        chatroom::line_framer f(64, mode);
        // Before: the bytes are data, as they always were for non-telnet clients.
        auto before = frame(f, "a\r" + nul + "b\n");
        CHECK(before.lines == std::vector<std::string>{"a\r" + nul + "b"});
        auto after = frame(f, "\xFF\xF1one\r" + nul + "two\r\n" + nul + "x\r\r" + nul + "\r");
        CHECK(after.lines == std::vector<std::string>{"one", "two", nul + "x\r"});
        CHECK(f.buffered() == 1);
        auto end = frame(f, nul);
        CHECK(end.lines == std::vector<std::string>{""});
    }
}

TEST_CASE("framer gives the same lines however the bytes are split", "[framing]") {
    const std::string input = "alpha\r\nbe\xFF\xFB\x01ta\ngam\xFF\xFFma\n" + std::string(70, 'x') +
                              "\nlast\n" + "cr\r" + std::string(1, '\0') + std::string(70, 'y') + "\r" +
                              std::string(1, '\0') + "end\n";
    for (auto mode : {chatroom::telnet_mode::answer, chatroom::telnet_mode::ignore}) {
        chatroom::line_framer whole(64, mode);
        auto expected = frame(whole, input);
        CHECK(expected.lines == std::vector<std::string>{"alpha", "beta", "gam\xFFma", "last", "cr", "end"});
        CHECK(expected.too_long == 2);
        for (std::size_t chunk = 1; chunk <= 9; ++chunk) {
            chatroom::line_framer f(64, mode);
            auto got = frame(f, input, chunk);
            CHECK(got.lines == expected.lines);
            CHECK(got.too_long == expected.too_long);
        }
    }
}

TEST_CASE("framer consumes telnet commands and options and subnegotiations", "[framing]") {
    auto mode = GENERATE(chatroom::telnet_mode::answer, chatroom::telnet_mode::ignore);
    chatroom::line_framer f(64, mode);
    // IAC DO ECHO, IAC NOP, IAC SB NAWS 0 80 0 24 IAC SE, IAC IAC (literal 0xFF)
    const char raw[] = "a\xFF\xFD\x01" "b\xFF\xF1" "c\xFF\xFA\x1F\x00\x50\x00\x18\xFF\xF0" "d\xFF\xFF" "e\n";
    auto out = frame(f, std::string(raw, sizeof raw - 1));
    REQUIRE(out.lines.size() == 1);
    CHECK(out.lines[0] == "abcd\xFF" "e");
    // An IAC inside a subnegotiation that is not SE stays inside it.
    auto sub = frame(f, std::string("x\xFF\xFA\x01\xFF\x01y\xFF\xF0z\n", 11));
    CHECK(sub.lines == std::vector<std::string>{"xz"});
}

TEST_CASE("framer refuses a too long line once and discards it up to LF", "[framing][limits]") {
    chatroom::line_framer f(10);
    auto exact = frame(f, "0123456789\r\n");
    CHECK(exact.lines == std::vector<std::string>{"0123456789"});
    auto over = frame(f, "0123456789A\nok\n");
    CHECK(over.too_long == 1);
    CHECK(over.lines == std::vector<std::string>{"ok"});

    // Arriving a byte at a time, it is reported as soon as it passes the limit
    // and memory stays bounded while the rest streams in.
    chatroom::line_framer g(10);
    int events = 0;
    for (int i = 0; i < 100000; ++i) {
        char c = 'z';
        g.feed(&c, 1, [&](chatroom::frame_event, std::string_view) { ++events; return true; });
        CHECK(g.buffered() <= 11);
        if (i == 11) CHECK(events == 1);
    }
    CHECK(events == 1);
    auto tail = frame(g, "\nnext\n");
    CHECK(tail.lines == std::vector<std::string>{"next"});
}

TEST_CASE("framer hands a last line without its end at finish", "[framing]") {
    chatroom::line_framer f(10);
    std::vector<std::string> lines;
    int too_long = 0;
    auto on = [&](chatroom::frame_event ev, std::string_view l) {
        if (ev == chatroom::frame_event::line) lines.emplace_back(l);
        else ++too_long;
        return true;
    };
    f.finish(on); // nothing fed: nothing handed
    const std::string input = "one\ntwo\r";
    CHECK(f.feed(input.data(), input.size(), on) == input.size());
    f.finish(on);
    CHECK(lines == std::vector<std::string>{"one", "two"});
    CHECK(f.buffered() == 0);
    const std::string over = "0123456789A";
    f.feed(over.data(), over.size(), on); // limit + 1: too long only once it is known to end
    CHECK(too_long == 0);
    f.finish(on);
    CHECK(too_long == 1);
    const std::string next = "next";
    f.feed(next.data(), next.size(), on);
    f.finish(on);
    CHECK(lines == std::vector<std::string>{"one", "two", "next"});
}

TEST_CASE("framer stops where its consumer says and resumes from there", "[framing]") {
    chatroom::line_framer f(64);
    std::string input = "a\nb\nc\n";
    std::vector<std::string> lines;
    auto take_one = [&](chatroom::frame_event, std::string_view l) {
        lines.emplace_back(l);
        return false;
    };
    std::size_t used = f.feed(input.data(), input.size(), take_one);
    CHECK(used == 2);
    used += f.feed(input.data() + used, input.size() - used, take_one);
    CHECK(used == 4);
    CHECK(lines == std::vector<std::string>{"a", "b"});
}

TEST_CASE("framer finds every line end, IAC and CR NUL at every place in reads of any length", "[framing]") {
    // Lines of 0 to 40 bytes (the 16-byte SSE2 blocks and their overlapping
    // last load), some holding an escaped IAC (one 0xFF byte of data), ending
    // in LF or CR LF; then, after a telnet command, in CR NUL too.
    std::string input;
    std::vector<std::string> want;
    for (int part = 0; part < 2; ++part) {
        if (part == 1) input += "\xFF\xF1"; // NOP: the peer speaks telnet, CR NUL ends lines
        for (std::size_t len = 0; len <= 40; ++len) {
            std::string line(len, static_cast<char>('a' + len % 26));
            std::string wire = line;
            if (len % 3 == 0 && len > 0) {
                line[len / 2] = '\xFF';
                wire = line.substr(0, len / 2) + "\xFF\xFF" + line.substr(len / 2 + 1);
            }
            input += wire;
            if (part == 1 && len % 4 == 1) input += std::string("\r") + '\0';
            else input += len % 2 ? "\r\n" : "\n";
            want.push_back(line);
        }
    }
    for (auto mode : {chatroom::telnet_mode::answer, chatroom::telnet_mode::ignore}) {
        for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{15}, std::size_t{16},
                                  std::size_t{17}, std::size_t{31}, std::size_t{33}, std::size_t{64}}) {
            chatroom::line_framer f(64, mode);
            auto got = frame(f, input, chunk);
            CHECK(got.lines == want);
            CHECK(got.too_long == 0);
            CHECK(f.buffered() == 0);
        }
    }
}
