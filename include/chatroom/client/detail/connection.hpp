#pragma once

#include <chatroom/line/framer.hpp>
#include <chatroom/client/options.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/core/transport.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <array>
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

// Where a client is in its life; reported to on_state at each change.
//   connecting -> connected -> disconnected -> waiting_to_reconnect -> connecting ...
// A connection attempt that fails goes from connecting straight to
// waiting_to_reconnect (or to closed when reconnecting is off); closed is last.
enum class client_state {
    connecting,           // resolving, connecting, TLS handshake
    connected,            // lines flow
    disconnected,         // a connection that was up has ended
    waiting_to_reconnect, // next_try says how long until the next attempt
    closed,               // for good: close(), or a loss with reconnecting off
};

constexpr std::string_view to_string(client_state s) noexcept {
    switch (s) {
    case client_state::connecting: return "connecting";
    case client_state::connected: return "connected";
    case client_state::disconnected: return "disconnected";
    case client_state::waiting_to_reconnect: return "waiting_to_reconnect";
    case client_state::closed: return "closed";
    }
    return "?";
}

// Reconnecting after a lost connection or a failed attempt, with exponential
// backoff: attempt n waits d(n) = min(max_delay, initial_delay * multiplier^n),
// shortened by a random part of up to jitter * d(n), so the clients of a
// restarted server do not all come back in the same instant. The delay
// starts from initial_delay again once a connection is up.
struct reconnect_policy {
    bool enabled = false;
    std::chrono::milliseconds initial_delay{500};
    std::chrono::milliseconds max_delay{30000};
    double multiplier = 2.0; // below 1 counts as 1
    double jitter = 0.25;    // a fraction in [0, 1]
};

// Sent to on_line in place of a line from the server longer than
// client_options::max_line_bytes, which is dropped whole: a line cut short
// could say something its sender did not.
inline constexpr std::string_view line_too_long_marker = "! (a line longer than the client's limit was dropped)";

namespace detail {

// How the client opens, secures and closes its stream. Plain stream
// protocols use the socket itself; TLS (chatroom/tls.hpp) specializes it.
template <class Transport, class Executor>
struct client_transport {
    using protocol_type = Transport;
    using socket_type = typename Transport::socket::template rebind_executor<Executor>::other;
    using stream_type = socket_type;

    stream_type make_stream(const Executor& ex) const { return stream_type(ex); }
    static socket_type& socket(stream_type& s) { return s; }

    template <class Handler>
    void async_handshake(stream_type&, const std::string& /*host*/, Handler&& h) const {
        h(std::error_code());
    }
};

// The delays of a reconnect_policy, one per attempt.
class backoff {
public:
    // The seed picks the jitter; basic_client seeds each client differently.
    explicit backoff(reconnect_policy p = {}, std::uint32_t seed = 1)
        : policy_(p), random_(seed) {
        policy_.multiplier = std::max(policy_.multiplier, 1.0);
        policy_.jitter = std::clamp(policy_.jitter, 0.0, 1.0);
        policy_.initial_delay = std::max(policy_.initial_delay, std::chrono::milliseconds(0));
        policy_.max_delay = std::max(policy_.max_delay, policy_.initial_delay);
        reset();
    }

    const reconnect_policy& policy() const noexcept { return policy_; }

    // The delay before the next attempt; each call backs off further.
    std::chrono::milliseconds next() {
        const double full = current_;
        // Kept as a double so that a long outage cannot overflow it.
        current_ = std::min(current_ * policy_.multiplier, static_cast<double>(policy_.max_delay.count()));
        const double cut = std::uniform_real_distribution<double>(0.0, policy_.jitter)(random_);
        return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(full * (1.0 - cut)));
    }

