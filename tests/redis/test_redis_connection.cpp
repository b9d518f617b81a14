// chatroom::detail::redis_connection against real redis-server processes:
// replies, binary safety, streams, pipelining, and the faults a backplane
// lives through (a stopped server, CLIENT KILL, a killed server, a refused or
// unanswered connect, close() and destruction with commands in flight), each
// on an io_context run by one thread and by four.

#include "redis_test_support.hpp"

#include "../support/redis_server.hpp"

#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace redis_test;

using status = redis_connection::status;

TEMPLATE_TEST_CASE("redis: PING and every kind of reply", "[redis]", single_thread, four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, server.port());
    CHECK(conn->state() == status::idle);
    REQUIRE(connect_now(*conn) == std::error_code());
    CHECK(conn->state() == status::connected);

    auto pong = call(*conn, {"PING"});
    REQUIRE_FALSE(pong.ec);
    CHECK(pong.reply.is_status());
    CHECK(pong.reply.text == "PONG");

    auto number = call(*conn, {"INCRBY", "n", "41"});
    CHECK(number.reply.is_integer());
    CHECK(number.reply.integer == 41);

    CHECK(call(*conn, {"GET", "missing"}).reply.is_nil());

    REQUIRE(call(*conn, {"SET", "s", "text"}).reply.text == "OK");
    // A Redis error is a reply, not a failed command.
    auto wrong = call(*conn, {"INCR", "s"});
    CHECK_FALSE(wrong.ec);
    CHECK(wrong.reply.is_error());
    CHECK(wrong.reply.text.rfind("ERR", 0) == 0);

    auto nested = call(*conn, {"EVAL", "return {1, {2, 'x'}, 'y'}", "0"});
    REQUIRE(nested.reply.is_array());
    REQUIRE(nested.reply.elements.size() == 3);
    CHECK(nested.reply.elements[0].integer == 1);
    REQUIRE(nested.reply.elements[1].is_array());
    REQUIRE(nested.reply.elements[1].elements.size() == 2);
    CHECK(nested.reply.elements[1].elements[0].integer == 2);
    CHECK(nested.reply.elements[1].elements[1].is_string());
    CHECK(nested.reply.elements[1].elements[1].text == "x");
    CHECK(nested.reply.elements[2].text == "y");

    // Commands after which the server pushes replies nobody asked for are
    // refused without being sent; the connection goes on.
    CHECK(call(*conn, {"SUBSCRIBE", "channel"}).ec == redis_error::unsupported_command);
    CHECK(call(*conn, {"monitor"}).ec == redis_error::unsupported_command);
    CHECK(call(*conn, {}).ec == redis_error::unsupported_command);
    CHECK(call(*conn, {"PING"}).reply.text == "PONG");
    CHECK(conn->in_flight() == 0);

    // A second connect() is refused; the connection is unaffected.
    CHECK(connect_now(*conn) == std::error_code(asio::error::already_started));
    CHECK(call(*conn, {"PING"}).reply.text == "PONG");
    conn->close();
}

TEMPLATE_TEST_CASE("redis: SET and GET are binary-safe", "[redis]", single_thread, four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, server.port());
    REQUIRE(connect_now(*conn) == std::error_code());

    const std::string key("bin\0key\r\n", 9);
    // NULs, CRLFs and RESP-looking text, then 1 MiB of every byte value: more
    // than one socket write and read.
    std::string value("\0\r\n$-1\r\n*2\r\n", 12);
    for (int i = 0; i < (1 << 20); ++i) value.push_back(static_cast<char>((i * 7) & 0xff));

    std::vector<std::string_view> set{"SET", key, value};
    auto o = std::make_shared<outcomes>(1);
    conn->command(set, o->handler(0));
    REQUIRE(o->wait_done(1));
    REQUIRE_FALSE(o->result(0).ec);
    CHECK(o->result(0).reply.text == "OK");

    auto got = call(*conn, {"GET", key});
    REQUIRE_FALSE(got.ec);
    REQUIRE(got.reply.is_string());
    CHECK(got.reply.text.size() == value.size());
    CHECK(got.reply.text == value);
    CHECK(call(*conn, {"STRLEN", key}).reply.integer == static_cast<long long>(value.size()));

    // An empty argument is an argument.
    CHECK(call(*conn, {"SET", "empty", ""}).reply.text == "OK");
    auto empty = call(*conn, {"GET", "empty"});
    CHECK(empty.reply.is_string());
    CHECK(empty.reply.text.empty());
    conn->close();
}

