#pragma once

#include <chatroom/client/detail/backoff.hpp>
#include <chatroom/client/detail/connection.hpp>
#include <chatroom/client/detail/transport.hpp>
#include <chatroom/client/errors.hpp>
#include <chatroom/client/options.hpp>
#include <chatroom/client/state.hpp>
#include <chatroom/core/transport.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/async_result.hpp>
#include <asio/execution_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace chatroom {

/// A chat client: connects, reports each line the server sends, sends lines.
///
/// Threads. Every member function may be called from any thread, at any
/// time, except the on_* setters, which are meant for before connect (they
/// are not synchronized with a connection that runs). Callbacks (on_line,
/// on_connect, on_disconnect, on_state) run on the client's strand, one at a
/// time, never inside a member function's call. No member function blocks
/// (but the destructor, while a callback runs on another thread), and none
/// throws but send(line) (std::system_error, see below; send(line, ec)
/// reports the same through ec) and std::bad_alloc.
///
/// Asynchronous operations. async_connect, async_send, async_receive and
/// async_close take any Asio completion token: a callback, asio::use_future,
/// asio::deferred (asio::experimental::deferred before Asio 1.24),
/// asio::use_awaitable and the like. Each completes exactly once, never
/// inside the initiating call, on the handler's associated executor (the
/// client's strand when it has none, so plain callbacks are serialized with
/// the callbacks above), and keeps that executor busy (outstanding work)
/// until it completes. When the client closes for good, what is still
/// pending fails with the error that closed it (what on_disconnect gets), or
/// client_errc::closed after a clean end; abort() and the destructor make
/// every pending operation fail with asio::error::operation_aborted. Those
/// completions may run after the destructor has returned, as with any Asio
/// I/O object; the callbacks above never do.
///
/// Lines received. Each line goes to on_line when one is set; otherwise it
/// waits for async_receive, in a queue of at most
/// client_options::max_receive_queue_bytes (past it, lines are dropped and
/// lines_dropped_marker is received where they were). Lines still queued
/// when the client closes are received before the error.
///
/// Every line received is sanitized (chatroom/sanitize.hpp) before it is
/// passed on, so a hostile server cannot put escape sequences on a terminal.
///
/// With a reconnect_policy, a lost connection is followed by new attempts
/// (host names are resolved again each time) until one succeeds or close()
/// is called. Output not yet written when a connection is lost stays queued
/// for the next one; what was being written is dropped, since nobody can
/// tell how much of it the server got (its async_sends fail). Lines sent
/// while disconnected are queued up to client_options::max_queue_bytes;
/// beyond that they are dropped (async_send: asio::error::no_buffer_space).
/// Lines sent by the on_connect or on_state(connected) handler go out before
/// that backlog, so a nick or room re-applied there comes first.
template <class Transport = asio::ip::tcp, class Executor = asio::any_io_executor>
class basic_client {
    using transport_type = detail::client_transport<Transport, Executor>;
    using strand_type = asio::strand<Executor>;

public:
    /// The executor the client runs on (its strand is made over it).
    using executor_type = Executor;
    /// The stream protocol under the transport (asio::ip::tcp for TCP and TLS).
    using protocol_type = typename transport_type::protocol_type;
    /// What connect(endpoint) takes: an address and port, or a Unix socket path.
    using endpoint_type = typename protocol_type::endpoint;
    /// Used when no completion token is given (Asio's default for the executor).
    using default_token = typename asio::default_completion_token<executor_type>::type;

    /// Gets each line from the server, sanitized, without its line end.
    using line_handler = std::function<void(std::string_view line)>;
    /// Called each time a connection is up (the TLS handshake done).
    using connect_handler = std::function<void()>;
    /// ec is empty after close() or a clean end by the server; reason says what happened.
    /// Called once, when the client is closed for good.
    using disconnect_handler = std::function<void(std::error_code ec, const std::string& reason)>;
    /// ec: why a connection ended or an attempt failed (empty for a clean end
    /// by either side); next_try: the delay before the next attempt, with
    /// waiting_to_reconnect, otherwise zero.
    using state_handler = std::function<void(client_state state, std::error_code ec, std::chrono::milliseconds next_try)>;

    /// A client on ex, not connected yet. transport_args: the tls_context for TLS.
    template <class... TransportArgs>
    explicit basic_client(const executor_type& ex, client_options options = {}, TransportArgs&&... args)
        : impl_(std::make_shared<impl>(ex, options, std::forward<TransportArgs>(args)...)) {}

    /// A client on the executor of context (an io_context, a thread_pool).
    template <class ExecutionContext, class... TransportArgs,
              class = std::enable_if_t<std::is_convertible_v<ExecutionContext&, asio::execution_context&>>>
    explicit basic_client(ExecutionContext& context, client_options options = {}, TransportArgs&&... args)
        : basic_client(executor_type(context.get_executor()), options, std::forward<TransportArgs>(args)...) {}