    void reset() noexcept { current_ = static_cast<double>(policy_.initial_delay.count()); }

private:
    reconnect_policy policy_;
    std::minstd_rand random_;
    double current_ = 0;
};

} // namespace detail

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
    struct impl : std::enable_shared_from_this<impl> {
        using stream_type = typename transport_type::stream_type;

        template <class... TransportArgs>
        impl(const executor_type& ex, client_options opts, TransportArgs&&... args)
            : executor(ex),
              strand(asio::make_strand(ex)),
              transport{std::forward<TransportArgs>(args)...},
              options(opts),
              framer(opts.max_line_bytes, telnet_mode::ignore),
              retry_timer(strand) {}

        // Handlers of an earlier connection find a newer generation and do
        // nothing. Each keeps the stream it was started on alive, since a TLS
        // stream's pending operation still uses it while it completes.
        template <class F>
        struct guarded_handler {
            std::shared_ptr<impl> self;
            std::uint64_t gen;
            std::shared_ptr<stream_type> keep;
            F f;

            // Constrained, so that Asio's checks of which signature a handler
            // takes (async_connect has two) see a plain "no".
            template <class... Args, class = std::enable_if_t<std::is_invocable_v<F&, impl&, Args&&...>>>
            void operator()(Args&&... args) {
                if (self->done || gen != self->generation) return;
                f(*self, std::forward<Args>(args)...);
            }
        };

        template <class F>
        auto guarded(F f) {
            return asio::bind_executor(
                strand, guarded_handler<F>{this->shared_from_this(), generation, stream, std::move(f)});
        }

        void attempt() {
            if (done || connecting || connected) return;
            ++generation;
            // A fresh stream each time: a TLS stream cannot be reused after a failure.
            stream = std::make_shared<stream_type>(transport.make_stream(executor));
            framer = line_framer(options.max_line_bytes, telnet_mode::ignore);
            connecting = true;
            set_state(client_state::connecting, {});
            if (by_name) {
                if constexpr (std::is_same_v<protocol_type, asio::ip::tcp>) {
                    auto resolver = std::make_shared<asio::ip::tcp::resolver>(strand);
                    resolver->async_resolve(
                        host_name, port,
                        guarded([resolver](impl& self, std::error_code ec, asio::ip::tcp::resolver::results_type results) {
                            if (ec) return self.lost(ec, "cannot resolve " + self.host_name + ": " + ec.message());
                            asio::async_connect(transport_type::socket(*self.stream), results,
                                                self.guarded([](impl& s, std::error_code e, const endpoint_type&) {
                                                    s.on_connected(e);
                                                }));
                        }));
                } else {
                    lost(asio::error::operation_not_supported, "connect by host and port needs a TCP transport");
                }
            } else {
                transport_type::socket(*stream).async_connect(
                    endpoint, guarded([](impl& self, std::error_code ec) { self.on_connected(ec); }));
            }
        }

        void on_connected(std::error_code ec) {
            if (ec) return lost(ec, "cannot connect: " + ec.message());
            if constexpr (std::is_same_v<protocol_type, asio::ip::tcp>) {
                std::error_code ignored;
                transport_type::socket(*stream).set_option(asio::ip::tcp::no_delay(true), ignored);
            }
            transport.async_handshake(*stream, host_name,
                                      guarded([](impl& self, std::error_code e) { self.on_handshake(e); }));
        }

        void on_handshake(std::error_code ec) {
            if (ec) return lost(ec, "handshake failed: " + ec.message());
            connecting = false;
            connected = true;
            delays.reset();
            // What these handlers send goes out before the backlog.
            in_connect_handlers = true;
            if (on_connect) call(on_connect);
            set_state(client_state::connected, {});
            in_connect_handlers = false;
            queued.insert(0, front);
            front.clear();
            read();
            if (queued.size() > options.max_queue_bytes)
                return lost(asio::error::no_buffer_space, "send queue full");
            write();
        }

        void read() {
            stream->async_read_some(asio::buffer(input),
                                    guarded([](impl& self, std::error_code ec, std::size_t n) { self.on_read(ec, n); }));
        }

        void on_read(std::error_code ec, std::size_t n) {
            auto on_frame = [this](frame_event e, std::string_view l) {
                deliver(e == frame_event::line ? l : line_too_long_marker);
                return true;
            };
            framer.feed(input.data(), n, on_frame);
            if (ec == asio::error::eof || (ec && closing)) {
                framer.finish(on_frame); // a last line without LF still counts
                if (closing) return finish({}, "closed");
                return lost({}, "server closed the connection");
            }
            if (ec) return lost(ec, "connection lost: " + ec.message());
            read();
        }

        void deliver(std::string_view line) {
            if (!on_line) return;
            shown.clear();
            sanitize_append(shown, line);
            call([&] { on_line(shown); });
        }

        void send(std::string text) {
            if (done || closing) return;
            if (!connected && delays.policy().enabled &&
                queued.size() + text.size() + 1 > options.max_queue_bytes)
                return; // nowhere to send it and no room to keep it
            queued += text;
            queued += '\n';
            if (queued.size() + writing.size() > options.max_queue_bytes)
                return lost(asio::error::no_buffer_space, "send queue full");
            write();
        }

        void write() {
            if (!connected || done || !writing.empty()) return;
            if (queued.empty()) {
                if (closing) shutdown_send();
                return;
            }
            writing.swap(queued);
            asio::async_write(*stream, asio::buffer(writing), guarded([](impl& self, std::error_code ec, std::size_t) {
                                  self.writing.clear();
                                  if (ec) return self.lost(ec, "connection lost: " + ec.message());
                                  self.write();
                              }));
        }

        void close() {
            if (done || closing) return;
            closing = true;
            if (!connected && !connecting) return finish({}, "closed"); // also ends a wait to reconnect
            write();
        }

        // Everything is sent: FIN, then read until the server closes too, so
        // the last lines it sends are not lost to a reset.
        void shutdown_send() {
            std::error_code ignored;
            transport_type::socket(*stream).shutdown(asio::socket_base::shutdown_send, ignored);
        }

        void abort() {
            on_disconnect = nullptr;
            on_state = nullptr;
            finish({}, "aborted");
        }

        void close_stream() {
            if (!stream) return;
            std::error_code ignored;
            transport_type::socket(*stream).close(ignored);
        }

        // A connection ended or an attempt failed: try again or give up.
        void lost(std::error_code ec, std::string reason) {
            if (done) return;
            const bool was_connected = connected;
            connected = connecting = false;
            ++generation; // what is still pending on the old stream is ignored
            close_stream();
            writing.clear();
            if (was_connected) set_state(client_state::disconnected, ec);
            if (ec == asio::error::no_buffer_space) queued.clear(); // what overflowed is not kept
            // close() while reconnecting: a retry's failure is routine (told
            // through on_state), so it is not the close's outcome. Without
            // reconnects the first attempt's failure is, and is reported.
            if (closing && !was_connected && delays.policy().enabled) return finish({}, "closed");
            if (closing || !delays.policy().enabled) return finish(ec, std::move(reason));
            const auto delay = delays.next();
            set_state(client_state::waiting_to_reconnect, ec, delay);
            retry_timer.expires_after(delay);
            retry_timer.async_wait(guarded([](impl& self, std::error_code e) {
                if (!e && !self.closing) self.attempt();
            }));
        }

        void finish(std::error_code ec, std::string reason) {
            if (done) return;
            if (connected) set_state(client_state::disconnected, ec);
            done = true;
            connected = connecting = false;
            close_stream();
            retry_timer.cancel();
            auto handler = std::move(on_disconnect);
            on_disconnect = nullptr;
            auto state = std::move(on_state);
            on_state = nullptr;
            on_line = nullptr;
            on_connect = nullptr;
            if (state) call([&] { state(client_state::closed, ec, std::chrono::milliseconds(0)); });
            if (handler) call([&] { handler(ec, reason); });
        }

        void set_state(client_state s, std::error_code ec, std::chrono::milliseconds next_try = {}) {
            if (on_state) call([&] { on_state(s, ec, next_try); });
        }

        // Every user callback runs through here: never after the destructor.
        template <class F>
        void call(F&& f) {
            std::lock_guard<std::recursive_mutex> g(callbacks);
            if (!detached) f();
        }

        executor_type executor;
        strand_type strand;
        transport_type transport;
        std::shared_ptr<stream_type> stream;
        client_options options;
        // Splits the server's lines. A chatroom server sends no telnet, so
        // the framer answers none (ignore): it only never shows IAC bytes.
        line_framer framer;
        detail::backoff delays;
        asio::steady_timer retry_timer;
        std::recursive_mutex callbacks; // held while a callback runs
        bool detached = false;          // the basic_client is gone: no more callbacks
        line_handler on_line;
        connect_handler on_connect;
        disconnect_handler on_disconnect;
        state_handler on_state;
        bool by_name = false; // connect(host, port): resolved again for each attempt
        std::string host_name, port;
        endpoint_type endpoint;
        std::array<char, 16384> input{};
        std::string shown, queued, writing;
        std::uint64_t generation = 0;
        std::string front; // sent by the connect handlers
        bool in_connect_handlers = false;
        bool connecting = false; // queued lines and close() wait for the connection
        bool connected = false;
        bool closing = false;
        bool done = false;
    };

    std::shared_ptr<impl> impl_;
};

using client = basic_client<asio::ip::tcp>;

} // namespace chatroom