TEMPLATE_TEST_CASE("redis: XADD, XRANGE and XREAD BLOCK", "[redis]", single_thread, four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    // The reader's default command timeout is short: blocking reads pass their own.
    auto reader = make_connection(loop, server.port(), 500ms);
    auto writer = make_connection(loop, server.port());
    REQUIRE(connect_now(*reader) == std::error_code());
    REQUIRE(connect_now(*writer) == std::error_code());

    const std::string line("hello\0there", 11);
    auto id = call(*writer, {"XADD", "room", "MAXLEN", "~", "1000", "*", "line", line});
    REQUIRE_FALSE(id.ec);
    REQUIRE(id.reply.is_string());
    CHECK(id.reply.text.find('-') != std::string::npos);

    auto range = call(*writer, {"XRANGE", "room", "-", "+"});
    REQUIRE(range.reply.is_array());
    REQUIRE(range.reply.elements.size() == 1);
    const redis_reply& entry = range.reply.elements[0];
    REQUIRE(entry.elements.size() == 2);
    CHECK(entry.elements[0].text == id.reply.text);
    REQUIRE(entry.elements[1].elements.size() == 2);
    CHECK(entry.elements[1].elements[0].text == "line");
    CHECK(entry.elements[1].elements[1].text == line);

    SECTION("a blocking read outlives the default timeout; a command behind it waits for it") {
        auto o = std::make_shared<outcomes>(2);
        const auto start = test_clock::now();
        reader->command({"XREAD", "BLOCK", "1000", "STREAMS", "quiet", "$"}, o->handler(0), 10s);
        reader->command({"PING"}, o->handler(1)); // 500 ms of its own, but it cannot be answered first
        REQUIRE(o->wait_done(2));
        CHECK(test_clock::now() - start >= 900ms);
        CHECK_FALSE(o->result(0).ec);
        CHECK(o->result(0).reply.is_nil()); // BLOCK timed out: a nil array
        CHECK_FALSE(o->result(1).ec);
        CHECK(o->result(1).reply.text == "PONG");
        CHECK(o->order() == std::vector<std::size_t>{0, 1});
        CHECK(reader->state() == status::connected);
    }

    SECTION("an XADD from another connection wakes a blocked XREAD") {
        auto o = std::make_shared<outcomes>(1);
        reader->command({"XREAD", "BLOCK", "20000", "STREAMS", "room", "$"}, o->handler(0), 30s);
        REQUIRE(eventually([&] {
            return call(*writer, {"INFO", "clients"}).reply.text.find("blocked_clients:1\r") != std::string::npos;
        }));
        auto second = call(*writer, {"XADD", "room", "*", "line", "second"});
        REQUIRE(o->wait_done(1));
        const outcome read = o->result(0);
        REQUIRE_FALSE(read.ec);
        // [[stream, [[id, [field, value]]]]]
        REQUIRE(read.reply.is_array());
        REQUIRE(read.reply.elements.size() == 1);
        const redis_reply& stream = read.reply.elements[0];
        CHECK(stream.elements.at(0).text == "room");
        REQUIRE(stream.elements.at(1).elements.size() == 1);
        const redis_reply& got = stream.elements[1].elements[0];
        CHECK(got.elements.at(0).text == second.reply.text);
        CHECK(got.elements.at(1).elements.at(1).text == "second");
    }
    reader->close();
    writer->close();
}

