#pragma once

/// @file
/// IRC clients in the same rooms: a listener speaking IRC (irssi, WeeChat,
/// HexChat, irctest's clients) into the rooms of the server's other
/// listeners. Room `dev` is channel `#dev`; a telnet user in `dev` and an IRC
/// user in `#dev` read one conversation. Asio only.
///
/// @code
///   chatroom::server server(io);
///   server.listen(tcp_endpoint);                                  // telnet, nc
///   chatroom::listen_irc(server, irc_endpoint, chatroom::irc_options{}); // IRC clients
///   chatroom::listen_irc_tls(server, ircs_endpoint, chatroom::irc_options{},
///                            chatroom::make_server_tls_context(cert, key));   // IRC over TLS
/// @endcode
///
/// What is supported, exactly as tested, is in docs/irc.md. Each connection
/// is a member like any other (the same nick table, limits, flood control,
/// bans and slow-consumer policy); its registration and capabilities live
/// in its own renderer (detail/connection.hpp), its commands are read by
/// detail/interpreter.hpp, and room events are written by the shared
/// event_renderer for its capabilities (renderer.hpp).

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/session.hpp>
#include <chatroom/core/detail/socket_stream.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/transport.hpp>
#include <chatroom/irc/detail/config.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/interpreter.hpp>
#include <chatroom/irc/detail/keepalive.hpp>
#include <chatroom/irc/framer.hpp>
#include <chatroom/irc/options.hpp>
#include <chatroom/line/replies.hpp>
#include <chatroom/server.hpp>

#if defined(CHATROOM_USE_OPENSSL)
#include <chatroom/tls/tls.hpp>
#endif

#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace chatroom {

/// Transport tag: IRC on a Protocol socket (asio::ip::tcp), or over TLS
/// (irc_transport<tls<asio::ip::tcp>>, listen_irc_tls).
template <class Protocol>
struct irc_transport {};

namespace detail {

// The session's decoder for IRC: the framer's lines, and the connection's
// pending lines as the bytes the session sends back after each line. It
// tells the connection's keepalive (if any) of every read, and stops it
// when the session is done.
class irc_decoder {
public:
    irc_decoder(std::size_t max_line_bytes, std::shared_ptr<irc::detail::connection> conn,
                std::shared_ptr<irc::detail::keepalive> alive)
        : framer_(max_line_bytes), conn_(std::move(conn)), alive_(std::move(alive)) {}
    ~irc_decoder() {
        if (alive_) alive_->stop();
    }
    irc_decoder(const irc_decoder&) = delete;
    irc_decoder& operator=(const irc_decoder&) = delete;

    template <class Handler>
    std::size_t feed(const char* data, std::size_t size, Handler&& on) {
        if (alive_) alive_->heard();
        return framer_.feed(data, size, on);
    }
    template <class Handler>
    void finish(Handler&& on) {
        framer_.finish(on);
    }
    std::string& replies() noexcept { return conn_->state().pending; }

private:
    irc::framer framer_;
    std::shared_ptr<irc::detail::connection> conn_; // the member's renderer: it lives as long as the session
    std::shared_ptr<irc::detail::keepalive> alive_; // null: no keepalive (ping_interval 0)
};

// One IRC session on stream (a plain socket's or a TLS stream), with its
// renderer and keepalive; what the plain and TLS listeners share.
template <class Stream>
void start_irc_session(Stream stream, const std::shared_ptr<hub>& h, std::string address,
                       const std::shared_ptr<const irc::detail::config>& config) {
    auto conn = std::make_shared<irc::detail::connection>(config);
    const irc_options& o = config->options;
    std::shared_ptr<irc::detail::keepalive> alive;
    if (o.ping_interval.count() > 0)
        alive = std::make_shared<irc::detail::keepalive>(stream.get_executor(), o.server_name, o.ping_interval,
                                                         o.pong_timeout);
    auto s = std::make_shared<session<Stream, irc_decoder>>(std::move(stream), h, *conn,
                                                            irc::detail::interpreter_instance(), std::move(address),
                                                            o.max_line_bytes, conn, alive);
    conn->bind(*s, h->options().max_rooms_per_member, h->options().history_page);
    // A refused PASS ends the connection: asked with the hub's lock held, so
    // posted, like the keepalive's drop.
    conn->on_drop([ex = s->stream().get_executor(), wm = std::weak_ptr<member>(s), wh = std::weak_ptr<hub>(h)](
                      std::string why) {
        asio::post(ex, [wm, wh, why = std::move(why)] {
            auto m = wm.lock();
            auto hub_ptr = wh.lock();
            if (m && hub_ptr && !m->is_closed()) hub_ptr->depart(*m, leave_reason::quit, true, why);
        });
    });
    s->start();
    if (alive) alive->start(s, h);
}

template <class Protocol>
struct session_factory<irc_transport<Protocol>> {
    using protocol_type = Protocol;

