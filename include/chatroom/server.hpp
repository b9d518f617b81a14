#pragma once

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/injection.hpp>
#include <chatroom/core/detail/listener.hpp>
#include <chatroom/core/detail/server_core.hpp>
#include <chatroom/core/access.hpp>
#include <chatroom/core/command_error.hpp>
#include <chatroom/core/event_subscription.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/history.hpp>
#include <chatroom/core/host_error.hpp>
#include <chatroom/core/room_options.hpp>
#include <chatroom/core/server_controls.hpp>
#include <chatroom/line/detail/session_factory.hpp>
#include <chatroom/core/options.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/stats.hpp>
#include <chatroom/core/transport.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace chatroom {

/// A chat server: one set of rooms, nicks and limits, served on any number of
/// listeners of any transport at once (docs/protocol.md is the protocol).
/// Transport is what listen(endpoint) serves: an Asio stream protocol
/// (asio::ip::tcp, asio::local::stream_protocol) or chatroom::tls<...>, whose
/// extra constructor arguments it takes (TLS: the tls_context). Executor runs
/// every handler: set options.concurrency to threading::single when exactly
/// one thread runs it, and the server takes no locks.
///
/// Every public function may be called from any thread, also from inside the
/// host's event and command handlers (not from the access hooks, which run
/// with the server's lock held). What the host's code throws is caught and
/// reported (events.hpp, access.hpp); none of it runs once the destructor has
/// returned or async_stop has completed. Each call that throws
/// std::system_error has an overload with a std::error_code& instead. The
/// host's snapshots and controls (rooms, members, kick, move, rename,
/// set_topic, the rooms it makes) come from server_controls.
template <class Transport = asio::ip::tcp, class Executor = asio::any_io_executor>
class basic_server : public server_controls<basic_server<Transport, Executor>> {
    using factory_type = detail::session_factory<Transport>;
    using default_listener = detail::listener<factory_type, Executor>;

public:
    using executor_type = Executor; ///< runs every handler
    using protocol_type = typename factory_type::protocol_type; ///< Transport's Asio protocol (tls<P>, web<P>: P)
    using endpoint_type = typename protocol_type::endpoint; ///< what listen() binds
    using socket_type = typename protocol_type::socket::template rebind_executor<Executor>::other; ///< what adopt() takes

    /// A server on ex; args are Transport's extra ones (TLS: the tls_context).
    template <class... TransportArgs>
    explicit basic_server(const executor_type& ex, server_options options = {}, TransportArgs&&... args)
        : impl_(std::make_shared<impl>(ex, std::move(options))),
          factory_{std::forward<TransportArgs>(args)...} {}

    /// The same on context's executor: a thread_pool's or an io_context's.
    template <class ExecutionContext, class... TransportArgs,
              class = std::enable_if_t<std::is_convertible_v<ExecutionContext&, asio::execution_context&>>>
    explicit basic_server(ExecutionContext& context, server_options options = {}, TransportArgs&&... args)
        : basic_server(executor_type(context.get_executor()), std::move(options),
                       std::forward<TransportArgs>(args)...) {}

    basic_server(const basic_server&) = delete;
    basic_server& operator=(const basic_server&) = delete;

    /// No callback of the host's (event and command handlers, access hooks)
    /// runs once the destructor has returned: it waits for those under way on
    /// other threads, so they may capture what dies with the server's owner.
    /// Called from inside one of them (the server's own thread), it does not
    /// wait for that one, which is the last. Then the server stops gracefully
    /// as with stop(), on its executor, without the host's callbacks (the
    /// shutdown's left and disconnected events are not delivered).
    ~basic_server() {
        if (!impl_) return;
        impl_->hub->host().detach();
        stop();
    }

    /// Binds, listens and starts accepting with the server's own Transport.
    /// May be called again for more endpoints. Throws std::system_error.
    void listen(const endpoint_type& endpoint) {
        std::error_code ec;
        listen(endpoint, ec);
        if (ec) throw std::system_error(ec, "chatroom: listen");
    }
    /// As listen(endpoint), setting ec instead of throwing.
    void listen(const endpoint_type& endpoint, std::error_code& ec) {
        auto l = open<factory_type>(endpoint, ec, factory_);
        if (!ec && !first_) first_ = l;
    }

    /// The first endpoint listen() bound (the port, when 0 was asked for).
    endpoint_type local_endpoint() const { return first_ ? first_->local_endpoint() : endpoint_type(); }