TEMPLATE_TEST_CASE("redis: 10,000 pipelined INCRs answer in order", "[redis]", single_thread, four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, server.port());
    REQUIRE(connect_now(*conn) == std::error_code());

    constexpr std::size_t count = 10000;
    auto o = std::make_shared<outcomes>(count);
    SECTION("issued from a thread of the test") {
        for (std::size_t i = 0; i < count; ++i) conn->command({"INCR", "counter"}, o->handler(i));
    }
    SECTION("issued on the connection's strand") {
        asio::post(conn->get_executor(), [conn, o] {
            for (std::size_t i = 0; i < count; ++i) conn->command({"INCR", "counter"}, o->handler(i));
        });
    }
    REQUIRE(o->wait_done(count));
    std::size_t bad = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const outcome r = o->result(i);
        if (o->calls(i) != 1 || r.ec || !r.reply.is_integer() || r.reply.integer != static_cast<long long>(i + 1)) ++bad;
    }
    CHECK(bad == 0);
    const auto order = o->order();
    REQUIRE(order.size() == count);
    std::size_t misordered = 0;
    for (std::size_t i = 0; i < count; ++i)
        if (order[i] != i) ++misordered;
    CHECK(misordered == 0);
    CHECK(conn->in_flight() == 0);
    CHECK(call(*conn, {"GET", "counter"}).reply.text == std::to_string(count));
    conn->close();
}

TEMPLATE_TEST_CASE("redis: commands issued while connecting are sent once connected", "[redis]", single_thread,
                   four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, server.port());
    auto p = std::make_shared<std::promise<std::error_code>>();
    auto f = p->get_future();
    conn->connect([p](std::error_code ec) { p->set_value(ec); });
    auto o = std::make_shared<outcomes>(3);
    conn->command({"SET", "k", "v"}, o->handler(0));
    conn->command({"GET", "k"}, o->handler(1));
    conn->command({"PING"}, o->handler(2));
    REQUIRE(f.wait_for(patience) == std::future_status::ready);
    CHECK(f.get() == std::error_code());
    REQUIRE(o->wait_done(3));
    CHECK(o->result(0).reply.text == "OK");
    CHECK(o->result(1).reply.text == "v");
    CHECK(o->result(2).reply.text == "PONG");
    CHECK(o->order() == std::vector<std::size_t>{0, 1, 2});
    conn->close();
}

TEST_CASE("redis: commands from several threads at once keep each thread's order", "[redis]") {
    test::redis_server server;
    event_loop loop(4);
    auto conn = make_connection(loop, server.port());
    REQUIRE(connect_now(*conn) == std::error_code());
    constexpr std::size_t threads = 4, each = 2500;
    std::vector<std::shared_ptr<outcomes>> results;
    for (std::size_t t = 0; t < threads; ++t) results.push_back(std::make_shared<outcomes>(each));
    {
        std::vector<std::thread> issuers;
        for (std::size_t t = 0; t < threads; ++t)
            issuers.emplace_back([&, t] {
                const std::string key = "counter" + std::to_string(t);
                for (std::size_t i = 0; i < each; ++i) conn->command({"INCR", key}, results[t]->handler(i));
            });
        for (auto& th : issuers) th.join();
    }
    for (std::size_t t = 0; t < threads; ++t) {
        REQUIRE(results[t]->wait_done(each));
        std::size_t bad = 0;
        for (std::size_t i = 0; i < each; ++i) {
            const outcome r = results[t]->result(i);
            if (results[t]->calls(i) != 1 || r.ec || r.reply.integer != static_cast<long long>(i + 1)) ++bad;
        }
        CHECK(bad == 0);
    }
    conn->close();
}

