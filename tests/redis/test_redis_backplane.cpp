// The Redis Streams backplane (include/chatroom/redis.hpp): servers in this
// process joined through real redis-server processes, reached by raw line
// clients. What must hold through every fault: each line reaches every other
// member exactly once, and every member sees one order per room.

#include "cluster_support.hpp"
#include "redis_test_support.hpp"

#include <chatroom.hpp>
#include <chatroom/redis.hpp>

#include <asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using test::line_client;

using namespace cluster_test;

TEST_CASE("backplane: stream ids and entries", "[backplane]") {
    using chatroom::detail::stream_id;
    auto a = stream_id::parse("1700000000000-5");
    REQUIRE(a);
    CHECK(a->str() == "1700000000000-5");
    CHECK(*stream_id::parse("1-9") < *stream_id::parse("2-0"));
    CHECK(*stream_id::parse("2-0") < *stream_id::parse("2-1"));
    CHECK_FALSE(stream_id::parse("12"));
    CHECK_FALSE(stream_id::parse("x-1"));
    CHECK_FALSE(stream_id::parse("99999999999999999999999-1"));

    chatroom::detail::stream_entry in;
    in.event.kind = chatroom::room_event_kind::chat;
    in.event.room = "Lobby";
    in.event.nick = "alice";
    in.event.add_line("one");
    in.event.add_line("two");
    in.node = "n1";
    in.epoch = "e";
    in.count = 7;
    in.member = 3;
    std::vector<std::string> args;
    chatroom::detail::append_fields(args, in);
    chatroom::detail::redis_reply entry;
    entry.type = chatroom::detail::redis_reply::kind::array;
    entry.elements.resize(2);
    entry.elements[0].type = chatroom::detail::redis_reply::kind::string;
    entry.elements[0].text = "5-1";
    entry.elements[1].type = chatroom::detail::redis_reply::kind::array;
    for (const auto& a2 : args) {
        chatroom::detail::redis_reply f;
        f.type = chatroom::detail::redis_reply::kind::string;
        f.text = a2;
        entry.elements[1].elements.push_back(f);
    }
    stream_id id;
    auto out = chatroom::detail::parse_entry(entry, id);
    REQUIRE(out);
    CHECK(id.str() == "5-1");
    CHECK(out->event.room == "Lobby");
    CHECK(out->event.nick == "alice");
    CHECK(out->event.line_count == 2);
    CHECK(out->count == 7);
    CHECK(out->member == 3);
    CHECK(out->node == "n1");
    // What this backplane did not write is skipped, not trusted.
    entry.elements[1].elements.clear();
    CHECK_FALSE(chatroom::detail::parse_entry(entry, id));
    CHECK(chatroom::parse_redis_endpoint("10.0.0.1:6380")->port == 6380);
    CHECK(chatroom::parse_redis_endpoint("[::1]:7000")->host == "::1");
    CHECK(chatroom::parse_redis_endpoint("redis")->port == 6379);
    CHECK_FALSE(chatroom::parse_redis_endpoint("host:0"));
    CHECK_FALSE(chatroom::parse_redis_endpoint(":6379"));
    CHECK_THROWS(chatroom::redis_backplane_factory([] {
        chatroom::redis_options o;
        o.node_id = "bad id";
        return o;
    }()));
}

