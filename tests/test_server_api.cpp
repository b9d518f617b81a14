// The embedding API's promises: when host callbacks stop (the destructor,
// async_stop), subscriptions that add, what a throwing handler or hook does,
// the order and threads of events, and the error_code overloads. Run under
// AddressSanitizer by scripts/test: handlers here capture locals by
// reference that die right after the server.
#include "support/completion_tokens.hpp"
#include "support/running_server.hpp"

#include <chatroom/web.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace test;

namespace {

target loopback(const chatroom::server& s) {
    target t;
    t.port = s.local_endpoint().port();
    return t;
}

const asio::ip::tcp::endpoint any_port{asio::ip::make_address("127.0.0.1"), 0};

// Events kept for the test to look at, from any thread.
struct event_log {
    std::mutex m;
    std::vector<chatroom::server_event> events;

    chatroom::event_handler handler() {
        return [this](const chatroom::server_event& e) {
            std::lock_guard<std::mutex> g(m);
            events.push_back(e);
        };
    }
    std::size_t count(chatroom::server_event_kind k) {
        std::lock_guard<std::mutex> g(m);
        return static_cast<std::size_t>(
            std::count_if(events.begin(), events.end(), [&](const chatroom::server_event& e) { return e.kind == k; }));
    }
    // The text of the first error event, once there is one.
    std::string error_text() {
        std::string text;
        eventually([&] {
            std::lock_guard<std::mutex> g(m);
            for (const auto& e : events)
                if (e.kind == chatroom::server_event_kind::error) text = e.text;
            return !text.empty();
        });
        return text;
    }
};

// An io_context run by two threads until the test says so.
struct running_io {
    asio::io_context io{2};
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::vector<std::thread> threads;
    running_io() {
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    // Lets run() return once the servers' work is done, and waits for it.
    void finish() {
        work.reset();
        for (auto& t : threads) t.join();
        threads.clear();
    }
    ~running_io() {
        if (!threads.empty()) {
            io.stop();
            for (auto& t : threads) t.join();
        }
    }
};

} // namespace

// ---- item 1: no callback after the destructor ----------------------------------

TEST_CASE("no host callback runs once the server is destroyed, however they capture", "[lifetime]") {
    running_io run;
    auto gone = std::make_shared<std::atomic<bool>>(false);
    auto late = std::make_shared<std::atomic<int>>(0);
    std::vector<line_client> clients;
    {
        // Locals the callbacks use by reference; they die right after the server.
        std::mutex seen_mutex;
        std::vector<std::string> seen;
        chatroom::server server(run.io);
        auto note = [&seen, &seen_mutex, gone, late](const std::string& what) {
            if (gone->load()) ++*late;
            std::lock_guard<std::mutex> g(seen_mutex);
            seen.push_back(what);
        };
        server.on_event([note](const chatroom::server_event& e) { note(chatroom::to_string(e.kind)); });
        server.add_command("ping", "answers", [note](chatroom::command_call& c) {
            note("ping");
            c.reply("pong");
        });
        chatroom::access_hooks hooks;
        hooks.authorize = [note](const chatroom::member_info&, const chatroom::action&) {
            note("authorize");
            return chatroom::verdict::allow();
        };
        server.set_access(hooks);
        server.listen(any_port);
        for (int i = 0; i < 4; ++i) {
            clients.emplace_back();
            clients.back().join(loopback(server));
        }
        clients[0].send("/ping");
        CHECK(clients[0].wait_for_prefix("* pong") == "* pong");
        // The members go on talking while the server goes.
        for (auto& c : clients) c.send("still here");
    }
    gone->store(true);
    // It stops by itself, gracefully: everyone is told and disconnected.
    for (auto& c : clients) {
        CHECK(c.wait_for_prefix("* server shutting down") == "* server shutting down");
        CHECK(c.wait_closed());
    }
    run.finish();
    CHECK(late->load() == 0);
}

TEST_CASE("the server destroyed from inside its own handler: that call is the last, and it stops", "[lifetime]") {
    asio::io_context io(1);
    auto server = std::make_unique<chatroom::server>(io);
    bool destroyed = false; // the io thread's
    int after = 0;
    server->on_event([&](const chatroom::server_event& e) {
        if (destroyed) ++after;
        if (e.kind == chatroom::server_event_kind::joined && !destroyed) {
            destroyed = true;
            server.reset(); // on the server's own (only) thread: no wait, no deadlock
        }
    });
    server->on_event([&](const chatroom::server_event&) { // told nothing from then on either
        if (destroyed) ++after;
    });
    server->listen(any_port);
    const target where = loopback(*server);
    auto ran = std::async(std::launch::async, [&] { io.run(); });
    line_client c;
    c.connect(where);
    CHECK(c.wait_for_prefix("* server shutting down") == "* server shutting down");
    CHECK(c.wait_closed());
    REQUIRE(ran.wait_for(patience) == std::future_status::ready); // stopped: run() returned
    CHECK(destroyed);
    CHECK(after == 0);
}

TEST_CASE("the destructor waits for a handler running on one of the server's threads", "[lifetime]") {
    running_io run;
    std::atomic<bool> entered{false}, release{false}, finished{false}, destroyed{false}, saw_finished{false};
    auto server = std::make_unique<chatroom::server>(run.io);
    server->on_event(
        [&](const chatroom::server_event&) {
            if (entered.exchange(true)) return;
            eventually([&] { return release.load(); });
            finished = true;
        },
        chatroom::mask_of(chatroom::server_event_kind::joined));
    server->listen(any_port);
    line_client c;
    c.connect(loopback(*server));
    REQUIRE(eventually([&] { return entered.load(); }));
    std::thread destroyer([&] {
        server.reset();
        saw_finished = finished.load();
        destroyed = true;
    });
    CHECK_FALSE(eventually([&] { return destroyed.load(); }, 300ms)); // held by the handler under way
    release = true;
    CHECK(eventually([&] { return destroyed.load(); }));
    destroyer.join();
    CHECK(saw_finished);
    CHECK(c.wait_closed());
    run.finish();
}

// ---- item 8: async_stop ---------------------------------------------------------

namespace {

// A server with members, stopped by stop_with(server); checks that the
// completion comes once everyone is gone and that no callback follows it.
template <class Stop>
void check_async_stop(Stop stop_with) {
    running_io run;
    chatroom::server server(run.io);
    std::atomic<bool> completed{false};
    std::atomic<int> after{0};
    server.on_event([&](const chatroom::server_event&) {
        if (completed) ++after;
    });
    server.listen(any_port);
    std::vector<line_client> clients(3);
    for (auto& c : clients) c.join(loopback(server));
    std::atomic<std::size_t> connections_at_completion{99};
    stop_with(server, [&] {
        connections_at_completion = server.stats().connections;
        completed = true;
    });
    for (auto& c : clients) CHECK(c.wait_closed());
    REQUIRE(eventually([&] { return completed.load(); }));
    CHECK(connections_at_completion == 0);
    // Stopped already: completes again, at once.
    std::promise<void> again;
    server.async_stop([&] { again.set_value(); });
    CHECK(again.get_future().wait_for(patience) == std::future_status::ready);
    run.finish();
    CHECK(after == 0);
}

} // namespace

TEST_CASE("async_stop completes once every session is gone: with a callback", "[async_stop]") {
    check_async_stop([](chatroom::server& s, auto done) { s.async_stop(done); });
}

TEST_CASE("async_stop completes once every session is gone: with use_future", "[async_stop]") {
    check_async_stop([](chatroom::server& s, auto done) {
        std::future<void> f = s.async_stop(asio::use_future);
        REQUIRE(f.wait_for(patience) == std::future_status::ready);
        f.get();
        done();
    });
}

TEST_CASE("async_stop completes once every session is gone: with deferred", "[async_stop]") {
    check_async_stop([](chatroom::server& s, auto done) {
        auto op = s.async_stop(test::deferred); // nothing happens until it is started
        op(done);
    });
}

#if defined(ASIO_HAS_CO_AWAIT)
TEST_CASE("async_stop completes once every session is gone: with use_awaitable", "[async_stop]") {
    check_async_stop([](chatroom::server& s, auto done) {
        asio::co_spawn(
            s.get_executor(),
            [&s, done]() -> asio::awaitable<void> {
                co_await s.async_stop(asio::use_awaitable);
                done();
            },
            asio::detached);
    });
}
#endif

TEST_CASE("async_stop on a server with no connection completes, and run() returns", "[async_stop]") {
    asio::io_context io(1);
    chatroom::server server(io);
    server.listen(any_port);
    bool completed = false;
    server.async_stop([&] { completed = true; });
    auto ran = std::async(std::launch::async, [&] { io.run(); });
    REQUIRE(ran.wait_for(patience) == std::future_status::ready);
    CHECK(completed);
}

// ---- item 5: subscriptions add; commands are not replaced by accident -------------

TEST_CASE("on_event adds a handler each time; unsubscribe ends one", "[events]") {
    running_io run;
    chatroom::server server(run.io);
    event_log first, second;
    auto sub1 = server.on_event(first.handler());
    auto sub2 = server.on_event(second.handler(), chatroom::mask_of(chatroom::server_event_kind::joined));
    CHECK(sub1.active());
    CHECK(chatroom::event_subscription().active() == false);
    server.listen(any_port);
    line_client a;
    a.join(loopback(server));
    CHECK(eventually([&] { return first.count(chatroom::server_event_kind::joined) == 1; }));
    CHECK(eventually([&] { return second.count(chatroom::server_event_kind::joined) == 1; }));
    CHECK(second.count(chatroom::server_event_kind::connected) == 0); // its own mask
    sub1.unsubscribe();
    sub1.unsubscribe(); // idempotent
    CHECK_FALSE(sub1.active());
    const std::size_t first_had = first.count(chatroom::server_event_kind::joined);
    line_client b;
    b.join(loopback(server));
    CHECK(eventually([&] { return second.count(chatroom::server_event_kind::joined) == 2; }));
    CHECK(first.count(chatroom::server_event_kind::joined) == first_had);
    server.stop();
    run.finish();
}

TEST_CASE("a handler may unsubscribe itself: that call is its last", "[events]") {
    running_io run;
    chatroom::server server(run.io);
    std::atomic<int> calls{0};
    auto sub = std::make_shared<chatroom::event_subscription>();
    *sub = server.on_event([&calls, sub](const chatroom::server_event&) {
        ++calls;
        sub->unsubscribe();
    });
    event_log log;
    server.on_event(log.handler(), chatroom::mask_of(chatroom::server_event_kind::joined));
    server.listen(any_port);
    line_client a, b;
    a.join(loopback(server));
    b.join(loopback(server));
    CHECK(eventually([&] { return log.count(chatroom::server_event_kind::joined) == 2; }));
    CHECK(calls == 1);
    server.stop();
    run.finish();
}

TEST_CASE("add_command refuses a name already registered unless asked to replace it", "[commands]") {
    running_io run;
    chatroom::server server(run.io);
    std::error_code ec;
    CHECK(server.add_command("roll", "roll a die", [](chatroom::command_call& c) { c.reply("first"); }, ec));
    CHECK(!ec);
    CHECK_FALSE(server.add_command("ROLL", "again", [](chatroom::command_call& c) { c.reply("second"); }, ec));
    CHECK(ec == chatroom::command_errc::already_registered);
    CHECK(ec.message() == "a command of that name is already registered");
    CHECK_FALSE(server.add_command("roll", "again", [](chatroom::command_call& c) { c.reply("second"); }));
    CHECK_FALSE(server.add_command("who", "mine", [](chatroom::command_call&) {}, ec));
    CHECK(ec == chatroom::command_errc::builtin);
    CHECK_FALSE(server.add_command("bad name", "x", [](chatroom::command_call&) {}, ec));
    CHECK(ec == chatroom::command_errc::bad_name);
    CHECK_FALSE(server.add_command("empty", "x", chatroom::command_handler(), ec));
    CHECK(ec == chatroom::command_errc::no_handler);
    server.listen(any_port);
    line_client a;
    a.join(loopback(server));
    a.send("/roll");
    CHECK(a.expect_line() == "* first");
    // Replaced when asked, from any thread, while serving.
    CHECK(server.add_command("roll", "roll again", [](chatroom::command_call& c) { c.reply("second"); }, ec, true));
    CHECK(!ec);
    a.send("/roll");
    CHECK(a.expect_line() == "* second");
    server.stop();
    run.finish();
}

// ---- item 6: what a host's handler throws ------------------------------------------

TEST_CASE("an event handler that throws: the others hear of it, it does not, and the server goes on",
          "[exceptions]") {
    running_io run;
    chatroom::server server(run.io);
    std::atomic<int> thrower_saw_error{0}, thrower_calls{0};
    server.on_event([&](const chatroom::server_event& e) {
        ++thrower_calls;
        if (e.kind == chatroom::server_event_kind::error) ++thrower_saw_error;
        throw std::runtime_error("boom in " + std::string(chatroom::to_string(e.kind)));
    });
    event_log log;
    server.on_event(log.handler());
    server.listen(any_port);
    line_client a, b;
    a.join(loopback(server));
    b.join(loopback(server));
    CHECK(log.error_text().rfind("event handler threw: boom in ", 0) == 0);
    a.send("hello");
    CHECK(b.wait_for_prefix("<" + a.nick + ">") == "<" + a.nick + "> hello");
    a.send("/who");
    CHECK(a.wait_for_prefix("* in lobby:").find(b.nick) != std::string::npos);
    CHECK(eventually([&] { return log.count(chatroom::server_event_kind::message) == 1; }));
    CHECK(thrower_calls >= 5); // connected, joined (x2 each) and the message
    CHECK(thrower_saw_error == 0);
    server.stop();
    run.finish();
}

TEST_CASE("a command handler that throws: \"! command failed\" to the caller, an error event, and it goes on",
          "[exceptions]") {
    running_io run;
    chatroom::server server(run.io);
    event_log log;
    server.on_event(log.handler());
    server.add_command("boom", "throws", [](chatroom::command_call& c) {
        c.reply("never sent");
        c.say("never said");
        throw std::logic_error("no dice");
    });
    server.listen(any_port);
    line_client a, b;
    a.join(loopback(server));
    b.join(loopback(server));
    a.send("/boom");
    CHECK(a.wait_for_prefix("! ") == "! command failed");
    CHECK(log.error_text() == "command /boom threw: no dice");
    {
        std::lock_guard<std::mutex> g(log.m);
        for (const auto& e : log.events)
            if (e.kind == chatroom::server_event_kind::error) CHECK(e.nick == a.nick);
    }
    a.send("after");
    CHECK(b.wait_for_prefix("<" + a.nick + ">") == "<" + a.nick + "> after");
    server.stop();
    run.finish();
}

TEST_CASE("access hooks that throw refuse what they were asked about and report it", "[exceptions]") {
    running_io run;
    chatroom::server server(run.io);
    event_log log;
    server.on_event(log.handler(), chatroom::mask_of(chatroom::server_event_kind::error));
    std::atomic<bool> admit_throws{false};
    chatroom::access_hooks hooks;
    hooks.admit = [&](const chatroom::peer_info&) {
        if (admit_throws) throw std::runtime_error("admission db down");
        return chatroom::verdict::allow();
    };
    hooks.authorize = [](const chatroom::member_info&, const chatroom::action& a) {
        if (a.text == "forbidden") throw std::runtime_error("policy crashed");
        return chatroom::verdict::allow();
    };
    hooks.is_registered = [](std::string_view name) -> bool {
        if (name == "mallory") throw std::runtime_error("no registry");
        return false;
    };
    hooks.verify = [](chatroom::login_request, std::function<void(chatroom::login_result)>) {
        throw std::runtime_error("verifier crashed");
    };
    server.set_access(hooks);
    server.listen(any_port);
    line_client a, b;
    a.join(loopback(server));
    b.join(loopback(server));

    a.send("forbidden");
    CHECK(a.wait_for_prefix("! ") == "! server error");
    CHECK(log.error_text() == "access hook authorize threw: policy crashed");
    a.send("allowed");
    CHECK(b.wait_for_prefix("<" + a.nick + ">") == "<" + a.nick + "> allowed");

    a.send("/nick mallory");
    CHECK(a.wait_for_prefix("! ").rfind("! nick registered", 0) == 0);
    CHECK(eventually([&] { return log.count(chatroom::server_event_kind::error) == 2; }));

    a.send("/login bob secret");
    CHECK(a.wait_for_prefix("! ") == "! server error");
    CHECK(eventually([&] { return log.count(chatroom::server_event_kind::error) == 3; }));

    admit_throws = true;
    line_client c;
    c.connect(loopback(server));
    CHECK(c.expect_line() == "! server error");
    CHECK(c.wait_closed());
    CHECK(eventually([&] { return log.count(chatroom::server_event_kind::error) == 4; }));
    {
        std::lock_guard<std::mutex> g(log.m);
        CHECK(log.events[1].text == "access hook is_registered threw: no registry");
        CHECK(log.events[2].text == "access hook verify threw: verifier crashed");
        CHECK(log.events[3].text == "access hook admit threw: admission db down");
    }
    a.send("/who"); // still a member in good standing
    CHECK(a.wait_for_prefix("* in lobby:").find(b.nick) != std::string::npos);
    server.stop();
    run.finish();
}

// ---- item 7: one at a time, in the room's order, with ids and times ------------------

TEST_CASE("event handlers never overlap, and message events come in the order members received them, on 4 threads",
          "[events][threads]") {
    asio::thread_pool pool(4);
    chatroom::server server(pool);
    std::atomic<int> inside{0}, most{0};
    std::vector<chatroom::server_event> messages; // the handler's alone: handlers never overlap
    const auto started = std::chrono::system_clock::now() - 1s;
    server.on_event([&](const chatroom::server_event& e) {
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        if (e.kind == chatroom::server_event_kind::message && e.room == "r") messages.push_back(e);
        volatile unsigned spin = 0; // a handler that takes a moment, as real ones do
        for (unsigned i = 0; i < 2000; ++i) spin = spin + i;
        --inside;
    });
    server.listen(any_port);
    const target where = loopback(server);
    constexpr int senders = 6, lines_each = 150;
    line_client watcher;
    watcher.join(where);
    watcher.send("/join r");
    watcher.wait_for_prefix("* joined r");
    std::vector<line_client> c(senders);
    for (auto& x : c) {
        x.join(where);
        x.send("/join r");
        x.wait_for_prefix("* joined r");
    }
    std::vector<std::thread> talk;
    for (int i = 0; i < senders; ++i)
        talk.emplace_back([&, i] {
            for (int k = 0; k < lines_each; ++k) c[i].send("s" + std::to_string(i) + " " + std::to_string(k));
        });
    for (auto& t : talk) t.join();
    std::vector<std::string> received;
    while (received.size() < senders * lines_each) {
        const std::string l = watcher.expect_line();
        if (l.rfind("<", 0) == 0) received.push_back(l);
    }
    server.stop();
    for (auto& x : c) x.wait_closed();
    watcher.wait_closed();
    pool.join();

    CHECK(most.load() == 1);
    REQUIRE(messages.size() == received.size());
    std::vector<std::string> told;
    for (const auto& e : messages) told.push_back("<" + e.nick + "> " + e.text);
    CHECK(told == received);
    // Ids: the local log's sequence, in order; times: UTC milliseconds, now.
    unsigned long long last = 0;
    for (const auto& e : messages) {
        const unsigned long long id = std::stoull(e.id);
        CHECK(id >= last);
        last = id;
        CHECK(e.time >= std::chrono::time_point_cast<std::chrono::milliseconds>(started));
        CHECK(e.time <= std::chrono::system_clock::now());
        CHECK(e.time.time_since_epoch() % std::chrono::milliseconds(1) == std::chrono::system_clock::duration::zero());
    }
    CHECK(std::stoull(messages.front().id) < std::stoull(messages.back().id));
}

TEST_CASE("the host's say() and /me are message events too, in order, with ids", "[events]") {
    running_io run;
    chatroom::server server(run.io);
    event_log log;
    server.on_event(log.handler(), chatroom::mask_of(chatroom::server_event_kind::message));
    server.listen(any_port);
    line_client a, b;
    a.join(loopback(server));
    b.join(loopback(server));
    a.send("/me waves");
    CHECK(b.wait_for_prefix("* " + a.nick) == "* " + a.nick + " waves");
    server.say("lobby", "host", "hello all");
    CHECK(b.wait_for_prefix("<host>") == "<host> hello all");
    REQUIRE(eventually([&] { return log.count(chatroom::server_event_kind::message) == 2; }));
    std::lock_guard<std::mutex> g(log.m);
    CHECK(log.events[0].nick == a.nick);
    CHECK(log.events[0].text == "waves");
    CHECK(log.events[0].action);
    CHECK(log.events[1].nick == "host");
    CHECK(log.events[1].text == "hello all");
    CHECK(std::stoull(log.events[0].id) < std::stoull(log.events[1].id));
    server.stop();
    run.finish();
}

// ---- item 10 (part): error_code overloads, listen_unix's endpoint -------------------

TEST_CASE("every listen returns its endpoint and has an error_code overload; so has adopt", "[errors]") {
    running_io run;
    chatroom::server server(run.io);
    server.listen(any_port);
    const auto taken = server.local_endpoint();
    std::error_code ec;
    server.listen(taken, ec);
    CHECK(ec);
    ec.clear();
    CHECK(server.listen_tcp(taken, ec) == asio::ip::tcp::endpoint());
    CHECK(ec);
    CHECK_THROWS_AS(server.listen_tcp(taken), std::system_error);
    ec.clear();
    server.listen_as<asio::ip::tcp>(taken, ec);
    CHECK(ec);
    ec.clear();
    CHECK(chatroom::listen_web(server, taken, {}, ec) == asio::ip::tcp::endpoint());
    CHECK(ec);
    ec.clear();
    CHECK(chatroom::listen_web(server, any_port, {}, ec).port() != 0);
    CHECK(!ec);
    const auto other = server.listen_tcp(any_port, ec);
    CHECK(!ec);
    CHECK(other.port() != 0);
#if defined(ASIO_HAS_LOCAL_SOCKETS)
    const std::string path = temp_dir() + "/api.sock";
    const auto unix_ep = server.listen_unix(path);
    CHECK(unix_ep.path() == path);
    target u;
    u.family = target::kind::unix_socket;
    u.path = path;
    line_client via_unix;
    via_unix.join(u);
    server.listen_unix(temp_dir() + "/no/such/dir/x.sock", ec);
    CHECK(ec);
    CHECK_THROWS_AS(server.listen_unix(temp_dir() + "/no/such/dir/x.sock"), std::system_error);
#endif
    chatroom::server::socket_type closed(run.io);
    server.adopt(std::move(closed), ec);
    CHECK(ec);
    chatroom::server::socket_type closed_too(run.io);
    CHECK_THROWS_AS(server.adopt(std::move(closed_too)), std::system_error);
    server.stop();
    run.finish();
}
