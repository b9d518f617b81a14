#pragma once

// TLS for chatroom: opt-in, needs OpenSSL (link OpenSSL::SSL). The single
// header includes this part only when CHATROOM_USE_OPENSSL is defined before
// it is included; the rest of chatroom needs nothing beyond Asio.

#include <chatroom/client.hpp>
#include <chatroom/hub.hpp>
#include <chatroom/member.hpp>
#include <chatroom/server.hpp>
#include <chatroom/session.hpp>

#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <system_error>

namespace chatroom {

// Transport tag: TLS over Protocol (asio::ip::tcp).
//   chatroom::basic_server<chatroom::tls<asio::ip::tcp>> server(io, options, server_context);
//   chatroom::basic_client<chatroom::tls<asio::ip::tcp>> client(io, {}, client_context);
template <class Protocol>
struct tls {};

using tls_context = std::shared_ptr<asio::ssl::context>;

// TLS 1.2 or newer, with the certificate chain and key (PEM files) the server presents.
inline tls_context make_server_tls_context(const std::string& certificate_chain_file,
                                           const std::string& private_key_file) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    ctx->use_certificate_chain_file(certificate_chain_file);
    ctx->use_private_key_file(private_key_file, asio::ssl::context::pem);
    return ctx;
}

// Verifies the server's certificate (against ca_file, or the system's store
// when it is empty) and, in the client, its host name. verify = false skips
// both: for testing only.
inline tls_context make_client_tls_context(const std::string& ca_file = {}, bool verify = true) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    if (!verify) {
        ctx->set_verify_mode(asio::ssl::verify_none);
        return ctx;
    }
    ctx->set_verify_mode(asio::ssl::verify_peer);
    if (ca_file.empty()) ctx->set_default_verify_paths();
    else ctx->load_verify_file(ca_file);
    return ctx;
}

namespace detail {

// The server side of one TLS connection. An SSL stream is one state machine
// that only one thread may drive, so everything this session does to it runs
// on its own strand; the hub reaches it by posting there.
template <class Protocol, class Executor>
class tls_session final : public member {
public:
    using strand_type = asio::strand<Executor>;
    using socket_type = typename Protocol::socket::template rebind_executor<strand_type>::other;
    using stream_type = asio::ssl::stream<socket_type>;

    tls_session(socket_type socket, const tls_context& ctx, std::shared_ptr<hub> h, std::string peer)
        : member(h->locking(), h->options().max_line_bytes),
          stream_(std::move(socket), *ctx),
          hub_(std::move(h)),
          timer_(stream_.get_executor()) {
        address = std::move(peer);
    }

    ~tls_session() override { hub_->release(address); }

    void start() {
        asio::dispatch(stream_.get_executor(), [self = self_ptr()] { self->handshake(); });
    }

    void flush() override {
        asio::dispatch(stream_.get_executor(), [self = self_ptr()] { self->write_queued(); });
    }

    void close_gracefully() override {
        asio::dispatch(stream_.get_executor(), [self = self_ptr()] {
            if (self->closing_) return;
            self->closing_ = true;
            self->write_queued();
        });
    }

    // An SSL stream cannot take a last line while another write may be under
    // way, so a TLS client that is dropped just sees the connection end.
    void close_now(std::string_view) override {
        asio::dispatch(stream_.get_executor(), [self = self_ptr()] { self->close_socket(); });
    }

    void resume_reading(std::string unread) override {
        asio::post(stream_.get_executor(), [self = self_ptr(), unread = std::move(unread)] {
            if (!unread.empty()) self->consume(unread.data(), unread.size());
            else if (!self->closing_) self->read();
        });
    }

    bool is_closed() override { return closed_.load(std::memory_order_acquire); }

private:
    std::shared_ptr<tls_session> self_ptr() { return std::static_pointer_cast<tls_session>(shared_from_this()); }

    void handshake() {
        timer_.expires_after(hub_->options().handshake_timeout);
        timer_.async_wait([self = self_ptr()](std::error_code ec) {
            if (ec || self->handshaken_) return;
            self->hub_->report("TLS handshake from " + self->address + " timed out");
            self->close_socket();
        });
        stream_.async_handshake(asio::ssl::stream_base::server, [self = self_ptr()](std::error_code ec) {
            self->timer_.cancel();
            if (self->closed_) return;
            if (ec) {
                self->hub_->report("TLS handshake from " + self->address + " failed: " + ec.message());
                self->close_socket();
                return;
            }
            self->handshaken_ = true;
            self->hub_->attach(self);
            if (!self->closing_) self->read();
        });
    }