    ///@{
    /// More listeners into the same rooms, of other transports. Each returns
    /// the endpoint it bound and throws std::system_error on failure; the
    /// overloads with an error_code return a default endpoint then.
    asio::ip::tcp::endpoint listen_tcp(const asio::ip::tcp::endpoint& endpoint) {
        return listen_as<asio::ip::tcp>(endpoint);
    }
    asio::ip::tcp::endpoint listen_tcp(const asio::ip::tcp::endpoint& endpoint, std::error_code& ec) {
        return listen_as<asio::ip::tcp>(endpoint, ec);
    }
#if defined(ASIO_HAS_LOCAL_SOCKETS)
    asio::local::stream_protocol::endpoint listen_unix(const std::string& path) {
        return listen_as<asio::local::stream_protocol>(asio::local::stream_protocol::endpoint(path));
    }
    asio::local::stream_protocol::endpoint listen_unix(const std::string& path, std::error_code& ec) {
        return listen_as<asio::local::stream_protocol>(asio::local::stream_protocol::endpoint(path), ec);
    }
#endif
    ///@}
    /// 2.x forms of chatroom::listen_tls, listen_web and listen_web_tls (which
    /// come with chatroom/tls.hpp and chatroom/web.hpp), kept for 3.0 only:
    /// each needs its subsystem's header included all the same.
    template <class Context>
    asio::ip::tcp::endpoint listen_tls(const asio::ip::tcp::endpoint& endpoint, Context context) {
        return listen_as<tls<asio::ip::tcp>>(endpoint, std::move(context));
    }
    /// The 2.x form of chatroom::listen_web (chatroom/web.hpp).
    template <class Options>
    asio::ip::tcp::endpoint listen_web(const asio::ip::tcp::endpoint& endpoint, Options options) {
        return listen_as<web<asio::ip::tcp>>(endpoint, std::move(options));
    }
    /// The 2.x form of chatroom::listen_web_tls (chatroom/web.hpp and tls.hpp).
    template <class Options, class Context>
    asio::ip::tcp::endpoint listen_web_tls(const asio::ip::tcp::endpoint& endpoint, Options options,
                                           Context context) {
        return listen_as<web<tls<asio::ip::tcp>>>(endpoint, std::move(options), std::move(context));
    }

    /// The general form: a listener of transport T, whose factory takes args.
    template <class T, class... FactoryArgs,
              std::enable_if_t<!detail::starts_with_error_code<FactoryArgs...>::value, int> = 0>
    typename detail::session_factory<T>::protocol_type::endpoint listen_as(
        const typename detail::session_factory<T>::protocol_type::endpoint& endpoint, FactoryArgs&&... args) {
        std::error_code ec;
        auto bound = listen_as<T>(endpoint, ec, std::forward<FactoryArgs>(args)...);
        if (ec) throw std::system_error(ec, "chatroom: listen");
        return bound;
    }
    /// The same, setting ec instead of throwing (returning a default endpoint).
    template <class T, class... FactoryArgs>
    typename detail::session_factory<T>::protocol_type::endpoint listen_as(
        const typename detail::session_factory<T>::protocol_type::endpoint& endpoint, std::error_code& ec,
        FactoryArgs&&... args) {
        auto l = open<detail::session_factory<T>>(endpoint, ec,
                                                  detail::session_factory<T>{std::forward<FactoryArgs>(args)...});
        return l ? l->local_endpoint() : decltype(l->local_endpoint())();
    }

    /// Hands the server a connected socket, as if listen() had accepted it.
    /// Throws std::system_error when the socket is not open.
    void adopt(socket_type socket) {
        std::error_code ec;
        adopt(std::move(socket), ec);
        if (ec) throw std::system_error(ec, "chatroom: adopt");
    }
    /// As adopt(socket), setting ec instead of throwing.
    void adopt(socket_type socket, std::error_code& ec) { impl_->template adopt<default_listener>(socket, factory_, ec); }

    /// Graceful stop, from any thread: stop accepting, tell every client
    /// "* server shutting down", flush for up to options.shutdown_timeout,
    /// close; then the server has no work left on its executor: run() returns.
    void stop() {
        asio::post(impl_->executor, [i = impl_] { i->shutdown(); });
    }

    /// stop(), and completes (signature void()) once it is over: every
    /// connection is closed and gone, and no callback of the host's runs
    /// again (as after the destructor). Any Asio completion token: a callback,
    /// asio::use_future, asio::deferred, asio::use_awaitable. The completion
    /// runs on the handler's associated executor (by default the server's),
    /// also when the server object was destroyed meanwhile, like any Asio
    /// operation outstanding; and at once (posted) if it had stopped already.
    template <class CompletionToken>
    auto async_stop(CompletionToken&& token) {
        return detail::async_stop(impl_, std::forward<CompletionToken>(token));
    }

    /// Adds a handler of the events of the kinds in `kinds` (connects, joins,
    /// leaves, messages, nick changes, moderation, errors: events.hpp, which
    /// states when and on which thread handlers run, one at a time and in the
    /// room's order). Each call adds one; the returned subscription ends it.
    /// Kinds no handler asked for cost nothing (`message`: nothing per line).
    event_subscription on_event(event_handler handler, event_mask kinds = all_events) {
        return impl_->hub->subscribe(std::move(handler), kinds);
    }

    /// Sends "* text" to every member of a room; from any thread. Into a room
    /// that does not exist (on this server) it does nothing: async_notice says so.
    void notice(std::string room, std::string text) { inject(std::move(room), {}, std::move(text)); }

    /// Sends "<from> text" to every member of a room, and on_event sees it as a
    /// message event with nick `from`; from any thread.
    void say(std::string room, std::string from, std::string text) {
        inject(std::move(room), std::move(from), std::move(text));
    }

