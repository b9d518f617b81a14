#pragma once

#include <chatroom/options.hpp>
#include <chatroom/sanitize.hpp>
#include <chatroom/transport.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace chatroom {

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

} // namespace detail

// A chat client: connects, reports each line the server sends, sends lines.
// Every public function may be called from any thread; callbacks run on the
// client's executor, one at a time.
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
    using disconnect_handler = std::function<void(std::error_code ec, const std::string& reason)>;

    template <class... TransportArgs>
    explicit basic_client(const executor_type& ex, client_options options = {}, TransportArgs&&... args)
        : impl_(std::make_shared<impl>(ex, options, std::forward<TransportArgs>(args)...)) {}

    template <class ExecutionContext, class... TransportArgs,
              class = std::enable_if_t<std::is_convertible_v<ExecutionContext&, asio::execution_context&>>>
    explicit basic_client(ExecutionContext& context, client_options options = {}, TransportArgs&&... args)
        : basic_client(executor_type(context.get_executor()), options, std::forward<TransportArgs>(args)...) {}

    basic_client(const basic_client&) = delete;
    basic_client& operator=(const basic_client&) = delete;

    ~basic_client() {
        if (impl_) abort();
    }

    // Set these before connecting.
    void on_line(line_handler h) { impl_->on_line = std::move(h); }
    void on_connect(connect_handler h) { impl_->on_connect = std::move(h); }
    void on_disconnect(disconnect_handler h) { impl_->on_disconnect = std::move(h); }

    // Resolves host and port, connects, and starts reading (TCP and TLS).
    void connect(std::string host, std::string port) {
        asio::post(impl_->strand, [i = impl_, host = std::move(host), port = std::move(port)]() mutable {
            i->resolve_and_connect(std::move(host), std::move(port));
        });
    }

    // Connects to an endpoint (any transport; a path for Unix sockets).
    void connect(endpoint_type endpoint, std::string host_name = {}) {
        asio::post(impl_->strand, [i = impl_, endpoint, host = std::move(host_name)]() mutable {
            i->connect_endpoint(endpoint, std::move(host));
        });
    }

    // Queues one line (LF is added). Lines sent before the connection is up
    // wait for it. Output beyond options.max_queue_bytes fails the connection.
    void send(std::string line) {
        asio::post(impl_->strand, [i = impl_, line = std::move(line)]() mutable { i->send(std::move(line)); });
    }

    // Sends what is queued, then closes; on_disconnect follows with no error.
    void close() {
        asio::post(impl_->strand, [i = impl_] { i->close(); });
    }

    // Closes at once, dropping queued output; on_disconnect is not called.
    void abort() {
        asio::post(impl_->strand, [i = impl_] { i->abort(); });
    }

    executor_type get_executor() const noexcept { return impl_->executor; }