    void read() {
        if (!buffer_) buffer_.reset(new char[buffer_size]);
        stream_.async_read_some(asio::buffer(buffer_.get(), buffer_size),
                                [self = self_ptr()](std::error_code ec, std::size_t n) { self->on_read(ec, n); });
    }

    void on_read(std::error_code ec, std::size_t n) {
        if (closed_) return;
        if (closing_) {
            // Closing: drain until the peer closes or the deadline passes.
            if (ec) close_socket();
            else read();
            return;
        }
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
            hub_->depart(*this, leave_reason::eof, true);
        } else if (ec) {
            hub_->depart(*this, leave_reason::connection_lost, false);
        } else {
            consume(buffer_.get(), n);
        }
    }

    void consume(const char* data, std::size_t size) {
        if (!hub_->receive(*this, data, size)) return; // left, or paused by flood control
        if (!closing_ && !closed_) read();
    }

    // SSL writes take one buffer, so queued messages are copied into one
    // block of up to buffer_size bytes per write.
    void write_queued() {
        if (writing_ || closed_) return;
        {
            optional_lock g(mutex);
            pending_.clear();
            outbox::gather gather;
            out.fill(gather);
            for (const auto& b : gather) {
                if (pending_.size() + b.size() > buffer_size && !pending_.empty()) break;
                pending_.append(static_cast<const char*>(b.data()), b.size());
            }
        }
        if (pending_.empty()) {
            if (closing_ && !shutting_down_) finish();
            return;
        }
        writing_ = true;
        asio::async_write(stream_, asio::buffer(pending_), [self = self_ptr()](std::error_code ec, std::size_t n) {
            self->writing_ = false;
            if (self->closed_) return;
            {
                optional_lock g(self->mutex);
                self->out.consume(n);
            }
            counters::add(self->hub_->count().bytes_out, n);
            if (ec) {
                self->close_socket();
                self->hub_->depart(*self, leave_reason::connection_lost, false);
                return;
            }
            self->write_queued();
        });
    }

    // Everything is written: close_notify, then the socket.
    void finish() {
        shutting_down_ = true;
        stream_.async_shutdown([self = self_ptr()](std::error_code) { self->close_socket(); });
    }

    void close_socket() {
        if (closed_) return;
        closing_ = true;
        closed_.store(true, std::memory_order_release);
        timer_.cancel();
        {
            optional_lock g(mutex);
            out.clear();
        }
        std::error_code ignored;
        stream_.lowest_layer().close(ignored);
    }

    static constexpr std::size_t buffer_size = 16 * 1024;

    stream_type stream_;
    std::shared_ptr<hub> hub_;
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, strand_type>
        timer_;
    std::unique_ptr<char[]> buffer_;
    std::string pending_; // the block being written
    bool handshaken_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool shutting_down_ = false;
    std::atomic<bool> closed_{false};
};

template <class Protocol, class Executor>
struct session_factory<tls<Protocol>, Executor> {
    using protocol_type = Protocol;
    using traits = stream_transport<Protocol>;
    using socket_type = typename tls_session<Protocol, Executor>::socket_type;

    static asio::strand<Executor> peer_executor(const Executor& ex) { return asio::make_strand(ex); }

    void start(socket_type socket, const std::shared_ptr<hub>& h, std::string address) const {
        std::make_shared<tls_session<Protocol, Executor>>(std::move(socket), context, h, std::move(address))->start();
    }

    tls_context context;
};

template <class Protocol, class Executor>
struct client_transport<tls<Protocol>, Executor> {
    using protocol_type = Protocol;
    using socket_type = typename Protocol::socket::template rebind_executor<Executor>::other;
    using stream_type = asio::ssl::stream<socket_type>;

    stream_type make_stream(const Executor& ex) const { return stream_type(ex, *context); }
    static socket_type& socket(stream_type& s) { return s.next_layer(); }

    // Sends the host name (SNI) and, when the context verifies peers, checks
    // that the certificate was issued for it.
    template <class Handler>
    void async_handshake(stream_type& s, const std::string& host, Handler&& h) const {
        if (!host.empty()) {
            SSL_set_tlsext_host_name(s.native_handle(), host.c_str());
            s.set_verify_callback(asio::ssl::host_name_verification(host));
        }
        s.async_handshake(asio::ssl::stream_base::client, std::forward<Handler>(h));
    }

    tls_context context;
};

} // namespace detail
} // namespace chatroom
