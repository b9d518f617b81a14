// chatroom::basic_client against a real server: lines, sends from many
// threads, close, every way a connection can end, and TLS verification.
#include "support/running_server.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace test;

namespace {

// Collects what a client reports, for the test thread to wait on.
struct recorder {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> lines;
    bool connected = false, disconnected = false;
    std::error_code error;
    std::string reason;

    template <class Client>
    void attach(Client& c) {
        c.on_line([this](std::string_view l) {
            std::lock_guard<std::mutex> g(m);
            lines.emplace_back(l);
            cv.notify_all();
        });
        c.on_connect([this] {
            std::lock_guard<std::mutex> g(m);
            connected = true;
            cv.notify_all();
        });
        c.on_disconnect([this](std::error_code ec, const std::string& why) {
            std::lock_guard<std::mutex> g(m);
            disconnected = true;
            error = ec;
            reason = why;
            cv.notify_all();
        });
    }

    template <class Pred>
    bool wait(Pred pred) {
        std::unique_lock<std::mutex> g(m);
        return cv.wait_for(g, patience, [&] { return pred(*this); });
    }

    bool has_line(const std::string& l) {
        for (const auto& x : lines)
            if (x == l) return true;
        return false;
    }
};

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

} // namespace

TEST_CASE("the client connects and reports lines and sends from any thread", "[client]") {
    auto srv = start<tcp4_threads>();
    line_client other = srv.join();
    client_loop loop;
    recorder rec;
    chatroom::client c(loop.io);
    rec.attach(c);
    c.connect("localhost", std::to_string(srv.where().port));
    REQUIRE(rec.wait([](recorder& r) { return r.lines.size() >= 2; }));
    CHECK(rec.connected);
    CHECK(rec.lines[0].rfind("* welcome to chatroom, you are guest-", 0) == 0);
    CHECK(rec.lines[1] == "* joined lobby (2 members)");
    std::string nick = rec.lines[0].substr(rec.lines[0].rfind(' ') + 1);
    other.wait_for_prefix("* " + nick + " joined");

    other.send("hello client");
    REQUIRE(rec.wait([&](recorder& r) { return r.has_line("<" + other.nick + "> hello client"); }));

    // Four threads send at once: every line arrives, each thread's in order.
    constexpr int threads = 4, per_thread = 100;
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t)
        senders.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) c.send("t" + std::to_string(t) + " " + std::to_string(i));
        });
    for (auto& t : senders) t.join();
    std::vector<int> next(threads, 0);
    for (int n = 0; n < threads * per_thread; ++n) {
        std::string l = other.wait_for_prefix("<" + nick + "> t");
        int t = l[nick.size() + 4] - '0';
        CHECK(l == "<" + nick + "> t" + std::to_string(t) + " " + std::to_string(next[t]++));
    }

    c.close();
    REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
    CHECK_FALSE(rec.error);
    CHECK(rec.reason == "closed");
    CHECK(other.wait_for_prefix("* " + nick + " left") == "* " + nick + " left");
}

TEST_CASE("lines queued before the connection is up are sent once it is", "[client]") {
    auto srv = start<tcp4_single>();
    line_client other = srv.join();
    client_loop loop;
    recorder rec;
    chatroom::client c(loop.io);
    rec.attach(c);
    c.connect("127.0.0.1", std::to_string(srv.where().port));
    c.send("/nick early");
    c.send("first words");
    c.close();
    CHECK(other.wait_for_prefix("<early>") == "<early> first words");
    REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
    CHECK_FALSE(rec.error);
}

TEST_CASE("the client reports a refused connection and a server that goes away", "[client]") {
    client_loop loop;
    unsigned short port;
    {
        auto srv = start<tcp4_single>();
        port = srv.where().port;
        recorder rec;
        chatroom::client c(loop.io);
        rec.attach(c);
        c.connect("127.0.0.1", std::to_string(port));
        REQUIRE(rec.wait([](recorder& r) { return r.lines.size() >= 2; }));
        srv.stop();
        REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
        CHECK(rec.has_line("* server shutting down"));
        CHECK(rec.reason == "server closed the connection");
    }
    recorder rec;
    chatroom::client c(loop.io);
    rec.attach(c);
    c.connect("127.0.0.1", std::to_string(port)); // nobody listens there now
    REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
    CHECK(rec.error);
    CHECK(rec.reason.rfind("cannot connect", 0) == 0);
}

TEST_CASE("the client speaks over Unix sockets", "[client][unix]") {
    auto srv = start<unix_single>();
    line_client other = srv.join();
    client_loop loop;
    recorder rec;
    chatroom::basic_client<asio::local::stream_protocol> c(loop.io);
    rec.attach(c);
    c.connect(asio::local::stream_protocol::endpoint(srv.socket_path()));
    c.send("/nick local");
    c.send("over a unix socket");
    CHECK(other.wait_for_prefix("<local>") == "<local> over a unix socket");
}

#if defined(CHATROOM_USE_OPENSSL)
TEST_CASE("the TLS client verifies the server's certificate and host name", "[client][tls]") {
    auto srv = start<tls_single>();
    const tls_files& files = test_certificates();
    const std::string port = std::to_string(srv.where().port);
    client_loop loop;

    SECTION("a certificate from the trusted CA for this host: connected") {
        recorder rec;
        chatroom::basic_client<chatroom::tls<asio::ip::tcp>> c(loop.io, {}, chatroom::make_client_tls_context(files.ca));
        rec.attach(c);
        c.connect("localhost", port);
        REQUIRE(rec.wait([](recorder& r) { return r.lines.size() >= 2; }));
        CHECK(rec.lines[1].rfind("* joined lobby", 0) == 0);
    }
    SECTION("a CA that did not sign it: refused") {
        recorder rec;
        chatroom::basic_client<chatroom::tls<asio::ip::tcp>> c(loop.io, {},
                                                                chatroom::make_client_tls_context(files.other_ca));
        rec.attach(c);
        c.connect("localhost", port);
        REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
        CHECK(rec.reason.rfind("handshake failed", 0) == 0);
        CHECK(rec.lines.empty());
    }
    SECTION("a name the certificate is not for: refused") {
        recorder rec;
        chatroom::basic_client<chatroom::tls<asio::ip::tcp>> c(loop.io, {}, chatroom::make_client_tls_context(files.ca));
        rec.attach(c);
        c.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.where().port), "chat.example.org");
        REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
        CHECK(rec.reason.rfind("handshake failed", 0) == 0);
    }
    SECTION("verification explicitly off: connected") {
        recorder rec;
        chatroom::basic_client<chatroom::tls<asio::ip::tcp>> c(loop.io, {},
                                                                chatroom::make_client_tls_context({}, false));
        rec.attach(c);
        c.connect("localhost", port);
        REQUIRE(rec.wait([](recorder& r) { return r.lines.size() >= 2; }));
    }
}
#endif
