#pragma once

#include <string>
#include <system_error>

namespace chatroom::detail {

// How the client opens, secures and closes its stream. Plain stream
// protocols use the socket itself; TLS (chatroom/tls.hpp) specializes it.
template <class Transport, class Executor>
struct client_transport {
    using protocol_type = Transport;
    using socket_type = typename Transport::socket::template rebind_executor<Executor>::other;
    using stream_type = socket_type;

    stream_type make_stream(const Executor& ex) const { return stream_type(ex); }
    static socket_type& socket(stream_type& s) { return s; }

    // Whether a connection may be made with this host name (empty when
    // connecting by endpoint): plain streams verify nothing, so always.
    std::error_code target_error(const std::string& /*host*/) const { return {}; }

    template <class Handler>
    void async_handshake(stream_type&, const std::string& /*host*/, Handler&& h) const {
        h(std::error_code());
    }
};

} // namespace chatroom::detail
