#pragma once

#include <chatroom/client/detail/backoff.hpp>
#include <chatroom/client/detail/guarded_handler.hpp>
#include <chatroom/client/detail/operations.hpp>
#include <chatroom/client/errors.hpp>
#include <chatroom/client/options.hpp>
#include <chatroom/client/state.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/line/framer.hpp>

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace chatroom::detail {

// What a basic_client is: its connection, its reconnects and its queued
// output, shared with the handlers pending on it. It runs on the client's
// strand (basic_client posts to it). Client is the basic_client, whose types
// name the executor, the transport and the callbacks.
template <class Client>
struct client_connection : std::enable_shared_from_this<client_connection<Client>> {
    using impl = client_connection; // as basic_client calls it
    using executor_type = typename Client::executor_type;
    using strand_type = typename Client::strand_type;
    using transport_type = typename Client::transport_type;
    using protocol_type = typename Client::protocol_type;
    using endpoint_type = typename Client::endpoint_type;
    using line_handler = typename Client::line_handler;
    using connect_handler = typename Client::connect_handler;
    using disconnect_handler = typename Client::disconnect_handler;
    using state_handler = typename Client::state_handler;
    using stream_type = typename transport_type::stream_type;
    using done_op = client_operations::done_op;
    using line_op = client_operations::line_op;

    template <class... TransportArgs>
    client_connection(const executor_type& ex, client_options opts, TransportArgs&&... args)
        : executor(ex),
          strand(asio::make_strand(ex)),
          transport{std::forward<TransportArgs>(args)...},
          options(opts),
          framer(opts.max_line_bytes, telnet_mode::ignore),
          retry_timer(strand),
          ops(opts.max_receive_queue_bytes) {}

    template <class F>
    auto guarded(F f) {
        return asio::bind_executor(
            strand, guarded_handler<impl, stream_type, F>{this->shared_from_this(), generation, stream, std::move(f)});
    }

    // connect() and async_connect(): set_target names the server. One
    // that comes while the client is connected, connecting or waiting to
    // reconnect joins what is under way (its target is not used).
    template <class SetTarget>
    void start(SetTarget set_target, done_op op) {
        if (done) return op.complete(client_errc::closed);
        if (connected) return op.complete(asio::error::already_connected);
        if (op) ops.connects.push_back(std::move(op));
        if (started) return;
        started = true;
        set_target(*this);
        if (auto ec = transport.target_error(host_name)) return finish(ec, "cannot connect: " + ec.message());
        attempt();
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
        queued.insert(0, front); // nothing is being written on a new connection
        ops.put_front_first(out_done, front.size());
        front.clear();
        ops.connected();
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

    // To on_line when one is set, else to async_receive.
    void deliver(std::string_view line) {
        shown.clear();
        sanitize_append(shown, line);
        if (on_line) return call([&] { on_line(shown); });
        ops.deliver(shown);
    }

    void receive(std::uint64_t id, line_op op) {
        if (on_line) return op.complete(client_errc::lines_go_to_on_line, {});
        ops.receive(id, std::move(op), done, end_error);
    }

    // op (when there is one) completes once the line is written.
    void send(std::string text, done_op op = {}) {
        if (done || closing) return op.complete(client_errc::closed);
        if (!connected && delays.policy().enabled &&
            queued.size() + text.size() + 1 > options.max_queue_bytes)
            return op.complete(asio::error::no_buffer_space); // nowhere to send it and no room to keep it
        queued += text;
        queued += '\n';
        ops.add_send(out_done + writing.size() + queued.size(), std::move(op));
        if (queued.size() + writing.size() > options.max_queue_bytes)
            return lost(asio::error::no_buffer_space, "send queue full");
        write();
    }

    // From the connect handlers, on the strand: ahead of the backlog.
    void send_front(const std::string& text, done_op op = {}) {
        front += text;
        front += '\n';
        ops.add_front_send(front.size(), std::move(op));
    }

    void write() {
        if (!connected || done || !writing.empty()) return;
        if (queued.empty()) {
            if (closing) shutdown_send();
            return;
        }
        writing.swap(queued);
        asio::async_write(*stream, asio::buffer(writing), guarded([](impl& self, std::error_code ec, std::size_t) {
                              if (ec) return self.lost(ec, "connection lost: " + ec.message());
                              self.out_done += self.writing.size();
                              self.writing.clear();
                              self.ops.sent_up_to(self.out_done, {});
                              self.write();
                          }));
    }

    void close(done_op op = {}) {
        if (done) return op.complete({});
        if (op) ops.closes.push_back(std::move(op));
        if (closing) return;
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
        aborting = true;
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
        // What was being written may or may not have arrived: its sends fail.
        out_done += writing.size();
        writing.clear();
        ops.sent_up_to(out_done, ec ? ec : make_error_code(asio::error::eof));
        if (was_connected) set_state(client_state::disconnected, ec);
        if (ec == asio::error::no_buffer_space) { // what overflowed is not kept
            out_done += queued.size();
            queued.clear();
            ops.sent_up_to(out_done, ec);
        }
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
        // Operations fail with what ended the client; async_close succeeds
        // unless the close itself failed. abort() and the destructor abort them.
        const std::error_code aborted = asio::error::operation_aborted;
        end_error = ec ? ec : make_error_code(client_errc::closed); // for later operations
        ops.end(aborting ? aborted : end_error, aborting ? aborted : ec);
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
    client_operations ops;
    std::uint64_t out_done = 0; // output written or discarded: where writing begins
    std::error_code end_error;  // why the client ended: what later operations fail with
    std::atomic<std::uint64_t> receives{0}; // names each async_receive, for its cancellation
    bool started = false;                   // connect() was called
    bool aborting = false;
    bool connecting = false; // queued lines and close() wait for the connection
    bool connected = false;
    bool closing = false;
    bool done = false;
};

} // namespace chatroom::detail
