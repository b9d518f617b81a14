// The IRC framer (include/chatroom/irc/framer.hpp): CR LF or LF ends a line,
// a line past the limit is reported once and its rest discarded, and a
// stop asked by the handler resumes where it stopped.
#include <chatroom/irc.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {
struct collected {
    std::vector<std::string> lines;
    int too_long = 0;
    bool operator()(chatroom::frame_event ev, std::string_view line) {
        if (ev == chatroom::frame_event::too_long) ++too_long;
        else lines.emplace_back(line);
        return true;
    }
};
} // namespace

TEST_CASE("lines end at CR LF or LF alone, and may arrive in pieces", "[irc][framer]") {
    chatroom::irc::framer f;
    collected c;
    const std::string input = "NICK a\r\nUSER a 0 * :A\nPI";
    CHECK(f.feed(input.data(), input.size(), std::ref(c)) == input.size());
    CHECK(c.lines == std::vector<std::string>{"NICK a", "USER a 0 * :A"});
    const std::string rest = "NG :x\r\n";
    f.feed(rest.data(), rest.size(), std::ref(c));
    CHECK(c.lines.back() == "PING :x");
    const std::string last = "QUIT";
    f.feed(last.data(), last.size(), std::ref(c));
    f.finish(std::ref(c));
    CHECK(c.lines.back() == "QUIT");
}

TEST_CASE("a line past the limit is reported once and the next line is read whole", "[irc][framer][limits]") {
    chatroom::irc::framer f(16);
    collected c;
    const std::string exact = std::string(16, 'x') + "\r\n";
    f.feed(exact.data(), exact.size(), std::ref(c));
    CHECK(c.lines.size() == 1);
    const std::string big = std::string(40, 'y');
    f.feed(big.data(), big.size(), std::ref(c));
    f.feed(big.data(), big.size(), std::ref(c));
    const std::string end = "yy\r\nPING\r\n";
    f.feed(end.data(), end.size(), std::ref(c));
    CHECK(c.too_long == 1);
    CHECK(c.lines.back() == "PING");
    const std::string one = std::string(17, 'z') + "\n";
    f.feed(one.data(), one.size(), std::ref(c));
    CHECK(c.too_long == 2);
}

TEST_CASE("a handler that stops the framer gets the rest when fed again", "[irc][framer]") {
    chatroom::irc::framer f;
    std::vector<std::string> got;
    const std::string input = "A\r\nB\r\nC\r\n";
    auto one = [&](chatroom::frame_event, std::string_view l) {
        got.emplace_back(l);
        return false;
    };
    std::size_t at = 0;
    for (int i = 0; i < 3; ++i) at += f.feed(input.data() + at, input.size() - at, one);
    CHECK(at == input.size());
    CHECK(got == std::vector<std::string>{"A", "B", "C"});
}
