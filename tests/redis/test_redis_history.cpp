// History from the rooms' Redis streams (include/chatroom/redis/history.hpp,
// issue 21): every node of a cluster answers the same page with the same
// ids; a trimmed id is unavailable; a bad id never reaches Redis; Redis
// gone is an error within the command timeout, not a hang. The names start
// with "backplane" so the TSan stage of ./scripts/test runs them too.

#include "cluster_support.hpp"
#include "redis_test_support.hpp"

#include <chatroom.hpp>
#include <chatroom/redis.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace cluster_test;

namespace {

// Message events a node told its host, in order.
struct messages : event_recorder {
    messages() : event_recorder(chatroom::server_event_kind::message) {}
};

// Errors the store told, for the host's log.
struct reports {
    std::mutex m;
    std::vector<std::string> lines;
    std::function<void(std::string)> handler() {
        return [this](std::string text) {
            std::lock_guard<std::mutex> g(m);
            lines.push_back(std::move(text));
        };
    }
    std::size_t size() {
        std::lock_guard<std::mutex> g(m);
        return lines.size();
    }
};

// A node whose /history and async_history read the streams.
std::function<void(chatroom::server&)> with_history(const chatroom::redis_options& o,
                                                    std::function<void(std::string)> on_error = {}) {
    return [o, on_error](chatroom::server& s) {
        chatroom::redis_history_options h;
        h.on_error = on_error;
        s.set_history_store(std::make_unique<chatroom::redis_history>(o, h));
    };
}

struct answer {
    std::error_code ec;
    chatroom::history_page page;
};

// One answer, waited for with a deadline (a mutex and a condition, not a
// std::future, whose wake-up TSan cannot see through libstdc++).
struct waiter {
    std::mutex m;
    std::condition_variable cv;
    std::optional<answer> got;
    auto handler() {
        return [this](std::error_code ec, chatroom::history_page page) {
            std::lock_guard<std::mutex> g(m);
            got = answer{ec, std::move(page)};
            cv.notify_all();
        };
    }
    answer wait() {
        std::unique_lock<std::mutex> g(m);
        REQUIRE(cv.wait_for(g, test::patience, [&] { return got.has_value(); }));
        return *got;
    }
};

// async_history, waited for with a deadline.
answer ask(node& n, const chatroom::history_query& q) {
    auto w = std::make_shared<waiter>();
    n.server().async_history(q, [w](std::error_code ec, chatroom::history_page page) {
        w->handler()(ec, std::move(page));
    });
    return w->wait();
}

chatroom::history_query query(chatroom::history_range range, std::string id = {}, std::size_t limit = 100) {
    chatroom::history_query q;
    q.room = "LOBBY"; // any case
    q.range = range;
    q.id = std::move(id);
    q.limit = limit;
    return q;
}

std::vector<std::string> ids(const chatroom::history_page& p) {
    std::vector<std::string> out;
    for (const auto& e : p.events) out.push_back(chatroom::id_of(e));
    return out;
}

std::vector<std::string> ids(const std::vector<chatroom::server_event>& seen, std::size_t from, std::size_t to) {
    std::vector<std::string> out;
    for (std::size_t i = from; i < to; ++i) out.push_back(seen[i].id);
    return out;
}

// Says a line and waits until the node's host heard it: one line, one event.
void say(line_client& c, const std::string& text, messages& heard, std::size_t count) {
    c.send_raw(text + "\r\n");
    REQUIRE(eventually([&] { return heard.size() == count; }));
}

} // namespace

TEST_CASE("backplane history: queries map to stream ranges, and ids are checked first", "[backplane][history]") {
    using chatroom::detail::history_plan;
    using chatroom::detail::plan_history;
    history_plan p;
    REQUIRE_FALSE(plan_history(query(chatroom::history_range::latest, {}, 5), 100, p));
    CHECK((p.reverse && p.high == "+" && p.low == "-" && p.limit == 5));
    REQUIRE_FALSE(plan_history(query(chatroom::history_range::before, "1700000000000-3", 500), 100, p));
    CHECK((p.reverse && p.high == "(1700000000000-3" && p.low == "-" && p.limit == 100));
    REQUIRE_FALSE(plan_history(query(chatroom::history_range::after, "42"), 100, p));
    CHECK((!p.reverse && p.low == "(42-0" && p.high == "+"));
    auto between = query(chatroom::history_range::between, "5-1");
    between.until_id = "9-0";
    REQUIRE_FALSE(plan_history(between, 100, p));
    CHECK((!p.reverse && p.low == "5-1" && p.high == "9-0"));
    chatroom::history_query by_time = query(chatroom::history_range::between);
    by_time.since = std::chrono::system_clock::time_point(std::chrono::milliseconds(1000));
    by_time.until = std::chrono::system_clock::time_point(std::chrono::milliseconds(2000));
    REQUIRE_FALSE(plan_history(by_time, 100, p));
    CHECK((p.low == "1000-0" && p.high == "2000-18446744073709551615"));
    for (const char* bad : {"", "x", "1-", "-1", "1-2-3", "12-x", "(1-0", "99999999999999999999999"})
        CHECK(plan_history(query(chatroom::history_range::after, bad), 100, p) == chatroom::history_errc::bad_query);
    between.until_id = "5-0"; // before the first
    CHECK(plan_history(between, 100, p) == chatroom::history_errc::bad_query);
    std::swap(by_time.since, by_time.until);
    CHECK(plan_history(by_time, 100, p) == chatroom::history_errc::bad_query);
}