TEST_CASE("backplane: senders on three servers see one order everywhere", "[backplane]") {
    test::redis_server redis;
    node a(cluster_options({redis.port()}, "a")), b(cluster_options({redis.port()}, "b")),
        c(cluster_options({redis.port()}, "c"));
    std::vector<line_client> readers;
    readers.push_back(a.join_as("ra"));
    readers.push_back(b.join_as("rb"));
    readers.push_back(c.join_as("rc"));
    line_client sa = a.join_as("sa"), sb = b.join_as("sb"), sc = c.join_as("sc");
    wait_members(readers[0], 6);
    wait_members(readers[2], 6);
    constexpr int lines = 300;
    std::thread t1([&] { send_numbered(sa, "a", 0, lines); });
    std::thread t2([&] { send_numbered(sb, "b", 0, lines); });
    std::thread t3([&] { send_numbered(sc, "c", 0, lines); });
    t1.join();
    t2.join();
    t3.join();
    std::vector<std::vector<std::string>> seen;
    for (auto& r : readers) seen.push_back(read_chat(r, 3 * lines));
    for (const auto& s : seen) check_complete(s, {{"sa", lines}, {"sb", lines}, {"sc", lines}});
    CHECK(seen[0] == seen[1]);
    CHECK(seen[1] == seen[2]);
    // The sender does not hear its own lines back.
    sa.send_raw("/who\r\n");
    std::vector<std::string> before;
    sa.wait_for_prefix("* in lobby:", &before);
    for (const auto& line : before) CHECK(line.rfind("<sa>", 0) != 0);
}

TEST_CASE("backplane: message events carry the stream entry's id and time, the same on every server",
          "[backplane]") {
    test::redis_server redis;
    event_recorder on_a(chatroom::server_event_kind::message), on_b(chatroom::server_event_kind::message);
    node a(cluster_options({redis.port()}, "a"), {}, 2, true, on_a.handler());
    node b(cluster_options({redis.port()}, "b"), {}, 2, true, on_b.handler());
    line_client ra = a.join_as("ra"), sa = a.join_as("sa"), sb = b.join_as("sb");
    wait_members(ra, 3);
    constexpr int lines = 50;
    std::thread t1([&] { send_numbered(sa, "a", 0, lines); });
    std::thread t2([&] { send_numbered(sb, "b", 0, lines); });
    t1.join();
    t2.join();
    const auto seen = read_chat(ra, 2 * lines);
    REQUIRE(seen.size() == 2 * lines);
    REQUIRE(eventually([&] { return on_a.size() == 2 * lines && on_b.size() == 2 * lines; }));
    a.stop();
    b.stop();
    const std::vector<chatroom::server_event> told_a = on_a.all(), told_b = on_b.all();
    std::vector<std::string> told;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        const chatroom::server_event& x = told_a[i];
        const chatroom::server_event& y = told_b[i];
        told.push_back("<" + x.nick + "> " + x.text);
        CHECK(x.id == y.id); // one id on every server, in one order
        CHECK(x.time == y.time);
        CHECK(x.id.find('-') != std::string::npos);
        CHECK(std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(x.time.time_since_epoch()).count()) ==
              x.id.substr(0, x.id.find('-')));
    }
    CHECK(told == seen); // in the order members received them
}

TEST_CASE("backplane: CLIENT KILL mid-traffic loses and repeats nothing", "[backplane]") {
    test::redis_server redis;
    node a(cluster_options({redis.port()}, "a")), b(cluster_options({redis.port()}, "b"));
    line_client reader = b.join_as("reader");
    line_client sender = a.join_as("sender");
    wait_members(reader, 2);
    constexpr int lines = 3000;
    std::atomic<bool> done{false};
    std::thread killer([&] {
        for (int i = 0; i < 6 && !done; ++i) {
            std::this_thread::sleep_for(60ms);
            redis_cli(redis.port(), "CLIENT KILL TYPE normal");
        }
    });
    for (int i = 0; i < lines; i += 100) send_numbered(sender, "x", i, i + 100);
    auto got = read_chat(reader, lines);
    done = true;
    killer.join();
    check_complete(got, {{"sender", lines}});
    CHECK(a.stats().backplane_outages + b.stats().backplane_outages > 0);
}

