#pragma once

/// @file
/// Browsers in the same rooms: a web listener that serves the chat page at
/// GET /, WebSocket (RFC 6455) at GET /ws, GET /healthz ("ok"), and with
/// web_options::metrics GET /metrics (Prometheus text); 404 for anything else,
/// no files are ever served. Opt-in: it needs only Asio, and OpenSSL for
/// https/wss when CHATROOM_USE_OPENSSL is defined.
///
/// @code
///   chatroom::server server(io);
///   server.listen(tcp_endpoint);                          // telnet, nc
///   chatroom::listen_web(server, web_endpoint, chatroom::web_options{});  // browsers
///   chatroom::listen_web_tls(server, endpoint, options, chatroom::make_server_tls_context(cert, key));
/// @endcode
///
/// A browser that asks for the WebSocket subprotocol chatroom.v1 speaks the
/// JSON dialect instead (docs/web-protocol.md): one JSON object per text
/// message each way, events and replies typed. Otherwise:
/// one browser message is one line of the protocol (CR and LF in it become
/// spaces), with the same sanitizing, line limit, flood control and commands;
/// every line the server sends is one text frame, framed once per event and
/// shared by every browser that receives it. A connection becomes a member
/// only after its 101 response. The policy (Host, Origin, X-Forwarded-For,
/// pings) is web_options' (options.hpp, detail/policy.hpp); the HTTP exchange
/// is in detail/exchange.hpp, the pings in detail/keepalive.hpp, the stream in
/// detail/stream.hpp, the decoder and the wire dialect in detail/decoder.hpp.

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/session.hpp>
#include <chatroom/core/detail/socket_stream.hpp>
#include <chatroom/web/detail/decoder.hpp>
#include <chatroom/web/detail/http_response.hpp>
#include <chatroom/web/detail/json_interpreter.hpp>
#include <chatroom/web/detail/json_renderer.hpp>
#include <chatroom/web/options.hpp>
#include <chatroom/web/detail/policy.hpp>
#include <chatroom/web/detail/stream.hpp>
#include <chatroom/server.hpp>
#include <chatroom/core/transport.hpp>

#if defined(CHATROOM_USE_OPENSSL)
#include <chatroom/tls.hpp>
#endif

#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace chatroom {

/// Transport tag: browsers over HTTP and WebSocket on Stream (asio::ip::tcp,
/// or tls<asio::ip::tcp> for https and wss).
template <class Stream>
struct web {};

namespace detail {

// What the two web factories share: the options, and the start of a
// session once a connection's exchange ended in a 101.
struct web_factory_base {
    // The page's CSP and gzip variant are made here, once, as the listener
    // starts, not by the first GET / in a handler.
    explicit web_factory_base(web_options o) : options(std::make_shared<const web_options>(std::move(o))) {
        (void)web_page_csp();
        (void)web_page_gzip();
    }

    // The local endpoint is the connection's own, which is what a Host
    // header names (a listener bound to 0.0.0.0 answers on several).
    template <class Socket>
    static asio::ip::tcp::endpoint local_of(const Socket& socket) {
        std::error_code ec;
        return socket.local_endpoint(ec);
    }

    template <class Inner>
    void start_web(Inner inner, const asio::ip::tcp::endpoint& local, const std::shared_ptr<hub>& h,
                   std::string address, bool tls) const {
        auto c = std::make_shared<web_connection<Inner>>(std::move(inner), h, options, tls, std::move(address), local);
        asio::dispatch(c->get_executor(), [c, h] {
            c->start_handshake([weak = std::weak_ptr<web_connection<Inner>>(c), h] {
                auto conn = weak.lock();
                if (!conn) return;
                using session_type = session<web_stream<Inner>, web_decoder>;
                const bool json = conn->wants_json();
                auto link = conn->link();
                link->json = json;
                const renderer& dialect = json ? static_cast<const renderer&>(json_dialect()) : web_dialect();
                const interpreter& meaning =
                    json ? static_cast<const interpreter&>(json_interpreter_instance()) : line_interpreter_instance();
                auto s = std::make_shared<session_type>(web_stream<Inner>(conn), h, dialect, meaning, conn->address(),
                                                        h->options().max_line_bytes, link);
                conn->bind(s);
                s->start();
            });
        });
    }

