#pragma once

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/web/detail/exchange.hpp>
#include <chatroom/web/detail/frame_encoder.hpp>

#include <chrono>
#include <memory>
#include <system_error>
#include <utility>

namespace chatroom::detail {

// The second layer of a web_connection (stream.hpp): keeping an upgraded
// connection alive, on the exchange's timer, which the 101 has freed.
//
// Every ping_interval without a byte from the peer, a ping goes into the
// member's queue (so it never lands inside a frame being written); with
// still no byte pong_timeout later, the member is dropped.
template <class Inner>
class web_keepalive : public web_exchange<Inner> {
public:
    using web_exchange<Inner>::web_exchange;

protected:
    using web_exchange<Inner>::hub_;
    using web_exchange<Inner>::opts_;
    using web_exchange<Inner>::timer_;

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

private:
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
        m->output.push_own(shared_bytes::copy_of(ping_frame().view()));
        m->flush();
        arm_ping(opts_->pong_timeout.count() > 0 ? opts_->pong_timeout : opts_->ping_interval);
    }

protected:
    bool closed_ = false;
    bool pinging_ = false;
    bool heard_ = false;
    bool awaiting_pong_ = false;
    std::weak_ptr<member> member_; // the session's, from bind()
};

} // namespace chatroom::detail
