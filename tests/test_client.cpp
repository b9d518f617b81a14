// chatroom::basic_client against a real server: lines, sends from many
// threads, close, every way a connection can end, TLS verification,
// sanitizing, and reconnecting with backoff.
#include "support/running_server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
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

// ---- framing, sanitizing and reconnecting --------------------------------

namespace {

using ms = std::chrono::milliseconds;

// One state change as the client reported it, and when.
struct state_change {
    chatroom::client_state state;
    std::error_code error;
    ms next_try;
    test_clock::time_point at;
};

// A recorder that also keeps the state changes.
struct state_recorder : recorder {
    std::vector<state_change> states;

    template <class Pred>
    bool wait(Pred pred) {
        std::unique_lock<std::mutex> g(m);
        return cv.wait_for(g, patience, [&] { return pred(*this); });
    }

    template <class Client>
    void attach(Client& c) {
        recorder::attach(c);
        c.on_state([this](chatroom::client_state s, std::error_code ec, ms next) {
            std::lock_guard<std::mutex> g(m);
            states.push_back({s, ec, next, test_clock::now()});
            cv.notify_all();
        });
    }

    std::size_t count(chatroom::client_state s) {
        std::size_t n = 0;
        for (const auto& x : states) n += x.state == s;
        return n;
    }

    std::vector<chatroom::client_state> sequence() {
        std::lock_guard<std::mutex> g(m);
        std::vector<chatroom::client_state> out;
        for (const auto& x : states) out.push_back(x.state);
        return out;
    }
};

// A chatroom server on a port of the test's choosing, so that it can be
// stopped and another started where the first one was.
template <class Server = chatroom::server>
class server_on_port {
public:
    template <class... TransportArgs>
    explicit server_on_port(unsigned short port, TransportArgs&&... args)
        : server_(io_.get_executor(), chatroom::server_options{}, std::forward<TransportArgs>(args)...) {
        server_.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        port_ = server_.local_endpoint().port();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~server_on_port() { stop(); }

    unsigned short port() const { return port_; }

    void stop() {
        if (!thread_.joinable()) return;
        server_.stop();
        thread_.join();
    }

private:
    asio::io_context io_{1};
    Server server_;
    unsigned short port_ = 0;
    std::thread thread_;
};

target loopback(unsigned short port) {
    target t;
    t.port = port;
    return t;
}

// A port nobody listens on: bound, then released.
unsigned short free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

// A "server" that writes fixed bytes to the first connection and closes it.
class raw_server {
public:
    explicit raw_server(std::string bytes)
        : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), bytes_(std::move(bytes)) {
        acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket s) {
            if (ec) return;
            socket_ = std::make_unique<asio::ip::tcp::socket>(std::move(s));
            asio::async_write(*socket_, asio::buffer(bytes_), [this](std::error_code, std::size_t) {
                std::error_code ignored;
                socket_->shutdown(asio::socket_base::shutdown_send, ignored);
            });
        });
        thread_ = std::thread([this] { io_.run(); });
    }
    ~raw_server() {
        io_.stop();
        thread_.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

private:
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    std::string bytes_;
    std::unique_ptr<asio::ip::tcp::socket> socket_;
    std::thread thread_;
};

chatroom::reconnect_policy quick_reconnect() {
    chatroom::reconnect_policy p;
    p.enabled = true;
    p.initial_delay = ms(20);
    p.max_delay = ms(200);
    p.multiplier = 2.0;
    p.jitter = 0.5;
    return p;
}

} // namespace

