#pragma once

/// @file
/// TLS for chatroom: opt-in, needs OpenSSL (link OpenSSL::SSL). The single
/// header includes this part only when CHATROOM_USE_OPENSSL is defined before
/// it is included; the rest of chatroom needs nothing beyond Asio.

#include <chatroom/client.hpp>
#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/send_ring.hpp>
#include <chatroom/core/detail/session.hpp>
#include <chatroom/server.hpp>

#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace chatroom {

/// Transport tag: TLS over Protocol (asio::ip::tcp).
/// @code
///   chatroom::basic_server<chatroom::tls<asio::ip::tcp>> server(io, options, server_context);
///   chatroom::basic_client<chatroom::tls<asio::ip::tcp>> client(io, {}, client_context);
/// @endcode
template <class Protocol>
struct tls {};

/// An OpenSSL context shared by the listeners or clients made with it.
using tls_context = std::shared_ptr<asio::ssl::context>;

/// TLS 1.2 or newer, with the certificate chain and key (PEM files) the server presents.
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

/// Verifies the server's certificate (against ca_file, or the system's store
/// when it is empty) and, in the client, its host name. verify = false skips
/// both: for testing only.
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

// A TLS connection as a session's stream (the concept is in
// socket_stream.hpp). An SSL stream takes one write at a time and one
// buffer, so write() copies up to a block of queued bytes and reports it
// taken; the session waits for that block before the next. Everything runs
// on the session's executor, which is what an SSL stream needs.
template <class Socket>
class tls_stream {
public:
    using executor_type = typename Socket::executor_type;
    using ssl_stream = asio::ssl::stream<Socket>;

    tls_stream(Socket socket, asio::ssl::context& ctx, std::shared_ptr<hub> h, std::string address)
        : stream_(std::move(socket), ctx), hub_(std::move(h)), address_(std::move(address)),
          timer_(stream_.get_executor()) {}

    executor_type get_executor() noexcept { return stream_.get_executor(); }

    static const char* transport_name() noexcept { return "tls"; }

    // The verified subject of the client's certificate, when the server's
    // context asks for one (verify_peer); empty otherwise.
    std::string peer_subject() {
        if (!handshaken_) return {};
        X509* cert = SSL_get_peer_certificate(stream_.native_handle());
        if (!cert) return {};
        std::string subject;
        if (SSL_get_verify_result(stream_.native_handle()) == X509_V_OK) {
            char buf[512];
            X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
            subject = buf;
        }
        X509_free(cert);
        return subject;
    }

    // Writes and timers run without a session handler to keep it alive.
    void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

    template <class Handler>
    void async_start(Handler&& h) {
        timer_.expires_after(hub_->options().handshake_timeout);
        timer_.async_wait([this, keep = owner_.lock()](std::error_code ec) {
            if (ec || handshaken_) return;
            hub_->report("TLS handshake from " + address_ + " timed out");
            close_socket();
        });
        stream_.async_handshake(asio::ssl::stream_base::server,
                                [this, h = std::forward<Handler>(h)](std::error_code ec) mutable {
                                    timer_.cancel();
                                    // A socket the timeout closed was reported already.
                                    if (ec && stream_.lowest_layer().is_open())
                                        hub_->report("TLS handshake from " + address_ + " failed: " + ec.message());
                                    handshaken_ = !ec;
                                    h(ec);
                                });
    }

    template <class Handler>
    void async_read(Handler&& h) {
        if (!buffer_) buffer_.reset(new char[block_size]);
        stream_.async_read_some(asio::buffer(buffer_.get(), block_size),
                                [this, h = std::forward<Handler>(h)](std::error_code ec, std::size_t n) mutable {
                                    h(ec, buffer_.get(), n);
                                });
    }

    std::size_t write(const send_ring::gather& g, std::error_code& ec) {
        ec = error_;
        if (busy_ || ec) return 0;
        pending_.clear();
        for (const auto& b : g) {
            const std::size_t room = block_size - pending_.size();
            if (room == 0) break;
            const std::size_t take = std::min(room, b.size());
            pending_.append(static_cast<const char*>(b.data()), take);
        }
        if (pending_.empty()) return 0;
        start_write();
        return pending_.size();
    }

    template <class Handler>
    void async_wait_writable(Handler&& h) {
        if (!busy_) {
            asio::post(stream_.get_executor(), [h = std::forward<Handler>(h), ec = error_]() mutable { h(ec); });
            return;
        }
        on_writable_ = std::forward<Handler>(h);
    }