TEST_CASE("backplane: lines are held while Redis is paused past the command timeout", "[backplane]") {
    test::redis_server redis;
    auto o = cluster_options({redis.port()}, "a");
    o.outage_timeout = 60s;
    auto ob = o;
    ob.node_id = "b";
    node a(o), b(ob);
    line_client reader = b.join_as("reader");
    line_client sender = a.join_as("sender");
    wait_members(reader, 2);
    send_numbered(sender, "x", 0, 50);
    REQUIRE(read_chat(reader, 50).size() == 50);
    redis.pause();
    send_numbered(sender, "x", 50, 100);
    CHECK(eventually([&] { return a.stats().backplane == chatroom::backplane_state::holding; }, 10s));
    std::this_thread::sleep_for(1500ms); // past the command timeout: connections fail and are retried
    redis.resume();
    auto got = read_chat(reader, 50);
    REQUIRE(got.size() == 50);
    CHECK(got.front() == "<sender> x 50");
    CHECK(got.back() == "<sender> x 99");
    CHECK(eventually([&] { return a.stats().backplane == chatroom::backplane_state::connected; }));
}

TEST_CASE("backplane: past the bound on held lines senders wait and nothing is lost", "[backplane]") {
    test::redis_server redis;
    auto o = cluster_options({redis.port()}, "a");
    o.outage_timeout = 60s;
    o.max_held_bytes = 2048; // a few dozen lines
    auto ob = o;
    ob.node_id = "b";
    node a(o), b(ob);
    line_client reader = b.join_as("reader");
    line_client sender = a.join_as("sender");
    wait_members(reader, 2);
    redis.pause();
    send_numbered(sender, "x", 0, 600);
    std::this_thread::sleep_for(1500ms);
    redis.resume();
    check_complete(read_chat(reader, 600), {{"sender", 600}});
}

TEST_CASE("backplane: past the outage timeout members chat locally until the cluster is back", "[backplane]") {
    test::redis_server redis;
    auto o = cluster_options({redis.port()}, "a");
    o.outage_timeout = 1s;
    node a(o);
    line_client one = a.join_as("one");
    line_client two = a.join_as("two");
    redis.pause();
    one.wait_for_prefix("* the cluster is unreachable");
    two.wait_for_prefix("* the cluster is unreachable");
    CHECK(a.stats().backplane == chatroom::backplane_state::degraded);
    one.send_raw("alone\r\n");
    CHECK(two.wait_for_prefix("<one>") == "<one> alone");
    redis.resume();
    two.wait_for_prefix("* the cluster is back");
    CHECK(eventually([&] { return a.stats().backplane == chatroom::backplane_state::connected; }));
    // The line said while degraded reached the stream, and was not delivered twice here.
    one.send_raw("together\r\n");
    CHECK(two.wait_for_prefix("<one>") == "<one> together");
    CHECK(redis_cli(redis.port(), "XLEN chatroom:room:lobby").find_first_not_of("0\n") != std::string::npos);
}

TEST_CASE("backplane: a Redis that lost its data tells members events were missed", "[backplane]") {
    test::redis_server redis; // no persistence: a restart loses every stream
    auto o = cluster_options({redis.port()}, "a");
    o.outage_timeout = 60s;
    node a(o);
    line_client one = a.join_as("one");
    line_client two = a.join_as("two");
    one.send_raw("before\r\n");
    two.wait_for_prefix("<one> before");
    redis.restart();
    two.wait_for_prefix("* some events of this room were missed");
    CHECK(eventually([&] { return a.stats().missed_gaps >= 1; }));
    one.send_raw("after\r\n");
    CHECK(two.wait_for_prefix("<one>") == "<one> after");
}

TEST_CASE("backplane: a server that dies leaves for everyone once and frees its nicks", "[backplane]") {
    test::redis_server redis;
    node a(cluster_options({redis.port()}, "a"));
    auto b = std::make_unique<node>(cluster_options({redis.port()}, "b"));
    node c(cluster_options({redis.port()}, "c"));
    line_client on_a = a.join_as("watcher");
    line_client on_c = c.join_as("other");
    line_client doomed = b->join_as("doomed");
    wait_members(on_a, 3);
    b->freeze(); // only the heartbeat's end tells the cluster
    CHECK(on_a.wait_for_prefix("* doomed left") == "* doomed left (server lost)");
    CHECK(on_c.wait_for_prefix("* doomed left") == "* doomed left (server lost)");
    on_a.send_raw("/nick doomed\r\n");
    CHECK(on_a.wait_for_prefix("* watcher is now") == "* watcher is now known as doomed");
    // Once: a later line is the next thing either hears of doomed.
    on_c.send_raw("/who\r\n");
    std::vector<std::string> between;
    on_c.wait_for_prefix("* in lobby:", &between);
    for (const auto& line : between) CHECK(line.find("doomed left") == std::string::npos);
}

