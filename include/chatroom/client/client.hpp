#pragma once

#include <chatroom/client/detail/backoff.hpp>
#include <chatroom/client/detail/connection.hpp>
#include <chatroom/client/detail/transport.hpp>
#include <chatroom/client/options.hpp>
#include <chatroom/client/state.hpp>
#include <chatroom/core/transport.hpp>

#include <asio/any_io_executor.hpp>
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

// A chat client: connects, reports each line the server sends, sends lines.
// Every public function may be called from any thread; callbacks run on the
// client's executor, one at a time.
//
// Every line received is sanitized (chatroom/sanitize.hpp) before on_line
// sees it, so a hostile server cannot put escape sequences on a terminal.
//
// With a reconnect_policy, a lost connection is followed by new attempts
// (host names are resolved again each time) until one succeeds or close()
// is called. Output not yet written when a connection is lost stays queued
// for the next one; what was being written is dropped, since nobody can
// tell how much of it the server got. Lines sent while disconnected are
// queued up to client_options::max_queue_bytes; beyond that they are
// dropped. Lines sent by the on_connect or on_state(connected) handler go
// out before that backlog, so a nick or room re-applied there comes first.
template <class Transport = asio::ip::tcp, class Executor = asio::any_io_executor>
class basic_client {
    using transport_type = detail::client_transport<Transport, Executor>;
    using strand_type = asio::strand<Executor>;

public:
    using executor_type = Executor;
    using protocol_type = typename transport_type::protocol_type;
    using endpoint_type = typename protocol_type::endpoint;

    using line_handler = std::function<void(std::string_view line)>;
    using connect_handler = std::function<void()>;
    // ec is empty after close() or a clean end by the server; reason says what happened.
    // Called once, when the client is closed for good.
    using disconnect_handler = std::function<void(std::error_code ec, const std::string& reason)>;
    // ec: why a connection ended or an attempt failed (empty for a clean end
    // by either side); next_try: the delay before the next attempt, with
    // waiting_to_reconnect, otherwise zero.
    using state_handler = std::function<void(client_state state, std::error_code ec, std::chrono::milliseconds next_try)>;

    template <class... TransportArgs>
    explicit basic_client(const executor_type& ex, client_options options = {}, TransportArgs&&... args)
        : impl_(std::make_shared<impl>(ex, options, std::forward<TransportArgs>(args)...)) {}

    template <class ExecutionContext, class... TransportArgs,
              class = std::enable_if_t<std::is_convertible_v<ExecutionContext&, asio::execution_context&>>>
    explicit basic_client(ExecutionContext& context, client_options options = {}, TransportArgs&&... args)
        : basic_client(executor_type(context.get_executor()), options, std::forward<TransportArgs>(args)...) {}

    basic_client(const basic_client&) = delete;
    basic_client& operator=(const basic_client&) = delete;

    // No callback runs once the destructor has returned (it waits for one
    // that is running on another thread), so they may capture what dies with
    // the client's owner.
    ~basic_client() {
        if (!impl_) return;
        {
            std::lock_guard<std::recursive_mutex> g(impl_->callbacks);
            impl_->detached = true;
        }
        abort();
    }

    // Set these before connecting. on_connect and on_state(connected) run
    // each time a connection is up, the first one and every reconnection.
    void on_line(line_handler h) { impl_->on_line = std::move(h); }
    void on_connect(connect_handler h) { impl_->on_connect = std::move(h); }
    void on_disconnect(disconnect_handler h) { impl_->on_disconnect = std::move(h); }
    void on_state(state_handler h) { impl_->on_state = std::move(h); }

    // Reconnecting is off unless a policy with enabled = true is set. May be
    // called at any time; it applies from the next loss or failed attempt.
    void set_reconnect(reconnect_policy policy) {
        const std::uint32_t seed = std::random_device{}();
        asio::post(impl_->strand, [i = impl_, policy, seed] { i->delays = detail::backoff(policy, seed); });
    }

    // Resolves host and port, connects, and starts reading (TCP and TLS).
    void connect(std::string host, std::string port) {
        asio::post(impl_->strand, [i = impl_, host = std::move(host), port = std::move(port)]() mutable {
            i->by_name = true;
            i->host_name = std::move(host);
            i->port = std::move(port);
            i->attempt();
        });
    }

    // Connects to an endpoint (any transport; a path for Unix sockets).
    void connect(endpoint_type endpoint, std::string host_name = {}) {
        asio::post(impl_->strand, [i = impl_, endpoint, host = std::move(host_name)]() mutable {
            i->by_name = false;
            i->endpoint = endpoint;
            i->host_name = std::move(host);
            i->attempt();
        });
    }

    // Queues one line (LF is added). Lines sent before the connection is up
    // wait for it. Output beyond options.max_queue_bytes fails the connection
    // (with reconnecting on, while disconnected, the line is dropped instead).
    void send(std::string line) {
        // From the connect handlers (on the strand, so the flag may be read):
        // ahead of the backlog. Anything else is queued in order of arrival.
        if (impl_->strand.running_in_this_thread() && impl_->in_connect_handlers) {
            impl_->front += line;
            impl_->front += '\n';
            return;
        }
        asio::post(impl_->strand, [i = impl_, line = std::move(line)]() mutable { i->send(std::move(line)); });
    }

    // Sends what is queued, then closes; stops reconnecting. on_disconnect
    // follows with no error.
    void close() {
        asio::post(impl_->strand, [i = impl_] { i->close(); });
    }

    // Closes at once, dropping queued output; on_disconnect and on_state are not called.
    void abort() {
        asio::post(impl_->strand, [i = impl_] { i->abort(); });
    }

    executor_type get_executor() const noexcept { return impl_->executor; }

private:
    friend struct detail::client_connection<basic_client>;
    using impl = detail::client_connection<basic_client>;

    std::shared_ptr<impl> impl_;
};

using client = basic_client<asio::ip::tcp>;

} // namespace chatroom
