#pragma once

#include <chatroom/events.hpp>
#include <chatroom/hub.hpp>
#include <chatroom/options.hpp>
#include <chatroom/session.hpp>
#include <chatroom/stats.hpp>
#include <chatroom/transport.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#if defined(ASIO_HAS_LOCAL_SOCKETS)
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace chatroom {

namespace detail {

// How a transport turns an accepted socket into a running session. Plain
// stream protocols need nothing more; TLS (chatroom/tls.hpp) specializes it.
template <class Transport, class Executor>
struct session_factory {
    using protocol_type = Transport;
    using traits = stream_transport<Transport>;
    using socket_type = typename Transport::socket::template rebind_executor<Executor>::other;

    // The executor an accepted socket gets.
    static Executor peer_executor(const Executor& ex) { return ex; }

    void start(socket_type socket, const std::shared_ptr<hub>& h, std::string address) const {
        std::make_shared<session<Transport, Executor>>(std::move(socket), h, std::move(address))->start();
    }
};

} // namespace detail

// A chat server: accepts connections on one endpoint and runs the protocol
// (docs/protocol.md) for them. Transport is an Asio stream protocol
// (asio::ip::tcp, asio::local::stream_protocol) or chatroom::tls<...>;
// Executor runs every handler: set options.concurrency to threading::single
// when exactly one thread runs it, and the server takes no locks.
template <class Transport = asio::ip::tcp, class Executor = asio::any_io_executor>
class basic_server {
    using factory_type = detail::session_factory<Transport, Executor>;
    using traits = typename factory_type::traits;

public:
    using executor_type = Executor;
    using protocol_type = typename factory_type::protocol_type;
    using endpoint_type = typename protocol_type::endpoint;
    using socket_type = typename factory_type::socket_type;
    using acceptor_type = typename protocol_type::acceptor::template rebind_executor<Executor>::other;

    // Extra arguments go to the transport (TLS: the asio::ssl::context).
    template <class... TransportArgs>
    explicit basic_server(const executor_type& ex, server_options options = {}, TransportArgs&&... args)
        : impl_(std::make_shared<impl>(ex, std::move(options), std::forward<TransportArgs>(args)...)) {}

    // The executor's context may be a thread_pool or an io_context.
    template <class ExecutionContext, class... TransportArgs,
              class = std::enable_if_t<std::is_convertible_v<ExecutionContext&, asio::execution_context&>>>
    explicit basic_server(ExecutionContext& context, server_options options = {}, TransportArgs&&... args)
        : basic_server(executor_type(context.get_executor()), std::move(options),
                       std::forward<TransportArgs>(args)...) {}

    basic_server(const basic_server&) = delete;
    basic_server& operator=(const basic_server&) = delete;

    // A server that goes out of scope stops (gracefully, on its executor).
    ~basic_server() {
        if (impl_) stop();
    }

    // Binds, listens and starts accepting. Throws std::system_error.
    void listen(const endpoint_type& endpoint) {
        std::error_code ec;
        listen(endpoint, ec);
        if (ec) throw std::system_error(ec, "chatroom: listen");
    }

    void listen(const endpoint_type& endpoint, std::error_code& ec) { impl_->listen(endpoint, ec); }

    endpoint_type local_endpoint() const {
        detail::optional_lock g(impl_->mutex);
        std::error_code ec;
        return impl_->acceptor.local_endpoint(ec);
    }

    // Hands the server a connected socket, as if it had been accepted.
    void adopt(socket_type socket) { impl_->admit(std::move(socket)); }

    // Graceful stop, callable from any thread: stop accepting, tell every
    // client "* server shutting down", flush for up to
    // options.shutdown_timeout, close. Once the sockets are closed the server
    // has no work left on its executor, so run() returns.
    void stop() {
        asio::post(impl_->executor, [i = impl_] { i->shutdown(); });
    }

    // Observes connects, joins, leaves, messages, nick changes and errors
    // (those in `kinds`). Set it before listen(); the handler runs on the
    // server's threads.
    void on_event(event_handler handler, event_mask kinds = all_events) {
        impl_->hub->set_event_handler(std::move(handler), kinds);
    }

    // Sends "* text" to every member of a room; from any thread.
    void notice(std::string room, std::string text) { inject(std::move(room), {}, std::move(text)); }

    // Sends "<from> text" to every member of a room; from any thread.
    void say(std::string room, std::string from, std::string text) {
        inject(std::move(room), std::move(from), std::move(text));
    }

    server_stats stats() const noexcept { return impl_->hub->stats(); }
    const server_options& options() const noexcept { return impl_->hub->options(); }
    executor_type get_executor() const noexcept { return impl_->executor; }

private:
    void inject(std::string room, std::string from, std::string text) {
        // Through a strand, so injections made in one order arrive in that order.
        asio::post(impl_->injections, [h = impl_->hub, room = std::move(room), from = std::move(from),
                                       text = std::move(text)] { h->inject(room, from, text); });
    }

    // Everything the accept loop's handlers share; they keep it alive.
    struct impl : std::enable_shared_from_this<impl> {
        template <class... TransportArgs>
        impl(const executor_type& ex, server_options options, TransportArgs&&... args)
            : executor(ex),
              factory{std::forward<TransportArgs>(args)...},
              hub(std::make_shared<detail::hub>(asio::any_io_executor(ex), std::move(options))),
              mutex(hub->locking()),
              injections(asio::make_strand(ex)),
              acceptor(ex),
              backoff(ex) {}

        void listen(const endpoint_type& endpoint, std::error_code& ec) {
            detail::optional_lock g(mutex);
            ec.clear();
            if constexpr (traits::is_local) {
                if (!prepare_socket_file(endpoint, ec)) return;
            }
            acceptor.open(endpoint.protocol(), ec);
            if (ec) return;
            if constexpr (traits::is_tcp) {
                acceptor.set_option(asio::socket_base::reuse_address(true), ec);
                // "::" serves IPv4 and IPv6 where the OS allows it.
                if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(false), ec);
                ec.clear();
            }
            acceptor.bind(endpoint, ec);
            if (!ec) {
                if constexpr (traits::is_local) {
                    socket_file = endpoint.path();
                    ::chmod(socket_file.c_str(), static_cast<mode_t>(hub->options().unix_socket_mode));
                }
                acceptor.listen(asio::socket_base::max_listen_connections, ec);
                if (!ec) acceptor.non_blocking(true, ec);
            }
            if (ec) {
                std::error_code ignored;
                acceptor.close(ignored);
                return;
            }
            accept();
        }

        // A socket file left by a crashed server is replaced; one that a live
        // server answers on is an error, never stolen.
        bool prepare_socket_file(const endpoint_type& endpoint, std::error_code& ec) {
#if defined(ASIO_HAS_LOCAL_SOCKETS)
            if constexpr (traits::is_local) {
                struct stat st {};
                const std::string path = endpoint.path();
                if (path.empty() || path[0] == '\0' || ::lstat(path.c_str(), &st) != 0) return true;
                if (!S_ISSOCK(st.st_mode)) {
                    ec = asio::error::address_in_use;
                    return false;
                }
                typename protocol_type::socket probe(executor);
                std::error_code probe_ec;
                probe.connect(endpoint, probe_ec);
                if (!probe_ec) {
                    ec = asio::error::address_in_use;
                    return false;
                }
                ::unlink(path.c_str());
            }
#endif
            (void)endpoint;
            (void)ec;
            return true;
        }

        void accept() {
            acceptor.async_accept(factory_type::peer_executor(executor), [self = this->shared_from_this()](std::error_code ec, socket_type s) {
                self->on_accept(ec, std::move(s));
            });
        }

        void on_accept(std::error_code ec, socket_type socket) {
            detail::optional_lock g(mutex);
            if (!acceptor.is_open() || ec == asio::error::operation_aborted) return;
            if (ec) {
                if (!out_of_resources(ec)) {
                    accept(); // e.g. the peer gave up before we took it
                    return;
                }
                // Out of file descriptors or memory: accepting again at once
                // would spin. Log once per burst and back off, doubling.
                detail::counters::add(hub->count().accept_errors);
                if (!accept_failing)
                    hub->report("accept failed: " + ec.message() + "; backing off until descriptors free up");
                accept_failing = true;
                delay = std::min(delay * 2, max_delay);
                backoff.expires_after(delay);
                backoff.async_wait([self = this->shared_from_this()](std::error_code e) {
                    if (e) return;
                    detail::optional_lock g2(self->mutex);
                    if (self->acceptor.is_open()) self->accept();
                });
                return;
            }
            if (accept_failing) hub->report("accepting again");
            accept_failing = false;
            delay = min_delay;
            admit(std::move(socket));
            // A burst of connections is taken in one go, so the join notices
            // it causes leave in one flush pass rather than one pass each.
            for (int i = 1; i < accept_batch; ++i) {
                std::error_code e;
                socket_type more = acceptor.accept(factory_type::peer_executor(executor), e);
                if (e) break; // would block, or a failure the next async accept reports
                admit(std::move(more));
            }
            accept();
        }

        void admit(socket_type socket) {
            std::string address = traits::peer_address(socket);
            std::string refusal = hub->admit(address);
            if (!refusal.empty()) {
                hub->reject();
                refusal += "\r\n";
                std::error_code ignored;
                socket.non_blocking(true, ignored);
                socket.write_some(asio::buffer(refusal), ignored);
                socket.close(ignored);
                return;
            }
            traits::tune(socket, hub->options().tcp_keepalive);
            factory.start(std::move(socket), hub, std::move(address));
        }

        static bool out_of_resources(const std::error_code& ec) {
            return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                   ec == asio::error::no_memory || ec == std::errc::too_many_files_open_in_system;
        }

        void shutdown() {
            {
                detail::optional_lock g(mutex);
                std::error_code ignored;
                acceptor.close(ignored);
                backoff.cancel();
#if defined(ASIO_HAS_LOCAL_SOCKETS)
                if (!socket_file.empty()) ::unlink(socket_file.c_str());
                socket_file.clear();
#endif
            }
            hub->begin_shutdown();
        }

        static constexpr int accept_batch = 64;
        static constexpr std::chrono::milliseconds min_delay{25};
        static constexpr std::chrono::milliseconds max_delay{1000};

        executor_type executor;
        factory_type factory;
        std::shared_ptr<detail::hub> hub;
        detail::optional_mutex mutex; // the acceptor, the backoff timer
        asio::strand<Executor> injections;
        acceptor_type acceptor;
        asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                   Executor>
            backoff;
        std::chrono::milliseconds delay = min_delay;
        bool accept_failing = false;
        std::string socket_file;
    };

    std::shared_ptr<impl> impl_;
};

using server = basic_server<asio::ip::tcp>;

} // namespace chatroom