TEST_CASE("backplane: rooms spread over two Redis instances", "[backplane]") {
    test::redis_server r1, r2;
    node a(cluster_options({r1.port(), r2.port()}, "a")), b(cluster_options({r1.port(), r2.port()}, "b"));
    line_client x = a.join_as("x");
    line_client y = b.join_as("y");
    for (int i = 0; i < 6; ++i) {
        const std::string room = "room" + std::to_string(i);
        x.send_raw("/join " + room + "\r\n");
        x.wait_for_prefix("* joined " + room);
        y.send_raw("/join " + room + "\r\n");
        y.wait_for_prefix("* joined " + room);
        // y's first lines may come before x's server has opened the room
        // (a join takes effect where the room's stream puts it): y speaks
        // until x hears it, a bounded number of times.
        bool heard = false;
        for (int attempt = 0; attempt < 40 && !heard; ++attempt) {
            y.send_raw("hi " + room + "\r\n");
            for (auto line = x.read_line(250ms); line && !heard; line = x.read_line(50ms))
                heard = *line == "<y> hi " + room;
        }
        CHECK(heard);
    }
    const std::string on1 = redis_cli(r1.port(), "--scan --pattern 'chatroom:room:*'");
    const std::string on2 = redis_cli(r2.port(), "--scan --pattern 'chatroom:room:*'");
    CHECK(on1.find("chatroom:room:") != std::string::npos);
    CHECK(on2.find("chatroom:room:") != std::string::npos);
}

TEST_CASE("backplane: a server that stops tells the cluster its members left", "[backplane]") {
    test::redis_server redis;
    node a(cluster_options({redis.port()}, "a"));
    auto b = std::make_unique<node>(cluster_options({redis.port()}, "b"));
    line_client watcher = a.join_as("watcher");
    line_client leaving = b->join_as("leaving");
    wait_members(watcher, 2);
    b->stop();
    CHECK(watcher.wait_for_prefix("* leaving left") == "* leaving left (server shutting down)");
    // Forgotten at once, not after a heartbeat's TTL: the nick is free.
    CHECK(redis_cli(redis.port(), "HEXISTS chatroom:nodes b").find('0') != std::string::npos);
    watcher.send_raw("/nick leaving\r\n");
    CHECK(watcher.wait_for_prefix("* watcher is now") == "* watcher is now known as leaving");
}

TEST_CASE("backplane: the last member of a room on a server is heard leaving elsewhere", "[backplane]") {
    test::redis_server redis;
    node a(cluster_options({redis.port()}, "a")), b(cluster_options({redis.port()}, "b"));
    line_client stays = a.join_as("stays");
    line_client goes = b.join_as("goes");
    wait_members(stays, 2);
    goes.send_raw("/join elsewhere\r\n");
    CHECK(stays.wait_for_prefix("* goes left") == "* goes left");
    // Guest nicks are each server's own: nobody takes another server's.
    stays.send_raw("/nick guest-b-1\r\n");
    CHECK(stays.wait_for_prefix("! ") == "! nicks starting with guest- are given by the servers");
    goes.send_raw("/quit\r\n");
    goes.wait_closed();
}

