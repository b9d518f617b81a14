// The web listener (chatroom/web.hpp) over real sockets: the HTTP exchange
// and its refusals, RFC 6455 conformance as a raw client sees it, browsers
// and telnet-style clients in the same rooms, the close codes, pings, the
// slow-consumer policy, X-Forwarded-For and wss.

#include "support/line_client.hpp"
#if defined(CHATROOM_USE_OPENSSL)
#include "support/tls_certs.hpp"
#endif

#include <chatroom.hpp>
#include <chatroom/web.hpp>

#include <asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using chatroom::detail::client_frame;
using chatroom::detail::ws_opcode;
using test::patience;
using test::test_clock;

namespace {

constexpr std::array<unsigned char, 4> mask{0x37, 0xfa, 0x21, 0x3d};

// Polls a condition that becomes true asynchronously, up to a deadline.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = patience) {
    const auto deadline = test_clock::now() + timeout;
    while (!pred()) {
        if (test_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// One server with a TCP and a web listener (and a wss one with TLS) on
// loopback, run by its own threads.
class web_server {
public:
    explicit web_server(chatroom::server_options options = {}, chatroom::web_options web = {}, int threads = 2)
        : io_(threads) {
        options.concurrency = threads == 1 ? chatroom::threading::single : chatroom::threading::multi;
        server_ = std::make_unique<chatroom::server>(io_, options);
        server_->on_event([this](const chatroom::server_event& e) {
            std::lock_guard<std::mutex> g(mutex_);
            events_.push_back(e);
        });
        const auto loopback = asio::ip::make_address("127.0.0.1");
        server_->listen(asio::ip::tcp::endpoint(loopback, 0));
        tcp_port = server_->local_endpoint().port();
        web_port = chatroom::listen_web(*server_, asio::ip::tcp::endpoint(loopback, 0), web).port();
#if defined(CHATROOM_USE_OPENSSL)
        const test::tls_files& files = test::test_certificates();
        ca_file = files.ca;
        wss_port = chatroom::listen_web_tls(*server_, asio::ip::tcp::endpoint(loopback, 0), web,
                                            chatroom::make_server_tls_context(files.cert_chain, files.key))
                       .port();
#endif
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
    }

    web_server(const web_server&) = delete;
    web_server& operator=(const web_server&) = delete;
    ~web_server() { stop(); }

    void stop() {
        if (stopped_) return;
        stopped_ = true;
        server_->stop();
        for (auto& t : threads_) t.join();
    }

    chatroom::server_stats stats() const { return server_->stats(); }
    void set_access(chatroom::access_hooks hooks) { server_->set_access(std::move(hooks)); }

    std::vector<chatroom::server_event> events() const {
        std::lock_guard<std::mutex> g(mutex_);
        return events_;
    }

    bool saw(chatroom::server_event_kind k, const std::string& nick) const {
        for (const auto& e : events())
            if (e.kind == k && e.nick == nick) return true;
        return false;
    }

    test::line_client tcp_join() const {
        test::line_client c;
        test::target t;
        t.port = tcp_port;
        c.join(t);
        return c;
    }

    unsigned short tcp_port = 0, web_port = 0, wss_port = 0;
    std::string ca_file;

private:
    asio::io_context io_;
    std::unique_ptr<chatroom::server> server_;
    std::vector<std::thread> threads_;
    mutable std::mutex mutex_;
    std::vector<chatroom::server_event> events_;
    bool stopped_ = false;
};

struct frame {
    unsigned char opcode = 0;
    bool fin = true;
    std::string payload;
    std::uint16_t close_code() const {
        return payload.size() >= 2 ? static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                                                static_cast<unsigned char>(payload[1]))
                                   : 1005;
    }
};

// Parses one server frame at the front of bytes; nullopt while incomplete.
std::optional<frame> take_frame(std::string& bytes) {
    if (bytes.size() < 2) return std::nullopt;
    const auto b0 = static_cast<unsigned char>(bytes[0]);
    const auto b1 = static_cast<unsigned char>(bytes[1]);
    REQUIRE((b1 & 0x80) == 0); // server frames are never masked
    REQUIRE((b0 & 0x70) == 0);
    std::size_t at = 2;
    std::uint64_t len = b1 & 0x7F;
    if (len == 126 || len == 127) {
        const std::size_t n = len == 126 ? 2 : 8;
        if (bytes.size() < 2 + n) return std::nullopt;
        len = 0;
        for (std::size_t i = 0; i < n; ++i) len = len << 8 | static_cast<unsigned char>(bytes[2 + i]);
        at += n;
    }
    if (bytes.size() < at + len) return std::nullopt;
    frame f;
    f.opcode = b0 & 0x0F;
    f.fin = (b0 & 0x80) != 0;
    f.payload = bytes.substr(at, static_cast<std::size_t>(len));
    bytes.erase(0, at + static_cast<std::size_t>(len));
    return f;
}

// A raw client: blocking POSIX calls under poll() and deadlines.
class raw_client {
public:
    explicit raw_client(unsigned short port, int receive_buffer = 0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        // Before connecting, so the window it advertises is small from the start.
        if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;
    ~raw_client() {
        if (fd_ >= 0) ::close(fd_);
    }

    // False when the server closed or reset the connection first.
    bool send(std::string_view bytes) {
        const auto deadline = test_clock::now() + patience;
        while (!bytes.empty()) {
            const long n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n > 0) {
                bytes.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
            if (!wait(POLLOUT, deadline)) return false;
        }
        return true;
    }

    // Reads more into the buffer; false at EOF, error or deadline.
    bool fill(test_clock::time_point deadline) {
        for (;;) {
            char chunk[16384];
            const long n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n > 0) {
                buffer.append(chunk, static_cast<std::size_t>(n));
                return true;
            }
            if (n == 0) return false;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
            if (!wait(POLLIN, deadline)) return false;
        }
    }

    // The response head (status line and fields); empty if none came.
    std::string read_head(std::chrono::milliseconds timeout = patience) {
        const auto deadline = test_clock::now() + timeout;
        for (;;) {
            const auto end = buffer.find("\r\n\r\n");
            if (end != std::string::npos) {
                std::string head = buffer.substr(0, end + 4);
                buffer.erase(0, end + 4);
                return head;
            }
            if (!fill(deadline)) return {};
        }
    }

    // A whole response: head and the body Content-Length announces.
    std::pair<std::string, std::string> read_response() {
        std::string head = read_head();
        REQUIRE(!head.empty());
        std::size_t length = 0;
        const auto at = head.find("Content-Length: ");
        if (at != std::string::npos) length = std::stoul(head.substr(at + 16));
        const auto deadline = test_clock::now() + patience;
        while (buffer.size() < length)
            if (!fill(deadline)) break;
        std::string body = buffer.substr(0, length);
        buffer.erase(0, std::min(length, buffer.size()));
        return {head, body};
    }

    std::optional<frame> read_frame(std::chrono::milliseconds timeout = patience) {
        const auto deadline = test_clock::now() + timeout;
        for (;;) {
            if (auto f = take_frame(buffer)) return f;
            if (!fill(deadline)) return std::nullopt;
        }
    }

    // The next text frame's payload, answering pings on the way.
    std::optional<std::string> read_text(std::chrono::milliseconds timeout = patience) {
        for (;;) {
            auto f = read_frame(timeout);
            if (!f) return std::nullopt;
            if (f->opcode == 0x1) return f->payload;
            if (f->opcode == 0x9) send(client_frame(ws_opcode::pong, f->payload, mask));
            if (f->opcode == 0x8) return std::nullopt;
        }
    }

    // Text frames up to one that starts with prefix.
    std::string wait_for_prefix(const std::string& prefix) {
        for (;;) {
            auto t = read_text();
            REQUIRE(t);
            if (t->rfind(prefix, 0) == 0) return *t;
        }
    }

    // Reads frames up to the close frame; its code, or 0 if the connection
    // ended without one.
    std::uint16_t close_code(std::chrono::milliseconds timeout = patience) {
        for (;;) {
            auto f = read_frame(timeout);
            if (!f) return 0;
            if (f->opcode == 0x8) return f->close_code();
        }
    }

    // True once the server closes the connection (EOF or reset).
    bool wait_closed(std::chrono::milliseconds timeout = patience) {
        const auto deadline = test_clock::now() + timeout;
        for (;;) {
            char chunk[16384];
            const long n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n > 0) continue;
            if (n == 0) return true;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return true;
            if (!wait(POLLIN, deadline)) return false;
        }
    }

    std::string buffer;

private:
    bool wait(short events, test_clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - test_clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd_, events, 0};
        return ::poll(&p, 1, static_cast<int>(left)) > 0;
    }

