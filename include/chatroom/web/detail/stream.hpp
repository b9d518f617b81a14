#pragma once

#include <chatroom/web/detail/http_request.hpp>
#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/outbox.hpp>
#include <chatroom/web/detail/decoder.hpp>
#include <chatroom/web/detail/page.hpp>
#include <chatroom/web/options.hpp>
#include <chatroom/web/detail/policy.hpp>
#include <chatroom/web/detail/websocket_frame.hpp>
#include <chatroom/core/message.hpp>

#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace chatroom::detail {

// One browser connection over Inner (socket_stream or tls_stream): first the
// HTTP exchange, then, once upgraded, the session's stream (through the
// web_stream handle below). Everything runs on Inner's executor.
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
class web_connection : public std::enable_shared_from_this<web_connection<Inner>> {
public:
    using executor_type = typename Inner::executor_type;

    web_connection(Inner inner, std::shared_ptr<hub> h, std::shared_ptr<const web_options> options, bool tls,
                   std::string address, asio::ip::tcp::endpoint local)
        : inner_(std::move(inner)), hub_(std::move(h)), opts_(std::move(options)), address_(std::move(address)),
          local_(local), tls_(tls), timer_(inner_.get_executor()) {}

    web_connection(const web_connection&) = delete;
    web_connection& operator=(const web_connection&) = delete;

    ~web_connection() {
        if (!handed_over_) hub_->gate().release(address_);
    }

    executor_type get_executor() noexcept { return inner_.get_executor(); }
    Inner& inner() noexcept { return inner_; }
    const std::string& address() const noexcept { return address_; }
    std::shared_ptr<web_link> link() { return std::shared_ptr<web_link>(this->shared_from_this(), &link_); }

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

    // The session's member, bound before it starts: pings go into its queue.
    void bind(const std::shared_ptr<member>& m) {
        handed_over_ = true;
        member_ = m;
        link_.owner = m.get();
    }

    // ---- the stream concept (socket_stream.hpp), once upgraded ---------------

    template <class Handler>
    void async_start(Handler&& h) {
        start_pinging();
        std::forward<Handler>(h)(std::error_code());
    }

    // The first read hands out what came after the request head. Once the
    // server's close is out, the peer's close (or a frame it cannot send
    // then) reads as the end of the stream, so the session, which reads to
    // the end before it closes, closes as soon as the closing handshake is
    // complete rather than when its drain deadline passes.
    template <class Handler>
    void async_read(Handler&& h) {
        if (close_sent_) return read_after_close(std::forward<Handler>(h));
        if (!leftover_.empty()) {
            asio::post(get_executor(), [h = std::forward<Handler>(h), bytes = std::move(leftover_)]() mutable {
                h(std::error_code(), bytes.data(), bytes.size());
            });
            leftover_.clear();
            return;
        }
        inner_.async_read([this, h = std::forward<Handler>(h)](std::error_code ec, const char* data, std::size_t n) mutable {
            if (!ec) heard_ = true;
            h(ec, data, n);
        });
    }

    std::size_t write(const outbox::gather& g, std::error_code& ec) { return inner_.write(g, ec); }

    template <class Handler>
    void read_after_close(Handler&& h) {
        if (link_.peer_closed) {
            asio::post(get_executor(), [h = std::forward<Handler>(h)]() mutable { h(asio::error::eof, nullptr, 0); });
            return;
        }
        if (!closing_) closing_ = std::make_unique<websocket_decoder>(ws_close_reason_bytes);
        std::string early = std::move(leftover_);
        leftover_.clear();
        auto on_bytes = [this](std::error_code ec, const char* data, std::size_t n) {
            if (!ec) {
                bool over = false;
                closing_->feed(data, n, [&](const ws_event& e) {
                    over = over || e.kind == ws_event_kind::close || e.kind == ws_event_kind::error;
                    return true;
                });
                if (over) link_.peer_closed = true;
            }
            return ec ? ec : link_.peer_closed ? std::error_code(asio::error::eof) : std::error_code();
        };
        if (!early.empty()) {
            asio::post(get_executor(), [h = std::forward<Handler>(h), on_bytes, early = std::move(early)]() mutable {
                h(on_bytes(std::error_code(), early.data(), early.size()), early.data(), early.size());
            });
            return;
        }
        inner_.async_read([h = std::forward<Handler>(h), on_bytes](std::error_code ec, const char* data, std::size_t n) mutable {
            h(on_bytes(ec, data, n), data, n);
        });
    }

    template <class Handler>
    void async_wait_writable(Handler&& h) {
        inner_.async_wait_writable(std::forward<Handler>(h));
    }

    // Last words, then the close frame for why.
    void write_last(std::string_view bytes, leave_reason why) {
        if (close_sent_) return;
        close_sent_ = true;
        stop_pinging();
        std::string all(bytes);
        all += close_frame(close_code(why)).view();
        inner_.write_last(all, why);
    }

    // The close frame, once all output is out, then the inner stream's end.
    template <class Handler>
    void async_shutdown(leave_reason why, Handler&& h) {
        stop_pinging();
        std::function<void(std::error_code)> done = std::forward<Handler>(h);
        if (close_sent_) return inner_.async_shutdown(why, std::move(done));
        close_sent_ = true;
        write_all(std::string(close_frame(close_code(why)).view()),
                  [self = this->shared_from_this(), why, done = std::move(done)](std::error_code ec) mutable {
                      if (ec) return done(ec);
                      self->inner_.async_shutdown(why, std::move(done));
                  });
    }

    void close() {
        closed_ = true;
        stop_pinging();
        inner_.close();
    }

    bool is_clean_end(const std::error_code& ec) const noexcept { return inner_.is_clean_end(ec); }