TEST_CASE("backplane history: two nodes give the same ids and the same pages", "[backplane][history]") {
    test::redis_server redis;
    const auto oa = cluster_options({redis.port()}, "a"), ob = cluster_options({redis.port()}, "b");
    messages heard;
    node a(oa, {}, 2, true, heard.handler(), with_history(oa));
    node b(ob, {}, 2, true, {}, with_history(ob));
    line_client sa = a.join_as("sa"), sb = b.join_as("sb");
    wait_members(sa, 2);
    std::size_t count = 0;
    for (int i = 0; i < 6; ++i) {
        say(sa, "from a " + std::to_string(i), heard, ++count);
        say(sb, "from b " + std::to_string(i), heard, ++count);
        if (i == 2) { // a join, a /me and a leave in the stream between lines
            line_client passer = b.join_as("passer");
            say(passer, "/me passes by", heard, ++count);
        }
    }
    const auto seen = heard.all();
    REQUIRE(seen.size() == 13);
    const auto all = ids(seen, 0, seen.size());

    auto same_on_both = [&](const chatroom::history_query& q) {
        const answer x = ask(a, q), y = ask(b, q);
        REQUIRE_FALSE(x.ec);
        REQUIRE_FALSE(y.ec);
        REQUIRE(ids(x.page) == ids(y.page));
        CHECK(x.page.more == y.page.more);
        CHECK(x.page.unavailable == y.page.unavailable);
        for (std::size_t i = 0; i < x.page.events.size(); ++i) {
            CHECK(x.page.events[i].nick == y.page.events[i].nick);
            CHECK(x.page.events[i].text == y.page.events[i].text);
            CHECK(x.page.events[i].time == y.page.events[i].time);
            CHECK(x.page.events[i].kind == y.page.events[i].kind);
        }
        return x.page;
    };

    auto page = same_on_both(query(chatroom::history_range::latest, {}, 100));
    REQUIRE(ids(page) == all); // joins and leaves are not history; the /me is
    CHECK_FALSE(page.more);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        CHECK(page.events[i].time == seen[i].time);
        CHECK(page.events[i].nick == seen[i].nick);
        if (seen[i].nick == "passer") {
            CHECK(page.events[i].kind == chatroom::room_event_kind::action);
            CHECK(page.events[i].text == "passes by");
        } else {
            CHECK(page.events[i].text == seen[i].text + "\n");
            CHECK(page.events[i].line_count == 1);
        }
    }

    page = same_on_both(query(chatroom::history_range::latest, {}, 5));
    CHECK(ids(page) == ids(seen, 8, 13));
    CHECK(page.more);
    page = same_on_both(query(chatroom::history_range::before, all[5], 3));
    CHECK(ids(page) == ids(seen, 2, 5));
    CHECK(page.more);
    page = same_on_both(query(chatroom::history_range::before, all[2], 3));
    CHECK(ids(page) == ids(seen, 0, 2));
    CHECK_FALSE(page.more);
    CHECK_FALSE(page.unavailable);
    page = same_on_both(query(chatroom::history_range::after, all[3], 4));
    CHECK(ids(page) == ids(seen, 4, 8));
    CHECK(page.more);
    page = same_on_both(query(chatroom::history_range::after, all[3]));
    CHECK(ids(page) == ids(seen, 4, 13));
    CHECK_FALSE(page.more);
    CHECK_FALSE(page.unavailable);
    auto between = query(chatroom::history_range::between, all[2], 3);
    between.until_id = all[9];
    page = same_on_both(between);
    CHECK(ids(page) == ids(seen, 2, 5));
    CHECK(page.more);
    between.limit = 100;
    page = same_on_both(between);
    CHECK(ids(page) == ids(seen, 2, 10));
    CHECK_FALSE(page.more);
    auto by_time = query(chatroom::history_range::between);
    by_time.since = seen[1].time;
    by_time.until = seen[11].time;
    page = same_on_both(by_time);
    // Every message said within those milliseconds (others may share them).
    REQUIRE_FALSE(page.events.empty());
    CHECK(page.events.front().time == seen[1].time);
    CHECK(page.events.back().time == seen[11].time);
    CHECK(page.events.size() >= 11);
}

