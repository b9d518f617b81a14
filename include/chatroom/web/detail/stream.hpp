#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/send_ring.hpp>
#include <chatroom/web/detail/decoder.hpp>
#include <chatroom/web/detail/exchange.hpp>
#include <chatroom/web/detail/frame.hpp>
#include <chatroom/web/detail/frame_decoder.hpp>
#include <chatroom/web/detail/frame_encoder.hpp>
#include <chatroom/web/detail/keepalive.hpp>

#include <asio/post.hpp>

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
// It is built in layers, one object: web_exchange (exchange.hpp), then
// web_keepalive (keepalive.hpp), then the stream here.
template <class Inner>
class web_connection : public web_keepalive<Inner> {
public:
    using web_keepalive<Inner>::web_keepalive;
    using web_exchange<Inner>::get_executor;

    std::shared_ptr<web_link> link() { return std::shared_ptr<web_link>(this->shared_from_this(), &link_); }

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

    std::size_t write(const send_ring::gather& g, std::error_code& ec) { return inner_.write(g, ec); }

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
    // The layers below reach their members through shared_from_this(), a
    // web_connection, where the using-declarations here would hide them.
    friend class web_exchange<Inner>;
    friend class web_keepalive<Inner>;

    using web_exchange<Inner>::inner_;
    using web_exchange<Inner>::leftover_;
    using web_exchange<Inner>::handed_over_;
    using web_exchange<Inner>::write_all;
    using web_keepalive<Inner>::member_;
    using web_keepalive<Inner>::closed_;
    using web_keepalive<Inner>::heard_;
    using web_keepalive<Inner>::start_pinging;
    using web_keepalive<Inner>::stop_pinging;

    // What the decoder reading the peer's close holds of a message meanwhile;
    // longer ones end the wait as an error would.
    static constexpr std::size_t ws_close_reason_bytes = 4096;

    std::unique_ptr<websocket_decoder> closing_;   // reads the peer's close after the server's
    web_link link_;
    bool close_sent_ = false;
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
    std::size_t write(const send_ring::gather& g, std::error_code& ec) { return c_->write(g, ec); }
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