    /// notice() and say() that complete when the line is sent, with
    /// void(std::error_code): empty, or host_errc::no_such_room. Any Asio
    /// completion token (a callback, asio::use_future, (experimental::)
    /// deferred, use_awaitable); the handler runs on its associated executor
    /// (by default the server's). From any thread; calls made in one order
    /// from one thread are sent in that order, with notice() and say() too.
    template <class CompletionToken>
    auto async_notice(std::string room, std::string text, CompletionToken&& token) {
        return detail::async_inject(impl_->hub, impl_->injections, impl_->executor, std::move(room), {},
                                    std::move(text), std::forward<CompletionToken>(token));
    }
    /// say() that completes when the line is sent, as async_notice() does.
    template <class CompletionToken>
    auto async_say(std::string room, std::string from, std::string text, CompletionToken&& token) {
        return detail::async_inject(impl_->hub, impl_->injections, impl_->executor, std::move(room),
                                    std::move(from), std::move(text), std::forward<CompletionToken>(token));
    }

    /// Before the first listen(): replaces the in-process room log, e.g. with a
    /// backplane shared by several servers; make(sink) builds it, the server
    /// keeps it. A log that orders events at once delivers them to sink from
    /// inside append(); one that orders them elsewhere, to deliver_ordered().
    void set_room_log(std::function<std::unique_ptr<room_log>(room_event_sink&)> make) {
        impl_->hub->set_log(make);
    }

    /// Before the first listen(): where rooms' messages are kept beyond the
    /// in-memory ring (history.hpp; SQLite: chatroom/sqlite.hpp). Every chat
    /// line and action is handed to it; /history and async_history ask it; a
    /// room that opens replays its last options.history_lines from it. The
    /// server stops it when it stops, so what was said is written.
    void set_history_store(std::unique_ptr<history_store> store) { impl_->hub->set_history(std::move(store)); }

    /// A page of a room's history (history.hpp: latest, before or after an
    /// id, between two ids or times), from the store, else the room's ring.
    /// Completes with void(std::error_code, history_page): history_errc on
    /// failure. Any completion token; from any thread; the handler runs on
    /// its associated executor (by default the server's).
    template <class CompletionToken>
    auto async_history(history_query query, CompletionToken&& token) {
        return detail::async_history(impl_, std::move(query), std::forward<CompletionToken>(token));
    }

    /// The sink a backplane hands the events it ordered to; any thread.
    void deliver_ordered(const room_event& e) { impl_->hub->deliver_ordered(e); }

    // ---- who may do what (access.hpp, docs/protocol.md) -----------------------

    /// The host's hooks: admission, login, registered names, authorization.
    void set_access(access_hooks hooks) { impl_->hub->set_access(std::move(hooks)); }

    /// Replaces the welcome text new members get; any thread.
    void set_motd(std::string text) { impl_->hub->set_motd(std::move(text)); }

    /// A command of the host's: /name ARGS runs handler, and /help shows help.
    /// Refused (false; ec says why, command_error.hpp) for a bad name, an empty
    /// handler, or a name a built-in or an earlier command has, unless replace
    /// (which replaces either). The handler runs on a server thread with no
    /// server lock held; if it throws, the caller gets "! command failed"
    /// (nothing it asked for is sent) and the host an error event.
    bool add_command(std::string name, std::string help, command_handler handler, bool replace = false) {
        std::error_code ec;
        return add_command(std::move(name), std::move(help), std::move(handler), ec, replace);
    }
    /// The same, setting ec to why it was refused (clearing it when added).
    bool add_command(std::string name, std::string help, command_handler handler, std::error_code& ec,
                     bool replace = false) {
        ec = impl_->hub->add_command(std::move(name), std::move(help), std::move(handler), replace);
        return !ec;
    }

    server_stats stats() const noexcept { return impl_->hub->stats(); }               ///< a snapshot of its counters
    const server_options& options() const noexcept { return impl_->hub->options(); } ///< the options in force
    executor_type get_executor() const noexcept { return impl_->executor; }           ///< the executor it runs on

private:
    friend class server_controls<basic_server>;

    template <class Factory>
    std::shared_ptr<detail::listener<Factory, Executor>> open(
        const typename Factory::protocol_type::endpoint& endpoint, std::error_code& ec, Factory factory) {
        auto l = std::make_shared<detail::listener<Factory, Executor>>(impl_->executor, impl_->hub, std::move(factory));
        l->open(endpoint, ec);
        if (ec) return nullptr;
        impl_->add(l);
        l->start();
        return l;
    }

    void inject(std::string room, std::string from, std::string text) {
        // Through a strand, so injections made in one order arrive in that order.
        asio::post(impl_->injections, [h = impl_->hub, room = std::move(room), from = std::move(from),
                                       text = std::move(text)] { h->inject(room, from, text); });
    }

    using impl = detail::server_core<Executor>; ///< what outlives the server object while work is pending

    std::shared_ptr<impl> impl_;
    factory_type factory_;
    std::shared_ptr<default_listener> first_;
};

using server = basic_server<asio::ip::tcp>; ///< the plain TCP chat server

} // namespace chatroom