TEST_CASE("backplane history: an id trimmed away is unavailable; a bad id is refused before Redis is asked",
          "[backplane][history]") {
    test::redis_server redis;
    // Small stream nodes, so that XADD MAXLEN ~ trims at this length.
    REQUIRE(redis_cli(redis.port(), "CONFIG SET stream-node-max-entries 2").find("OK") != std::string::npos);
    auto o = cluster_options({redis.port()}, "a");
    o.stream_length = 4;
    messages heard;
    node a(o, {}, 2, true, heard.handler(), with_history(o));
    line_client sa = a.join_as("sa");
    for (std::size_t i = 1; i <= 20; ++i) say(sa, "line " + std::to_string(i), heard, i);
    const auto seen = heard.all();
    const std::string length = redis_cli(redis.port(), "XLEN chatroom:room:lobby");
    INFO("XLEN " << length);
    REQUIRE(std::stoi(length) < 10);

    auto after = ask(a, query(chatroom::history_range::after, seen[0].id, 3));
    REQUIRE_FALSE(after.ec);
    CHECK(after.page.unavailable);
    CHECK(ids(after.page) == ids(seen, 17, 20)); // the latest instead
    CHECK(after.page.more);
    auto before = ask(a, query(chatroom::history_range::before, seen[1].id));
    REQUIRE_FALSE(before.ec);
    CHECK(before.page.unavailable);
    CHECK(before.page.events.empty());
    auto kept = ask(a, query(chatroom::history_range::after, seen[17].id));
    REQUIRE_FALSE(kept.ec);
    CHECK_FALSE(kept.page.unavailable);
    CHECK(ids(kept.page) == ids(seen, 18, 20));
    auto never = query(chatroom::history_range::after, seen[0].id);
    never.room = "empty";
    CHECK(ask(a, never).page.unavailable); // a stream that does not exist keeps nothing

    redis.stop(); // a bad id is refused by the store itself
    for (const char* bad : {"not-an-id", "12-x", ""})
        CHECK(ask(a, query(chatroom::history_range::after, bad)).ec == chatroom::history_errc::bad_query);
    auto reversed = query(chatroom::history_range::between, seen[5].id);
    reversed.until_id = seen[4].id;
    CHECK(ask(a, reversed).ec == chatroom::history_errc::bad_query);
}

TEST_CASE("backplane history: entries written straight into the stream are checked, cleaned, and shown once",
          "[backplane][history]") {
    test::redis_server redis;
    auto o = cluster_options({redis.port()}, "a");
    reports told;
    node a(o, {}, 2, true, {}, with_history(o, told.handler()));
    redis_test::event_loop loop(1);
    auto raw = redis_test::make_connection(loop, redis.port());
    REQUIRE_FALSE(redis_test::connect_now(*raw));
    std::vector<std::string> added;
    auto xadd = [&](std::vector<std::string> fields) {
        std::vector<std::string> args{"XADD", "chatroom:room:lobby", "*", "n", "zz", "e", "zz1"};
        args.insert(args.end(), fields.begin(), fields.end());
        const auto r = redis_test::call(*raw, args);
        REQUIRE_FALSE(r.ec);
        REQUIRE(r.reply.is_string());
        added.push_back(r.reply.text);
    };
    xadd({"s", "1", "k", "c", "u", "mallory", "x", "two\nlines \x1b[2Jclean\n"}); // kept, cleaned
    xadd({"s", "2", "k", "c", "u", "alice> fake", "x", "spoofed\n"});            // skipped: not a nick
    xadd({"s", "3", "k", "j", "u", "mallory"});                                    // a join: not history
    xadd({"s", "1", "k", "c", "u", "mallory", "x", "two\nlines \x1b[2Jclean\n"}); // the same write again
    xadd({"s", "4", "k", "a", "u", "mallory", "x", "waves"});                      // kept
    const auto r = ask(a, query(chatroom::history_range::latest));
    REQUIRE_FALSE(r.ec);
    REQUIRE(ids(r.page) == (std::vector<std::string>{added[0], added[4]}));
    const auto& chat = r.page.events[0];
    CHECK(chat.line_count == 2);
    CHECK(chat.text == "two\nlines [2Jclean\n");
    std::vector<std::string> lines;
    chat.for_each_line([&](std::string_view l) { lines.emplace_back(l); });
    CHECK(lines == (std::vector<std::string>{"two", "lines [2Jclean"}));
    CHECK(r.page.events[1].kind == chatroom::room_event_kind::action);
    REQUIRE(eventually([&] { return told.size() == 1; })); // the skipped entry, told once
}