    // Last words go out as one more block; the socket closes once it is
    // written or the handshake timeout passes, whichever comes first.
    template <class Reason>
    void write_last(std::string_view bytes, Reason) {
        if (busy_ || error_ || !handshaken_) return;
        pending_.assign(bytes.data(), bytes.size());
        start_write();
    }

    // close_notify, once the block being written is out: an SSL stream must
    // not shut down while a write is under way.
    template <class Reason, class Handler>
    void async_shutdown(Reason, Handler&& h) {
        if (busy_) {
            on_writable_ = [this, h = std::forward<Handler>(h)](std::error_code ec) mutable {
                if (ec) return h(ec);
                stream_.async_shutdown(std::move(h));
            };
            return;
        }
        stream_.async_shutdown(std::forward<Handler>(h));
    }

    void close() {
        if (busy_ && !error_) {
            close_when_written_ = true;
            timer_.expires_after(hub_->options().handshake_timeout);
            timer_.async_wait([this, keep = owner_.lock()](std::error_code ec) {
                if (!ec) close_socket();
            });
            return;
        }
        close_socket();
    }

    bool is_clean_end(const std::error_code& ec) const noexcept { return ec == asio::ssl::error::stream_truncated; }

private:
    void start_write() {
        busy_ = true;
        asio::async_write(stream_, asio::buffer(pending_), [this, keep = owner_.lock()](std::error_code ec, std::size_t) {
            busy_ = false;
            if (ec) error_ = ec;
            if (close_when_written_) return close_socket();
            if (on_writable_) {
                auto h = std::move(on_writable_);
                on_writable_ = nullptr;
                h(error_);
            }
        });
    }

    void close_socket() {
        timer_.cancel();
        on_writable_ = nullptr;
        std::error_code ignored;
        stream_.lowest_layer().close(ignored);
    }

    static constexpr std::size_t block_size = 16 * 1024;

    ssl_stream stream_;
    std::shared_ptr<hub> hub_;
    std::weak_ptr<void> owner_;
    std::string address_;
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, executor_type>
        timer_;
    std::unique_ptr<char[]> buffer_; // made at the first read
    std::string pending_;            // the block being written
    std::function<void(std::error_code)> on_writable_;
    std::error_code error_;
    bool busy_ = false;
    bool handshaken_ = false;
    bool close_when_written_ = false;
};

template <class Protocol>
struct session_factory<tls<Protocol>> {
    using protocol_type = Protocol;

    template <class Socket>
    void start(Socket socket, const std::shared_ptr<hub>& h, std::string address) const {
        using stream_type = tls_stream<Socket>;
        std::make_shared<session<stream_type, line_framer>>(stream_type(std::move(socket), *context, h, address), h,
                                                            line_dialect(), line_interpreter_instance(), address, h->options().max_line_bytes)
            ->start();
    }

    // Before any handshake, so a TLS client sees the handshake fail.
    template <class Socket>
    void refuse(Socket& socket, const reply& refusal) const {
        stream_transport<Protocol>::refuse(socket, text_of(refusal));
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

    // A context that verifies the server needs a name to check the
    // certificate against: without one, a connection by endpoint would
    // accept a certificate issued for any name, so it is refused.
    // make_client_tls_context(ca, false) (no verification at all) is the
    // explicit way out.
    std::error_code target_error(const std::string& host) const {
        if (host.empty() && (SSL_CTX_get_verify_mode(context->native_handle()) & SSL_VERIFY_PEER) != 0)
            return client_errc::host_name_required;
        return {};
    }

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

/// Serves the line protocol over TLS on endpoint, into the same rooms as the
/// server's other listeners; returns the endpoint it bound (the port, when 0
/// was asked for). Throws std::system_error; the overload with an
/// error_code sets it instead and returns a default endpoint.
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_tls(basic_server<Transport, Executor>& server, const asio::ip::tcp::endpoint& endpoint,
                                   tls_context context) {
    return server.template listen_as<tls<asio::ip::tcp>>(endpoint, std::move(context));
}
/// The same, setting ec instead of throwing (and returning a default endpoint).
template <class Transport, class Executor>
asio::ip::tcp::endpoint listen_tls(basic_server<Transport, Executor>& server, const asio::ip::tcp::endpoint& endpoint,
                                   tls_context context, std::error_code& ec) {
    return server.template listen_as<tls<asio::ip::tcp>>(endpoint, ec, std::move(context));
}

} // namespace chatroom