    explicit session_factory(irc_options o = {}) : config(std::make_shared<const irc::detail::config>(std::move(o))) {}

    template <class Socket>
    void start(Socket socket, const std::shared_ptr<hub>& h, std::string address) const {
        start_irc_session(socket_stream<Socket>(std::move(socket)), h, std::move(address), config);
    }

    template <class Socket>
    void refuse(Socket& socket, const reply& refusal) const {
        const std::string why = text_of(refusal);
        stream_transport<Protocol>::refuse(socket, "ERROR :Closing link: " + why.substr(0, why.find('\n')));
    }

    std::shared_ptr<const irc::detail::config> config;
};

#if defined(CHATROOM_USE_OPENSSL)
// IRC over TLS: the line protocol's TLS stream (tls/tls.hpp), its handshake
// and handshake timeout, under the same IRC session.
template <class Protocol>
struct session_factory<irc_transport<tls<Protocol>>> {
    using protocol_type = Protocol;

    session_factory(irc_options o, tls_context ctx)
        : config(std::make_shared<const irc::detail::config>(std::move(o))), context(std::move(ctx)) {}

    template <class Socket>
    void start(Socket socket, const std::shared_ptr<hub>& h, std::string address) const {
        tls_stream<Socket> stream(std::move(socket), *context, h, address); // before address is moved
        start_irc_session(std::move(stream), h, std::move(address), config);
    }

    // Before the handshake: a TLS client would read IRC text as garbage, so
    // it sees the connection close.
    template <class Socket>
    void refuse(Socket& socket, const reply&) const {
        std::error_code ignored;
        socket.close(ignored);
    }

    std::shared_ptr<const irc::detail::config> config;
    tls_context context;
};
#endif

} // namespace detail

/// Serves IRC clients on endpoint, into the same rooms as the server's other
/// listeners; returns the endpoint it bound. Call it before or after run(),
/// from any thread, like server::listen. Throws std::system_error; the
/// overload with an error_code sets it instead and returns a default endpoint.
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_irc(basic_server<Transport, Executor>& server, const asio::ip::tcp::endpoint& endpoint,
                                   irc_options options = {}) {
    return server.template listen_as<irc_transport<asio::ip::tcp>>(endpoint, std::move(options));
}

/// The same, setting ec instead of throwing (and returning a default endpoint).
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_irc(basic_server<Transport, Executor>& server, const asio::ip::tcp::endpoint& endpoint,
                                   irc_options options, std::error_code& ec) {
    return server.template listen_as<irc_transport<asio::ip::tcp>>(endpoint, ec, std::move(options));
}

#if defined(CHATROOM_USE_OPENSSL)
/// IRC clients over TLS (ircs, port 6697 by convention): the same, on the
/// TLS transport of listen_tls (chatroom/tls.hpp), with its context.
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_irc_tls(basic_server<Transport, Executor>& server,
                                       const asio::ip::tcp::endpoint& endpoint, irc_options options,
                                       tls_context context) {
    return server.template listen_as<irc_transport<tls<asio::ip::tcp>>>(endpoint, std::move(options),
                                                                         std::move(context));
}
/// The same, setting ec instead of throwing (and returning a default endpoint).
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_irc_tls(basic_server<Transport, Executor>& server,
                                       const asio::ip::tcp::endpoint& endpoint, irc_options options,
                                       tls_context context, std::error_code& ec) {
    return server.template listen_as<irc_transport<tls<asio::ip::tcp>>>(endpoint, ec, std::move(options),
                                                                         std::move(context));
}
#endif

} // namespace chatroom