TEST_CASE("the client sanitizes what a hostile server sends and drops lines over its limit", "[client][sanitize]") {
    const std::string long_line(100, 'x');
    raw_server raw("\x1b[31mred\x1b[0m\r\n"
                   "bell\a and \x9b" "csi\n" +
                   long_line + "\n" +
                   "after\n"
                   "no LF at the end");
    client_loop loop;
    recorder rec;
    chatroom::client_options options;
    options.max_line_bytes = 64;
    chatroom::client c(loop.io, options);
    rec.attach(c);
    c.connect("127.0.0.1", std::to_string(raw.port()));
    REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
    CHECK(rec.reason == "server closed the connection");
    REQUIRE(rec.lines.size() == 5);
    CHECK(rec.lines[0] == "[31mred[0m");
    CHECK(rec.lines[1] == "bell and \xEF\xBF\xBD" "csi");
    CHECK(rec.lines[2] == chatroom::line_too_long_marker);
    CHECK(rec.lines[3] == "after");
    CHECK(rec.lines[4] == "no LF at the end");
    for (const auto& l : rec.lines) CHECK(l.find('\x1b') == std::string::npos);
}

TEST_CASE("backoff delays grow by the multiplier up to the cap, shortened by at most the jitter", "[client][reconnect]") {
    chatroom::reconnect_policy p;
    p.initial_delay = ms(100);
    p.max_delay = ms(1000);
    p.multiplier = 2.0;

    SECTION("without jitter the delays are exact") {
        p.jitter = 0;
        chatroom::detail::backoff b(p, 1);
        std::vector<long> got;
        for (int i = 0; i < 7; ++i) got.push_back(static_cast<long>(b.next().count()));
        CHECK(got == std::vector<long>{100, 200, 400, 800, 1000, 1000, 1000});
        b.reset();
        CHECK(b.next() == ms(100));
    }
    SECTION("with jitter each delay lies in [d(1 - jitter), d] and they differ") {
        p.jitter = 0.5;
        for (std::uint32_t seed = 1; seed <= 50; ++seed) {
            chatroom::detail::backoff b(p, seed);
            double d = 100;
            for (int i = 0; i < 8; ++i) {
                const auto got = static_cast<double>(b.next().count());
                CHECK(got >= d * 0.5 - 1);
                CHECK(got <= d);
                d = std::min(d * 2, 1000.0);
            }
        }
        chatroom::detail::backoff a(p, 1), b(p, 2);
        bool differ = false;
        for (int i = 0; i < 8; ++i) differ |= a.next() != b.next();
        CHECK(differ);
    }
    SECTION("nonsense is made sane: multiplier below 1, jitter above 1, max below initial") {
        p.multiplier = 0.1;
        p.jitter = 7;
        p.max_delay = ms(10);
        chatroom::detail::backoff b(p, 3);
        CHECK(b.policy().multiplier == 1.0);
        CHECK(b.policy().jitter == 1.0);
        CHECK(b.policy().max_delay == ms(100));
        for (int i = 0; i < 5; ++i) CHECK(b.next() <= ms(100));
    }
}

TEST_CASE("without a reconnect policy the states end in closed after one loss", "[client][reconnect]") {
    auto srv = start<tcp4_single>();
    client_loop loop;
    state_recorder rec;
    chatroom::client c(loop.io);
    rec.attach(c);
    c.connect("127.0.0.1", std::to_string(srv.where().port));
    REQUIRE(rec.wait([](recorder& r) { return r.lines.size() >= 2; }));
    srv.stop();
    REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
    using S = chatroom::client_state;
    CHECK(rec.sequence() == std::vector<S>{S::connecting, S::connected, S::disconnected, S::closed});
}

