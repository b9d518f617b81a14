// basic_client's asynchronous operations (async_connect, async_receive,
// async_send, async_close) with each kind of completion token: a callback,
// asio::use_future, deferred, and use_awaitable where coroutines compile.
#include "support/completion_tokens.hpp"
#include "support/running_server.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/steady_timer.hpp>
#include <asio/detached.hpp>
#if defined(ASIO_HAS_CO_AWAIT)
#include <asio/experimental/awaitable_operators.hpp>
#endif

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace test;

namespace {

// An io_context run by its own thread for the clients of one test.
struct client_loop {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::thread thread{[this] { io.run(); }};
    ~client_loop() {
        work.reset();
        io.stop();
        thread.join();
    }
};

// The result of a future, which must come within the patience.
template <class T>
T get(std::future<T>& f) {
    REQUIRE(f.wait_for(patience) == std::future_status::ready);
    return f.get();
}

// The error a future<void> of an operation ends with (none when it succeeded).
std::error_code error_of(std::future<void> f) {
    try {
        get(f);
        return {};
    } catch (const std::system_error& e) {
        return e.code();
    }
}

// A callback that hands its results to the test thread.
template <class... Args>
struct callback_result {
    std::promise<std::tuple<Args...>> promise;
    std::future<std::tuple<Args...>> future = promise.get_future();
    auto handler() {
        return [this](Args... args) { promise.set_value(std::make_tuple(std::move(args)...)); };
    }
    std::tuple<Args...> get() { return ::get(future); }
};

// Receives until a line starting with prefix, through futures.
std::string receive_until(chatroom::client& c, const std::string& prefix) {
    for (int i = 0; i < 100; ++i) {
        auto f = c.async_receive(asio::use_future);
        std::string l = get(f);
        if (l.rfind(prefix, 0) == 0) return l;
    }
    FAIL("no line starting with " << prefix);
    return {};
}

std::string nick_of_welcome(const std::string& welcome) { return welcome.substr(welcome.rfind(' ') + 1); }

// A port nobody listens on: bound, then released.
unsigned short free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

} // namespace

TEST_CASE("async_connect completes once connected, after on_connect, with each token", "[client][async]") {
    auto srv = start<tcp4_single>();
    const std::string port = std::to_string(srv.where().port);
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), srv.where().port);
    client_loop loop;
    chatroom::client c(loop.io);
    bool on_connect_ran = false; // written and read on the client's strand
    c.on_connect([&] { on_connect_ran = true; });

    SECTION("a callback, which runs on the strand like the callbacks") {
        callback_result<std::error_code, bool> r;
        c.async_connect("localhost", port, [&, h = r.handler()](std::error_code ec) mutable { h(ec, on_connect_ran); });
        auto [ec, after_on_connect] = r.get();
        CHECK_FALSE(ec);
        CHECK(after_on_connect);
    }
    SECTION("use_future, by endpoint") {
        auto f = c.async_connect(ep, asio::use_future);
        CHECK_FALSE(error_of(std::move(f)));
    }
    SECTION("deferred, started later") {
        auto op = c.async_connect(ep, std::string("127.0.0.1"), deferred);
        callback_result<std::error_code> r;
        std::move(op)(r.handler());
        CHECK_FALSE(std::get<0>(r.get()));
    }
    // Connected now: the welcome is the first line received.
    CHECK(receive_until(c, "* welcome").rfind("* welcome to chatroom, you are guest-", 0) == 0);
    CHECK(error_of(c.async_connect(ep, asio::use_future)) == asio::error::already_connected);
    CHECK_FALSE(error_of(c.async_close(asio::use_future)));
    CHECK(error_of(c.async_connect(ep, asio::use_future)) == chatroom::client_errc::closed);
}

