// What is particular to each transport: Unix socket files, IPv6 with IPv4,
// and TLS facing clients that do not speak TLS or stall.
#include "support/running_server.hpp"

#include <sys/stat.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace test;

namespace {

// One io_context thread for a server built in the test itself.
struct server_thread {
    asio::io_context io{1};
    std::thread thread;
    void run() {
        thread = std::thread([this] { io.run(); });
    }
    ~server_thread() {
        if (thread.joinable()) thread.join();
    }
};

bool is_socket_file(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

} // namespace

TEST_CASE("a Unix socket server replaces a stale socket file and never steals a live one", "[unix]") {
    const std::string dir = temp_dir();
    const std::string path = dir + "/chat.sock";
    using unix_server = chatroom::basic_server<asio::local::stream_protocol>;
    asio::local::stream_protocol::endpoint ep(path);

    { // A crashed server leaves its file behind: a bound socket nobody listens on.
        asio::io_context io;
        asio::local::stream_protocol::acceptor stale(io, ep);
        stale.close();
    }
    REQUIRE(is_socket_file(path));

    chatroom::server_options o;
    o.unix_socket_mode = 0600;
    server_thread t;
    unix_server first(t.io, o);
    first.listen(ep);
    t.run();
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    target where;
    where.family = target::kind::unix_socket;
    where.path = path;
    line_client c;
    c.join(where);

    asio::io_context other;
    unix_server second(other);
    std::error_code ec;
    second.listen(ep, ec);
    CHECK(ec == asio::error::address_in_use);
    // The first server is untouched; it saw the probe connect and go.
    c.wait_for([](const std::string& l) { return l.find(" left") != std::string::npos; });
    c.send("/who");
    CHECK(c.wait_for_prefix("* in lobby:") == "* in lobby: " + c.nick);

    first.stop();
    CHECK(c.wait_closed());
    t.thread.join();
    CHECK_FALSE(is_socket_file(path)); // removed on stop
    ::rmdir(dir.c_str());
}

TEST_CASE("a Unix socket server refuses a path that is not a socket", "[unix]") {
    const std::string dir = temp_dir();
    const std::string path = dir + "/not-a-socket";
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("precious data\n", f);
    std::fclose(f);
    asio::io_context io;
    chatroom::basic_server<asio::local::stream_protocol> server(io);
    std::error_code ec;
    server.listen(asio::local::stream_protocol::endpoint(path), ec);
    CHECK(ec == asio::error::address_in_use);
    struct stat st {};
    CHECK(::stat(path.c_str(), &st) == 0);
    std::remove(path.c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("a server bound to :: serves IPv6 and IPv4 clients", "[ipv6]") {
    if (!ipv6_available()) return;
    server_thread t;
    chatroom::server server(t.io);
    server.listen({asio::ip::make_address("::"), 0});
    const unsigned short port = server.local_endpoint().port();
    t.run();
    target v6, v4;
    v6.family = target::kind::tcp6;
    v4.port = v6.port = port;
    line_client a, b;
    a.join(v6);
    b.join(v4);
    a.wait_for_prefix("* " + b.nick + " joined");
    b.send("from IPv4");
    CHECK(a.expect_line() == "<" + b.nick + "> from IPv4");
    server.stop();
}

#if defined(CHATROOM_USE_OPENSSL)
TEST_CASE("a plain-text client on the TLS port is closed and harms nobody", "[tls]") {
    std::mutex m;
    std::vector<std::string> errors;
    auto srv = start<tls_threads>({}, [&](const chatroom::server_event& e) {
        if (e.kind != chatroom::server_event_kind::error) return;
        std::lock_guard<std::mutex> g(m);
        errors.push_back(e.text);
    });
    line_client good = srv.join();
    target plain = srv.where();
    plain.tls = false;
    line_client bad(plain);
    bad.send("hello, is this chat?");
    CHECK(bad.wait_closed());
    good.send("/who");
    CHECK(good.expect_line() == "* in lobby: " + good.nick);
    std::lock_guard<std::mutex> g(m);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].rfind("TLS handshake from 127.0.0.1 failed", 0) == 0);
}

TEST_CASE("a client that stalls mid-handshake is closed at the handshake timeout", "[tls]") {
    chatroom::server_options o;
    o.handshake_timeout = std::chrono::milliseconds(300);
    auto srv = start<tls_single>(o);
    target plain = srv.where();
    plain.tls = false;
    line_client stalled(plain);
    stalled.send_raw(std::string("\x16\x03\x01\x00\x05", 5)); // a TLS record header, then nothing
    const auto started = test_clock::now();
    CHECK(stalled.wait_closed());
    CHECK(test_clock::now() - started >= 250ms);
    line_client good = srv.join(); // the server still serves
    CHECK_FALSE(good.nick.empty());
}

TEST_CASE("TLS clients with the wrong CA or host name fail the handshake", "[tls]") {
    auto srv = start<tls_single>();
    const tls_files& files = test_certificates();
    target wrong_ca = srv.where();
    wrong_ca.ca_file = files.other_ca;
    std::string error;
    line_client c;
    CHECK_FALSE(c.try_connect(wrong_ca, error));
    CHECK(error.find("certificate verify failed") != std::string::npos);

    target wrong_name = srv.where();
    wrong_name.host = "chat.example.org";
    CHECK_FALSE(c.try_connect(wrong_name, error));
    CHECK(error.find("certificate verify failed") != std::string::npos);

    line_client ok = srv.join();
    CHECK_FALSE(ok.nick.empty());
}
#endif

TEST_CASE("a server whose executor is a strand over four threads needs no locks", "[strand][threads]") {
    asio::io_context io(4);
    using strand_type = asio::strand<asio::io_context::executor_type>;
    chatroom::server_options o;
    o.concurrency = chatroom::threading::single; // the strand serializes every handler
    chatroom::basic_server<asio::ip::tcp, strand_type> server(asio::make_strand(io.get_executor()), o);
    server.listen({asio::ip::make_address("127.0.0.1"), 0});
    target where;
    where.port = server.local_endpoint().port();
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&] { io.run(); });

    std::vector<line_client> c(6);
    for (auto& x : c) x.join(where);
    for (std::size_t i = 0; i + 1 < c.size(); ++i) c[i].wait_for_prefix("* " + c.back().nick + " joined");
    for (int n = 0; n < 50; ++n)
        for (auto& x : c) x.send("n" + std::to_string(n));
    for (auto& x : c) {
        int got = 0;
        x.wait_for([&](const std::string& l) { return l.rfind("<", 0) == 0 && ++got == 50 * 5; });
    }
    server.stop();
    for (auto& x : c) CHECK(x.wait_closed());
    for (auto& t : threads) t.join(); // run() returns: nothing is left on the executor
}