TEST_CASE("backplane: a Redis that requires a password", "[backplane]") {
    test::redis_server redis;
    REQUIRE(redis_cli(redis.port(), "CONFIG SET requirepass s3cret").find("OK") != std::string::npos);
    auto o = cluster_options({redis.port()}, "a");
    o.password = "s3cret";
    node a(o);
    line_client one = a.join_as("one");
    line_client two = a.join_as("two");
    one.send_raw("through the stream\r\n");
    CHECK(two.wait_for_prefix("<one>") == "<one> through the stream");
    auto wrong = cluster_options({redis.port()}, "b");
    wrong.password = "guess";
    node b(wrong, {}, 1, false);
    std::this_thread::sleep_for(1500ms);
    CHECK(b.stats().backplane != chatroom::backplane_state::connected);
}

// Anyone who can write to Redis can add entries to a room's stream, a
// server's private stream and the rosters. None of it reaches a member
// unchecked: what fails the checks is dropped (counted, and reported at most
// once per interval), the rest is cleaned like client input, on every path.
TEST_CASE("backplane: hostile entries written straight into Redis reach members clean or not at all", "[backplane]") {
    using namespace std::string_literals;
    test::redis_server redis;
    chatroom::server_options so;
    so.max_line_bytes = 512;
    so.history_lines = 50;
    struct reports {
        std::mutex mutex;
        std::vector<std::pair<test::test_clock::time_point, std::string>> seen;
    };
    auto errors = std::make_shared<reports>();
    node a(cluster_options({redis.port()}, "a"), so, 2, true, [errors](const chatroom::server_event& ev) {
        if (ev.kind != chatroom::server_event_kind::error || ev.text.find("failed validation") == std::string::npos) return;
        std::lock_guard<std::mutex> g(errors->mutex);
        errors->seen.emplace_back(test::test_clock::now(), ev.text);
    });
    line_client reader = a.join_as("reader");
    line_client writer = a.join_as("writer");
    // The room is read from the stream once a line goes round through it.
    writer.send_raw("ready\r\n");
    reader.wait_for_prefix("<writer> ready");

    redis_test::event_loop loop(1);
    auto raw = redis_test::make_connection(loop, redis.port());
    REQUIRE_FALSE(redis_test::connect_now(*raw));
    int count = 0;
    auto xadd = [&](const std::string& key, std::vector<std::string> fields, bool writer_fields = true) {
        std::vector<std::string> args{"XADD", key, "*"};
        if (writer_fields) args.insert(args.end(), {"n", "zz", "e", "zz1", "s", std::to_string(++count)});
        args.insert(args.end(), fields.begin(), fields.end());
        const auto r = redis_test::call(*raw, args);
        REQUIRE_FALSE(r.ec);
        REQUIRE(r.reply.is_string());
    };
    const std::string hostile = "\x1b]0;pwned\x07title\x1b[2J nul\0byte c1\xC2\x9B bare\rcr ff\xFF bad\xC0\xAF\xED\xA0\x80 end"s;
    const std::string mib(1 << 20, 'A');
    const std::string lobby = "chatroom:room:lobby";

    // Into the room being read: 9 to drop, 6 delivered clean.
    xadd(lobby, {"k", "c", "u", "mallory", "x", hostile + "\n"});                    // clean
    xadd(lobby, {"k", "c", "u", "alice> fake", "x", "spoofed\n"});                   // dropped
    xadd(lobby, {"k", "c", "u", "", "x", "no nick\n"});                              // dropped
    xadd(lobby, {"k", "z", "u", "mallory", "x", "unknown kind\n"});                  // dropped
    xadd(lobby, {"k", "c", "u", "mallory", "x", mib + "\n"});                        // dropped
    xadd(lobby, {"k", "j", "u", "bob\x1b[31m"});                                      // dropped
    xadd(lobby, {"k", "r", "u", "mallory", "o", "x y"});                             // dropped
    xadd(lobby, {"k", "l", "u", "mallory", "r", "quit: \x1b[2Jbye\xFF"});             // clean
    xadd(lobby, {"k", "n", "x", "\x1b[5mnotice\x9b"});                                // clean
    xadd(lobby, {"k", "p", "u", "mallory", "t", "reader", "x", "psst in a room"});  // dropped
    xadd(lobby, {"k", "a", "u", "mallory", "x", "waves \x1b[1m"});                   // clean
    xadd(lobby, {"k", "c", "u", "mallory", "x", std::string(512, 'B') + "\n"});      // clean: just fits
    xadd(lobby, {"k", "c", "u", "mallory", "x", std::string(513, 'C') + "\n"});      // dropped
    xadd(lobby, {"k", "c", "u", "mallory", "x", "no writer\n"}, false);              // dropped
    xadd(lobby, {"k", "c", "u", "mallory", "x", "end-marker\n"});
    // Into the private stream of server a: 2 to drop.
    const std::string private_stream = "chatroom:node:a";
    xadd(private_stream, {"k", "p", "u", "mallory", "t", "reader", "x", "\x1b]0;pm\x07psst\xFF"}); // clean
    xadd(private_stream, {"k", "p", "u", "alice> fake", "t", "reader", "x", "spoofed"});            // dropped
    xadd(private_stream, {"k", "c", "u", "mallory", "x", "chat in a private stream\n"});          // dropped
    xadd(private_stream, {"k", "p", "u", "mallory", "t", "reader", "x", "pm-marker"});

    // The two streams are read side by side: their lines may interleave.
    std::vector<std::string> got;
    bool room_done = false, private_done = false;
    const auto deadline = test::test_clock::now() + test::patience;
    while (!(room_done && private_done) && test::test_clock::now() < deadline) {
        auto line = reader.read_line(1s);
        if (!line) continue;
        room_done = room_done || *line == "<mallory> end-marker";
        private_done = private_done || *line == "*mallory* pm-marker";
        got.push_back(*line);
    }
    REQUIRE(room_done);
    REQUIRE(private_done);

    // A server that claims to be alive, with names /who and /rooms must not show: 2 to drop.
    REQUIRE(redis_cli(redis.port(), "HSET chatroom:nodes zz 1").find("ERR") == std::string::npos);
    REQUIRE(redis_cli(redis.port(), "SET chatroom:alive:zz 1").find("OK") != std::string::npos);
    REQUIRE(redis_cli(redis.port(), "HSET chatroom:roster:zz 'evil, nick' lobby ghost 'bad room!' okguest lobby")
                .find("ERR") == std::string::npos);
    std::string who;
    CHECK(eventually([&] {
        reader.send_raw("/who\r\n");
        who = reader.wait_for_prefix("* in lobby:", &got);
        return who.find("okguest") != std::string::npos;
    }));
    CHECK(who.find("evil") == std::string::npos);
    reader.send_raw("/rooms\r\n");
    const std::string rooms = reader.wait_for_prefix("* rooms:", &got);
    CHECK(rooms.find("bad room") == std::string::npos);

    // A room's history, read from its stream when it opens here: 3 to drop.
    const std::string history = "chatroom:room:hist";
    xadd(history, {"k", "c", "u", "mallory", "x", "old \x1b[2J\x9b\xFF line\n"});  // clean
    xadd(history, {"k", "c", "u", "alice> fake", "x", "spoofed\n"});            // dropped
    xadd(history, {"k", "c", "u", "mallory", "x", mib + "\n"});                  // dropped
    xadd(history, {"k", "a", "u", "mallory", "x", std::string(600, 'D')});      // dropped
    xadd(history, {"k", "c", "u", "mallory", "x", "history-marker\n"});
    reader.send_raw("/join hist\r\n");
    std::vector<std::string> history_lines = reader.lines_until("<mallory> history-marker");
    got.insert(got.end(), history_lines.begin(), history_lines.end());

    // Every line the member got is clean, none longer than the limit (and
    // its "<nick> " prefix); nothing refused came through.
    for (const auto& line : got) {
        INFO(line.substr(0, 200));
        CHECK(chatroom::is_clean_text(line));
        CHECK(line.size() <= 512 + 64);
        CHECK(line.find("fake") == std::string::npos);
        CHECK(line.find("spoofed") == std::string::npos);
        CHECK(line.find("psst in a room") == std::string::npos);
        CHECK(line.find("kind") == std::string::npos);
        CHECK(line.find("no nick") == std::string::npos);
        CHECK(line.find("no writer") == std::string::npos);
        CHECK(line.find("bob") == std::string::npos);
        CHECK(line.find("private stream") == std::string::npos);
        CHECK(line.find("CCCC") == std::string::npos);
        CHECK(line.find("DDDD") == std::string::npos);
    }
    auto has = [&](const std::string& want) { return std::find(got.begin(), got.end(), want) != got.end(); };
    CHECK(has("<mallory> ]0;pwnedtitle[2J nulbyte c1 barecr ff\xEF\xBF\xBD bad\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end"));
    CHECK(has("* mallory left (quit: [2Jbye\xEF\xBF\xBD)"));
    CHECK(has("* [5mnotice\xEF\xBF\xBD"));
    CHECK(has("* mallory waves [1m"));
    CHECK(has("<mallory> " + std::string(512, 'B')));
    CHECK(has("*mallory* ]0;pmpsst\xEF\xBF\xBD"));
    CHECK(has("<mallory> old [2J\xEF\xBF\xBD\xEF\xBF\xBD line"));

    // Counted once each: the roster's bad names stay in Redis, and are not
    // counted again at every heartbeat; refused entries are not read twice.
    constexpr std::uint64_t refused = 9 + 2 + 2 + 3;
    CHECK(eventually([&] { return a.stats().backplane_rejected >= refused; }));
    std::this_thread::sleep_for(1s); // five heartbeats (200 ms): a recount would show
    CHECK(a.stats().backplane_rejected == refused);

    // Reported, never once per entry: the first at once, the rest together
    // one interval later, each report with the count since the last.
    auto reported = [&] {
        std::lock_guard<std::mutex> g(errors->mutex);
        std::uint64_t sum = 0;
        for (const auto& [when, text] : errors->seen) sum += std::stoull(text.substr(text.find("dropped ") + 8));
        return sum;
    };
    CHECK(eventually([&] { return reported() == refused; },
                     chatroom::detail::redis_backplane_core::rejection_report_interval + test::patience));
    std::lock_guard<std::mutex> g(errors->mutex);
    CHECK(errors->seen.size() >= 2);
    CHECK(errors->seen.size() < refused);
    for (std::size_t i = 1; i < errors->seen.size(); ++i) // the interval (10 s), less generous scheduling slack
        CHECK(errors->seen[i].first - errors->seen[i - 1].first > 5s);
    for (const auto& [when, text] : errors->seen) {
        INFO(text);
        CHECK(chatroom::is_clean_text(text));
    }
}