TEST_CASE("async_connect fails with the error that closed the client", "[client][async]") {
    client_loop loop;
    const std::string port = std::to_string(free_port());

    SECTION("use_future: a refused connection") {
        chatroom::client c(loop.io);
        CHECK(error_of(c.async_connect("127.0.0.1", port, asio::use_future)) == asio::error::connection_refused);
        // Closed for good now: later operations say so.
        CHECK(error_of(c.async_connect("127.0.0.1", port, asio::use_future)) == chatroom::client_errc::closed);
        CHECK(error_of(c.async_send("x", asio::use_future)) == chatroom::client_errc::closed);
    }
    SECTION("a callback: with reconnecting on, only close() ends the tries") {
        chatroom::client c(loop.io);
        chatroom::reconnect_policy p;
        p.enabled = true;
        p.initial_delay = p.max_delay = std::chrono::milliseconds(10);
        c.set_reconnect(p);
        std::atomic<int> waits{0};
        c.on_state([&](chatroom::client_state s, std::error_code, std::chrono::milliseconds) {
            if (s == chatroom::client_state::waiting_to_reconnect) ++waits;
        });
        callback_result<std::error_code> r;
        c.async_connect("127.0.0.1", port, r.handler());
        REQUIRE(eventually([&] { return waits >= 3; }));
        CHECK(r.future.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
        c.close();
        CHECK(std::get<0>(r.get()) == chatroom::client_errc::closed);
    }
    SECTION("deferred") {
        chatroom::client c(loop.io);
        callback_result<std::error_code> r;
        c.async_connect("127.0.0.1", port, deferred)(r.handler());
        CHECK(std::get<0>(r.get()) == asio::error::connection_refused);
    }
}

TEST_CASE("async_receive gets each line in order, queued or awaited, with each token", "[client][async]") {
    auto srv = start<tcp4_single>();
    line_client other = srv.join();
    client_loop loop;
    chatroom::client c(loop.io);
    // Lines that arrive before anyone receives wait in the queue.
    CHECK_FALSE(error_of(c.async_connect("127.0.0.1", std::to_string(srv.where().port), asio::use_future)));
    const std::string nick = nick_of_welcome(receive_until(c, "* welcome"));
    CHECK(receive_until(c, "* joined lobby") == "* joined lobby (2 members)");
    other.wait_for_prefix("* " + nick + " joined");

    // A receive started before its line arrives.
    callback_result<std::error_code, std::string> first;
    c.async_receive(first.handler());
    auto later = c.async_receive(asio::use_future); // the one after it
    auto deferred_op = c.async_receive(deferred);   // starts only when invoked
    other.send("one");
    other.send("two");
    other.send("three");
    auto [ec, line] = first.get();
    CHECK_FALSE(ec);
    CHECK(line == "<" + other.nick + "> one");
    CHECK(get(later) == "<" + other.nick + "> two");
    callback_result<std::error_code, std::string> third;
    std::move(deferred_op)(third.handler());
    CHECK(std::get<1>(third.get()) == "<" + other.nick + "> three");

    // Lines are sanitized for receivers as for on_line.
    other.send("bell\x07 here");
    CHECK(receive_until(c, "<" + other.nick + "> bell").find('\x07') == std::string::npos);
}

TEST_CASE("async_receive returns what was queued, then the end; with on_line set it refuses", "[client][async]") {
    client_loop loop;
    SECTION("the server goes away: queued lines first, then client_errc::closed") {
        auto srv = start<tcp4_single>();
        chatroom::client c(loop.io);
        callback_result<std::error_code> closed;
        c.on_disconnect([h = closed.handler()](std::error_code ec, const std::string&) mutable { h(ec); });
        CHECK_FALSE(error_of(c.async_connect("127.0.0.1", std::to_string(srv.where().port), asio::use_future)));
        receive_until(c, "* welcome"); // the server has the connection, not just its kernel
        srv.stop();
        std::vector<std::string> rest;
        for (;;) {
            callback_result<std::error_code, std::string> r;
            c.async_receive(r.handler());
            auto [ec, l] = r.get();
            if (ec) {
                CHECK(ec == chatroom::client_errc::closed);
                break;
            }
            rest.push_back(l);
            REQUIRE(rest.size() < 100);
        }
        REQUIRE_FALSE(rest.empty());
        CHECK(rest.back() == "* server shutting down");
        CHECK_FALSE(std::get<0>(closed.get())); // a clean end by the server
    }
    SECTION("a lost connection without reconnecting: its error") {
        asio::io_context sio;
        asio::ip::tcp::acceptor acceptor(sio, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        chatroom::client c(loop.io);
        auto pending = c.async_receive(asio::use_future); // waits from before the connection
        c.connect(acceptor.local_endpoint());
        asio::ip::tcp::socket s(sio);
        acceptor.accept(s);
        s.set_option(asio::socket_base::linger(true, 0)); // close with a reset
        s.close();
        CHECK_THROWS_MATCHES(get(pending), std::system_error, Catch::Predicate<std::system_error>([](const auto& e) {
                                 return e.code() == asio::error::connection_reset;
                             }));
    }
    SECTION("on_line is set: lines go there, and a receive says so") {
        chatroom::client c(loop.io);
        c.on_line([](std::string_view) {});
        auto f = c.async_receive(asio::use_future);
        CHECK_THROWS_MATCHES(get(f), std::system_error, Catch::Predicate<std::system_error>([](const auto& e) {
                                 return e.code() == chatroom::client_errc::lines_go_to_on_line;
                             }));
    }
}

TEST_CASE("lines nobody receives are kept up to the bound, and a marker stands for the dropped ones", "[client][async]") {
    auto srv = start<tcp4_single>();
    line_client other = srv.join();
    client_loop loop;
    chatroom::client_options options;
    options.max_receive_queue_bytes = 300;
    chatroom::client c(loop.io, options);
    CHECK_FALSE(error_of(c.async_connect("127.0.0.1", std::to_string(srv.where().port), asio::use_future)));
    other.wait_for_prefix("* guest-");
    constexpr int sent = 40;
    for (int i = 0; i < sent; ++i) other.send("line " + std::to_string(100 + i));
    // The server handles other's lines in order: once it answers this one,
    // the forty are in the client's output queue, ahead of what close() ends with.
    other.send("/nick done");
    other.wait_for_prefix("* " + other.nick + " is now known as done");
    CHECK_FALSE(error_of(c.async_close(asio::use_future)));

    // Closed: everything the client read is queued (or dropped) now.
    std::vector<std::string> got;
    for (;;) {
        auto f = c.async_receive(asio::use_future);
        try {
            got.push_back(get(f));
        } catch (const std::system_error& e) {
            CHECK(e.code() == chatroom::client_errc::closed);
            break;
        }
        REQUIRE(got.size() < 100);
    }
    // The lines that fit, in order from the first, then one marker for
    // the rest, which did not.
    REQUIRE(got.size() >= 4);
    CHECK(got.back() == chatroom::lines_dropped_marker);
    std::size_t bytes = 0, chat = 0;
    for (std::size_t i = 0; i + 1 < got.size(); ++i) {
        INFO(got[i]);
        CHECK(got[i] != chatroom::lines_dropped_marker);
        bytes += got[i].size();
        if (got[i].rfind("<" + other.nick + "> ", 0) == 0)
            CHECK(got[i] == "<" + other.nick + "> line " + std::to_string(100 + chat++));
    }
    CHECK(bytes <= options.max_receive_queue_bytes);
    // The next one, of the same length, would not have fitted.
    CHECK(bytes + ("<" + other.nick + "> line 100").size() > options.max_receive_queue_bytes);
    CHECK(chat >= 1);
    CHECK(chat < sent);
}

TEST_CASE("async_send completes once its line is written, or says why it was not", "[client][async]") {
    auto srv = start<tcp4_single>();
    line_client other = srv.join();
    client_loop loop;
    chatroom::client c(loop.io);
    CHECK_FALSE(error_of(c.async_connect("127.0.0.1", std::to_string(srv.where().port), asio::use_future)));
    const std::string nick = nick_of_welcome(receive_until(c, "* welcome"));
    other.wait_for_prefix("* " + nick + " joined");

    callback_result<std::error_code> cb;
    c.async_send("by callback", cb.handler());
    CHECK_FALSE(std::get<0>(cb.get()));
    CHECK_FALSE(error_of(c.async_send("by future", asio::use_future)));
    callback_result<std::error_code> d;
    c.async_send("by deferred", deferred)(d.handler());
    CHECK_FALSE(std::get<0>(d.get()));
    CHECK(other.wait_for_prefix("<" + nick + ">") == "<" + nick + "> by callback");
    CHECK(other.expect_line() == "<" + nick + "> by future");
    CHECK(other.expect_line() == "<" + nick + "> by deferred");

    // Refused whole, nothing sent: the next line is the next one seen.
    CHECK(error_of(c.async_send("two\n/nick injected", asio::use_future)) == chatroom::client_errc::line_has_newline);
    CHECK_FALSE(error_of(c.async_send("after", asio::use_future)));
    CHECK(other.expect_line() == "<" + nick + "> after");

    CHECK_FALSE(error_of(c.async_close(asio::use_future)));
    CHECK(error_of(c.async_send("too late", asio::use_future)) == chatroom::client_errc::closed);
}

TEST_CASE("async_send fails for lines with no room while disconnected and for lines never sent", "[client][async]") {
    client_loop loop;
    chatroom::client_options options;
    options.max_queue_bytes = 10;
    chatroom::client c(loop.io, options);
    chatroom::reconnect_policy p;
    p.enabled = true;
    p.initial_delay = p.max_delay = std::chrono::milliseconds(60000);
    c.set_reconnect(p);
    std::promise<void> waiting;
    c.on_state([&, set = false](chatroom::client_state s, std::error_code, std::chrono::milliseconds) mutable {
        if (s == chatroom::client_state::waiting_to_reconnect && !set) {
            set = true;
            waiting.set_value();
        }
    });
    c.connect("127.0.0.1", std::to_string(free_port()));
    auto w = waiting.get_future();
    get(w);
    auto kept = c.async_send("12345", asio::use_future);    // 6 bytes: kept
    auto dropped = c.async_send("67890", asio::use_future); // 12 > 10: dropped
    CHECK(error_of(std::move(dropped)) == asio::error::no_buffer_space);
    CHECK(kept.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
    // Closed before any connection: the kept line was never sent.
    CHECK_FALSE(error_of(c.async_close(asio::use_future)));
    CHECK(error_of(std::move(kept)) == chatroom::client_errc::closed);
}

TEST_CASE("async_close completes after on_disconnect, and at once when already closed", "[client][async]") {
    auto srv = start<tcp4_single>();
    line_client other = srv.join();
    client_loop loop;
    chatroom::client c(loop.io);
    bool disconnect_ran = false; // on the client's strand
    c.on_disconnect([&](std::error_code, const std::string&) { disconnect_ran = true; });
    CHECK_FALSE(error_of(c.async_connect("127.0.0.1", std::to_string(srv.where().port), asio::use_future)));
    const std::string nick = nick_of_welcome(receive_until(c, "* welcome"));
    other.wait_for_prefix("* " + nick + " joined");
    c.send("last words");

    SECTION("a callback") {
        callback_result<std::error_code, bool> r;
        c.async_close([&, h = r.handler()](std::error_code ec) mutable { h(ec, disconnect_ran); });
        auto [ec, after] = r.get();
        CHECK_FALSE(ec);
        CHECK(after);
    }
    SECTION("use_future") {
        CHECK_FALSE(error_of(c.async_close(asio::use_future)));
    }
    SECTION("deferred") {
        callback_result<std::error_code> r;
        c.async_close(deferred)(r.handler());
        CHECK_FALSE(std::get<0>(r.get()));
    }
    // What was queued went out first.
    CHECK(other.wait_for_prefix("<" + nick + ">") == "<" + nick + "> last words");
    CHECK(other.wait_for_prefix("* " + nick + " left") == "* " + nick + " left");
    CHECK_FALSE(error_of(c.async_close(asio::use_future)));
}

TEST_CASE("destroying the client makes a pending receive fail with operation_aborted", "[client][async]") {
    auto srv = start<tcp4_single>();
    client_loop loop;
    std::future<std::string> pending;
    {
        chatroom::client c(loop.io);
        CHECK_FALSE(error_of(c.async_connect("127.0.0.1", std::to_string(srv.where().port), asio::use_future)));
        receive_until(c, "* joined lobby");
        pending = c.async_receive(asio::use_future);
    }
    CHECK_THROWS_MATCHES(get(pending), std::system_error, Catch::Predicate<std::system_error>([](const auto& e) {
                             return e.code() == asio::error::operation_aborted;
                         }));
}

TEST_CASE("abort() makes what is pending fail with operation_aborted, and what follows with closed", "[client][async]") {
    auto srv = start<tcp4_single>();
    client_loop loop;
    chatroom::client c(loop.io);
    CHECK_FALSE(error_of(c.async_connect("127.0.0.1", std::to_string(srv.where().port), asio::use_future)));
    receive_until(c, "* joined lobby");
    auto pending = c.async_receive(asio::use_future);
    c.abort();
    CHECK_THROWS_MATCHES(get(pending), std::system_error, Catch::Predicate<std::system_error>([](const auto& e) {
                             return e.code() == asio::error::operation_aborted;
                         }));
    CHECK(error_of(c.async_send("later", asio::use_future)) == chatroom::client_errc::closed);
    auto later = c.async_receive(asio::use_future);
    CHECK_THROWS_MATCHES(get(later), std::system_error, Catch::Predicate<std::system_error>([](const auto& e) {
                             return e.code() == chatroom::client_errc::closed;
                         }));
}

TEST_CASE("a cancelled receive fails with operation_aborted and takes no line", "[client][async]") {
    auto srv = start<tcp4_single>();
    line_client other = srv.join();
    client_loop loop;
    chatroom::client c(loop.io);
    CHECK_FALSE(error_of(c.async_connect("127.0.0.1", std::to_string(srv.where().port), asio::use_future)));
    const std::string nick = nick_of_welcome(receive_until(c, "* welcome"));
    receive_until(c, "* joined lobby");
    other.wait_for_prefix("* " + nick + " joined");

    asio::cancellation_signal signal;
    callback_result<std::error_code, std::string> cancelled;
    c.async_receive(asio::bind_cancellation_slot(signal.slot(), cancelled.handler()));
    signal.emit(asio::cancellation_type::terminal); // the slot's owner is this thread
    CHECK(std::get<0>(cancelled.get()) == asio::error::operation_aborted);
    // The next line goes to the next receive.
    other.send("still here");
    auto next = c.async_receive(asio::use_future);
    CHECK(get(next) == "<" + other.nick + "> still here");
}

#if defined(ASIO_HAS_CO_AWAIT)
namespace {

// A bot as a coroutine: connects, waits for the lobby, answers "!ping"
// once, and closes; returns the lines it received.
asio::awaitable<std::vector<std::string>> ping_bot(chatroom::client& c, std::string port) {
    std::vector<std::string> seen;
    co_await c.async_connect("127.0.0.1", port, asio::use_awaitable);
    for (;;) {
        std::string line = co_await c.async_receive(asio::use_awaitable);
        seen.push_back(line);
        if (line.size() > 7 && line.compare(line.size() - 7, 7, "> !ping") == 0) break;
    }
    co_await c.async_send("pong", asio::use_awaitable);
    co_await c.async_close(asio::use_awaitable);
    try {
        co_await c.async_receive(asio::use_awaitable);
    } catch (const std::system_error& e) {
        seen.push_back("error: " + e.code().message());
    }
    co_return seen;
}

} // namespace

TEST_CASE("every operation works with use_awaitable in a coroutine", "[client][async][coro]") {
    auto srv = start<tcp4_single>();
    line_client other = srv.join();
    client_loop loop;
    chatroom::client c(loop.io);
    auto done = asio::co_spawn(loop.io, ping_bot(c, std::to_string(srv.where().port)), asio::use_future);
    const std::string joined = other.wait_for_prefix("* guest-");
    const std::string nick = joined.substr(2, joined.find(' ', 2) - 2);
    other.send("!ping");
    CHECK(other.wait_for_prefix("<" + nick + ">") == "<" + nick + "> pong");
    CHECK(other.wait_for_prefix("* " + nick + " left") == "* " + nick + " left");
    const auto seen = get(done);
    REQUIRE(seen.size() >= 4);
    CHECK(seen[0].rfind("* welcome", 0) == 0);
    CHECK(seen[seen.size() - 2] == "<" + other.nick + "> !ping");
    CHECK(seen.back() == "error: " + chatroom::make_error_code(chatroom::client_errc::closed).message());
}

TEST_CASE("a receive raced against a timer in a coroutine is cancelled by it", "[client][async][coro]") {
    using namespace asio::experimental::awaitable_operators;
    auto srv = start<tcp4_single>();
    line_client other = srv.join();
    client_loop loop;
    chatroom::client c(loop.io);
    CHECK_FALSE(error_of(c.async_connect("127.0.0.1", std::to_string(srv.where().port), asio::use_future)));
    const std::string nick = nick_of_welcome(receive_until(c, "* welcome"));
    receive_until(c, "* joined lobby");
    other.wait_for_prefix("* " + nick + " joined");

    // Nothing arrives: the timer wins, and the receive is cancelled, so
    // the || completes (it waits for both).
    auto raced = asio::co_spawn(loop.io, [&]() -> asio::awaitable<std::size_t> {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
        auto r = co_await (c.async_receive(asio::use_awaitable) || t.async_wait(asio::use_awaitable));
        co_return r.index();
    }, asio::use_future);
    CHECK(get(raced) == 1);
    other.send("after the race");
    auto next = c.async_receive(asio::use_future);
    CHECK(get(next) == "<" + other.nick + "> after the race");
}
#endif