TEST_CASE("backplane history: Redis paused or stopped fails the query within the command timeout, and it reads "
          "again once Redis is back",
          "[backplane][history]") {
    test::redis_server redis;
    auto o = cluster_options({redis.port()}, "a");
    reports told;
    messages heard;
    node a(o, {}, 2, true, heard.handler(), with_history(o, told.handler()));
    line_client sa = a.join_as("sa");
    say(sa, "before the outage", heard, 1);
    REQUIRE(ask(a, query(chatroom::history_range::latest)).page.events.size() == 1);

    redis.pause(); // the open connection's command times out, and so does the one opened again
    auto started = std::chrono::steady_clock::now();
    CHECK(ask(a, query(chatroom::history_range::latest)).ec == chatroom::history_errc::store_failed);
    CHECK(std::chrono::steady_clock::now() - started < 4 * o.command_timeout);
    CHECK(told.size() == 1);
    redis.resume();
    redis.stop();
    started = std::chrono::steady_clock::now();
    CHECK(ask(a, query(chatroom::history_range::latest)).ec == chatroom::history_errc::store_failed);
    CHECK(std::chrono::steady_clock::now() - started < 4 * o.command_timeout);
    CHECK(told.size() == 2);

    redis.start(); // without its data: an empty page, read on a new connection
    REQUIRE(eventually([&] {
        auto r = ask(a, query(chatroom::history_range::latest));
        return !r.ec && r.page.events.empty();
    }));
}

TEST_CASE("backplane history: /history on one node shows the lines said on the other", "[backplane][history]") {
    test::redis_server redis;
    const auto oa = cluster_options({redis.port()}, "a"), ob = cluster_options({redis.port()}, "b");
    node a(oa, {}, 2, true, {}, with_history(oa));
    node b(ob, {}, 2, true, {}, with_history(ob));
    line_client reader = a.join_as("reader");
    line_client writer = b.join_as("writer");
    wait_members(reader, 2);
    writer.send_raw("said on b\r\n");
    CHECK(reader.wait_for_prefix("<writer>") == "<writer> said on b");
    writer.send_raw("/me waves from b\r\n");
    CHECK(reader.wait_for_prefix("* writer waves") == "* writer waves from b");
    reader.send_raw("/history 5\r\n");
    CHECK(reader.wait_for_prefix("* history of ") == "* history of lobby, last 2 lines (UTC):");
    auto first = reader.read_line(5s), second = reader.read_line(5s);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->substr(first->find(']') + 1) == " <writer> said on b");
    CHECK(second->substr(second->find(']') + 1) == " * writer waves from b");
}

TEST_CASE("backplane history: through Sentinel the store reads the primary the sentinels name",
          "[backplane][history][sentinel]") {
    test::redis_server primary;
    test::redis_server_options so;
    so.sentinel_config = {"sentinel monitor m 127.0.0.1 " + std::to_string(primary.port()) + " 1"};
    test::redis_server sentinel(so);
    chatroom::redis_options o = cluster_options({}, "a");
    o.instances.clear();
    o.sentinels.push_back(chatroom::redis_endpoint{"127.0.0.1", sentinel.port()});
    o.masters.push_back("m");
    messages heard;
    node a(o, {}, 2, true, heard.handler(), with_history(o));
    line_client sa = a.join_as("sa");
    say(sa, "through sentinel", heard, 1);
    const auto page = ask(a, query(chatroom::history_range::latest)).page;
    REQUIRE(page.events.size() == 1);
    CHECK(chatroom::id_of(page.events[0]) == heard.all()[0].id);

    chatroom::redis_options nowhere = o;
    nowhere.masters = {"unknown"};
    chatroom::redis_history lost(nowhere);
    waiter w;
    lost.query(query(chatroom::history_range::latest), w.handler());
    CHECK(w.wait().ec == chatroom::history_errc::store_failed);
}

TEST_CASE("backplane history: stop fails what waits, is idempotent, and later queries are told stopping",
          "[backplane][history]") {
    test::redis_server redis;
    chatroom::redis_history store(cluster_options({redis.port()}, "a"));
    store.stop();
    store.stop();
    std::error_code got;
    int calls = 0;
    store.query(query(chatroom::history_range::latest), [&](std::error_code ec, chatroom::history_page) {
        got = ec;
        ++calls;
    });
    CHECK(calls == 1);
    CHECK(got == chatroom::history_errc::stopping);
}