namespace {

// The backplane's log lines: the texts of a node's error events.
std::vector<std::string> texts_of(event_recorder& errors) {
    std::vector<std::string> out;
    for (const chatroom::server_event& e : errors.all()) out.push_back(e.text);
    return out;
}

} // namespace

TEST_CASE("backplane: a server that starts with Redis up logs nothing about its links", "[backplane]") {
    test::redis_server redis;
    event_recorder log(chatroom::server_event_kind::error);
    node a(cluster_options({redis.port()}, "a"), {}, 2, true, log.handler());
    line_client one = a.join_as("one"); // a round trip through the cluster after the links came up
    wait_members(one, 1);
    for (const std::string& line : texts_of(log)) {
        INFO(line);
        CHECK(line.rfind("backplane:", 0) != 0);
    }
}

TEST_CASE("backplane: a server that cannot reach Redis at start says so before the outage timeout", "[backplane]") {
    auto o = cluster_options({redis_test::unused_port()}, "a");
    o.outage_timeout = 60s;
    event_recorder log(chatroom::server_event_kind::error);
    node a(o, {}, 2, false, log.handler());
    REQUIRE(eventually([&] {
        for (const std::string& line : texts_of(log))
            if (line.rfind("backplane:", 0) == 0 && line.find(" down") != std::string::npos) return true;
        return false;
    }));
    CHECK(a.stats().backplane == chatroom::backplane_state::holding);
}