TEST_CASE("the client reconnects to a server stopped and started again on the same port", "[client][reconnect]") {
    using S = chatroom::client_state;
    auto first = std::make_unique<server_on_port<>>(0);
    const unsigned short port = first->port();
    client_loop loop;
    state_recorder rec;
    chatroom::client c(loop.io);
    rec.attach(c);
    c.set_reconnect(quick_reconnect());
    // Re-applied on every connection, ahead of anything queued meanwhile.
    c.on_connect([&c] { c.send("/nick comeback"); });
    c.connect("localhost", std::to_string(port));
    REQUIRE(rec.wait([](recorder& r) {
        return !r.lines.empty() && r.lines.back().find(" is now known as comeback") != std::string::npos;
    }));

    first->stop();
    REQUIRE(rec.wait([](state_recorder& r) { return r.count(S::waiting_to_reconnect) >= 3; }));
    c.send("said while away");

    server_on_port<> second(port);
    line_client other;
    other.connect(loopback(port));
    other.wait_for_prefix("* welcome");
    REQUIRE(rec.wait([](state_recorder& r) { return r.count(S::connected) == 2; }));
    // The nick set by on_connect comes before the line queued while away.
    CHECK(other.wait_for_prefix("<comeback>") == "<comeback> said while away");
    {
        std::lock_guard<std::mutex> g(rec.m);
        CHECK(rec.has_line("* server shutting down"));
        CHECK_FALSE(rec.disconnected);
    }

    c.close();
    REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
    CHECK_FALSE(rec.error);

    // connecting, connected, disconnected, then (waiting, connecting)* until
    // the second server answers, connected, and finally disconnected, closed.
    auto seq = rec.sequence();
    REQUIRE(seq.size() >= 9);
    CHECK(std::vector<S>(seq.begin(), seq.begin() + 3) == std::vector<S>{S::connecting, S::connected, S::disconnected});
    std::size_t i = 3;
    while (i + 1 < seq.size() && seq[i] == S::waiting_to_reconnect && seq[i + 1] == S::connecting) i += 2;
    CHECK(i >= 9); // at least three waits
    CHECK(std::vector<S>(seq.begin() + static_cast<long>(i), seq.end()) ==
          std::vector<S>{S::connected, S::disconnected, S::closed});

    // Every wait lasted at least what it announced, within the policy's bounds.
    const auto policy = quick_reconnect();
    double d = static_cast<double>(policy.initial_delay.count());
    for (std::size_t k = 3; k + 1 < i; k += 2) {
        const auto& wait = rec.states[k];
        CHECK(wait.next_try <= ms(static_cast<long>(d)));
        CHECK(wait.next_try.count() >= static_cast<long>(d * (1 - policy.jitter)) - 1);
        CHECK(rec.states[k + 1].at - wait.at >= wait.next_try);
        d = std::min(d * policy.multiplier, static_cast<double>(policy.max_delay.count()));
    }
}

TEST_CASE("a client that never reached a server keeps trying, and close() during the wait ends it", "[client][reconnect]") {
    using S = chatroom::client_state;
    client_loop loop;
    state_recorder rec;
    chatroom::client c(loop.io);
    rec.attach(c);
    auto policy = quick_reconnect();
    policy.initial_delay = ms(10);
    policy.max_delay = ms(40);
    c.set_reconnect(policy);
    c.connect("127.0.0.1", std::to_string(free_port()));
    REQUIRE(rec.wait([](state_recorder& r) { return r.count(S::waiting_to_reconnect) >= 6; }));
    {
        std::lock_guard<std::mutex> g(rec.m);
        for (const auto& s : rec.states) {
            if (s.state != S::waiting_to_reconnect) continue;
            CHECK(s.error); // connection refused
            CHECK(s.next_try <= ms(40));
        }
        CHECK(rec.count(S::connected) == 0);
        CHECK(rec.count(S::disconnected) == 0); // never up, so never "disconnected"
    }

    // A long wait, then close() in the middle of it.
    policy.initial_delay = policy.max_delay = ms(60000);
    c.set_reconnect(policy);
    REQUIRE(rec.wait([](state_recorder& r) {
        return !r.states.empty() && r.states.back().state == S::waiting_to_reconnect &&
               r.states.back().next_try > ms(10000);
    }));
    const auto asked = test_clock::now();
    c.close();
    REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
    CHECK(test_clock::now() - asked < ms(10000));
    CHECK_FALSE(rec.error);
    CHECK(rec.reason == "closed");
    CHECK(rec.sequence().back() == S::closed);
}

