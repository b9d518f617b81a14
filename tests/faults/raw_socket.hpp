#pragma once

// A non-blocking TCP client socket to 127.0.0.1 for tests that drive many
// connections from one poll() loop. Independent of the library under test.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test {

using net_clock = std::chrono::steady_clock;

// Milliseconds left until deadline, for poll(); never negative.
inline int ms_until(net_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - net_clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(left > 1000000 ? 1000000 : left);
}

class raw_socket {
public:
    enum class io { progress, would_block, eof, error };

    raw_socket() = default;
    raw_socket(const raw_socket&) = delete;
    raw_socket& operator=(const raw_socket&) = delete;
    raw_socket(raw_socket&& o) noexcept { *this = std::move(o); }
    raw_socket& operator=(raw_socket&& o) noexcept {
        if (this != &o) {
            close();
            fd_ = std::exchange(o.fd_, -1);
            connecting_ = std::exchange(o.connecting_, false);
            in_ = std::move(o.in_);
            in_pos_ = std::exchange(o.in_pos_, 0);
            out_ = std::move(o.out_);
            out_pos_ = std::exchange(o.out_pos_, 0);
            bad_line_ending = o.bad_line_ending;
            bytes_in = o.bytes_in;
            bytes_out = o.bytes_out;
            last_error = o.last_error;
        }
        return *this;
    }
    ~raw_socket() { close(); }

    // Starts a non-blocking connect. Buffer sizes (when > 0) are set before
    // connecting, so the advertised window is small from the first segment.
    // False when no socket could be made or the connect failed at once.
    bool start_connect(unsigned short port, int rcvbuf = 0, int sndbuf = 0) {
        close();
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd_ < 0) {
            last_error = errno;
            return false;
        }
        if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        if (sndbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
        if (errno == EINPROGRESS) {
            connecting_ = true;
            return true;
        }
        last_error = errno;
        close();
        return false;
    }

    // Call when poll reports the connecting socket writable: true once connected.
    bool finish_connect() {
        if (!connecting_) return is_open();
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            last_error = err;
            close();
            return false;
        }
        connecting_ = false;
        return true;
    }

    // Connects within a deadline; false if it did not happen.
    bool connect_within(unsigned short port, std::chrono::milliseconds timeout, int rcvbuf = 0, int sndbuf = 0) {
        if (!start_connect(port, rcvbuf, sndbuf)) return false;
        const auto deadline = net_clock::now() + timeout;
        while (connecting_) {
            pollfd p{fd_, POLLOUT, 0};
            int r = ::poll(&p, 1, ms_until(deadline));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                close();
                return false;
            }
            if (!finish_connect()) return false;
        }
        return true;
    }

    bool is_open() const { return fd_ >= 0; }
    bool is_connecting() const { return fd_ >= 0 && connecting_; }
    int fd() const { return fd_; }

    // Reads what the socket has now, at most max_bytes.
    io read_available(std::size_t max_bytes = 1 << 20) {
        if (fd_ < 0) return io::error;
        bool got = false;
        char chunk[16384];
        while (max_bytes > 0) {
            const std::size_t want = max_bytes < sizeof chunk ? max_bytes : sizeof chunk;
            ssize_t n = ::recv(fd_, chunk, want, 0);
            if (n > 0) {
                if (in_pos_ > 0 && in_pos_ * 2 > in_.size()) {
                    in_.erase(0, in_pos_);
                    in_pos_ = 0;
                }
                in_.append(chunk, static_cast<std::size_t>(n));
                bytes_in += static_cast<std::size_t>(n);
                max_bytes -= static_cast<std::size_t>(n);
                got = true;
                continue;
            }
            if (n == 0) return io::eof;
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return got ? io::progress : io::would_block;
            last_error = errno;
            return io::error;
        }
        return io::progress;
    }

    // The next complete line, its CR LF removed. A line that does not end in
    // CR LF sets bad_line_ending.
    bool next_line(std::string& line) {
        const std::size_t nl = in_.find('\n', in_pos_);
        if (nl == std::string::npos) return false;
        std::size_t end = nl;
        if (end > in_pos_ && in_[end - 1] == '\r') --end;
        else bad_line_ending = true;
        line.assign(in_, in_pos_, end - in_pos_);
        in_pos_ = nl + 1;
        if (in_pos_ == in_.size()) {
            in_.clear();
            in_pos_ = 0;
        }
        return true;
    }

    // Bytes received that do not make a complete line yet.
    std::size_t partial_bytes() const { return in_.size() - in_pos_; }

    void queue(std::string_view bytes) { out_.append(bytes.data(), bytes.size()); }
    std::size_t queued() const { return out_.size() - out_pos_; }

    // Writes queued bytes until the socket would block (at most max_bytes).
    io flush(std::size_t max_bytes = static_cast<std::size_t>(-1)) {
        if (fd_ < 0) return io::error;
        bool wrote = false;
        while (out_pos_ < out_.size() && max_bytes > 0) {
            std::size_t want = out_.size() - out_pos_;
            if (want > max_bytes) want = max_bytes;
            ssize_t n = ::send(fd_, out_.data() + out_pos_, want, MSG_NOSIGNAL);
            if (n > 0) {
                out_pos_ += static_cast<std::size_t>(n);
                bytes_out += static_cast<std::size_t>(n);
                max_bytes -= static_cast<std::size_t>(n);
                wrote = true;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return wrote ? io::progress : io::would_block;
            last_error = errno;
            return io::error;
        }
        if (out_pos_ == out_.size()) {
            out_.clear();
            out_pos_ = 0;
        }
        return wrote ? io::progress : io::would_block;
    }

    // An abortive close: the peer gets a reset, not a FIN.
    void reset() {
        if (fd_ < 0) return;
        linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close();
    }

    void shutdown_send() {
        if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
    }

    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        connecting_ = false;
    }

    bool bad_line_ending = false;
    std::size_t bytes_in = 0, bytes_out = 0;
    int last_error = 0;