TEMPLATE_TEST_CASE("redis: a subscriber gets every message published, in order", "[redis]", single_thread,
                   four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    auto subscriber = make_connection(loop, server.port(), 500ms);
    auto publisher = make_connection(loop, server.port());
    auto disconnects = watch_disconnect(*subscriber);
    REQUIRE(connect_now(*subscriber) == std::error_code());
    REQUIRE(connect_now(*publisher) == std::error_code());

    struct inbox {
        std::mutex mutex;
        std::vector<std::pair<std::string, std::string>> messages;
        std::size_t size() {
            std::lock_guard<std::mutex> lock(mutex);
            return messages.size();
        }
    };
    auto received = std::make_shared<inbox>();
    auto p = std::make_shared<std::promise<std::error_code>>();
    auto subscribed = p->get_future();
    const auto subscribe = [&] {
        subscriber->subscribe(
            {"a", "b"}, [p](std::error_code ec) { p->set_value(ec); },
            [received](std::string channel, std::string payload) {
                std::lock_guard<std::mutex> lock(received->mutex);
                received->messages.emplace_back(std::move(channel), std::move(payload));
            });
    };

    SECTION("messages on two channels, then the server killed") {
        subscribe();
        REQUIRE(subscribed.wait_for(patience) == std::future_status::ready);
        REQUIRE(subscribed.get() == std::error_code());

        constexpr std::size_t count = 1000;
        auto published = std::make_shared<outcomes>(count + 1);
        for (std::size_t i = 0; i < count; ++i)
            publisher->command({"PUBLISH", "a", "m" + std::to_string(i)}, published->handler(i));
        const std::string binary("x\0y", 3);
        publisher->command({"PUBLISH", "b", binary}, published->handler(count));
        REQUIRE(published->wait_done(count + 1));
        std::size_t not_delivered = 0;
        for (std::size_t i = 0; i <= count; ++i)
            if (published->result(i).ec || published->result(i).reply.integer != 1) ++not_delivered;
        CHECK(not_delivered == 0);

        REQUIRE(eventually([&] { return received->size() == count + 1; }));
        {
            std::lock_guard<std::mutex> lock(received->mutex);
            std::size_t wrong = 0;
            for (std::size_t i = 0; i < count; ++i)
                if (received->messages[i] != std::make_pair(std::string("a"), "m" + std::to_string(i))) ++wrong;
            CHECK(wrong == 0);
            CHECK(received->messages[count].first == "b");
            CHECK(received->messages[count].second == binary);
        }
        // A subscriber sends nothing else: replies and messages would mix.
        CHECK(call(*subscriber, {"PING"}).ec == redis_error::unsupported_command);
        auto again = std::make_shared<std::promise<std::error_code>>();
        auto again_result = again->get_future();
        subscriber->subscribe({"c"}, [again](std::error_code ec) { again->set_value(ec); }, {});
        REQUIRE(again_result.wait_for(patience) == std::future_status::ready);
        CHECK(again_result.get() == std::error_code(asio::error::already_started));
        CHECK(subscriber->state() == status::connected);

        server.kill();
        REQUIRE(eventually([&] { return disconnects->count.load() >= 1; }));
        CHECK((disconnects->last() == asio::error::eof || disconnects->last() == std::errc::connection_reset));
    }
    SECTION("a subscription the server does not confirm times out") {
        server.pause();
        const auto start = test_clock::now();
        subscribe();
        REQUIRE(subscribed.wait_for(patience) == std::future_status::ready);
        CHECK(subscribed.get() == redis_error::command_timeout);
        CHECK(test_clock::now() - start >= 500ms);
        REQUIRE(eventually([&] { return disconnects->count.load() >= 1; }));
        CHECK(disconnects->last() == redis_error::command_timeout);
        server.resume();
    }
    settle(*subscriber);
    CHECK(disconnects->count.load() == 1);
    CHECK(subscriber->state() == status::closed);
    publisher->close();
}

TEMPLATE_TEST_CASE("redis: a stopped server times commands out, once each", "[redis]", single_thread, four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    const auto timeout = 300ms;
    auto conn = make_connection(loop, server.port(), timeout);
    auto disconnects = watch_disconnect(*conn);
    REQUIRE(connect_now(*conn) == std::error_code());
    REQUIRE(call(*conn, {"PING"}).reply.text == "PONG");

    server.pause();
    constexpr std::size_t count = 100;
    auto o = std::make_shared<outcomes>(count);
    const auto issued = test_clock::now();
    for (std::size_t i = 0; i < count; ++i) conn->command({"INCR", "c"}, o->handler(i));
    REQUIRE(o->wait_done(count));
    const auto elapsed = test_clock::now() - issued;
    CHECK(elapsed >= timeout);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < count; ++i)
        if (o->calls(i) != 1 || o->result(i).ec != redis_error::command_timeout || !o->result(i).reply.is_nil()) ++wrong;
    CHECK(wrong == 0);
    CHECK(o->result(0).ec == std::errc::timed_out); // the portable condition matches too

    REQUIRE(eventually([&] { return disconnects->count.load() >= 1; }));
    CHECK(disconnects->last() == redis_error::command_timeout);
    CHECK(conn->state() == status::closed);
    CHECK(conn->in_flight() == 0);
    CHECK(call(*conn, {"PING"}).ec == redis_error::not_connected);
    settle(*conn);
    CHECK(disconnects->count.load() == 1);
    CHECK(o->done() == count);

    server.resume();
    auto fresh = make_connection(loop, server.port(), timeout);
    REQUIRE(connect_now(*fresh) == std::error_code());
    CHECK(call(*fresh, {"PING"}).reply.text == "PONG");
    fresh->close();
}