    // A refusal at connect (server full, too many from one address) as an
    // HTTP response, best effort, before reading the request.
    template <class Socket>
    static void refuse_plain(Socket& socket, std::string_view line) {
        const std::string bytes = closing_response(503, std::string(line) + "\n");
        std::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(bytes), ignored);
        socket.close(ignored);
    }

    std::shared_ptr<const web_options> options;
};

template <class Protocol>
struct session_factory<web<Protocol>> : web_factory_base {
    static_assert(std::is_same_v<Protocol, asio::ip::tcp>, "the web listener serves TCP (or tls<asio::ip::tcp>)");
    using protocol_type = Protocol;

    explicit session_factory(web_options o = {}) : web_factory_base(std::move(o)) {}

    template <class Socket>
    void start(Socket socket, const std::shared_ptr<hub>& h, std::string address) const {
        const asio::ip::tcp::endpoint local = local_of(socket);
        start_web(socket_stream<Socket>(std::move(socket)), local, h, std::move(address), false);
    }

    template <class Socket>
    void refuse(Socket& socket, const reply& refusal) const {
        refuse_plain(socket, text_of(refusal));
    }
};

#if defined(CHATROOM_USE_OPENSSL)
template <class Protocol>
struct session_factory<web<tls<Protocol>>> : web_factory_base {
    static_assert(std::is_same_v<Protocol, asio::ip::tcp>, "the web listener serves TCP (or tls<asio::ip::tcp>)");
    using protocol_type = Protocol;

    session_factory(web_options o, tls_context ctx) : web_factory_base(std::move(o)), context(std::move(ctx)) {}

    template <class Socket>
    void start(Socket socket, const std::shared_ptr<hub>& h, std::string address) const {
        const asio::ip::tcp::endpoint local = local_of(socket);
        start_web(tls_stream<Socket>(std::move(socket), *context, h, address), local, h, std::move(address), true);
    }

    // Before the TLS handshake: a TLS client would read HTTP as garbage, so
    // it just sees the connection close.
    template <class Socket>
    void refuse(Socket& socket, const reply&) const {
        std::error_code ignored;
        socket.close(ignored);
    }

    tls_context context;
};
#endif

} // namespace detail

/// Serves browsers (the chat page, WebSocket, /healthz and, when asked,
/// /metrics) on endpoint, into the same rooms as the server's other
/// listeners; returns the endpoint it bound. Throws std::system_error; the
/// overloads with an error_code set it instead and return a default endpoint.
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_web(basic_server<Transport, Executor>& server, const asio::ip::tcp::endpoint& endpoint,
                                   web_options options = {}) {
    return server.template listen_as<web<asio::ip::tcp>>(endpoint, std::move(options));
}
/// The same, setting ec instead of throwing (and returning a default endpoint).
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_web(basic_server<Transport, Executor>& server, const asio::ip::tcp::endpoint& endpoint,
                                   web_options options, std::error_code& ec) {
    return server.template listen_as<web<asio::ip::tcp>>(endpoint, ec, std::move(options));
}

#if defined(CHATROOM_USE_OPENSSL)
/// Browsers over https and wss: the same, with TLS (needs chatroom/tls.hpp).
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_web_tls(basic_server<Transport, Executor>& server,
                                       const asio::ip::tcp::endpoint& endpoint, web_options options,
                                       tls_context context) {
    return server.template listen_as<web<tls<asio::ip::tcp>>>(endpoint, std::move(options), std::move(context));
}
/// The same, setting ec instead of throwing (and returning a default endpoint).
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_web_tls(basic_server<Transport, Executor>& server,
                                       const asio::ip::tcp::endpoint& endpoint, web_options options,
                                       tls_context context, std::error_code& ec) {
    return server.template listen_as<web<tls<asio::ip::tcp>>>(endpoint, ec, std::move(options), std::move(context));
}
#endif
} // namespace chatroom