    basic_client(const basic_client&) = delete;
    basic_client& operator=(const basic_client&) = delete;

    /// No callback runs once the destructor has returned (it waits for one
    /// that is running on another thread), so they may capture what dies with
    /// the client's owner. Pending operations fail with operation_aborted.
    ~basic_client() {
        if (!impl_) return;
        {
            std::lock_guard<std::recursive_mutex> g(impl_->callbacks);
            impl_->detached = true;
        }
        abort();
    }

    /// Set these before connecting. on_connect and on_state(connected) run
    /// each time a connection is up, the first one and every reconnection.
    /// While one is set, lines go to it and not to async_receive.
    void on_line(line_handler h) { impl_->on_line = std::move(h); }
    /// Lines it sends go out ahead of what was queued meanwhile.
    void on_connect(connect_handler h) { impl_->on_connect = std::move(h); }
    /// Called once, when the client is closed for good.
    void on_disconnect(disconnect_handler h) { impl_->on_disconnect = std::move(h); }
    /// Called at each change of client_state.
    void on_state(state_handler h) { impl_->on_state = std::move(h); }

    /// Reconnecting is off unless a policy with enabled = true is set. May be
    /// called at any time; it applies from the next loss or failed attempt.
    void set_reconnect(reconnect_policy policy) {
        const std::uint32_t seed = std::random_device{}();
        asio::post(impl_->strand, [i = impl_, policy, seed] { i->delays = detail::backoff(policy, seed); });
    }

    /// Resolves host and port, connects, and starts reading (TCP and TLS).
    /// Failures go to on_state and on_disconnect. Once connect was called,
    /// another connect joins what is under way and its target is ignored.
    void connect(std::string host, std::string port) {
        async_connect(std::move(host), std::move(port), [](std::error_code) {});
    }

    /// Connects to an endpoint (any transport; a path for Unix sockets). For
    /// TLS with a verifying context, host_name is the name the certificate
    /// must be for (an IP address as text is checked against its IP
    /// entries); without one the connection is refused with
    /// client_errc::host_name_required, since nothing could be verified.
    void connect(endpoint_type endpoint, std::string host_name = {}) {
        async_connect(std::move(endpoint), std::move(host_name), [](std::error_code) {});
    }

    /// async_connect(host, port, token), async_connect(endpoint, [host_name,]
    /// token): as connect(), and completes (void(error_code)) once a
    /// connection is up, after on_connect, or with the error that closed the
    /// client: the first failure without a reconnect policy; with one, only
    /// close() ends the tries. asio::error::already_connected when connected.
    template <class Token = default_token>
    auto async_connect(std::string host, std::string port, Token&& token = default_token()) {
        return initiate<void(std::error_code)>(std::forward<Token>(token), [host = std::move(host), port = std::move(port)](impl& i, done_op op) mutable {
            i.start([&](impl& s) {
                s.by_name = true;
                s.host_name = std::move(host);
                s.port = std::move(port);
            }, std::move(op));
        });
    }

    /// As async_connect(endpoint, {}, token): for TLS, see connect(endpoint).
    template <class Token = default_token, class = std::enable_if_t<!std::is_convertible_v<Token, std::string>>>
    auto async_connect(endpoint_type endpoint, Token&& token = default_token()) {
        return async_connect(std::move(endpoint), std::string(), std::forward<Token>(token));
    }

    /// As connect(endpoint, host_name), completing as async_connect(host, port, token).
    template <class Token = default_token>
    auto async_connect(endpoint_type endpoint, std::string host_name, Token&& token = default_token()) {
        return initiate<void(std::error_code)>(std::forward<Token>(token), [endpoint, host = std::move(host_name)](impl& i, done_op op) mutable {
            i.start([&](impl& s) {
                s.by_name = false;
                s.endpoint = endpoint;
                s.host_name = std::move(host);
            }, std::move(op));
        });
    }

    /// Queues one line (LF is added). A line with CR or LF is refused whole
    /// (client_errc::line_has_newline; nothing is sent): send(line) throws
    /// std::system_error, send(line, ec) sets ec. Lines sent before the
    /// connection is up wait for it. Output beyond options.max_queue_bytes
    /// fails the connection (with reconnecting on, while disconnected, the
    /// line is dropped instead); async_send tells which lines were written.
    void send(std::string line) {
        std::error_code ec;
        send(std::move(line), ec);
        if (ec) throw std::system_error(ec, "chatroom::basic_client::send");
    }

    /// As send(line), reporting a refused line through ec instead of throwing.
    void send(std::string line, std::error_code& ec) {
        ec = check_line(line);
        if (ec) return;
        // From the connect handlers (on the strand, so the flag may be read):
        // ahead of the backlog. Anything else is queued in order of arrival.
        if (impl_->strand.running_in_this_thread() && impl_->in_connect_handlers) return impl_->send_front(line);
        asio::post(impl_->strand, [i = impl_, line = std::move(line)]() mutable { i->send(std::move(line)); });
    }

