#pragma once

#include <chatroom/core/detail/send_ring.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/socket_base.hpp>

#include <cstddef>
#include <memory>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace chatroom::detail {

inline constexpr std::size_t read_chunk_bytes = 64 * 1024;

// One read buffer per thread, shared by every connection that thread serves:
// a connection waits for readability and reads only when bytes are there, so
// an idle connection holds no read buffer at all.
inline char* thread_read_buffer() {
    thread_local std::unique_ptr<char[]> buffer(new char[read_chunk_bytes]);
    return buffer.get();
}

inline bool would_block(const std::error_code& ec) noexcept {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

// A plain stream socket (TCP or Unix) as a session's stream, in the reactor
// style: wait for readiness, then one non-blocking read into the thread's
// buffer or one non-blocking gather write of everything queued.
//
// The stream concept, which every transport's stream models (TLS in tls.hpp,
// WebSocket in web.hpp); the session makes every call on get_executor():
//   set_owner(weak)        the session, for work the stream starts on its own
//   async_start(h)         h(ec) once the stream is ready (handshakes)
//   async_read(h)          h(ec, const char* data, size_t n); data valid during the call
//   write(gather, ec)      takes what it can now, never blocks; returns bytes taken
//   async_wait_writable(h) h(ec) once write() can take more
//   write_last(bytes, why) best effort, non-blocking, for last words
//   async_shutdown(why, h) all output written: end the sending side (FIN,
//                          close_notify, a WebSocket close for why); h(ec);
//                          the session then reads until EOF
//   close()
//   is_clean_end(ec)       whether an error is the peer's orderly end (besides eof)
template <class Socket>
class socket_stream {
public:
    using socket_type = Socket;
    using executor_type = typename Socket::executor_type;

    explicit socket_stream(Socket socket) : socket_(std::move(socket)) {
        std::error_code ec;
        socket_.non_blocking(true, ec);
    }

    executor_type get_executor() noexcept { return socket_.get_executor(); }

    static const char* transport_name() noexcept {
        if constexpr (std::is_same_v<typename Socket::protocol_type, asio::ip::tcp>) return "tcp";
        else return "unix";
    }
    Socket& socket() noexcept { return socket_; }

    void set_owner(const std::weak_ptr<void>&) noexcept {}

    template <class Handler>
    void async_start(Handler&& h) {
        std::forward<Handler>(h)(std::error_code());
    }

    template <class Handler>
    void async_read(Handler&& h) {
        socket_.async_wait(asio::socket_base::wait_read,
                           [this, h = std::forward<Handler>(h)](std::error_code ec) mutable { on_readable(ec, h); });
    }

    std::size_t write(const send_ring::gather& g, std::error_code& ec) {
        std::size_t n = socket_.write_some(g, ec);
        if (ec && would_block(ec)) {
            ec.clear();
            n = 0;
        }
        return n;
    }

    template <class Handler>
    void async_wait_writable(Handler&& h) {
        socket_.async_wait(asio::socket_base::wait_write, std::forward<Handler>(h));
    }

    template <class Reason>
    void write_last(std::string_view bytes, Reason) {
        std::error_code ec;
        socket_.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    }

    template <class Reason, class Handler>
    void async_shutdown(Reason, Handler&& h) {
        std::error_code ec;
        socket_.shutdown(asio::socket_base::shutdown_send, ec);
        asio::post(socket_.get_executor(), [h = std::forward<Handler>(h), ec]() mutable { h(ec); });
    }

    void close() {
        std::error_code ec;
        socket_.close(ec);
    }

    bool is_clean_end(const std::error_code&) const noexcept { return false; }

private:
    template <class Handler>
    void on_readable(std::error_code ec, Handler& h) {
        if (ec) return h(ec, nullptr, 0);
        char* buffer = thread_read_buffer();
        const std::size_t n = socket_.read_some(asio::buffer(buffer, read_chunk_bytes), ec);
        if (ec && would_block(ec)) return async_read(std::move(h));
        h(ec, buffer, n);
    }

    Socket socket_;
};

} // namespace chatroom::detail
