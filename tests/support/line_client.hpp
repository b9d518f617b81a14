#pragma once

// A deliberately simple test client: blocking POSIX calls guarded by poll()
// and deadlines, independent of the library it tests. Speaks TCP (v4, v6),
// Unix sockets and, with CHATROOM_USE_OPENSSL, TLS through OpenSSL directly.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#if defined(CHATROOM_USE_OPENSSL)
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace test {

using namespace std::chrono_literals;
using test_clock = std::chrono::steady_clock;

// Generous: a loaded 2-core machine can stall a thread for seconds.
inline constexpr std::chrono::milliseconds patience = 20s;

// Where a server listens, in a form the raw client can reach.
struct target {
    enum class kind { tcp4, tcp6, unix_socket } family = kind::tcp4;
    unsigned short port = 0;
    std::string path; // unix_socket
    bool tls = false;
    std::string ca_file;           // tls: trust this CA
    std::string host = "localhost"; // tls: SNI and name to verify
    bool verify = true;
};

class line_client {
public:
    line_client() = default;
    explicit line_client(const target& t) { connect(t); }
    line_client(line_client&& o) noexcept { *this = std::move(o); }
    line_client& operator=(line_client&& o) noexcept {
        std::swap(fd_, o.fd_);
        std::swap(buffer_, o.buffer_);
        std::swap(nick, o.nick);
        std::swap(all_crlf, o.all_crlf);
#if defined(CHATROOM_USE_OPENSSL)
        std::swap(ssl_, o.ssl_);
        std::swap(ctx_, o.ctx_);
#endif
        return *this;
    }
    ~line_client() { close(); }

    // Returns false (with the reason in error) instead of failing the test,
    // for tests where refusal is the expected outcome.
    bool try_connect(const target& t, std::string& error) {
        close();
        if (t.family == target::kind::unix_socket) {
            fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::strncpy(addr.sun_path, t.path.c_str(), sizeof addr.sun_path - 1);
            if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail(error, "connect");
        } else if (t.family == target::kind::tcp6) {
            fd_ = ::socket(AF_INET6, SOCK_STREAM, 0);
            sockaddr_in6 addr{};
            addr.sin6_family = AF_INET6;
            addr.sin6_port = htons(t.port);
            addr.sin6_addr = in6addr_loopback;
            if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail(error, "connect");
        } else {
            fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(t.port);
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail(error, "connect");
        }
        ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
        if (t.tls) return start_tls(t, error);
        return true;
    }

    void connect(const target& t) {
        std::string error;
        if (!try_connect(t, error)) FAIL("connect failed: " << error);
    }

    // Connects and reads the greeting up to the lobby's join notice.
    void join(const target& t) {
        connect(t);
        std::string hello = expect_line();
        REQUIRE(hello.rfind("* welcome to ", 0) == 0);
        nick = hello.substr(hello.rfind(' ') + 1);
        wait_for_prefix("* joined lobby");
    }

    void send_raw(std::string_view bytes) {
        const auto deadline = test_clock::now() + patience;
        while (!bytes.empty()) {
            long n = write_some(bytes.data(), bytes.size());
            if (n > 0) {
                bytes.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0) FAIL("send failed: " << std::strerror(errno));
            if (!wait(POLLOUT, deadline)) FAIL("send timed out");
        }
    }

    void send(std::string_view line) { send_raw(std::string(line) + "\n"); }

    // The next line (CRLF removed); nullopt on timeout or end of stream.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = patience) {
        const auto deadline = test_clock::now() + timeout;
        for (;;) {
            auto nl = buffer_.find('\n');
            if (nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                if (line.empty() || line.back() != '\r') all_crlf = false;
                else line.pop_back();
                return line;
            }
            char chunk[8192];
            long n = read_some(chunk, sizeof chunk);
            if (n > 0) {
                buffer_.append(chunk, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0 || n < -1) return std::nullopt; // EOF or error
            if (!wait(POLLIN, deadline)) return std::nullopt;
        }
    }

    std::string expect_line(std::chrono::milliseconds timeout = patience) {
        auto line = read_line(timeout);
        if (!line) FAIL("no line arrived (timeout or closed)");
        return *line;
    }

    // Reads until a line satisfies pred and returns it; the lines skipped go to skipped.
    std::string wait_for(const std::function<bool(const std::string&)>& pred,
                         std::vector<std::string>* skipped = nullptr, std::chrono::milliseconds timeout = patience) {
        const auto deadline = test_clock::now() + timeout;
        std::vector<std::string> recent; // the last lines passed over, for the failure message
        const auto passed_over = [&] {
            std::string out;
            for (const auto& l : recent) out += "\n  | " + l;
            return out.empty() ? std::string(" (none)") : out;
        };
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - test_clock::now());
            if (left.count() <= 0) FAIL("the expected line did not arrive in time; last lines:" << passed_over());
            auto line = read_line(left);
            if (!line) FAIL("the expected line did not arrive (timeout or closed); last lines:" << passed_over());
            if (pred(*line)) return *line;
            if (recent.size() == 12) recent.erase(recent.begin());
            recent.push_back(*line);
            if (skipped) skipped->push_back(*line);
        }
    }

    std::string wait_for_prefix(const std::string& prefix, std::vector<std::string>* skipped = nullptr) {
        return wait_for([&](const std::string& l) { return l.rfind(prefix, 0) == 0; }, skipped);
    }

    // Proves that nothing arrived before a marker: sends marker_line from
    // `via` and returns every line this client got before seeing it.
    std::vector<std::string> lines_until(const std::string& exact) {
        std::vector<std::string> before;
        wait_for([&](const std::string& l) { return l == exact; }, &before);
        return before;
    }

    // True when the server closes the connection in time (EOF or reset).
    bool wait_closed(std::chrono::milliseconds timeout = patience) {
        const auto deadline = test_clock::now() + timeout;
        for (;;) {
            char chunk[8192];
            long n = read_some(chunk, sizeof chunk);
            if (n > 0) {
                buffer_.append(chunk, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0 || n < -1) return true;
            if (!wait(POLLIN, deadline)) return false;
        }
    }

    // Everything received and not yet read as lines.
    const std::string& pending() const { return buffer_; }

    // An abortive close: the peer sees a reset, not a FIN.
    void reset() {
        if (fd_ < 0) return;
        linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close();
    }

    void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

    void set_receive_buffer(int bytes) { ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes); }

    void close() {
#if defined(CHATROOM_USE_OPENSSL)
        if (ssl_) SSL_free(ssl_);
        if (ctx_) SSL_CTX_free(ctx_);
        ssl_ = nullptr;
        ctx_ = nullptr;
#endif
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    int fd() const { return fd_; }

    std::string nick;
    bool all_crlf = true; // every line so far ended in CRLF

private:
    bool fail(std::string& error, const char* what) {
        error = std::string(what) + ": " + std::strerror(errno);
        close();
        return false;
    }

    bool wait(short events, test_clock::time_point deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - test_clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd_, events, 0};
        return ::poll(&p, 1, static_cast<int>(left)) > 0;
    }

    // > 0 bytes, 0 end of stream, -1 would block, -2 error.
    long read_some(char* data, std::size_t size) {
#if defined(CHATROOM_USE_OPENSSL)
        if (ssl_) {
            int n = SSL_read(ssl_, data, static_cast<int>(size));
            if (n > 0) return n;
            int e = SSL_get_error(ssl_, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -1;
            if (e == SSL_ERROR_ZERO_RETURN) return 0;
            ERR_clear_error();
            return -2;
        }
#endif
        long n = ::recv(fd_, data, size, 0);
        if (n >= 0) return n;
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
    }

    long write_some(const char* data, std::size_t size) {
#if defined(CHATROOM_USE_OPENSSL)
        if (ssl_) {
            int n = SSL_write(ssl_, data, static_cast<int>(size));
            if (n > 0) return n;
            int e = SSL_get_error(ssl_, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
            errno = EPIPE;
            return -1;
        }
#endif
        long n = ::send(fd_, data, size, MSG_NOSIGNAL);
        if (n >= 0) return n;
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    }

#if defined(CHATROOM_USE_OPENSSL)
    bool start_tls(const target& t, std::string& error) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        if (t.verify) {
            SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
            if (SSL_CTX_load_verify_locations(ctx_, t.ca_file.c_str(), nullptr) != 1) {
                error = "cannot load CA";
                return false;
            }
        }
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        SSL_set_tlsext_host_name(ssl_, t.host.c_str());
        if (t.verify) SSL_set1_host(ssl_, t.host.c_str());
        const auto deadline = test_clock::now() + patience;
        for (;;) {
            int r = SSL_connect(ssl_);
            if (r == 1) return true;
            int e = SSL_get_error(ssl_, r);
            if (e == SSL_ERROR_WANT_READ && wait(POLLIN, deadline)) continue;
            if (e == SSL_ERROR_WANT_WRITE && wait(POLLOUT, deadline)) continue;
            char text[256];
            ERR_error_string_n(ERR_get_error(), text, sizeof text);
            error = std::string("TLS handshake failed: ") + text;
            ERR_clear_error();
            return false;
        }
    }
    SSL* ssl_ = nullptr;
    SSL_CTX* ctx_ = nullptr;
#else
    bool start_tls(const target&, std::string& error) {
        error = "built without TLS";
        return false;
    }
#endif

    int fd_ = -1;
    std::string buffer_;
};

} // namespace test