TEMPLATE_TEST_CASE("redis: CLIENT KILL mid-traffic fails what was pending, once", "[redis]", single_thread, four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, server.port());
    auto disconnects = watch_disconnect(*conn);
    REQUIRE(connect_now(*conn) == std::error_code());

    auto traffic = std::make_shared<pump>(conn, std::vector<std::string>{"INCR", "counter"}, 2000000, 200);
    traffic->start();
    REQUIRE(eventually([&] { return traffic->succeeded() >= 2000; }));
    CHECK(server.command("CLIENT KILL TYPE normal SKIPME yes") == ":1");

    REQUIRE(eventually([&] { return traffic->settled(); }));
    INFO("issued " << traffic->issued() << ", succeeded " << traffic->succeeded());
    CHECK(traffic->failed() >= 1);
    CHECK(traffic->failed() <= 200);
    CHECK(traffic->error_replies() == 0);
    traffic->check_exactly_once(1);
    // The server closes the connection: end of file (or a reset if it had unread commands).
    CHECK((traffic->first_error() == asio::error::eof || traffic->first_error() == std::errc::connection_reset));
    REQUIRE(eventually([&] { return disconnects->count.load() >= 1; }));
    CHECK(disconnects->last() == traffic->first_error());
    CHECK(conn->state() == status::closed);

    // The server counted at least every INCR that succeeded; maybe some of
    // the failed ones too (applied, reply lost): the outcome is unknown.
    auto other = make_connection(loop, server.port());
    REQUIRE(connect_now(*other) == std::error_code());
    const long long counted = std::stoll(call(*other, {"GET", "counter"}).reply.text);
    CHECK(counted >= static_cast<long long>(traffic->succeeded()));
    CHECK(counted <= static_cast<long long>(traffic->issued()));
    settle(*conn);
    CHECK(disconnects->count.load() == 1);
    other->close();
}

TEMPLATE_TEST_CASE("redis: a killed server fails what was pending, and a restarted one serves a new connection", "[redis]",
                   single_thread, four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, server.port());
    auto disconnects = watch_disconnect(*conn);
    REQUIRE(connect_now(*conn) == std::error_code());

    auto traffic = std::make_shared<pump>(conn, std::vector<std::string>{"INCR", "counter"}, 2000000, 200);
    traffic->start();
    REQUIRE(eventually([&] { return traffic->succeeded() >= 2000; }));
    server.kill();

    REQUIRE(eventually([&] { return traffic->settled(); }));
    INFO("issued " << traffic->issued() << ", succeeded " << traffic->succeeded());
    CHECK(traffic->failed() >= 1);
    traffic->check_exactly_once(1);
    CHECK((traffic->first_error() == asio::error::eof || traffic->first_error() == std::errc::connection_reset));
    REQUIRE(eventually([&] { return disconnects->count.load() >= 1; }));
    CHECK(disconnects->last() == traffic->first_error());
    CHECK(conn->state() == status::closed);
    settle(*conn);
    CHECK(disconnects->count.load() == 1);

    server.start(); // same port
    auto fresh = make_connection(loop, server.port());
    REQUIRE(connect_now(*fresh) == std::error_code());
    CHECK(call(*fresh, {"PING"}).reply.text == "PONG");
    fresh->close();
}

TEMPLATE_TEST_CASE("redis: connecting to a port nothing listens on fails at once", "[redis]", single_thread,
                   four_threads) {
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, unused_port());
    auto disconnects = watch_disconnect(*conn);
    const auto start = test_clock::now();
    auto o = std::make_shared<outcomes>(1);
    auto p = std::make_shared<std::promise<std::error_code>>();
    auto f = p->get_future();
    conn->connect([p](std::error_code ec) { p->set_value(ec); });
    conn->command({"PING"}, o->handler(0));
    REQUIRE(f.wait_for(patience) == std::future_status::ready);
    CHECK(f.get() == std::errc::connection_refused);
    CHECK(test_clock::now() - start < 5s);
    REQUIRE(o->wait_done(1));
    CHECK(o->result(0).ec); // refused before it was sent, or failed with the connect
    CHECK(conn->state() == status::closed);
    CHECK(call(*conn, {"PING"}).ec == redis_error::not_connected);
    CHECK(connect_now(*conn) == redis_error::not_connected);
    settle(*conn);
    CHECK(disconnects->count.load() == 0);
    CHECK(o->calls(0) == 1);
}

