#pragma once

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/send_ring.hpp>
#include <chatroom/web/detail/handshake.hpp>
#include <chatroom/web/detail/http_request.hpp>
#include <chatroom/web/detail/http_response.hpp>
#include <chatroom/web/detail/page_response.hpp>
#include <chatroom/web/detail/policy.hpp>
#include <chatroom/web/options.hpp>
#include <chatroom/line/replies.hpp>

#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace chatroom::detail {

template <class Inner>
class web_connection; // stream.hpp: this exchange, kept alive (keepalive.hpp), then the session's stream

// The first layer of a web_connection: the HTTP exchange, and the router of
// its requests.
//
// The HTTP exchange runs before any session exists: the factory (web.hpp)
// makes the session only after the 101, with the address X-Forwarded-For
// may have changed, because a member's address is fixed at construction and
// spare connections that browsers open and leave silent must not become
// members. Until then this object holds the connection's admission and gives
// it back when it dies; the session takes it over after the upgrade.
//
// The whole exchange (TLS handshake, request, response) is bounded by
// server_options::handshake_timeout, and ends early when the server stops.
// Every response but the 101 closes the connection.
template <class Inner>
class web_exchange : public std::enable_shared_from_this<web_connection<Inner>> {
public:
    using executor_type = typename Inner::executor_type;

    web_exchange(Inner inner, std::shared_ptr<hub> h, std::shared_ptr<const web_options> options, bool tls,
                 std::string address, asio::ip::tcp::endpoint local)
        : inner_(std::move(inner)), hub_(std::move(h)), opts_(std::move(options)), address_(std::move(address)),
          local_(local), tls_(tls), timer_(inner_.get_executor()) {}

    web_exchange(const web_exchange&) = delete;
    web_exchange& operator=(const web_exchange&) = delete;

    ~web_exchange() {
        if (!handed_over_) hub_->gate().release(address_);
    }

    executor_type get_executor() noexcept { return inner_.get_executor(); }
    Inner& inner() noexcept { return inner_; }
    const std::string& address() const noexcept { return address_; }
    // The browser asked for the JSON dialect (subprotocol chatroom.v1); known after the 101.
    bool wants_json() const noexcept { return json_; }

    // Runs the exchange; on_upgraded() after a 101 was written. On the executor.
    void start_handshake(std::function<void()> on_upgraded) {
        on_upgraded_ = std::move(on_upgraded);
        inner_.set_owner(this->weak_from_this());
        deadline_ = clock::now() + hub_->options().handshake_timeout;
        watch_handshake();
        parser_ = std::make_unique<http_request_parser>(http_limits{opts_->max_request_bytes, 64});
        inner_.async_start([self = this->shared_from_this()](std::error_code ec) {
            if (self->phase_ != phase::exchange) return;
            if (ec) return self->abort();
            self->read_request();
        });
    }

protected:
    using timer_type = asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  asio::wait_traits<std::chrono::steady_clock>, executor_type>;

    // All of bytes through the inner stream, then done(ec) once it has
    // written them (TLS writes a block at a time, asynchronously).
    void write_all(std::string bytes, std::function<void(std::error_code)> done) {
        out_ = std::move(bytes);
        out_at_ = 0;
        after_write_ = std::move(done);
        continue_write();
    }

    void continue_write() {
        while (out_at_ < out_.size()) {
            send_ring::gather g;
            g.buffers[0] = asio::const_buffer(out_.data() + out_at_, out_.size() - out_at_);
            g.count = 1;
            std::error_code ec;
            const std::size_t n = inner_.write(g, ec);
            if (ec) return finish_write(ec);
            out_at_ += n;
            if (out_at_ < out_.size()) {
                inner_.async_wait_writable([self = this->shared_from_this()](std::error_code e) {
                    if (e) return self->finish_write(e);
                    self->continue_write();
                });
                return;
            }
        }
        inner_.async_wait_writable([self = this->shared_from_this()](std::error_code e) { self->finish_write(e); });
    }

    void finish_write(std::error_code ec) {
        out_.clear();
        out_.shrink_to_fit();
        auto done = std::move(after_write_);
        after_write_ = nullptr;
        done(ec);
    }

private:
    enum class phase : unsigned char { exchange, responding, upgraded, done };

    static constexpr std::chrono::milliseconds stop_poll{200};

    // Wakes at the deadline, and every stop_poll before it to see whether
    // the server is stopping (nobody else knows of this connection yet).
    void watch_handshake() {
        const auto now = clock::now();
        if (now >= deadline_ || hub_->gate().closed()) return abort();
        timer_.expires_after(std::min<clock::duration>(deadline_ - now, stop_poll));
        timer_.async_wait([weak = this->weak_from_this()](std::error_code ec) {
            auto self = weak.lock();
            if (!self || ec) return;
            if (self->phase_ == phase::exchange || self->phase_ == phase::responding) self->watch_handshake();
        });
    }

