#pragma once

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/shared_bytes.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace chatroom::irc::detail {

// One IRC connection's keepalive (irc_options::ping_interval): a timer on
// the connection's executor (its session's: a strand when several threads
// run the server). The decoder calls heard() for every read; each
// interval without one, `PING :<server>` goes into the member's queue (so it
// never lands inside a line being written); with still nothing read
// pong_timeout later, `ERROR :Closing link: ...` goes after it and the
// member departs (its rooms told "connection lost: Ping timeout: N
// seconds", which IRC shows as a QUIT). stop() ends it; the decoder calls
// it when the session is done with it.
class keepalive : public std::enable_shared_from_this<keepalive> {
public:
    keepalive(asio::any_io_executor ex, std::string server, std::chrono::seconds interval, std::chrono::seconds timeout)
        : timer_(std::move(ex)),
          server_(std::move(server)),
          interval_(interval),
          timeout_(timeout.count() > 0 ? timeout : interval) {}

    // From any thread: starts the timer for m, whose hub departs it.
    void start(std::weak_ptr<chatroom::detail::member> m, std::weak_ptr<chatroom::detail::hub> h) {
        member_ = std::move(m);
        hub_ = std::move(h);
        asio::dispatch(timer_.get_executor(), [self = shared_from_this()] { self->arm(self->interval_); });
    }

    // Something was read from the peer (the session's executor).
    void heard() noexcept { heard_.store(true, std::memory_order_relaxed); }

    // From any thread: no more pings, the timer cancelled.
    void stop() {
        asio::post(timer_.get_executor(), [self = shared_from_this()] {
            self->stopped_ = true;
            self->timer_.cancel();
        });
    }

    // The silence after which a member is dropped, as its reason says it.
    std::string timeout_reason() const {
        return "Ping timeout: " + std::to_string((interval_ + timeout_).count()) + " seconds";
    }

private:
    void arm(std::chrono::seconds after) {
        if (stopped_) return;
        timer_.expires_after(after);
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec && !self->stopped_) self->due();
        });
    }

    void due() {
        auto m = member_.lock();
        auto h = hub_.lock();
        if (!m || !h || m->is_closed()) return;
        if (heard_.exchange(false, std::memory_order_relaxed)) {
            awaiting_pong_ = false;
            return arm(interval_);
        }
        if (awaiting_pong_) {
            const std::string why = timeout_reason();
            m->output.push_own(shared_bytes::copy_of("ERROR :Closing link: " + m->address() + " (" + why + ")\r\n"));
            h->depart(*m, chatroom::detail::leave_reason::connection_lost, true, why);
            return;
        }
        awaiting_pong_ = true;
        m->output.push_own(shared_bytes::copy_of("PING :" + server_ + "\r\n"));
        m->flush();
        arm(timeout_);
    }

    asio::steady_timer timer_;
    const std::string server_;
    const std::chrono::seconds interval_, timeout_;
    std::weak_ptr<chatroom::detail::member> member_;
    std::weak_ptr<chatroom::detail::hub> hub_;
    std::atomic<bool> heard_{false};
    bool awaiting_pong_ = false; // on the timer's executor, as stopped_
    bool stopped_ = false;
};

} // namespace chatroom::irc::detail
