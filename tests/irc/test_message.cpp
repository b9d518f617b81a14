// IRC messages (include/chatroom/irc/message.hpp): parsing with tags, source
// and trailing parameter; the limits (512-byte body, 8191 bytes of tags, 15
// parameters) as errors, never a crash; writing; tag value escaping; text
// cut at UTF-8 boundaries.
#include <chatroom/irc.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace chatroom::irc;

TEST_CASE("a message with tags, a source, middle and trailing parameters parses into its parts", "[irc][parse]") {
    const parsed p = parse("@time=2026-12-06T15:00:00.000Z;msgid=ab\\sc;+flag :nick!u@h privmsg #dev :hello there");
    REQUIRE(p.error == parse_error::none);
    REQUIRE(p.msg.tags.size() == 3);
    CHECK(p.msg.tags[0].key == "time");
    CHECK(p.msg.tags[0].value == "2026-12-06T15:00:00.000Z");
    CHECK(p.msg.tags[1].value == "ab c");
    CHECK(p.msg.tags[2].key == "+flag");
    CHECK(p.msg.tags[2].value.empty());
    CHECK(p.msg.source == "nick!u@h");
    CHECK(p.msg.command == "PRIVMSG");
    REQUIRE(p.msg.params.size() == 2);
    CHECK(p.msg.params[0] == "#dev");
    CHECK(p.msg.params[1] == "hello there");
}

TEST_CASE("parameters: several spaces between them, an empty trailing one, a trailing one with colons", "[irc][parse]") {
    parsed p = parse("USER  guest 0   * :Real :Name");
    REQUIRE(p.error == parse_error::none);
    REQUIRE(p.msg.params.size() == 4);
    CHECK(p.msg.params[3] == "Real :Name");
    p = parse("TOPIC #dev :");
    REQUIRE(p.msg.params.size() == 2);
    CHECK(p.msg.params[1].empty());
    p = parse("PING");
    CHECK(p.msg.params.empty());
    CHECK(p.msg.param(3).empty());
    p = parse("001 nick :welcome");
    CHECK(p.msg.command == "001");
}

TEST_CASE("bad input is an error of its own, never a crash", "[irc][parse]") {
    CHECK(parse("").error == parse_error::empty);
    CHECK(parse("   ").error == parse_error::empty);
    CHECK(parse(":source-only").error == parse_error::no_command);
    CHECK(parse("@a=b").error == parse_error::no_command);
    CHECK(parse("PRIV/MSG x").error == parse_error::bad_command);
    CHECK(parse("12 x").error == parse_error::bad_command);
    std::string many = "CMD";
    for (int i = 0; i < 16; ++i) many += " p";
    CHECK(parse(many).error == parse_error::too_many_params);
    // Odd bytes anywhere: parsed or refused, nothing else.
    for (int c = 0; c < 256; ++c) {
        const std::string line = std::string("@") + static_cast<char>(c) + "=\\" + " :" + static_cast<char>(c) + " X " +
                                 static_cast<char>(c) + " :";
        const parsed q = parse(line);
        CHECK((q.error == parse_error::none || q.error == parse_error::bad_command ||
               q.error == parse_error::no_command));
    }
}

TEST_CASE("the body may have 510 bytes and the tags 8191, no more", "[irc][parse][limits]") {
    const std::string head = "PRIVMSG #dev :";
    const std::string body = head + std::string(510 - head.size(), 'x');
    CHECK(parse(body).error == parse_error::none);
    CHECK(parse(body + "x").error == parse_error::line_too_long);
    const std::string tags = "@k=" + std::string(8191 - 4, 'v') + " "; // "@k=", the value, the space
    REQUIRE(tags.size() == 8191);
    CHECK(parse(tags + body).error == parse_error::none);
    CHECK(parse("@k=v" + std::string(8191, 'v') + " " + body).error == parse_error::tags_too_long);
}

TEST_CASE("tag values are escaped when written and unescaped when read, both ways the same", "[irc][tags]") {
    const std::string value = "a;b c\\d\re\nf";
    std::string escaped;
    append_escaped_tag_value(escaped, value);
    CHECK(escaped == "a\\:b\\sc\\\\d\\re\\nf");
    CHECK(unescape_tag_value(escaped) == value);
    CHECK(unescape_tag_value("x\\") == "x");   // a last backslash is dropped
    CHECK(unescape_tag_value("\\q") == "q");   // an unknown escape is the character
    std::string nul;
    append_escaped_tag_value(nul, std::string_view("a\0b", 3));
    CHECK(nul == "ab");
}

TEST_CASE("a message is written with tags, source and a trailing parameter only where needed", "[irc][serialize]") {
    irc_message m;
    m.tags = {{"msgid", "1 2"}, {"+bare", ""}};
    m.source = "srv";
    m.command = "PRIVMSG";
    m.params = {"#dev", "hi there"};
    CHECK(serialize(m) == "@msgid=1\\s2;+bare :srv PRIVMSG #dev :hi there");
    m.tags.clear();
    m.source.clear();
    m.params = {"#dev", "word"};
    CHECK(serialize(m) == "PRIVMSG #dev word");
    m.params = {"#dev", ":colon"};
    CHECK(serialize(m) == "PRIVMSG #dev ::colon");
    m.params = {"#dev", ""};
    CHECK(serialize(m) == "PRIVMSG #dev :");
    // What is written parses back into the same message.
    m.tags = {{"time", "t;x"}};
    m.params = {"#dev", "a b"};
    const parsed back = parse(serialize(m));
    CHECK(back.msg.tags[0].value == "t;x");
    CHECK(back.msg.params == m.params);
}

TEST_CASE("long text is cut at UTF-8 boundaries into pieces within the limit, keeping every byte", "[irc][split]") {
    std::string text;
    for (int i = 0; i < 200; ++i) text += "日本語é"; // 3+3+3+2 bytes each
    const auto pieces = split_utf8(text, 100);
    std::string joined;
    for (const auto p : pieces) {
        CHECK(p.size() <= 100);
        CHECK(!p.empty());
        // No piece starts with a continuation byte.
        CHECK((static_cast<unsigned char>(p.front()) & 0xC0) != 0x80);
        joined += std::string(p);
    }
    CHECK(joined == text);
    // A space in the second half of a piece is where it is cut.
    const auto words = split_utf8("aaaa bbbb cccc", 8);
    REQUIRE(words.size() == 3);
    CHECK(words[0] == "aaaa ");
    CHECK(split_utf8("short", 100).size() == 1);
    CHECK(split_utf8("", 100).size() == 1);
    // Bytes that are not UTF-8 (all continuation bytes) are still cut within the limit.
    const std::string junk(50, '\x80');
    for (const auto p : split_utf8(junk, 16)) CHECK(p.size() <= 16);
}