private:
    int fd_ = -1;
    bool connecting_ = false;
    std::string in_;
    std::size_t in_pos_ = 0;
    std::string out_;
    std::size_t out_pos_ = 0;
};

// Waits for a line that satisfies pred on one socket (reading, and writing
// anything queued). Lines before it go to skipped. nullopt on timeout, EOF or error.
inline std::optional<std::string> wait_line(raw_socket& s, const std::function<bool(const std::string&)>& pred,
                                            std::chrono::milliseconds timeout,
                                            std::vector<std::string>* skipped = nullptr) {
    const auto deadline = net_clock::now() + timeout;
    std::string line;
    for (;;) {
        while (s.next_line(line)) {
            if (pred(line)) return line;
            if (skipped) skipped->push_back(line);
        }
        if (!s.is_open()) return std::nullopt;
        short events = POLLIN;
        if (s.is_connecting() || s.queued() > 0) events |= POLLOUT;
        pollfd p{s.fd(), events, 0};
        int r = ::poll(&p, 1, ms_until(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return std::nullopt;
        if (s.is_connecting()) {
            if (!s.finish_connect()) return std::nullopt;
            continue;
        }
        if ((p.revents & POLLOUT) && s.flush() == raw_socket::io::error) return std::nullopt;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            auto r2 = s.read_available();
            if (r2 == raw_socket::io::eof || r2 == raw_socket::io::error) {
                while (s.next_line(line)) {
                    if (pred(line)) return line;
                    if (skipped) skipped->push_back(line);
                }
                return std::nullopt;
            }
        }
    }
}

inline std::optional<std::string> wait_prefix(raw_socket& s, const std::string& prefix,
                                              std::chrono::milliseconds timeout,
                                              std::vector<std::string>* skipped = nullptr) {
    return wait_line(
        s, [&](const std::string& l) { return l.compare(0, prefix.size(), prefix) == 0; }, timeout, skipped);
}

// Reads (and discards into lines) until the peer closes; true on EOF or reset
// within the deadline.
inline bool wait_closed(raw_socket& s, std::chrono::milliseconds timeout, std::vector<std::string>* lines = nullptr) {
    const auto deadline = net_clock::now() + timeout;
    std::string line;
    for (;;) {
        if (!s.is_open()) return true;
        pollfd p{s.fd(), POLLIN, 0};
        int r = ::poll(&p, 1, ms_until(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        auto got = s.read_available();
        while (s.next_line(line))
            if (lines) lines->push_back(line);
        if (got == raw_socket::io::eof || got == raw_socket::io::error) return true;
    }
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF)
// holding no C0 control but TAB, no DEL and no C1 control: what the server
// promises every line it sends is. Written here, independently of the library.
inline bool is_clean_line(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned c = *p;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
            ++p;
            continue;
        }
        std::size_t len;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) < len) return false;
        for (std::size_t i = 1; i < len; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        if (cp >= 0x80 && cp <= 0x9F) return false;
        p += len;
    }
    return true;
}

} // namespace test
