#pragma once

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/session.hpp>
#include <chatroom/core/detail/socket_stream.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/transport.hpp>
#include <chatroom/line/detail/interpreter.hpp>
#include <chatroom/line/framer.hpp>
#include <chatroom/line/renderer.hpp>
#include <chatroom/line/replies.hpp>

#include <memory>
#include <string>
#include <utility>

namespace chatroom::detail {

// How a transport turns an admitted socket into a running session. Plain
// stream protocols speak the line protocol on the socket itself; TLS
// (tls.hpp) and the web listener (web.hpp) specialize it.
template <class Transport>
struct session_factory {
    using protocol_type = Transport;

    template <class Socket>
    void start(Socket socket, const std::shared_ptr<hub>& h, std::string address) const {
        using stream_type = socket_stream<Socket>;
        std::make_shared<session<stream_type, line_framer>>(stream_type(std::move(socket)), h, line_dialect(), line_interpreter_instance(),
                                                            std::move(address), h->options().max_line_bytes)
            ->start();
    }

    template <class Socket>
    void refuse(Socket& socket, const reply& refusal) const {
        stream_transport<Transport>::refuse(socket, text_of(refusal));
    }
};

} // namespace chatroom::detail