    int fd_ = -1;
};

std::string upgrade_request(unsigned short port, const std::string& extra = {},
                            const std::string& key = "dGhlIHNhbXBsZSBub25jZQ==") {
    return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
}

std::string get_request(unsigned short port, const std::string& path, const std::string& extra = {}) {
    return "GET " + path + " HTTP/1.1\r\nHost: localhost:" + std::to_string(port) + "\r\n" + extra + "\r\n";
}

std::string text(std::string_view s) { return client_frame(ws_opcode::text, s, mask); }

int status_of(const std::string& head) { return head.size() > 12 ? std::stoi(head.substr(9, 3)) : 0; }

// A browser-style client: upgraded, greeted, in the lobby. Returns its nick.
std::string ws_join(raw_client& c, unsigned short port, const std::string& extra = {}) {
    REQUIRE(c.send(upgrade_request(port, extra)));
    const std::string head = c.read_head();
    REQUIRE(status_of(head) == 101);
    const std::string hello = c.wait_for_prefix("* welcome to ");
    c.wait_for_prefix("* joined lobby");
    return hello.substr(hello.rfind(' ') + 1);
}

} // namespace

TEST_CASE("web: the handshake answers the RFC 6455 key and echoes no extension", "[web]") {
    web_server s;
    raw_client c(s.web_port);
    REQUIRE(c.send(upgrade_request(s.web_port, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                                               "Origin: http://127.0.0.1:" + std::to_string(s.web_port) + "\r\n")));
    const std::string head = c.read_head();
    CHECK(head.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
    CHECK(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
    CHECK(head.find("Upgrade: websocket\r\n") != std::string::npos);
    CHECK(head.find("Extensions") == std::string::npos);
    CHECK(c.wait_for_prefix("* welcome to ").find("you are guest-") != std::string::npos);
}

TEST_CASE("web: GET / serves the page with its security headers, then closes", "[web]") {
    web_server s;
    raw_client c(s.web_port);
    REQUIRE(c.send(get_request(s.web_port, "/?room=lobby")));
    auto [head, body] = c.read_response();
    CHECK(status_of(head) == 200);
    CHECK(head.find("Content-Type: text/html; charset=utf-8\r\n") != std::string::npos);
    CHECK(head.find("Content-Security-Policy: " + chatroom::detail::web_page_csp() + "\r\n") !=
          std::string::npos);
    CHECK(head.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
    CHECK(head.find("Cache-Control: no-cache\r\n") != std::string::npos);
    CHECK(head.find("ETag: " + chatroom::detail::web_page_etag() + "\r\n") != std::string::npos);
    CHECK(body == chatroom::detail::web_page_html);
    CHECK(c.wait_closed());
    // Nobody joined: a page fetch is not a member.
    CHECK_FALSE(std::any_of(s.events().begin(), s.events().end(),
                            [](const chatroom::server_event& e) { return e.kind == chatroom::server_event_kind::connected; }));
}

TEST_CASE("web: a browser that has the page is answered 304 with no body; another tag gets the page", "[web]") {
    web_server s;
    const std::string& tag = chatroom::detail::web_page_etag();
    REQUIRE(tag.size() == 2 + 2 + 16);
    const auto fetch = [&](const std::string& extra, const std::string& method = "GET") {
        raw_client c(s.web_port);
        std::string request = get_request(s.web_port, "/", extra);
        request.replace(0, 3, method);
        REQUIRE(c.send(request));
        auto response = c.read_response();
        CHECK(c.wait_closed());
        return response;
    };
    for (const std::string& asked : {tag, "W/" + tag, "\"p-0000000000000000\", " + tag, std::string("*")}) {
        auto [head, body] = fetch("If-None-Match: " + asked + "\r\n");
        CAPTURE(asked);
        CHECK(status_of(head) == 304);
        CHECK(head.find("ETag: " + tag + "\r\n") != std::string::npos);
        CHECK(head.find("Content-Length") == std::string::npos);
        CHECK(body.empty());
    }
    auto [head, body] = fetch("If-None-Match: \"p-0000000000000000\"\r\n");
    CHECK(status_of(head) == 200);
    CHECK(body == chatroom::detail::web_page_html);
    auto [head_only, nothing] = fetch("If-None-Match: " + tag + "\r\n", "HEAD");
    CHECK(status_of(head_only) == 304);
    CHECK(nothing.empty());
    CHECK(chatroom::detail::etag_listed(" W/" + tag + " ,x", tag));
    CHECK_FALSE(chatroom::detail::etag_listed(chatroom::detail::web_page_gzip_etag(), tag));
    CHECK_FALSE(chatroom::detail::etag_listed("W/", tag));
    CHECK_FALSE(chatroom::detail::etag_listed("", tag));
}

TEST_CASE("web: a browser that accepts gzip gets the page compressed, under its own tag", "[web]") {
    web_server s;
    const std::string& plain_tag = chatroom::detail::web_page_etag();
    const std::string& gz_tag = chatroom::detail::web_page_gzip_etag();
    const std::string& gz = chatroom::detail::web_page_gzip();
    const auto fetch = [&](const std::string& extra, const std::string& method = "GET") {
        raw_client c(s.web_port);
        std::string request = get_request(s.web_port, "/", extra);
        request.replace(0, 3, method);
        REQUIRE(c.send(request));
        auto response = c.read_response();
        CHECK(c.wait_closed());
        return response;
    };
    const auto has = [](const std::string& head, const std::string& line) { return head.find(line + "\r\n") != std::string::npos; };
    {
        auto [head, body] = fetch("Accept-Encoding: gzip, deflate, br\r\n");
        CHECK(status_of(head) == 200);
        CHECK(has(head, "Content-Encoding: gzip"));
        CHECK(has(head, "Vary: Accept-Encoding"));
        CHECK(has(head, "ETag: " + gz_tag));
        CHECK(has(head, "Content-Length: " + std::to_string(gz.size())));
        CHECK(has(head, "Content-Security-Policy: " + chatroom::detail::web_page_csp()));
        CHECK(body == gz);
        CHECK(gz.size() < 40 * 1024);
    }
    for (const std::string& refuse : {std::string(), std::string("Accept-Encoding: gzip;q=0, *\r\n"),
                                      std::string("Accept-Encoding: identity\r\n")}) {
        auto [head, body] = fetch(refuse);
        CAPTURE(refuse);
        CHECK(status_of(head) == 200);
        CHECK(head.find("Content-Encoding") == std::string::npos);
        CHECK(has(head, "Vary: Accept-Encoding"));
        CHECK(has(head, "ETag: " + plain_tag));
        CHECK(body == chatroom::detail::web_page_html);
    }
    { // each variant's tag revalidates only that variant
        auto [head, body] = fetch("Accept-Encoding: *\r\nIf-None-Match: " + gz_tag + "\r\n");
        CHECK(status_of(head) == 304);
        CHECK(has(head, "ETag: " + gz_tag));
        CHECK(has(head, "Vary: Accept-Encoding"));
        CHECK(body.empty());
        auto [plain_head, plain_body] = fetch("If-None-Match: " + gz_tag + "\r\n");
        CHECK(status_of(plain_head) == 200);
        CHECK(plain_body == chatroom::detail::web_page_html);
        auto [gz_head, gz_body] = fetch("Accept-Encoding: gzip\r\nIf-None-Match: " + plain_tag + "\r\n");
        CHECK(status_of(gz_head) == 200);
        CHECK(gz_body == gz);
    }
    { // HEAD: the GET's head, its Content-Length, no body
        auto [head, body] = fetch("Accept-Encoding: gzip\r\n", "HEAD");
        CHECK(status_of(head) == 200);
        CHECK(has(head, "Content-Encoding: gzip"));
        CHECK(has(head, "Content-Length: " + std::to_string(gz.size())));
        CHECK(body.empty());
    }
}

TEST_CASE("web: the 2.x member forms listen_web and listen_web_tls still serve, as the free functions do", "[web]") {
    asio::io_context io;
    chatroom::server server(io);
    const auto loopback = asio::ip::make_address("127.0.0.1");
    const auto web_ep = server.listen_web(asio::ip::tcp::endpoint(loopback, 0), chatroom::web_options{});
    CHECK(web_ep.port() != 0);
#if defined(CHATROOM_USE_OPENSSL)
    const test::tls_files& files = test::test_certificates();
    const auto wss_ep = server.listen_web_tls(asio::ip::tcp::endpoint(loopback, 0), chatroom::web_options{},
                                              chatroom::make_server_tls_context(files.cert_chain, files.key));
    CHECK(wss_ep.port() != 0);
    CHECK(wss_ep.port() != web_ep.port());
#endif
    std::thread runner([&] { io.run(); });
    raw_client c(web_ep.port());
    REQUIRE(c.send(get_request(web_ep.port(), "/healthz")));
    CHECK(status_of(c.read_response().first) == 200);
    server.stop();
    runner.join();
}

TEST_CASE("web: /healthz, 404, HEAD, 405 and /metrics only when asked for", "[web]") {
    SECTION("without metrics") {
        web_server s;
        {
            raw_client c(s.web_port);
            REQUIRE(c.send(get_request(s.web_port, "/healthz")));
            auto [head, body] = c.read_response();
            CHECK(status_of(head) == 200);
            CHECK(body == "ok\n");
        }
        for (const char* path : {"/metrics", "/index.html", "/../etc/passwd", "/ws/x"}) {
            raw_client c(s.web_port);
            REQUIRE(c.send(get_request(s.web_port, path)));
            CHECK(status_of(c.read_response().first) == 404);
        }
        {
            raw_client c(s.web_port);
            REQUIRE(c.send("HEAD / HTTP/1.1\r\nHost: localhost:" + std::to_string(s.web_port) + "\r\n\r\n"));
            const std::string head = c.read_head();
            CHECK(status_of(head) == 200);
            CHECK(c.wait_closed());
            CHECK(c.buffer.empty());
        }
        {
            raw_client c(s.web_port);
            REQUIRE(c.send("POST / HTTP/1.1\r\nHost: localhost:" + std::to_string(s.web_port) +
                           "\r\nContent-Length: 0\r\n\r\n"));
            CHECK(status_of(c.read_response().first) == 405);
        }
    }
    SECTION("with metrics") {
        chatroom::web_options w;
        w.metrics = true;
        web_server s({}, w);
        auto tcp = s.tcp_join();
        tcp.send("hello");
        raw_client c(s.web_port);
        REQUIRE(eventually([&] { return s.stats().lines_in == 1; }));
        REQUIRE(c.send(get_request(s.web_port, "/metrics")));
        auto [head, body] = c.read_response();
        CHECK(status_of(head) == 200);
        CHECK(head.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
        CHECK(body.find("# TYPE chatroom_connections gauge\nchatroom_connections 2\n") != std::string::npos);
        CHECK(body.find("# TYPE chatroom_rooms gauge\nchatroom_rooms 1\n") != std::string::npos);
        CHECK(body.find("# TYPE chatroom_lines_in_total counter\nchatroom_lines_in_total 1\n") != std::string::npos);
        CHECK(body.find("# HELP chatroom_accepted_total ") != std::string::npos);
    }
}

TEST_CASE("web: refusals before the upgrade, each with its status", "[web]") {
    chatroom::server_options o;
    web_server s(o);
    const std::string port = std::to_string(s.web_port);
    auto status_for = [&](const std::string& request) {
        raw_client c(s.web_port);
        REQUIRE(c.send(request));
        const int status = status_of(c.read_response().first);
        CHECK(c.wait_closed());
        return status;
    };
    SECTION("426 for another version, naming 13") {
        raw_client c(s.web_port);
        std::string r = upgrade_request(s.web_port);
        r.replace(r.find("Version: 13"), 11, "Version: 8");
        REQUIRE(c.send(r));
        const std::string head = c.read_response().first;
        CHECK(status_of(head) == 426);
        CHECK(head.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos);
    }
    SECTION("400 for malformed requests") {
        CHECK(status_for("GET /ws HTTP/1.1 extra\r\nHost: 127.0.0.1:" + port + "\r\n\r\n") == 400);
        CHECK(status_for("GET /ws HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n") == 400);
        CHECK(status_for(upgrade_request(s.web_port, {}, "c2hvcnQ=")) == 400); // not a 16-byte nonce
        CHECK(status_for("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nSec-WebSocket-Version: 13\r\n\r\n") ==
              400); // no Upgrade
        CHECK(status_for("GET / HTTP/1.1\r\n\r\n") == 400); // no Host
    }
    SECTION("431 for a huge head") {
        CHECK(status_for(get_request(s.web_port, "/", "X-Filler: " + std::string(9000, 'x') + "\r\n")) == 431);
    }
    SECTION("403 for a foreign Origin or Host") {
        CHECK(status_for(upgrade_request(s.web_port, "Origin: http://evil.example\r\n")) == 403);
        CHECK(status_for(upgrade_request(s.web_port, "Origin: http://127.0.0.1:1\r\n")) == 403);
        CHECK(status_for(upgrade_request(s.web_port, "Origin: https://127.0.0.1:" + port + "\r\n")) == 403);
        CHECK(status_for(upgrade_request(s.web_port, "Origin: null\r\n")) == 403);
        std::string r = upgrade_request(s.web_port);
        r.replace(r.find("Host: 127.0.0.1"), 15, "Host: evil.example");
        CHECK(status_for(r) == 403);
        CHECK(status_for("GET / HTTP/1.1\r\nHost: rebound.example:" + port + "\r\n\r\n") == 403);
    }
    SECTION("the server's own origin passes, under any of its names") {
        raw_client c(s.web_port);
        std::string r = upgrade_request(s.web_port, "Origin: http://localhost:" + port + "\r\n");
        r.replace(r.find("Host: 127.0.0.1"), 15, "Host: localhost");
        REQUIRE(c.send(r));
        CHECK(status_of(c.read_head()) == 101);
    }
    CHECK(eventually([&] { return s.stats().connections == 0; }));
}

TEST_CASE("web: a slow-drip handshake is closed at the handshake timeout", "[web]") {
    chatroom::server_options o;
    o.handshake_timeout = 600ms;
    web_server s(o);
    raw_client c(s.web_port);
    const std::string request = upgrade_request(s.web_port);
    const auto start = test_clock::now();
    bool closed = false;
    for (std::size_t i = 0; i < request.size() && !closed; ++i) {
        if (!c.send(request.substr(i, 1))) closed = true;
        else closed = c.wait_closed(100ms);
    }
    if (!closed) closed = c.wait_closed();
    const auto took = test_clock::now() - start;
    CHECK(closed);
    CHECK(took >= 500ms);
    CHECK(took < 10s);
    CHECK(c.buffer.find("101") == std::string::npos);
    REQUIRE(eventually([&] { return s.stats().connections == 0; }));
}

TEST_CASE("web: a browser and a telnet-style client chat both ways; HTML stays text", "[web]") {
    web_server s;
    auto tcp = s.tcp_join();
    raw_client ws(s.web_port);
    const std::string web_nick = ws_join(ws, s.web_port);
    tcp.wait_for_prefix("* " + web_nick + " joined");

    REQUIRE(ws.send(text("hello from the <b>browser</b> & co")));
    CHECK(tcp.wait_for_prefix("<" + web_nick + ">") == "<" + web_nick + "> hello from the <b>browser</b> & co");
    tcp.send("hello from <script>alert(1)</script> telnet");
    CHECK(ws.wait_for_prefix("<" + tcp.nick + ">") == "<" + tcp.nick + "> hello from <script>alert(1)</script> telnet");

    // CR and LF inside a message do not make two lines.
    REQUIRE(ws.send(text("one\r\ntwo\nthree")));
    CHECK(tcp.wait_for_prefix("<" + web_nick + ">") == "<" + web_nick + "> one  two three");

    // Commands work as on telnet.
    REQUIRE(ws.send(text("/nick webby")));
    CHECK(ws.wait_for_prefix("* ").find("webby") != std::string::npos);
    tcp.wait_for_prefix("* " + web_nick + " is now known as webby");
    REQUIRE(ws.send(text("/who")));
    const std::string who = ws.wait_for_prefix("* in lobby:");
    CHECK(who.find("webby") != std::string::npos);
    CHECK(who.find(tcp.nick) != std::string::npos);
}

TEST_CASE("web: fragments, a multi-byte character split across them, a ping between them", "[web]") {
    web_server s;
    auto tcp = s.tcp_join();
    raw_client ws(s.web_port);
    const std::string nick = ws_join(ws, s.web_port);
    tcp.wait_for_prefix("* " + nick + " joined");
    // "caf\xC3\xA9 \xE2\x82\xAC": é split after its first byte, € across two frames.
    std::string bytes = client_frame(ws_opcode::text, "caf\xC3", mask, false);
    bytes += client_frame(ws_opcode::continuation, "\xA9 \xE2", mask, false);
    bytes += client_frame(ws_opcode::ping, "are you there", mask);
    bytes += client_frame(ws_opcode::continuation, "\x82\xAC", mask, true);
    // Sent in pieces that cut headers too.
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        REQUIRE(ws.send(bytes.substr(i, 3)));
        std::this_thread::sleep_for(1ms);
    }
    auto f = ws.read_frame();
    REQUIRE(f);
    CHECK(f->opcode == 0xA);
    CHECK(f->payload == "are you there");
    CHECK(tcp.wait_for_prefix("<" + nick + ">") == "<" + nick + "> caf\xC3\xA9 \xE2\x82\xAC");
}

TEST_CASE("web: protocol errors close with their codes and the member leaves", "[web]") {
    chatroom::server_options o;
    o.max_line_bytes = 100;
    web_server s(o);
    auto tcp = s.tcp_join();
    struct bad {
        const char* name;
        std::string bytes;
        std::uint16_t code;
    };
    const std::string unmasked("\x81\x02hi", 4);
    std::string rsv = client_frame(ws_opcode::text, "hi", mask);
    rsv[0] = static_cast<char>(0xC1);
    const std::vector<bad> cases = {
        {"unmasked", unmasked, 1002},
        {"rsv", rsv, 1002},
        {"bad utf-8", client_frame(ws_opcode::text, "caf\xC3(", mask), 1007},
        {"too long", client_frame(ws_opcode::text, std::string(101, 'x'), mask), 1009},
        {"binary", client_frame(ws_opcode::binary, "hi", mask), 1003},
        {"continuation first", client_frame(ws_opcode::continuation, "hi", mask), 1002},
    };
    for (const auto& b : cases) {
        INFO(b.name);
        raw_client ws(s.web_port);
        const std::string nick = ws_join(ws, s.web_port);
        tcp.wait_for_prefix("* " + nick + " joined");
        REQUIRE(ws.send(b.bytes));
        if (b.code == 1009) CHECK(ws.read_text() == "! line too long (limit 100 bytes)");
        CHECK(ws.close_code() == b.code);
        CHECK(ws.wait_closed());
        tcp.wait_for_prefix("* " + nick + " left");
    }
    // The limit itself is fine.
    raw_client ws(s.web_port);
    const std::string nick = ws_join(ws, s.web_port);
    REQUIRE(ws.send(text(std::string(100, 'y'))));
    CHECK(tcp.wait_for_prefix("<" + nick + ">") == "<" + nick + "> " + std::string(100, 'y'));
}

TEST_CASE("web: close codes for /quit, the peer's close, and the server's stop", "[web]") {
    web_server s;
    auto tcp = s.tcp_join();
    {
        raw_client ws(s.web_port);
        const std::string nick = ws_join(ws, s.web_port);
        REQUIRE(ws.send(text("/quit bye")));
        CHECK(ws.close_code() == 1000);
        // The closing handshake completes: the server ends the connection.
        REQUIRE(ws.send(client_frame(ws_opcode::close, std::string("\x03\xE8", 2), mask)));
        CHECK(ws.wait_closed(1500ms)); // before the 2 s drain deadline: the handshake completed
        CHECK(tcp.wait_for_prefix("* " + nick + " left") == "* " + nick + " left (quit: bye)");
    }
    {
        raw_client ws(s.web_port);
        const std::string nick = ws_join(ws, s.web_port);
        REQUIRE(ws.send(client_frame(ws_opcode::close, std::string("\x03\xE9going", 7), mask)));
        CHECK(ws.close_code() == 1001); // echoed
        CHECK(ws.wait_closed(1500ms)); // before the 2 s drain deadline: the handshake completed
        tcp.wait_for_prefix("* " + nick + " left");
    }
    {
        raw_client ws(s.web_port);
        ws_join(ws, s.web_port);
        REQUIRE(ws.send(client_frame(ws_opcode::close, {}, mask)));
        auto f = ws.read_frame();
        while (f && f->opcode != 0x8) f = ws.read_frame();
        REQUIRE(f);
        CHECK(f->payload.empty()); // a close without a code is echoed without one, never as 1005
        CHECK(ws.wait_closed(1500ms)); // before the 2 s drain deadline: the handshake completed
    }
    raw_client ws(s.web_port);
    ws_join(ws, s.web_port);
    s.stop();
    CHECK(ws.read_text() == "* server shutting down");
    CHECK(ws.close_code() == 1001);
    CHECK(ws.wait_closed());
}

TEST_CASE("web: a member appears only after the 101", "[web]") {
    web_server s;
    auto tcp = s.tcp_join();
    raw_client idle(s.web_port);        // a browser's spare connection
    raw_client half(s.web_port);        // a request head not finished
    REQUIRE(half.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(s.web_port) + "\r\n"));
    raw_client ws(s.web_port);
    const std::string nick = ws_join(ws, s.web_port);
    // The first join the room sees is the upgraded one.
    CHECK(tcp.wait_for_prefix("* ") == "* " + nick + " joined");
    const auto events = s.events();
    const auto connected = std::count_if(events.begin(), events.end(), [](const chatroom::server_event& e) {
        return e.kind == chatroom::server_event_kind::connected;
    });
    CHECK(connected == 2); // the TCP client and the upgraded browser
}

TEST_CASE("web: a browser that never reads is dropped as too slow; the others go on", "[web]") {
    chatroom::server_options o;
    o.max_queue_bytes = 64 * 1024;
    o.write_deadline = 2000ms;
    web_server s(o);
    auto tcp = s.tcp_join();
    raw_client reader(s.web_port);
    const std::string reader_nick = ws_join(reader, s.web_port);
    raw_client stalled(s.web_port, 4096);
    const std::string stalled_nick = ws_join(stalled, s.web_port);
    tcp.wait_for_prefix("* " + stalled_nick + " joined");

    // Until the stalled client is dropped: kernel buffers absorb a few MiB
    // first. Sent in windows the reader keeps up with.
    const std::string line(200, 'z');
    const int per_batch = 50;
    int received = 0, total = 0;
    std::string block;
    for (int i = 0; i < per_batch; ++i) block += line + "\n";
    for (int b = 0; b < 800 && s.stats().slow_consumer_disconnects == 0; ++b) {
        total += per_batch;
        tcp.send_raw(block);
        // The reader keeps up.
        while (received < (b + 1) * per_batch) {
            auto t = reader.read_text();
            REQUIRE(t);
            if (t->rfind("<" + tcp.nick + "> ", 0) == 0) ++received;
        }
    }
    CHECK(eventually([&] { return s.stats().slow_consumer_disconnects >= 1; }, 20s));
    CHECK(tcp.wait_for_prefix("* " + stalled_nick + " left") == "* " + stalled_nick + " left (too slow)");
    CHECK(received == total);
    CHECK(s.saw(chatroom::server_event_kind::disconnected, stalled_nick));
    CHECK_FALSE(s.saw(chatroom::server_event_kind::disconnected, reader_nick));
}

TEST_CASE("web: idle connections are pinged and dropped when they stop answering", "[web]") {
    chatroom::web_options w;
    w.ping_interval = 1s;
    w.pong_timeout = 1s;
    web_server s({}, w);
    auto tcp = s.tcp_join();
    raw_client answering(s.web_port);
    const std::string a = ws_join(answering, s.web_port);
    raw_client silent(s.web_port);
    const std::string b = ws_join(silent, s.web_port);
    tcp.wait_for_prefix("* " + b + " joined");
    // The silent one sees a ping and ignores it.
    auto f = silent.read_frame(5s);
    while (f && f->opcode != 0x9) f = silent.read_frame(5s);
    REQUIRE(f);
    // The answering one answers (read_text does) for a few rounds.
    const auto until = test_clock::now() + 3500ms;
    int pings = 0;
    while (test_clock::now() < until) {
        auto g = answering.read_frame(500ms);
        if (g && g->opcode == 0x9) {
            ++pings;
            REQUIRE(answering.send(client_frame(ws_opcode::pong, g->payload, mask)));
        }
    }
    CHECK(pings >= 1);
    CHECK(silent.wait_closed(5s));
    CHECK(tcp.wait_for_prefix("* " + b + " left") == "* " + b + " left (connection lost)");
    REQUIRE(answering.send(text("still here")));
    CHECK(tcp.wait_for_prefix("<" + a + ">") == "<" + a + "> still here");
}

TEST_CASE("web: X-Forwarded-For is believed only from trusted proxies", "[web]") {
    chatroom::server_options o;
    o.max_connections_per_address = 1;
    SECTION("untrusted peer: the header is ignored") {
        web_server s(o);
        raw_client one(s.web_port);
        ws_join(one, s.web_port, "X-Forwarded-For: 203.0.113.7\r\n");
        raw_client two(s.web_port); // a second connection from 127.0.0.1 is one too many
        CHECK(status_of(two.read_response().first) == 503);
        const auto events = s.events();
        CHECK(std::any_of(events.begin(), events.end(),
                          [](const chatroom::server_event& e) { return e.address == "127.0.0.1"; }));
    }
    SECTION("trusted proxy: the last untrusted hop is the member's address") {
        chatroom::web_options w;
        w.trusted_proxies = {"127.0.0.1", "10.0.0.2"};
        web_server s(o, w);
        raw_client one(s.web_port);
        ws_join(one, s.web_port, "X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\nX-Forwarded-For: 10.0.0.2\r\n");
        raw_client two(s.web_port);
        ws_join(two, s.web_port, "X-Forwarded-For: 203.0.113.8\r\n");
        raw_client three(s.web_port);
        REQUIRE(three.send(upgrade_request(s.web_port, "X-Forwarded-For: 203.0.113.8\r\n")));
        const auto [head, body] = three.read_response();
        CHECK(status_of(head) == 503);
        CHECK(body == "! too many connections from your address\n");
        const auto events = s.events();
        auto from = [&](const char* address) {
            return std::any_of(events.begin(), events.end(), [&](const chatroom::server_event& e) {
                return e.kind == chatroom::server_event_kind::connected && e.address == address;
            });
        };
        CHECK(from("203.0.113.7"));
        CHECK(from("203.0.113.8"));
        CHECK_FALSE(from("127.0.0.1"));
    }
}

TEST_CASE("web: refusals at admission are HTTP 503", "[web]") {
    chatroom::server_options o;
    o.max_connections = 1;
    web_server s(o);
    auto tcp = s.tcp_join();
    raw_client c(s.web_port);
    const auto [head, body] = c.read_response();
    CHECK(status_of(head) == 503);
    CHECK(body == "! server full\n");
}

TEST_CASE("web: a single-threaded server serves browsers the same", "[web]") {
    web_server s({}, {}, 1);
    auto tcp = s.tcp_join();
    raw_client ws(s.web_port);
    const std::string nick = ws_join(ws, s.web_port);
    REQUIRE(ws.send(text("one thread")));
    CHECK(tcp.wait_for_prefix("<" + nick + ">") == "<" + nick + "> one thread");
    tcp.send("back");
    CHECK(ws.wait_for_prefix("<" + tcp.nick + ">") == "<" + tcp.nick + "> back");
}

#if defined(CHATROOM_USE_OPENSSL)
TEST_CASE("web: wss with the test certificates", "[web][tls]") {
    web_server s;
    auto tcp = s.tcp_join();
    test::target t;
    t.port = s.wss_port;
    t.tls = true;
    t.ca_file = s.ca_file;
    test::line_client c(t);
    // The same origin check, with https.
    c.send_raw("GET /ws HTTP/1.1\r\nHost: localhost:" + std::to_string(s.wss_port) +
               "\r\nOrigin: https://localhost:" + std::to_string(s.wss_port) +
               "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" +
               text("over tls") + text("/quit"));
    CHECK(c.wait_closed());
    std::string bytes = c.pending();
    const auto end = bytes.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    CHECK(status_of(bytes.substr(0, end)) == 101);
    bytes.erase(0, end + 4);
    std::vector<frame> frames;
    while (auto f = take_frame(bytes)) frames.push_back(*f);
    REQUIRE(!frames.empty());
    CHECK(frames.front().payload.rfind("* welcome to ", 0) == 0);
    CHECK(frames.back().opcode == 0x8);
    CHECK(frames.back().close_code() == 1000);
    CHECK(tcp.wait_for_prefix("<").find("> over tls") != std::string::npos);

    // The page over https.
    test::line_client page(t);
    page.send_raw("GET / HTTP/1.1\r\nHost: localhost:" + std::to_string(s.wss_port) + "\r\n\r\n");
    CHECK(page.wait_closed());
    CHECK(page.pending().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(page.pending().find(std::string(chatroom::detail::web_page_html.substr(0, 200))) != std::string::npos);
}
#endif

TEST_CASE("web policy: Host, Origin and X-Forwarded-For rules", "[web][policy]") {
    using namespace chatroom::detail;
    chatroom::web_options o;
    const asio::ip::tcp::endpoint local(asio::ip::make_address("192.0.2.10"), 8080);
    SECTION("Host: the connection's own address and the loopback names, with the port") {
        for (const char* h : {"192.0.2.10:8080", "localhost:8080", "LOCALHOST:8080", "127.0.0.1:8080", "[::1]:8080"})
            CHECK(host_allowed(o, h, local, false));
        CHECK(host_allowed(o, asio::ip::host_name() + ":8080", local, false));
        for (const char* h : {"localhost", "localhost:80", "evil.example:8080", "192.0.2.10", "[::1]", ""})
            CHECK_FALSE(host_allowed(o, h, local, false));
        const asio::ip::tcp::endpoint v6(asio::ip::make_address("::1"), 443);
        CHECK(host_allowed(o, "[::1]:443", v6, true));
        CHECK(host_allowed(o, "localhost", v6, true)); // the scheme's default port may be left out
        CHECK_FALSE(host_allowed(o, "localhost", v6, false));
        const asio::ip::tcp::endpoint mapped(asio::ip::make_address("::ffff:127.0.0.1"), 8080);
        CHECK(host_allowed(o, "127.0.0.1:8080", mapped, false));
        o.allowed_hosts = {"chat.example.org"};
        CHECK(host_allowed(o, "Chat.Example.org", local, false));
        CHECK_FALSE(host_allowed(o, "localhost:8080", local, false));
    }
    SECTION("Origin: absent passes; present must be the own origin or listed") {
        CHECK(origin_allowed(o, std::nullopt, "localhost:8080", false));
        CHECK(origin_allowed(o, std::string_view("http://localhost:8080"), "localhost:8080", false));
        CHECK_FALSE(origin_allowed(o, std::string_view("https://localhost:8080"), "localhost:8080", false));
        CHECK(origin_allowed(o, std::string_view("https://localhost:8080"), "localhost:8080", true));
        CHECK_FALSE(origin_allowed(o, std::string_view("http://localhost:8080.evil.example"), "localhost:8080", false));
        o.allowed_origins = {"https://chat.example.org"};
        CHECK(origin_allowed(o, std::string_view("https://chat.example.org"), "localhost:8080", false));
        CHECK_FALSE(origin_allowed(o, std::string_view("http://localhost:8080"), "localhost:8080", false));
    }
    SECTION("X-Forwarded-For: only from trusted proxies, read from the right") {
        auto client = [&](const std::string& peer, const std::string& fields) {
            http_request_parser req;
            const std::string head = "GET /ws HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n";
            REQUIRE(req.feed(head) == http_parse_status::complete);
            return client_address(o, peer, req);
        };
        CHECK(client("127.0.0.1", "X-Forwarded-For: 203.0.113.7\r\n") == "127.0.0.1"); // no proxy is trusted
        o.trusted_proxies = {"127.0.0.1", "10.0.0.2"};
        CHECK(client("127.0.0.1", "") == "127.0.0.1");
        CHECK(client("127.0.0.1", "X-Forwarded-For: 203.0.113.7\r\n") == "203.0.113.7");
        CHECK(client("::ffff:127.0.0.1", "X-Forwarded-For: 203.0.113.7\r\n") == "203.0.113.7");
        CHECK(client("127.0.0.1", "X-Forwarded-For: 198.51.100.1, 203.0.113.7, 10.0.0.2\r\n") == "203.0.113.7");
        CHECK(client("127.0.0.1", "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 10.0.0.2\r\n") == "198.51.100.1");
        CHECK(client("127.0.0.1", "X-Forwarded-For: 2001:db8::1\r\n") == "2001:db8::1");
        // Garbage ends the walk at the nearest hop vouched for.
        CHECK(client("127.0.0.1", "X-Forwarded-For: 198.51.100.1, junk, 10.0.0.2\r\n") == "10.0.0.2");
        CHECK(client("127.0.0.1", "X-Forwarded-For: junk\r\n") == "127.0.0.1");
        CHECK(client("192.0.2.99", "X-Forwarded-For: 203.0.113.7\r\n") == "192.0.2.99"); // not a trusted peer
    }
}

TEST_CASE("web dialect: one shared frame per line, header included", "[web][policy]") {
    const chatroom::renderer& d = chatroom::detail::web_dialect();
    CHECK(&d == &chatroom::detail::web_dialect());
    CHECK(d.line_break().empty());
    const chatroom::shared_bytes m = d.line("* hi");
    CHECK(m.view() == std::string("\x81\x04* hi", 6));
    const std::string long_line(300, 'l');
    const chatroom::shared_bytes big = d.line(long_line);
    REQUIRE(big.size() == 4 + 300);
    CHECK(static_cast<unsigned char>(big.data()[1]) == 126);
    chatroom::room_event e;
    e.kind = chatroom::room_event_kind::chat;
    e.nick = "ann";
    e.text = "a\nb";
    e.line_count = 2;
    std::string bytes(d.render(e).view());
    auto first = take_frame(bytes), second = take_frame(bytes);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->payload == "<ann> a");
    CHECK(second->payload == "<ann> b");
    CHECK(bytes.empty());
}

// ---- the JSON dialect (subprotocol chatroom.v1, docs/web-protocol.md) --------

namespace {

const std::string json_offer = "Sec-WebSocket-Protocol: chatroom.v1\r\n";

// The next text frame that reads as a flat JSON object of type `type`
// (objects with arrays are not flat: look for them with wait_for_prefix).
// A received object with its text: the reader's strings are views into it
// (the text is on the heap, so moving this keeps them).
struct json_object {
    std::unique_ptr<std::string> text;
    chatroom::detail::json::object o;
    const chatroom::detail::json::value* find(std::string_view key) const { return o.find(key); }
};

json_object next_json(raw_client& c, const std::string& type) {
    const std::string prefix = "{\"type\":\"" + type + "\"";
    json_object r{std::make_unique<std::string>(c.wait_for_prefix(prefix)), {}};
    const auto e = chatroom::detail::json::read_object(*r.text, r.o);
    INFO(*r.text << ": " << e.what);
    REQUIRE_FALSE(e);
    return r;
}

std::string field(const json_object& o, const char* key) {
    const auto* v = o.find(key);
    return v ? std::string(v->text) : std::string("<none>");
}

// A JSON browser: upgraded with chatroom.v1, greeted, in the lobby. Returns its nick.
std::string json_join(raw_client& c, unsigned short port) {
    REQUIRE(c.send(upgrade_request(port, json_offer)));
    const std::string head = c.read_head();
    REQUIRE(status_of(head) == 101);
    CHECK(head.find("\r\nSec-WebSocket-Protocol: chatroom.v1\r\n") != std::string::npos);
    // The first message is the hello.
    const auto hello = c.read_text();
    REQUIRE(hello);
    CHECK(*hello == "{\"type\":\"hello\",\"protocol\":1,\"server\":\"chatroom\"}");
    const auto welcome = next_json(c, "welcome");
    const auto joined = next_json(c, "joined_room");
    CHECK(field(joined, "room") == "lobby");
    return field(welcome, "nick");
}

// A room log's id on one server: its seq, digits.
bool id_number(const std::string& id) {
    return !id.empty() && id.size() < 20 && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool iso_utc_ms(const std::string& t) {
    // 2026-12-06T15:17:38.123Z
    if (t.size() != 24 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != '.' ||
        t[23] != 'Z')
        return false;
    return std::all_of(t.begin(), t.begin() + 4, [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

TEST_CASE("web json: chatroom.v1 is chosen only when offered; other offers keep the line protocol", "[web][json]") {
    web_server s;
    raw_client plain(s.web_port);
    REQUIRE(plain.send(upgrade_request(s.web_port, "Sec-WebSocket-Protocol: chat, superchat\r\n")));
    const std::string head = plain.read_head();
    REQUIRE(status_of(head) == 101);
    CHECK(head.find("Sec-WebSocket-Protocol") == std::string::npos);
    plain.wait_for_prefix("* welcome to ");

    raw_client js(s.web_port);
    REQUIRE(js.send(upgrade_request(s.web_port, "Sec-WebSocket-Protocol: superchat, chatroom.v1\r\n")));
    const std::string jhead = js.read_head();
    REQUIRE(status_of(jhead) == 101);
    CHECK(jhead.find("\r\nSec-WebSocket-Protocol: chatroom.v1\r\n") != std::string::npos);
    const auto hello = js.read_text();
    REQUIRE(hello);
    CHECK(hello->rfind("{\"type\":\"hello\",\"protocol\":1", 0) == 0);
}

TEST_CASE("web json: a JSON browser and a telnet client share a room both ways, with ids and times", "[web][json]") {
    web_server s;
    raw_client js(s.web_port);
    const std::string jnick = json_join(js, s.web_port);
    auto tcp = s.tcp_join();

    // The telnet client's arrival and its line, as typed events.
    const auto joined = next_json(js, "joined");
    CHECK(field(joined, "nick") == tcp.nick);
    CHECK(field(joined, "room") == "lobby");
    tcp.send("hello from <b>telnet</b> & \"co\"");
    const auto chat = next_json(js, "chat");
    CHECK(field(chat, "nick") == tcp.nick);
    CHECK(field(chat, "room") == "lobby");
    CHECK(field(chat, "text") == "hello from <b>telnet</b> & \"co\"");
    CHECK(iso_utc_ms(field(chat, "time")));
    const std::string id1 = field(chat, "id");
    REQUIRE(id_number(id1));
    tcp.send("/me waves");
    const auto action = next_json(js, "action");
    CHECK(field(action, "text") == "waves");
    const std::string id2 = field(action, "id");
    REQUIRE(id_number(id2));
    CHECK(std::stoull(id2) > std::stoull(id1)); // ids are the room log's order

    // The browser's commands, as the telnet client reads them; the browser
    // gets its own lines back as the same events, with ids, marked own,
    // once it asked with echo.
    REQUIRE(js.send(text(R"({"type":"echo"})")));
    REQUIRE(js.send(text(R"({"type":"say","room":"lobby","text":"hi from <i>json</i>\nand a second line"})")));
    CHECK(tcp.wait_for_prefix("<" + jnick + ">") == "<" + jnick + "> hi from <i>json</i>");
    CHECK(tcp.expect_line() == "<" + jnick + "> and a second line");
    const auto own_chat = next_json(js, "chat");
    CHECK(field(own_chat, "nick") == jnick);
    CHECK(field(own_chat, "text") == "hi from <i>json</i>\nand a second line");
    REQUIRE(own_chat.find("own"));
    CHECK(own_chat.find("own")->kind == chatroom::detail::json::value_kind::boolean);
    CHECK(std::stoull(field(own_chat, "id")) > std::stoull(id2));
    CHECK(iso_utc_ms(field(own_chat, "time")));
    REQUIRE(js.send(text(R"({"type":"me","text":"nods"})")));
    CHECK(tcp.wait_for_prefix("* " + jnick) == "* " + jnick + " nods");
    const auto own_action = next_json(js, "action");
    CHECK(field(own_action, "text") == "nods");
    CHECK(std::stoull(field(own_action, "id")) > std::stoull(field(own_chat, "id")));
    REQUIRE(js.send(text(R"({"type":"msg","to":")" + tcp.nick + R"(","text":"psst"})")));
    CHECK(tcp.wait_for_prefix("*" + jnick + "*") == "*" + jnick + "* psst");
    const auto own_priv = next_json(js, "private");
    CHECK(field(own_priv, "nick") == jnick);
    CHECK(field(own_priv, "to") == tcp.nick);
    CHECK(own_priv.find("own"));
    tcp.send("/msg " + jnick + " back");
    const auto priv = next_json(js, "private");
    CHECK(field(priv, "nick") == tcp.nick);
    CHECK(field(priv, "to") == jnick);
    CHECK(field(priv, "text") == "back");

    REQUIRE(js.send(text(R"({"type":"nick","nick":"jason"})")));
    tcp.wait_for_prefix("* " + jnick + " is now known as jason");
    const auto own = next_json(js, "renamed"); // a rename is told to the renamer too
    CHECK(field(own, "old_nick") == jnick);
    CHECK(field(own, "nick") == "jason");
    tcp.send("/nick telly");
    const auto renamed = next_json(js, "renamed");
    CHECK(field(renamed, "old_nick") == tcp.nick);
    CHECK(field(renamed, "nick") == "telly");

    REQUIRE(js.send(text(R"({"type":"who"})")));
    const std::string who = js.wait_for_prefix("{\"type\":\"who\"");
    CHECK(who == R"({"type":"who","room":"lobby","names":["jason","telly"]})");
    REQUIRE(js.send(text(R"({"type":"rooms"})")));
    CHECK(js.wait_for_prefix("{\"type\":\"rooms\"") == R"({"type":"rooms","rooms":[{"name":"lobby","members":2}]})");

    // The line escape hatch: the line protocol's commands.
    REQUIRE(js.send(text(R"({"type":"line","text":"/help"})")));
    CHECK(js.wait_for_prefix("{\"type\":\"help\"").find("/msg NICK TEXT") != std::string::npos);

    // Leaving: the telnet client sees the browser go, with its reason.
    REQUIRE(js.send(text(R"({"type":"quit","reason":"bye now"})")));
    CHECK(tcp.wait_for_prefix("* jason left") == "* jason left (quit: bye now)");
    CHECK(js.close_code() == 1000);
}

TEST_CASE("web json: bad input is answered with error objects, in order, and the member stays", "[web][json]") {
    web_server s;
    raw_client js(s.web_port);
    json_join(js, s.web_port);
    auto tcp = s.tcp_join();
    next_json(js, "joined");

    // Several messages in one write: each answered in turn.
    REQUIRE(js.send(text("this is not json") + text(R"({"type":"dance"})") + text(R"({"type":"say"})") +
                    text(R"({"type":"nick","nick":"bad nick!"})") + text(R"({"type":"say","text":"still here"})") +
                    text(R"({"type":"say","text":"x","extra":1})") + text(R"({"type":"nick","nick":")" + tcp.nick + "\"}")));
    const auto e1 = next_json(js, "error");
    CHECK(field(e1, "code") == "bad_json");
    CHECK(field(e1, "text") == "expected an object at byte 0");
    const auto e2 = next_json(js, "error");
    CHECK(field(e2, "code") == "unknown_type");
    const auto e3 = next_json(js, "error");
    CHECK(field(e3, "code") == "bad_request");
    CHECK(field(e3, "text") == "say needs \"text\"");
    const auto e4 = next_json(js, "error");
    CHECK(field(e4, "code") == "bad_nick");
    const auto e5 = next_json(js, "error");
    CHECK(field(e5, "code") == "bad_request");
    CHECK(field(e5, "text") == "say has no field \"extra\"");
    const auto e6 = next_json(js, "error");
    CHECK(field(e6, "code") == "nick_taken");
    CHECK(field(e6, "subject") == tcp.nick);
    tcp.wait_for_prefix("<");

    // A message over the line limit: an error, and the connection is closed
    // with 1009 as for the line protocol.
    REQUIRE(js.send(text(R"({"type":"say","text":")" + std::string(9000, 'x') + "\"}")));
    const auto e7 = next_json(js, "error");
    CHECK(field(e7, "code") == "line_too_long");
    CHECK(js.close_code() == 1009);
}

TEST_CASE("web json: a say of several lines costs flood control a token per line, as typed lines do", "[web][json]") {
    chatroom::server_options o;
    o.flood_lines_per_second = 10;
    o.flood_burst = 5;
    web_server s(o);
    raw_client js(s.web_port);
    const std::string jnick = json_join(js, s.web_port);
    auto tcp = s.tcp_join();
    next_json(js, "joined");
    std::string twenty;
    for (int i = 0; i < 20; ++i) twenty += (i ? "\\n" : "") + std::string("line ") + std::to_string(i);
    // Both messages in one write: the second waits only if the first emptied the bucket.
    REQUIRE(js.send(text(R"({"type":"say","text":")" + twenty + "\"}") + text(R"({"type":"say","text":"after"})")));
    CHECK(tcp.wait_for_prefix("<" + jnick + "> line 19") == "<" + jnick + "> line 19");
    const auto t0 = test_clock::now();
    CHECK(tcp.wait_for_prefix("<" + jnick + "> after") == "<" + jnick + "> after");
    // 20 lines from a bucket of 6 leave it 14 short; reading resumes at 2
    // tokens, 1.6 s later at 10 a second. Charged one token, it would not wait.
    CHECK(test_clock::now() - t0 >= 1s);
}

TEST_CASE("web json: --require-login from a JSON client: login_first, a refused login, then in", "[web][json]") {
    web_server s;
    chatroom::access_hooks h;
    h.require_login = true;
    h.verify = [](chatroom::login_request r, std::function<void(chatroom::login_result)> done) {
        std::thread([r = std::move(r), done = std::move(done)] { // answered later, as a real verifier does
            chatroom::login_result res;
            res.ok = r.name == "ann" && r.secret == "s3cret";
            if (!res.ok) res.reason = "wrong name or secret";
            done(res);
        }).detach();
    };
    s.set_access(std::move(h));
    raw_client js(s.web_port);
    REQUIRE(js.send(upgrade_request(s.web_port, json_offer)));
    REQUIRE(status_of(js.read_head()) == 101);
    CHECK(js.read_text().value_or("").rfind(R"({"type":"hello","protocol":1)", 0) == 0);
    next_json(js, "welcome");
    CHECK(field(next_json(js, "error"), "code") == "login_first");
    REQUIRE(js.send(text(R"({"type":"say","text":"hi"})")));
    CHECK(field(next_json(js, "error"), "code") == "login_first");
    REQUIRE(js.send(text(R"({"type":"login","name":"ann","secret":"wrong"})")));
    const auto refused = next_json(js, "error");
    CHECK(field(refused, "code") == "refused");
    CHECK(field(refused, "text") == "wrong name or secret");
    REQUIRE(js.send(text(R"({"type":"login","name":"ann","secret":"s3cret"})")));
    CHECK(field(next_json(js, "logged_in"), "account") == "ann");
    CHECK(field(next_json(js, "joined_room"), "room") == "lobby");
}