TEMPLATE_TEST_CASE("redis: a connect nobody answers times out", "[redis]", single_thread, four_threads) {
    unanswered_listener silent;
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, silent.port(), 10s, 300ms);
    auto disconnects = watch_disconnect(*conn);
    auto p = std::make_shared<std::promise<std::error_code>>();
    auto f = p->get_future();
    const auto start = test_clock::now();
    conn->connect([p](std::error_code ec) { p->set_value(ec); });
    // Issued while connecting: hiredis holds them until the connection is up.
    constexpr std::size_t count = 10;
    auto o = std::make_shared<outcomes>(count);
    for (std::size_t i = 0; i < count; ++i) conn->command({"PING"}, o->handler(i));
    REQUIRE(f.wait_for(patience) == std::future_status::ready);
    CHECK(f.get() == redis_error::connect_timeout);
    CHECK(test_clock::now() - start >= 300ms);
    REQUIRE(o->wait_done(count));
    for (std::size_t i = 0; i < count; ++i) {
        CHECK(o->calls(i) == 1);
        CHECK(o->result(i).ec == redis_error::connect_timeout);
    }
    CHECK(conn->state() == status::closed);
    settle(*conn);
    CHECK(disconnects->count.load() == 0);
}

TEMPLATE_TEST_CASE("redis: close() with commands in flight", "[redis]", single_thread, four_threads) {
    test::redis_server server;
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, server.port());
    auto disconnects = watch_disconnect(*conn);
    REQUIRE(connect_now(*conn) == std::error_code());

    constexpr std::size_t count = 1000;
    auto o = std::make_shared<outcomes>(count);
    bool paused = false;
    SECTION("the server answering") {}
    SECTION("the server stopped: nothing can have been answered") {
        server.pause();
        paused = true;
    }
    for (std::size_t i = 0; i < count; ++i) conn->command({"INCR", "counter"}, o->handler(i));
    const auto closing = test_clock::now();
    conn->close();
    REQUIRE(o->wait_done(count));
    CHECK(test_clock::now() - closing < 5s); // close() does not wait for the server
    // Replies in order up to the close, operation_aborted for all after it.
    std::size_t answered = 0, bad = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const outcome r = o->result(i);
        if (o->calls(i) != 1) ++bad;
        if (!r.ec) {
            if (answered != i || r.reply.integer != static_cast<long long>(i + 1)) ++bad;
            ++answered;
        } else if (r.ec != asio::error::operation_aborted) {
            ++bad;
        }
    }
    CHECK(bad == 0);
    if (paused) CHECK(answered == 0);
    settle(*conn); // every reply may have come before close() ran
    CHECK(conn->state() == status::closed);
    CHECK(conn->in_flight() == 0);
    conn->close(); // again: nothing happens
    CHECK(call(*conn, {"PING"}).ec == redis_error::not_connected);
    settle(*conn);
    CHECK(disconnects->count.load() == 0);
    if (paused) server.resume();
}

TEMPLATE_TEST_CASE("redis: close() while connecting", "[redis]", single_thread, four_threads) {
    unanswered_listener silent;
    event_loop loop(TestType::threads);
    auto conn = make_connection(loop, silent.port());
    auto p = std::make_shared<std::promise<std::error_code>>();
    auto f = p->get_future();
    conn->connect([p](std::error_code ec) { p->set_value(ec); });
    auto o = std::make_shared<outcomes>(1);
    conn->command({"PING"}, o->handler(0));
    conn->close();
    REQUIRE(f.wait_for(patience) == std::future_status::ready);
    CHECK(f.get() == asio::error::operation_aborted);
    REQUIRE(o->wait_done(1));
    CHECK(o->result(0).ec == asio::error::operation_aborted);
    CHECK(conn->state() == status::closed);
}