private:
    struct impl : std::enable_shared_from_this<impl> {
        template <class... TransportArgs>
        impl(const executor_type& ex, client_options opts, TransportArgs&&... args)
            : executor(ex),
              strand(asio::make_strand(ex)),
              transport{std::forward<TransportArgs>(args)...},
              stream(transport.make_stream(ex)),
              options(opts) {}

        void resolve_and_connect(std::string host, std::string port) {
            connecting = true;
            if constexpr (std::is_same_v<protocol_type, asio::ip::tcp>) {
                host_name = host;
                auto resolver = std::make_shared<asio::ip::tcp::resolver>(strand);
                resolver->async_resolve(
                    host, port,
                    [self = this->shared_from_this(), resolver](std::error_code ec,
                                                                asio::ip::tcp::resolver::results_type results) {
                        if (ec) return self->finish(ec, "cannot resolve " + self->host_name + ": " + ec.message());
                        asio::async_connect(
                            transport_type::socket(self->stream), results,
                            asio::bind_executor(self->strand, [self](std::error_code e, const endpoint_type&) {
                                self->on_connected(e);
                            }));
                    });
            } else {
                finish(asio::error::operation_not_supported, "connect by host and port needs a TCP transport");
            }
        }

        void connect_endpoint(const endpoint_type& endpoint, std::string host) {
            connecting = true;
            host_name = std::move(host);
            transport_type::socket(stream).async_connect(
                endpoint, asio::bind_executor(strand, [self = this->shared_from_this()](std::error_code ec) {
                    self->on_connected(ec);
                }));
        }

        void on_connected(std::error_code ec) {
            if (done) return;
            if (ec) return finish(ec, "cannot connect: " + ec.message());
            if constexpr (std::is_same_v<protocol_type, asio::ip::tcp>) {
                std::error_code ignored;
                transport_type::socket(stream).set_option(asio::ip::tcp::no_delay(true), ignored);
            }
            transport.async_handshake(stream, host_name,
                                      asio::bind_executor(strand, [self = this->shared_from_this()](std::error_code e) {
                                          self->on_handshake(e);
                                      }));
        }

        void on_handshake(std::error_code ec) {
            if (done) return;
            if (ec) return finish(ec, "handshake failed: " + ec.message());
            connected = true;
            if (on_connect) on_connect();
            read();
            write();
        }

        void read() {
            stream.async_read_some(asio::buffer(input), asio::bind_executor(strand, [self = this->shared_from_this()](
                                                                                        std::error_code ec, std::size_t n) {
                                       self->on_read(ec, n);
                                   }));
        }

        void on_read(std::error_code ec, std::size_t n) {
            if (done) return;
            for (std::size_t i = 0; i < n; ++i) {
                char c = input[i];
                if (c == '\n') {
                    if (!line.empty() && line.back() == '\r') line.pop_back();
                    deliver();
                } else if (line.size() < options.max_line_bytes) {
                    line += c;
                }
            }
            if (ec == asio::error::eof || (ec && closing)) {
                if (!line.empty()) deliver();
                return finish({}, closing ? "closed" : "server closed the connection");
            }
            if (ec) return finish(ec, "connection lost: " + ec.message());
            read();
        }

        void deliver() {
            if (on_line) {
                shown.clear();
                sanitize_append(shown, line);
                on_line(shown);
            }
            line.clear();
        }

        void send(std::string text) {
            if (done || closing) return;
            queued += text;
            queued += '\n';
            if (queued.size() + writing.size() > options.max_queue_bytes)
                return finish(asio::error::no_buffer_space, "send queue full");
            write();
        }

        void write() {
            if (!connected || done || !writing.empty()) return;
            if (queued.empty()) {
                if (closing) shutdown_send();
                return;
            }
            writing.swap(queued);
            asio::async_write(stream, asio::buffer(writing),
                              asio::bind_executor(strand, [self = this->shared_from_this()](std::error_code ec,
                                                                                            std::size_t) {
                                  if (self->done) return;
                                  self->writing.clear();
                                  if (ec) return self->finish(ec, "connection lost: " + ec.message());
                                  self->write();
                              }));
        }

        void close() {
            if (done || closing) return;
            closing = true;
            if (!connected && !connecting) return finish({}, "closed");
            write();
        }

        // Everything is sent: FIN, then read until the server closes too, so
        // the last lines it sends are not lost to a reset.
        void shutdown_send() {
            std::error_code ignored;
            transport_type::socket(stream).shutdown(asio::socket_base::shutdown_send, ignored);
        }

        void abort() {
            on_disconnect = nullptr;
            finish({}, "aborted");
        }

        void finish(std::error_code ec, std::string reason) {
            if (done) return;
            done = true;
            std::error_code ignored;
            transport_type::socket(stream).close(ignored);
            auto handler = std::move(on_disconnect);
            on_disconnect = nullptr;
            on_line = nullptr;
            on_connect = nullptr;
            if (handler) handler(ec, reason);
        }

        executor_type executor;
        strand_type strand;
        transport_type transport;
        typename transport_type::stream_type stream;
        client_options options;
        line_handler on_line;
        connect_handler on_connect;
        disconnect_handler on_disconnect;
        std::string host_name;
        std::array<char, 16384> input{};
        std::string line, shown, queued, writing;
        bool connecting = false; // queued lines and close() wait for the connection
        bool connected = false;
        bool closing = false;
        bool done = false;
    };

    std::shared_ptr<impl> impl_;
};

using client = basic_client<asio::ip::tcp>;

} // namespace chatroom