#if defined(CHATROOM_USE_OPENSSL)
TEST_CASE("one server serves the same rooms on TCP, Unix and TLS listeners at once", "[listeners]") {
    const std::string dir = temp_dir();
    const tls_files& files = test_certificates();
    server_thread t;
    chatroom::server server(t.io);
    server.listen({asio::ip::make_address("127.0.0.1"), 0});
    server.listen_unix(dir + "/chat.sock");
    const auto tls_ep = chatroom::listen_tls(server, {asio::ip::make_address("127.0.0.1"), 0},
                                             chatroom::make_server_tls_context(files.cert_chain, files.key));
    t.run();

    target tcp, unix_socket, tls;
    tcp.port = server.local_endpoint().port();
    unix_socket.family = target::kind::unix_socket;
    unix_socket.path = dir + "/chat.sock";
    tls.port = tls_ep.port();
    tls.tls = true;
    tls.ca_file = files.ca;
    line_client a, b, c;
    a.join(tcp);
    b.join(unix_socket);
    c.join(tls);
    a.wait_for_prefix("* " + c.nick + " joined");
    b.wait_for_prefix("* " + c.nick + " joined");

    a.send("over tcp");
    CHECK(b.expect_line() == "<" + a.nick + "> over tcp");
    CHECK(c.expect_line() == "<" + a.nick + "> over tcp");
    b.send("over unix");
    CHECK(a.expect_line() == "<" + b.nick + "> over unix");
    CHECK(c.expect_line() == "<" + b.nick + "> over unix");
    c.send("over tls");
    CHECK(a.expect_line() == "<" + c.nick + "> over tls");
    CHECK(b.expect_line() == "<" + c.nick + "> over tls");
    // One nick table for all of them.
    b.send("/nick " + c.nick);
    CHECK(b.expect_line() == "! nick taken: " + c.nick);
    a.send("/who");
    const std::string who = a.expect_line();
    for (const auto* n : {&a.nick, &b.nick, &c.nick}) CHECK(who.find(*n) != std::string::npos);
    server.stop();
    t.thread.join();
    CHECK_FALSE(is_socket_file(dir + "/chat.sock")); // removed on stop
    ::rmdir(dir.c_str());
}
#endif

namespace {

// A room log that counts: every event must be appended once and delivered
// once, however many members receive it.
struct counting_log final : chatroom::room_log {
    explicit counting_log(chatroom::room_event_sink& s) : sink(s) {}
    void append(chatroom::room_event& e) override {
        ++appended;
        e.seq = ++last;
        kinds.push_back(e.kind);
        sink.deliver(e);
        ++delivered;
    }
    chatroom::room_event_sink& sink;
    std::atomic<int> appended{0}, delivered{0};
    std::uint64_t last = 0;
    std::vector<chatroom::room_event_kind> kinds;
};

} // namespace

TEST_CASE("every room event passes through one append and one deliver to reach all its recipients", "[log]") {
    server_thread t;
    chatroom::server_options o;
    o.concurrency = chatroom::threading::single;
    chatroom::server server(t.io, o);
    counting_log* log = nullptr;
    server.set_room_log([&](chatroom::room_event_sink& sink) {
        auto l = std::make_unique<counting_log>(sink);
        log = l.get();
        return l;
    });
    server.listen({asio::ip::make_address("127.0.0.1"), 0});
    t.run();
    target where;
    where.port = server.local_endpoint().port();
    line_client a, b, c;
    a.join(where);
    b.join(where);
    c.join(where);
    a.wait_for_prefix("* " + c.nick + " joined");
    b.wait_for_prefix("* " + c.nick + " joined");
    const int before = log->appended;
    // Three lines in one write: one chat event for both recipients.
    a.send_raw("one\ntwo\nthree\n");
    for (auto* r : {&b, &c})
        for (const char* text : {"one", "two", "three"}) CHECK(r->expect_line() == "<" + a.nick + "> " + text);
    a.send("/me waves");
    CHECK(b.expect_line() == "* " + a.nick + " waves");
    CHECK(c.expect_line() == "* " + a.nick + " waves");
    a.send("/who"); // a reply, not a room event
    a.wait_for_prefix("* in lobby:");
    server.stop();
    t.thread.join();
    // The chat event, the action; then the three leaving at shutdown are not announced.
    CHECK(log->appended - before == 2);
    CHECK(log->delivered == log->appended);
    CHECK(log->kinds[static_cast<std::size_t>(before)] == chatroom::room_event_kind::chat);
}
