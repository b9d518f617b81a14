#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>

#include <asio/buffer.hpp>
#include <asio/ip/address.hpp>

#include <optional>
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

/// Addresses have one form wherever they are a key (per-address limits, bans,
/// failed-login budgets) or are shown (logs, events, the host's snapshots):
/// an IPv4-mapped IPv6 address, as a dual-stack listener on :: sees IPv4
/// clients (::ffff:127.0.0.1), is the IPv4 address (127.0.0.1); IPv6 is in
/// the compressed form Asio prints. Everything that turns an address into a
/// key calls one of these two.
inline asio::ip::address canonical_address(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
}

namespace detail {
// Text as an address in its canonical form; nullopt when it is not one.
inline std::optional<asio::ip::address> parse_address(std::string_view text) {
    std::error_code ec;
    auto a = asio::ip::make_address(std::string(text), ec);
    if (ec) return std::nullopt;
    return canonical_address(a);
}
} // namespace detail

/// The same for text (an address typed in /unban, one from a header): text
/// that is not an IP address comes back as it is.
inline std::string canonical_address(std::string_view text) {
    if (auto a = detail::parse_address(text)) return a->to_string();
    return std::string(text);
}

/// Transport tag: TLS over Protocol (asio::ip::tcp); defined in chatroom/tls.hpp.
template <class Protocol>
struct tls;

/// Transport tag: browsers over HTTP and WebSocket, on Stream (asio::ip::tcp
/// or tls<asio::ip::tcp>); defined in chatroom/web.hpp.
template <class Stream>
struct web;

/// What the server and client need to know about a plain Asio stream protocol.
/// TLS (chatroom/tls.hpp) adds its own.
template <class Protocol>
struct stream_transport {
    using protocol_type = Protocol; ///< the Asio protocol (asio::ip::tcp, asio::local::stream_protocol)
    static constexpr bool is_tcp = std::is_same_v<Protocol, asio::ip::tcp>; ///< TCP: keepalive and addresses apply
#if defined(ASIO_HAS_LOCAL_SOCKETS)
    /// Unix sockets: a socket file, no address.
    static constexpr bool is_local = std::is_same_v<Protocol, asio::local::stream_protocol>;
#else
    static constexpr bool is_local = false;
#endif

    /// The peer's address, for logs and per-address limits (empty for Unix
    /// sockets), in its canonical form: every TCP listener (plain, TLS, web)
    /// names its peers here.
    template <class Socket>
    static std::string peer_address(const Socket& socket) {
        if constexpr (is_tcp) {
            std::error_code ec;
            auto ep = socket.remote_endpoint(ec);
            return ec ? std::string("?") : canonical_address(ep.address()).to_string();
        } else {
            (void)socket;
            return {};
        }
    }

    /// Low latency, and keepalive probes so a vanished peer's half-open
    /// connection goes away within minutes rather than hours.
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

    /// A refusal at connect: one line, best effort, then the socket closes.
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
