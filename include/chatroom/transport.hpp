#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>

#include <asio/buffer.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#if defined(__unix__) || defined(__APPLE__)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

namespace chatroom {

// Transport tag: TLS over Protocol (asio::ip::tcp); defined in chatroom/tls.hpp.
template <class Protocol>
struct tls;

// Transport tag: browsers over HTTP and WebSocket, on Stream (asio::ip::tcp
// or tls<asio::ip::tcp>); defined in chatroom/web.hpp.
template <class Stream>
struct web;

// What the server and client need to know about a plain Asio stream protocol.
// TLS (chatroom/tls.hpp) adds its own.
template <class Protocol>
struct stream_transport {
    using protocol_type = Protocol;
    static constexpr bool is_tcp = std::is_same_v<Protocol, asio::ip::tcp>;
#if defined(ASIO_HAS_LOCAL_SOCKETS)
    static constexpr bool is_local = std::is_same_v<Protocol, asio::local::stream_protocol>;
#else
    static constexpr bool is_local = false;
#endif

    // The peer's address, for logs and per-address limits (empty for Unix sockets).
    template <class Socket>
    static std::string peer_address(const Socket& socket) {
        if constexpr (is_tcp) {
            std::error_code ec;
            auto ep = socket.remote_endpoint(ec);
            return ec ? std::string("?") : ep.address().to_string();
        } else {
            (void)socket;
            return {};
        }
    }

    // Low latency, and keepalive probes so a vanished peer's half-open
    // connection goes away within minutes rather than hours.
    template <class Socket>
    static void tune(Socket& socket, bool keepalive) {
        if constexpr (is_tcp) {
            std::error_code ec;
            socket.set_option(asio::ip::tcp::no_delay(true), ec);
            if (!keepalive) return;
            socket.set_option(asio::socket_base::keep_alive(true), ec);
#if defined(TCP_KEEPIDLE) && defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
            const int idle = 60, interval = 10, count = 6;
            ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
            ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
            ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
#endif
        } else {
            (void)socket;
            (void)keepalive;
        }
    }

    // A refusal at connect: one line, best effort, then the socket closes.
    template <class Socket>
    static void refuse(Socket& socket, std::string_view line) {
        std::string bytes(line);
        bytes += "\r\n";
        std::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(bytes), ignored);
        socket.close(ignored);
    }
};

} // namespace chatroom