    void abort() {
        if (phase_ == phase::done) return;
        phase_ = phase::done;
        timer_.cancel();
        inner_.close();
    }

    void read_request() {
        inner_.async_read([self = this->shared_from_this()](std::error_code ec, const char* data, std::size_t n) {
            if (self->phase_ != phase::exchange) return;
            if (ec) return self->abort();
            http_request_parser& req = *self->parser_;
            switch (req.feed(data, n)) {
            case http_parse_status::needs_more: return self->read_request();
            case http_parse_status::error: return self->respond(status_response(req.error_status()));
            case http_parse_status::complete:
                self->leftover_.assign(data + req.consumed(), n - req.consumed());
                return self->route();
            }
        });
    }

    void route() {
        const http_request_parser& req = *parser_;
        const web_options& o = *opts_;
        if (req.count("Host") != 1) return respond(status_response(400));
        if (!host_allowed(o, *req.find("Host"), local_, tls_)) return respond(status_response(403));
        const std::string_view path = req.path();
        if (path == "/ws") return upgrade();
        const bool head = req.method() == "HEAD";
        if (req.method() != "GET" && !head)
            return respond(closing_response(405, "Method Not Allowed\n", "text/plain; charset=utf-8", {{"Allow", "GET, HEAD"}}));
        std::string response;
        if (path == "/")
            response = page_response(req);
        else if (path == "/healthz") // 503 while a cluster's link is degraded (docs/scale-out.md)
            response = hub_->stats().backplane == backplane_state::degraded
                           ? closing_response(503, "degraded: this server's cluster is unreachable\n")
                           : closing_response(200, "ok\n");
        else if (path == "/metrics" && o.metrics)
            response = closing_response(200, metrics_text(hub_->stats()), "text/plain; version=0.0.4; charset=utf-8");
        else
            response = status_response(404);
        if (head) response.resize(response.find("\r\n\r\n") + 4);
        respond(std::move(response));
    }

    void upgrade() {
        const http_request_parser& req = *parser_;
        const websocket_upgrade u = check_websocket_upgrade(req);
        if (u.status != 101) return respond(render_handshake_response(u));
        if (!origin_allowed(*opts_, u.origin, u.host, tls_)) return respond(status_response(403));
        std::string who = client_address(*opts_, address_, req);
        if (who != address_) {
            // Admission moves to the address the proxy vouches for.
            if (const std::optional<reply> refusal = hub_->gate().move(address_, who)) {
                hub_->gate().reject();
                return respond(closing_response(503, text_of(*refusal) + "\n"));
            }
            address_ = std::move(who);
        }
        std::string response = render_handshake_response(u);
        json_ = !u.subprotocol.empty();
        parser_.reset();
        phase_ = phase::responding;
        write_all(std::move(response), [self = this->shared_from_this()](std::error_code ec) {
            if (self->phase_ != phase::responding) return;
            if (ec) return self->abort();
            self->phase_ = phase::upgraded;
            self->timer_.cancel();
            auto next = std::move(self->on_upgraded_);
            self->on_upgraded_ = nullptr;
            next();
        });
    }

    // Writes a response that ends the exchange, ends the sending side, and
    // reads until the peer closes (or the deadline), so the close does not
    // reset a response still on its way.
    void respond(std::string response) {
        phase_ = phase::responding;
        parser_.reset();
        leftover_.clear();
        write_all(std::move(response), [self = this->shared_from_this()](std::error_code ec) {
            if (self->phase_ != phase::responding) return;
            if (ec) return self->abort();
            self->inner_.async_shutdown(leave_reason::eof, [self](std::error_code e) {
                if (self->phase_ != phase::responding) return;
                if (e) return self->abort();
                self->discard_input();
            });
        });
    }

    void discard_input() {
        inner_.async_read([self = this->shared_from_this()](std::error_code ec, const char*, std::size_t) {
            if (self->phase_ != phase::responding) return;
            if (ec) return self->abort();
            self->discard_input();
        });
    }

protected:
    Inner inner_;
    std::shared_ptr<hub> hub_;
    std::shared_ptr<const web_options> opts_;
    std::string address_;
    asio::ip::tcp::endpoint local_;
    bool tls_;
    timer_type timer_;
    clock::time_point deadline_{};
    std::unique_ptr<http_request_parser> parser_; // during the exchange only
    std::string leftover_;                        // frames that came with the request head
    std::function<void()> on_upgraded_;
    std::string out_;                             // a response, or a close frame, being written
    std::size_t out_at_ = 0;
    std::function<void(std::error_code)> after_write_;
    phase phase_ = phase::exchange;
    bool handed_over_ = false;
    bool json_ = false; // chatroom.v1 was chosen
};

} // namespace chatroom::detail