TEMPLATE_TEST_CASE("redis: dropping the connection in any state", "[redis]", single_thread, four_threads) {
    unanswered_listener silent;
    test::redis_server server;
    event_loop loop(TestType::threads);
    auto p = std::make_shared<std::promise<std::error_code>>();
    auto f = p->get_future();
    auto o = std::make_shared<outcomes>(1000);
    std::size_t issued = 0;
    bool connecting = false;
    {
        std::shared_ptr<redis_connection> conn;
        SECTION("never connected") { conn = make_connection(loop, server.port()); }
        SECTION("connecting") {
            conn = make_connection(loop, silent.port());
            conn->connect([p](std::error_code ec) { p->set_value(ec); });
            connecting = true;
            for (; issued < 10; ++issued) conn->command({"PING"}, o->handler(issued));
        }
        SECTION("connected, commands in flight to a stopped server") {
            conn = make_connection(loop, server.port());
            REQUIRE(connect_now(*conn) == std::error_code());
            server.pause();
            for (; issued < 1000; ++issued) conn->command({"INCR", "counter"}, o->handler(issued));
        }
        SECTION("connected, commands in flight") {
            conn = make_connection(loop, server.port());
            REQUIRE(connect_now(*conn) == std::error_code());
            for (; issued < 1000; ++issued) conn->command({"INCR", "counter"}, o->handler(issued));
        }
        SECTION("failed") {
            conn = make_connection(loop, unused_port());
            CHECK(connect_now(*conn) == std::errc::connection_refused);
        }
        SECTION("by a callback of its own, with commands in flight") {
            conn = make_connection(loop, server.port());
            REQUIRE(connect_now(*conn) == std::error_code());
            auto only = std::make_shared<std::shared_ptr<redis_connection>>(conn);
            conn->command({"PING"}, [only, o](std::error_code ec, redis_reply reply) {
                only->reset(); // the last reference: the connection goes when this handler returns
                o->handler(0)(ec, std::move(reply));
            });
            for (issued = 1; issued < 1000; ++issued) conn->command({"INCR", "counter"}, o->handler(issued));
        }
        conn.reset();
    }
    REQUIRE(o->wait_done(issued));
    for (std::size_t i = 0; i < issued; ++i) {
        CHECK(o->calls(i) == 1);
        const outcome r = o->result(i);
        CHECK((!r.ec || r.ec == asio::error::operation_aborted));
    }
    if (connecting) {
        REQUIRE(f.wait_for(patience) == std::future_status::ready);
        CHECK(f.get() == asio::error::operation_aborted);
    }
    // Nothing of the connection is left on the io_context: no wait, no timer.
    CHECK(loop.run_out(patience));
    server.resume();
}