    // The code a close for why carries (never 1005, 1006 or 1015 on its own).
    std::uint16_t close_code(leave_reason why) const noexcept {
        if (link_.close_code != 0) return link_.close_code;
        switch (why) {
        case leave_reason::eof:
        case leave_reason::quit: return ws_close::normal;
        case leave_reason::shutdown: return ws_close::going_away;
        case leave_reason::connection_lost: return ws_close::internal_error;
        default:
            // too_slow, the timeouts, and every removal the server decides
            // on (kicks, bans, reasons added later): the server's policy.
            return ws_close::policy_violation;
        }
    }

private:
    using timer_type = asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  asio::wait_traits<std::chrono::steady_clock>, executor_type>;
    enum class phase : unsigned char { exchange, responding, upgraded, done };

    static constexpr std::chrono::milliseconds stop_poll{200};
    // What the decoder reading the peer's close holds of a message meanwhile;
    // longer ones end the wait as an error would.
    static constexpr std::size_t ws_close_reason_bytes = 4096;

    // ---- the HTTP exchange ----------------------------------------------------

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
            response = closing_response(200, web_page_html, "text/html; charset=utf-8",
                                        {{"Content-Security-Policy", web_page_csp}, {"Referrer-Policy", "no-referrer"}});
        else if (path == "/healthz")
            response = closing_response(200, "ok\n");
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
            const std::string_view refusal = hub_->gate().move(address_, who);
            if (!refusal.empty()) {
                hub_->gate().reject();
                return respond(closing_response(503, std::string(refusal) + "\n"));
            }
            address_ = std::move(who);
        }
        std::string response = render_handshake_response(u);
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
            outbox::gather g;
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

    // ---- keeping an upgraded connection alive ---------------------------------

    // Every ping_interval without a byte from the peer, a ping goes into the
    // member's queue (so it never lands inside a frame being written); with
    // still no byte pong_timeout later, the member is dropped.
    void start_pinging() {
        if (opts_->ping_interval.count() <= 0 || closed_) return;
        pinging_ = true;
        arm_ping(opts_->ping_interval);
    }

    void stop_pinging() {
        if (!pinging_) return;
        pinging_ = false;
        timer_.cancel();
    }

    void arm_ping(std::chrono::seconds after) {
        timer_.expires_after(after);
        timer_.async_wait([weak = this->weak_from_this()](std::error_code ec) {
            auto self = weak.lock();
            if (!self || ec || !self->pinging_ || self->closed_) return;
            self->ping_due();
        });
    }

    void ping_due() {
        auto m = member_.lock();
        if (!m) return;
        if (std::exchange(heard_, false)) {
            awaiting_pong_ = false;
            return arm_ping(opts_->ping_interval);
        }
        if (awaiting_pong_) {
            pinging_ = false;
            hub_->depart(*m, leave_reason::connection_lost, false);
            return;
        }
        awaiting_pong_ = true;
        m->output.push_own(message::copy_of(ping_frame().view()));
        m->flush();
        arm_ping(opts_->pong_timeout.count() > 0 ? opts_->pong_timeout : opts_->ping_interval);
    }

    Inner inner_;
    std::shared_ptr<hub> hub_;
    std::shared_ptr<const web_options> opts_;
    std::string address_;
    asio::ip::tcp::endpoint local_;
    bool tls_;
    timer_type timer_;
    clock::time_point deadline_{};
    std::unique_ptr<http_request_parser> parser_; // during the exchange only
    std::unique_ptr<websocket_decoder> closing_;   // reads the peer's close after the server's
    std::string leftover_;                        // frames that came with the request head
    std::function<void()> on_upgraded_;
    std::string out_;                             // a response, or a close frame, being written
    std::size_t out_at_ = 0;
    std::function<void(std::error_code)> after_write_;
    web_link link_;
    std::weak_ptr<member> member_;
    phase phase_ = phase::exchange;
    bool handed_over_ = false;
    bool close_sent_ = false;
    bool closed_ = false;
    bool pinging_ = false;
    bool heard_ = false;
    bool awaiting_pong_ = false;
};

// The session's stream for a browser: a handle on the connection above,
// which must outlive the exchange that ran before the session existed.
template <class Inner>
class web_stream {
public:
    using connection_type = web_connection<Inner>;
    using executor_type = typename connection_type::executor_type;

    explicit web_stream(std::shared_ptr<connection_type> c) noexcept : c_(std::move(c)) {}

    static const char* transport_name() noexcept { return "web"; }
    executor_type get_executor() noexcept { return c_->get_executor(); }
    connection_type& connection() noexcept { return *c_; }

    // The connection keeps the session's member itself (bind()).
    void set_owner(const std::weak_ptr<void>&) noexcept {}

    template <class Handler>
    void async_start(Handler&& h) {
        c_->async_start(std::forward<Handler>(h));
    }
    template <class Handler>
    void async_read(Handler&& h) {
        c_->async_read(std::forward<Handler>(h));
    }
    std::size_t write(const outbox::gather& g, std::error_code& ec) { return c_->write(g, ec); }
    template <class Handler>
    void async_wait_writable(Handler&& h) {
        c_->async_wait_writable(std::forward<Handler>(h));
    }
    void write_last(std::string_view bytes, leave_reason why) { c_->write_last(bytes, why); }
    template <class Handler>
    void async_shutdown(leave_reason why, Handler&& h) {
        c_->async_shutdown(why, std::forward<Handler>(h));
    }
    void close() { c_->close(); }
    bool is_clean_end(const std::error_code& ec) const noexcept { return c_->is_clean_end(ec); }

private:
    std::shared_ptr<connection_type> c_;
};

} // namespace chatroom::detail
