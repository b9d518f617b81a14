// IRCv3 draft/chathistory as questions to the history store
// (include/chatroom/irc/detail/chathistory_query.hpp, chathistory.hpp):
// references read, each subcommand planned as one core query, the page cut
// to what was asked, and the answer written as a chathistory batch.
#include <chatroom/irc.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace chatroom::irc::detail;
using chatroom::history_query;
using chatroom::history_range;
using chatroom::past_line;
using std::chrono::milliseconds;
using time_point = std::chrono::system_clock::time_point;

const time_point t0(milliseconds(1765033058000)); // 2025-12-06T14:57:38.000Z

// Ten one-line messages, ids 11..20, 10 ms apart: message i is "m<i>".
std::vector<past_line> ten() {
    std::vector<past_line> out;
    for (int i = 0; i < 10; ++i)
        out.push_back({t0 + milliseconds(10 * i), "bob", "m" + std::to_string(i), false, std::to_string(11 + i), ""});
    return out;
}

history_ref ref(const std::string& s) {
    const auto r = parse_history_ref(s, true);
    REQUIRE(r);
    return *r;
}

// Plans sub over ten(), then cuts the page: the texts kept.
std::vector<std::string> answer(const std::string& sub, const std::string& a, const std::string& b, std::size_t limit,
                                history_query* planned = nullptr) {
    history_ask ask;
    ask.subcommand = sub;
    ask.room = "dev";
    ask.target = "#dev";
    ask.limit = limit;
    const history_ref first = ref(a);
    history_ref second;
    if (!b.empty()) second = ref(b);
    const auto q = plan_history(ask, first, b.empty() ? nullptr : &second, 100);
    if (planned) *planned = q;
    std::vector<std::string> out;
    if (ask.empty) return out;
    const auto page = ten();
    for (const history_line& l : select_history(ask, page)) out.push_back(l.line->text);
    return out;
}

std::vector<std::string> texts(int from, int to) { // m<from> .. m<to - 1>
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back("m" + std::to_string(i));
    return out;
}

std::string at(int i) { return "timestamp=" + chatroom::irc::format_time(t0 + milliseconds(10 * i)); }
std::string id(int i) { return "msgid=" + std::to_string(11 + i); }

} // namespace

TEST_CASE("chathistory references: msgids, timestamps and '*'", "[irc][chathistory]") {
    const auto t = parse_irc_time("2025-12-06T14:57:38.123Z");
    REQUIRE(t);
    CHECK(chatroom::irc::format_time(*t) == "2025-12-06T14:57:38.123Z");
    CHECK(parse_irc_time("2025-12-06T14:57:38Z") == t0);
    CHECK(parse_irc_time("1970-01-01T00:00:00.5Z") == time_point(milliseconds(500)));
    for (const char* bad : {"", "2025-12-06", "2025-13-06T14:57:38Z", "2025-12-06T14:57:38.Z", "2025-12-06 14:57:38Z",
                            "2025-12-06T14:57:38.1234Z", "2025-12-06T14:57:38+01:00"})
        CHECK_FALSE(parse_irc_time(bad));

    auto one = parse_msgid("41");
    REQUIRE(one);
    CHECK(one->id == "41");
    CHECK(one->line == 0);
    auto line = parse_msgid("41-2"); // the third line of message 41
    REQUIRE(line);
    CHECK(line->id == "41");
    CHECK(line->line == 2);
    auto redis = parse_msgid("1733486400000-3"); // a stream id: its first number is a time
    REQUIRE(redis);
    CHECK(redis->id == "1733486400000-3");
    CHECK(redis->line == 0);
    auto redis_line = parse_msgid("1733486400000-3-1");
    REQUIRE(redis_line);
    CHECK(redis_line->id == "1733486400000-3");
    CHECK(redis_line->line == 1);
    for (const char* bad : {"", "-", "4a", "1-2-3-4", "41-", "99999999999999999999999"}) CHECK_FALSE(parse_msgid(bad));

    CHECK(parse_history_ref("*", true));
    CHECK_FALSE(parse_history_ref("*", false)); // only LATEST takes '*'
    CHECK_FALSE(parse_history_ref("id=41", true));
    CHECK(parse_history_ref("timestamp=2025-12-06T14:57:38.123Z", false)->is == history_ref::kind::time);
}

