// UTF8ONLY (include/chatroom/irc/detail/utf8_only.hpp): invalid UTF-8 found
// and each broken piece repaired as U+FFFD, nothing after it lost; a
// client's tag keys limited to IRCv3's characters (requests.hpp).
#include <chatroom/irc.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace chatroom::irc::detail;

namespace {

std::string repaired(std::string s) {
    repair_utf8(s);
    return s;
}

} // namespace

TEST_CASE("UTF8ONLY: valid UTF-8 is kept, each broken piece becomes U+FFFD", "[irc][utf8]") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain \x01" "ACTION ascii\x01\t"));     // controls are UTF-8 (sanitizing drops them later)
    CHECK(valid_utf8("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80")); // é 日 😀
    CHECK_FALSE(valid_utf8("hi\xaa"));                         // a continuation byte alone
    CHECK_FALSE(valid_utf8("\xc0\xaf"));                       // overlong
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));                   // a surrogate
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));               // past U+10FFFF
    CHECK_FALSE(valid_utf8("\xe6\x97"));                       // cut short
    CHECK_FALSE(valid_utf8(std::string(40, 'a') + "\xff"));   // after a long ASCII run
    CHECK(repaired("ok \xc3\xa9") == "ok \xc3\xa9");
    // Nothing the sender wrote after a broken piece is lost (the field may grow).
    CHECK(repaired("ab\xaa") == "ab\xef\xbf\xbd");
    CHECK(repaired("\xaa" "abcd") == "\xef\xbf\xbd" "abcd");
    CHECK(repaired("x\xe6\x97yz") == "x\xef\xbf\xbdyz"); // one U+FFFD for the broken sequence
    CHECK(repaired("\xff\xfe\xfd") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    const std::string long_bad(500, '\xaa');
    const std::string r = repaired(long_bad);
    CHECK(r.size() == 3 * long_bad.size());
    CHECK(valid_utf8(r));
    chatroom::irc::irc_message msg;
    msg.tags.push_back({"+x", "v\xaa"});
    msg.tags.push_back({"+k\xaa", "1"}); // dropped, not repaired into another key
    msg.tags.push_back({"+y", "\xc3\xa9"});
    msg.command = "PRIVMSG";
    msg.params = {"#dev\xaa", "hi \xe8t\xe9 there"};
    repair_utf8(msg);
    REQUIRE(msg.tags.size() == 2);
    CHECK(msg.tags[0].value == "v\xef\xbf\xbd");
    CHECK(msg.tags[1].key == "+y");
    CHECK(msg.tags[1].value == "\xc3\xa9");
    CHECK(msg.params[0] == "#dev\xef\xbf\xbd");
    CHECK(msg.params[1] == "hi \xef\xbf\xbdt\xef\xbf\xbd there");
}

TEST_CASE("client-only tags: keys of IRCv3's characters only", "[irc][utf8]") {
    chatroom::irc::irc_message msg;
    msg.tags = {{"+draft/reply", "7"}, {"+example.com/x-y", ""}, {"+bad\xaa", "1"}, {"+", "2"},
                {"+sp ace", "3"}, {"+under_score", "4"}, {"time", "5"}, {"+ok", "a;b"}};
    CHECK(client_tags_of(msg) == "+draft/reply=7;+example.com/x-y;+ok=a\\:b");
}