TEST_CASE("lines sent while disconnected beyond the queue limit are dropped, not fatal", "[client][reconnect]") {
    using S = chatroom::client_state;
    client_loop loop;
    state_recorder rec;
    chatroom::client_options options;
    options.max_queue_bytes = 66;
    chatroom::client c(loop.io, options);
    rec.attach(c);
    auto policy = quick_reconnect();
    policy.initial_delay = policy.max_delay = ms(50);
    c.set_reconnect(policy);
    const unsigned short port = free_port();
    c.connect("127.0.0.1", std::to_string(port));
    REQUIRE(rec.wait([](state_recorder& r) { return r.count(S::waiting_to_reconnect) >= 1; }));
    for (int i = 0; i < 20; ++i) c.send("line " + std::to_string(i)); // 7 bytes each: 9 fit in 66
    server_on_port<> srv(port);
    line_client other;
    other.connect(loopback(port));
    other.wait_for_prefix("* welcome");
    REQUIRE(rec.wait([](state_recorder& r) { return r.count(S::connected) == 1; }));
    auto ends_with = [](const std::string& l, const std::string& tail) {
        return l.size() >= tail.size() && l.compare(l.size() - tail.size(), tail.size(), tail) == 0;
    };
    for (int i = 0; i < 9; ++i) {
        const std::string l = other.wait_for_prefix("<");
        INFO(l);
        CHECK(ends_with(l, "> line " + std::to_string(i)));
    }
    // The next line after line 8 is this one, so lines 9 to 19 were
    // dropped. Short, so that it fits beside the backlog even if that is
    // still being written.
    c.send("z");
    CHECK(ends_with(other.wait_for_prefix("<"), "> z"));
    std::lock_guard<std::mutex> g(rec.m);
    CHECK_FALSE(rec.disconnected);
}

#if defined(CHATROOM_USE_OPENSSL)
TEST_CASE("a TLS client reconnects with a fresh TLS stream each time", "[client][reconnect][tls]") {
    using S = chatroom::client_state;
    using tls_server = chatroom::basic_server<chatroom::tls<asio::ip::tcp>>;
    const tls_files& files = test_certificates();
    auto server_context = chatroom::make_server_tls_context(files.cert_chain, files.key);
    const unsigned short port = free_port();
    client_loop loop;
    state_recorder rec;
    chatroom::basic_client<chatroom::tls<asio::ip::tcp>> c(loop.io, {}, chatroom::make_client_tls_context(files.ca));
    rec.attach(c);
    c.set_reconnect(quick_reconnect());
    c.on_connect([&c] { c.send("/nick secure"); });
    // First attempts fail: nobody listens yet.
    c.connect("localhost", std::to_string(port));
    REQUIRE(rec.wait([](state_recorder& r) { return r.count(S::waiting_to_reconnect) >= 2; }));
    for (int round = 0; round < 2; ++round) {
        server_on_port<tls_server> srv(port, server_context);
        REQUIRE(rec.wait([&](state_recorder& r) { return r.count(S::connected) == static_cast<std::size_t>(round + 1); }));
        REQUIRE(rec.wait([&](recorder& r) {
            std::size_t renamed = 0;
            for (const auto& l : r.lines) renamed += l.find(" is now known as secure") != std::string::npos;
            return renamed == static_cast<std::size_t>(round + 1);
        }));
        srv.stop();
        REQUIRE(rec.wait([&](state_recorder& r) { return r.count(S::disconnected) == static_cast<std::size_t>(round + 1); }));
    }
    c.close();
    REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
    CHECK_FALSE(rec.error);
    CHECK(rec.sequence().back() == S::closed);
}
#endif

// ---- one line per send, and no TLS without a name to verify ----------------