TEST_CASE("each chathistory subcommand answers what the spec asks, bounds excluded", "[irc][chathistory]") {
    history_query q;
    // LATEST: the newest, and those newer than a reference.
    CHECK(answer("LATEST", "*", "", 20, &q) == texts(0, 10));
    CHECK(q.range == history_range::latest);
    CHECK(answer("LATEST", "*", "", 5) == texts(5, 10));
    CHECK(answer("LATEST", id(4), "", 20) == texts(5, 10));
    CHECK(answer("LATEST", at(4), "", 20) == texts(5, 10));
    CHECK(answer("LATEST", id(4), "", 2) == texts(8, 10));
    // BEFORE: the newest older than the reference.
    CHECK(answer("BEFORE", id(6), "", 20, &q) == texts(0, 6));
    CHECK(q.range == history_range::before);
    CHECK(q.id == "18"); // the store's bound after message 17, so all of its lines are there to cut
    CHECK(answer("BEFORE", at(6), "", 20) == texts(0, 6));
    CHECK(answer("BEFORE", at(6), "", 2) == texts(4, 6));
    // AFTER: the oldest newer than it.
    CHECK(answer("AFTER", id(3), "", 20, &q) == texts(4, 10));
    CHECK(q.range == history_range::after);
    CHECK(q.id == "14");
    CHECK(answer("AFTER", at(3), "", 3, &q) == texts(4, 7));
    CHECK(q.range == history_range::between);
    CHECK(q.since == t0 + milliseconds(31));
    // BETWEEN, either way: the lines nearest the first reference.
    CHECK(answer("BETWEEN", id(0), id(9), 20) == texts(1, 9));
    CHECK(answer("BETWEEN", id(9), id(0), 20) == texts(1, 9));
    CHECK(answer("BETWEEN", id(0), id(9), 3) == texts(1, 4));
    CHECK(answer("BETWEEN", id(9), id(0), 3) == texts(6, 9));
    CHECK(answer("BETWEEN", at(0), at(9), 20, &q) == texts(1, 9));
    CHECK(q.range == history_range::between);
    CHECK(answer("BETWEEN", at(9), at(0), 3) == texts(6, 9));
    CHECK(answer("BETWEEN", at(0), at(9), 3) == texts(1, 4));
    CHECK(answer("BETWEEN", id(4), id(4), 3).empty());
    // AROUND: a window with the reference in its middle.
    CHECK(answer("AROUND", id(7), "", 1) == texts(7, 8));
    CHECK(answer("AROUND", id(7), "", 3) == texts(6, 9));
    CHECK(answer("AROUND", at(7), "", 3) == texts(6, 9));
    CHECK(answer("AROUND", id(9), "", 4) == texts(6, 10)); // at the end: the window stays whole
    CHECK(answer("AROUND", id(0), "", 4) == texts(0, 4));
}

TEST_CASE("the lines of one message keep their msgid's line number", "[irc][chathistory]") {
    // Message 30 of three lines (gathered from one read), then message 31.
    std::vector<past_line> page = {{t0, "bob", "a", false, "30", ""}, {t0, "bob", "b", false, "30", ""},
                                   {t0, "bob", "c", false, "30", ""}, {t0 + milliseconds(5), "ann", "d", true, "31", "ann"}};
    history_ask ask;
    ask.subcommand = "BEFORE";
    ask.room = "dev";
    ask.limit = 10;
    const auto q = plan_history(ask, ref("msgid=30-2"), nullptr, 100);
    CHECK(q.id == "31");
    const auto kept = select_history(ask, page);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].line->text == "a");
    CHECK(kept[1].index == 1);

    auto cfg = std::make_shared<const config>(chatroom::irc_options{});
    connection c(cfg);
    c.state().caps = chatroom::irc::server_time | chatroom::irc::message_tags | batch_cap;
    history_ask all;
    all.room = "dev";
    all.target = "#dev";
    all.limit = 10;
    const std::string out = history_batch(c, all, select_history(all, page));
    CHECK(out == ":chatroom.irc BATCH +h1 chathistory #dev\n"
                 "@batch=h1;msgid=30;time=2025-12-06T14:57:38.000Z :bob!bob@chatroom.irc PRIVMSG #dev :a\n"
                 "@batch=h1;msgid=30-1;time=2025-12-06T14:57:38.000Z :bob!bob@chatroom.irc PRIVMSG #dev :b\n"
                 "@batch=h1;msgid=30-2;time=2025-12-06T14:57:38.000Z :bob!bob@chatroom.irc PRIVMSG #dev :c\n"
                 "@batch=h1;msgid=31;time=2025-12-06T14:57:38.005Z :ann!ann@chatroom.irc PRIVMSG #dev :\x01"
                 "ACTION d\x01\n"
                 ":chatroom.irc BATCH -h1\n");

    // Without batch and tags: the plain lines, as history replayed today.
    c.state().caps = 0;
    all.limit = 1;
    CHECK(history_batch(c, all, select_history(all, page)) ==
          ":ann!ann@chatroom.irc PRIVMSG #dev :\x01" "ACTION d\x01\n");
    // With account-tag: a line said under an account carries it, as it did live.
    c.state().caps = chatroom::irc::account_tag;
    CHECK(history_batch(c, all, select_history(all, page)) ==
          "@account=ann :ann!ann@chatroom.irc PRIVMSG #dev :\x01" "ACTION d\x01\n");
    all.limit = 10;
    CHECK(history_batch(c, all, select_history(all, page)).rfind(":bob!bob@chatroom.irc PRIVMSG #dev :a\n", 0) == 0);
    all.limit = 1;
    // With batch alone: tagged with the batch only.
    CHECK(in_batch(":x PRIVMSG #dev :hi\r\n@time=T :y PRIVMSG #dev :yo\r\n", "h7") ==
          "@batch=h7 :x PRIVMSG #dev :hi\n@batch=h7;time=T :y PRIVMSG #dev :yo\n");
    CHECK(shown_param("msgid=1 2") == "*");
    CHECK(shown_param(":x") == "*");
    CHECK(shown_param(std::string(300, 'a')).size() == 64);
}