// Not a test: the figures for the backplane's capacity arithmetic. Run with
//   redis-tests "[bench]"
// (a Release build gives the representative numbers).
TEST_CASE("redis: pipelined XADD of 1 KB entries", "[.][bench][redis]") {
    test::redis_server server;
    event_loop loop(1);
    auto conn = make_connection(loop, server.port(), 30s);
    REQUIRE(connect_now(*conn) == std::error_code());
    const std::string entry(1024, 'x');

    const auto cpu_of = [](pid_t pid) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::istringstream fields(text.substr(text.rfind(')') + 2));
        std::string field;
        double ticks = 0;
        for (int number = 3; number <= 15 && (fields >> field); ++number)
            if (number == 14 || number == 15) ticks += std::stod(field);
        return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
    };
    const auto own_cpu = [] {
        timespec t{};
        ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
    };

    for (std::size_t window : {std::size_t(1), std::size_t(100), std::size_t(1000)}) {
        const std::size_t total = window == 1 ? 20000 : 200000;
        auto traffic = std::make_shared<pump>(
            conn, std::vector<std::string>{"XADD", "bench", "MAXLEN", "~", "100000", "*", "line", entry}, total, window);
        const double redis_before = cpu_of(server.pid());
        const double own_before = own_cpu();
        const auto start = test_clock::now();
        traffic->start();
        REQUIRE(eventually([&] { return traffic->settled(); }, 300s));
        const double seconds = std::chrono::duration<double>(test_clock::now() - start).count();
        REQUIRE(traffic->succeeded() == total);
        CHECK(traffic->error_replies() == 0);
        const double redis_cpu = cpu_of(server.pid()) - redis_before;
        const double own = own_cpu() - own_before;
        std::printf("XADD 1 KB, %zu in flight: %zu commands in %.3f s: %.0f commands/s, %.2f us/command; "
                    "redis-server CPU %.2f us/command, client CPU %.2f us/command\n",
                    window, total, seconds, static_cast<double>(total) / seconds,
                    seconds * 1e6 / static_cast<double>(total), redis_cpu * 1e6 / static_cast<double>(total),
                    own * 1e6 / static_cast<double>(total));
    }

    // Reading it back as a node of the backplane does: XREAD COUNT n from the
    // last ID delivered, one batch in flight, until the stream is read.
    for (std::size_t batch : {std::size_t(10), std::size_t(100)}) {
        struct reader_state {
            std::mutex mutex;
            std::size_t entries = 0, batches = 0;
            bool done = false, failed = false;
            std::function<void(std::string)> next;
        };
        auto state = std::make_shared<reader_state>();
        const std::string count = std::to_string(batch);
        state->next = [conn, state, count](std::string from) {
            conn->command({"XREAD", "COUNT", count, "STREAMS", "bench", from}, [state](std::error_code ec, redis_reply r) {
                std::string last;
                {
                    std::lock_guard<std::mutex> lock(state->mutex);
                    if (ec || !r.is_array() || r.elements.empty() || r.elements[0].elements.size() < 2) {
                        state->failed = ec || !r.is_nil();
                        state->done = true;
                        state->next = nullptr; // ends the cycle state -> next -> state
                        return;
                    }
                    const auto& entries = r.elements[0].elements[1].elements;
                    state->entries += entries.size();
                    ++state->batches;
                    last = entries.back().elements.at(0).text;
                }
                state->next(last);
            });
        };
        const double redis_before = cpu_of(server.pid());
        const double own_before = own_cpu();
        const auto start = test_clock::now();
        asio::post(conn->get_executor(), [state] { state->next("0-0"); });
        REQUIRE(eventually(
            [&] {
                std::lock_guard<std::mutex> lock(state->mutex);
                return state->done;
            },
            300s));
        const double seconds = std::chrono::duration<double>(test_clock::now() - start).count();
        std::lock_guard<std::mutex> lock(state->mutex);
        REQUIRE_FALSE(state->failed);
        REQUIRE(state->entries > 0);
        const double entries = static_cast<double>(state->entries);
        std::printf("XREAD COUNT %zu of 1 KB entries, one batch in flight: %zu entries in %.3f s: %.0f entries/s, "
                    "%.2f us/entry; redis-server CPU %.2f us/entry, client CPU %.2f us/entry\n",
                    batch, state->entries, seconds, entries / seconds, seconds * 1e6 / entries,
                    (cpu_of(server.pid()) - redis_before) * 1e6 / entries, (own_cpu() - own_before) * 1e6 / entries);
    }
    conn->close();
}

// The fault tests of the backplane restart Redis with persistence on: the
// helper keeps the port and the directory, and an AOF fsynced at every write
// keeps even what a SIGKILL interrupts.
TEST_CASE("redis: the test server keeps its data across restarts with appendonly", "[redis]") {
    test::redis_server_options options;
    options.appendonly = true;
    test::redis_server server(options);
    const unsigned short port = server.port();
    event_loop loop(1);
    {
        auto conn = make_connection(loop, port);
        REQUIRE(connect_now(*conn) == std::error_code());
        REQUIRE_FALSE(call(*conn, {"XADD", "room", "*", "line", "before"}).ec);
        REQUIRE(call(*conn, {"SET", "k", "v"}).reply.text == "OK");
        conn->close();
    }
    server.restart(); // SIGTERM, then the same port and directory
    CHECK(server.port() == port);
    {
        auto conn = make_connection(loop, port);
        REQUIRE(connect_now(*conn) == std::error_code());
        CHECK(call(*conn, {"GET", "k"}).reply.text == "v");
        CHECK(call(*conn, {"XLEN", "room"}).reply.integer == 1);
        REQUIRE(call(*conn, {"SET", "k", "after"}).reply.text == "OK");
        conn->close();
    }
    server.kill();
    CHECK_FALSE(server.running());
    server.start();
    auto conn = make_connection(loop, port);
    REQUIRE(connect_now(*conn) == std::error_code());
    CHECK(call(*conn, {"GET", "k"}).reply.text == "after");
    CHECK(server.command("PING") == "+PONG");
    conn->close();
}