TEST_CASE("send() refuses a line with CR or LF whole, so nothing can be injected", "[client][send]") {
    auto srv = start<tcp4_single>();
    line_client other = srv.join();
    client_loop loop;
    recorder rec;
    chatroom::client c(loop.io);
    rec.attach(c);
    c.connect("127.0.0.1", std::to_string(srv.where().port));
    REQUIRE(rec.wait([](recorder& r) { return r.lines.size() >= 2; }));
    const std::string nick = rec.lines[0].substr(rec.lines[0].rfind(' ') + 1);
    other.wait_for_prefix("* " + nick + " joined");

    // What a bot relaying outside text would do.
    CHECK_THROWS_MATCHES(c.send("hello\n/nick injected"), std::system_error,
                         Catch::Predicate<std::system_error>([](const std::system_error& e) {
                             return e.code() == chatroom::client_errc::line_has_newline;
                         }));
    std::error_code ec;
    c.send("carriage\r/nick injected", ec);
    CHECK(ec == chatroom::client_errc::line_has_newline);
    c.send("\n", ec);
    CHECK(ec == chatroom::client_errc::line_has_newline);
    c.send("one line", ec);
    CHECK_FALSE(ec);

    // Lines arrive in order, so had any part of the refused ones been sent,
    // it would come before this one.
    std::vector<std::string> before;
    CHECK(other.wait_for_prefix("<" + nick + "> one line", &before) == "<" + nick + "> one line");
    for (const auto& l : before) {
        INFO(l);
        CHECK(l.find("injected") == std::string::npos);
        CHECK(l.find("hello") == std::string::npos);
    }
    c.close();
    REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
}

#if defined(CHATROOM_USE_OPENSSL)
TEST_CASE("a verifying TLS client refuses to connect by endpoint without a host name", "[client][tls]") {
    using tls_client = chatroom::basic_client<chatroom::tls<asio::ip::tcp>>;
    const tls_files& files = test_certificates();
    // A server whose certificate, from the trusted CA, is for another name.
    server_on_port<chatroom::basic_server<chatroom::tls<asio::ip::tcp>>> srv(
        0, chatroom::make_server_tls_context(files.otherhost_chain, files.otherhost_key));
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), srv.port());
    client_loop loop;

    SECTION("by endpoint alone: refused before connecting, through every channel") {
        state_recorder rec;
        tls_client c(loop.io, {}, chatroom::make_client_tls_context(files.ca));
        rec.attach(c);
        c.set_reconnect(quick_reconnect()); // a refusal is final, not retried
        c.connect(ep);
        REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
        CHECK(rec.error == chatroom::client_errc::host_name_required);
        CHECK(rec.reason == "cannot connect: " + rec.error.message());
        CHECK(rec.lines.empty());
        using S = chatroom::client_state;
        CHECK(rec.sequence() == std::vector<S>{S::closed});
        CHECK(rec.states.back().error == chatroom::client_errc::host_name_required);
    }
    SECTION("by endpoint with the wrong name: the handshake fails") {
        recorder rec;
        tls_client c(loop.io, {}, chatroom::make_client_tls_context(files.ca));
        rec.attach(c);
        c.connect(ep, "localhost");
        REQUIRE(rec.wait([](recorder& r) { return r.disconnected; }));
        CHECK(rec.reason.rfind("handshake failed", 0) == 0);
    }
    SECTION("by endpoint with the certificate's name: connected") {
        recorder rec;
        tls_client c(loop.io, {}, chatroom::make_client_tls_context(files.ca));
        rec.attach(c);
        c.connect(ep, "otherhost");
        REQUIRE(rec.wait([](recorder& r) { return r.lines.size() >= 2; }));
        CHECK(rec.lines[1].rfind("* joined lobby", 0) == 0);
    }
    SECTION("by endpoint with verification explicitly off: connected") {
        recorder rec;
        tls_client c(loop.io, {}, chatroom::make_client_tls_context({}, false));
        rec.attach(c);
        c.connect(ep);
        REQUIRE(rec.wait([](recorder& r) { return r.lines.size() >= 2; }));
        CHECK(rec.lines[1].rfind("* joined lobby", 0) == 0);
    }
}
#endif