    /// As send(), in the same order, and completes (void(error_code)) once
    /// the line is written to the connection, or with why it was not:
    /// line_has_newline, no_buffer_space (no room to queue it), the error
    /// that lost the connection while it was being written,
    /// client_errc::closed (sent after close()), or the error that closed
    /// the client. Like send(), from on_connect it goes ahead of the backlog.
    template <class Token = default_token>
    auto async_send(std::string line, Token&& token = default_token()) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [](auto handler, std::shared_ptr<impl> i, std::string l) {
                done_op op(std::move(handler), i->strand);
                if (auto ec = check_line(l)) return op.complete(ec);
                if (i->strand.running_in_this_thread() && i->in_connect_handlers)
                    return i->send_front(l, std::move(op));
                asio::post(i->strand, [i, l = std::move(l), op = std::move(op)]() mutable {
                    i->send(std::move(l), std::move(op));
                });
            },
            token, impl_, std::move(line));
    }

    /// Completes (void(error_code, std::string line)) with the next line
    /// received, sanitized (a line queued earlier comes at once), or with an
    /// error once the client is closed for good and nothing is queued: the
    /// error that closed it, or client_errc::closed after a clean end. Lines
    /// go to on_line instead when it is set: then client_errc::lines_go_to_on_line.
    /// Receives wait across reconnections; several pending receives get
    /// lines in the order they were started. A receive may be cancelled
    /// (per-operation cancellation, any type: a bound cancellation slot, an
    /// awaitable operator): it fails with operation_aborted and takes no
    /// line, which goes to the next receive. No other operation is
    /// cancellable; close() or abort() ends them.
    template <class Token = default_token>
    auto async_receive(Token&& token = default_token()) {
        return asio::async_initiate<Token, void(std::error_code, std::string)>(
            [](auto handler, std::shared_ptr<impl> i) {
                const std::uint64_t id = ++i->receives;
                // Emitted by the handler's owner, from its own thread: the
                // handler only posts to the strand, after the receive itself
                // (posted first). It is never cleared, so it must find the
                // receive gone without harm.
                auto slot = asio::get_associated_cancellation_slot(handler);
                if (slot.is_connected())
                    slot.assign([w = std::weak_ptr<impl>(i), id](asio::cancellation_type) {
                        if (auto s = w.lock()) asio::post(s->strand, [s, id] { s->ops.cancel_receive(id); });
                    });
                line_op op(std::move(handler), i->strand);
                asio::post(i->strand, [i, id, op = std::move(op)]() mutable { i->receive(id, std::move(op)); });
            },
            token, impl_);
    }

    /// Sends what is queued, then closes; stops reconnecting. on_disconnect
    /// follows with no error.
    void close() {
        asio::post(impl_->strand, [i = impl_] { i->close(); });
    }

    /// As close(), and completes (void(error_code)) once the client is
    /// closed, after on_disconnect: with no error, or with what on_disconnect
    /// got if the connection failed while closing.
    template <class Token = default_token>
    auto async_close(Token&& token = default_token()) {
        return initiate<void(std::error_code)>(std::forward<Token>(token),
                                                [](impl& i, done_op op) { i.close(std::move(op)); });
    }

    /// Closes at once, dropping queued output; on_disconnect and on_state are
    /// not called, pending operations fail with asio::error::operation_aborted.
    void abort() {
        asio::post(impl_->strand, [i = impl_] { i->abort(); });
    }

    /// The executor given at construction.
    executor_type get_executor() const noexcept { return impl_->executor; }

private:
    friend struct detail::client_connection<basic_client>;
    using impl = detail::client_connection<basic_client>;
    using done_op = detail::client_operations::done_op;
    using line_op = detail::client_operations::line_op;

    static std::error_code check_line(std::string_view line) {
        if (line.find_first_of("\r\n") != std::string_view::npos) return client_errc::line_has_newline;
        return {};
    }

    /// Starts an operation: its handler becomes a pending op, and start runs
    /// with it on the strand.
    template <class Signature, class Token, class Start>
    auto initiate(Token&& token, Start start) {
        return asio::async_initiate<Token, Signature>(
            [](auto handler, std::shared_ptr<impl> i, Start s) {
                typename detail::op_for<Signature>::type op(std::move(handler), i->strand);
                asio::post(i->strand, [i, s = std::move(s), op = std::move(op)]() mutable { s(*i, std::move(op)); });
            },
            token, impl_, std::move(start));
    }

    std::shared_ptr<impl> impl_;
};

/// The TCP client.
using client = basic_client<asio::ip::tcp>;

} // namespace chatroom
