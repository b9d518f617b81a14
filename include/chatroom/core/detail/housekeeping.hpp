#pragma once

#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/options.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

// What happens with time: flood buckets refill, paused readers resume,
// closing members meet their deadline, silent members time out, members past
// the soft mark for too long are dropped. One timer ticks while any of that
// is pending, and stops when nothing is. Guarded by the hub's lock; the tick
// itself calls back into the hub, which takes it.
class housekeeping {
public:
    static constexpr std::chrono::milliseconds tick_interval{100};
    // While a sender is held, so it resumes soon after the budget that holds it runs out.
    static constexpr std::chrono::milliseconds hold_tick_interval{10};

    housekeeping(const server_options& opts, const asio::any_io_executor& ex) : opts_(opts), timer_(ex) {}

    // The hub's tick, and the hub itself, kept alive by a pending wait.
    void set_tick(std::function<void()> on_tick, std::weak_ptr<void> owner) {
        on_tick_ = std::move(on_tick);
        owner_ = std::move(owner);
    }

    // Whether the room log takes lines (room_log::accepting): backlogged
    // readers resume only when it does.
    void set_log_gate(std::function<bool()> accepting) { log_accepting_ = std::move(accepting); }

    bool timeouts_enabled() const noexcept {
        return opts_.idle_timeout.count() > 0 || opts_.first_line_timeout.count() > 0;
    }
    bool flood_control() const noexcept { return opts_.flood_lines_per_second > 0; }

    void refill(member& m, clock::time_point now) const {
        const double elapsed = std::chrono::duration<double>(now - m.state.refilled_at).count();
        m.state.refilled_at = now;
        m.state.tokens = std::min(static_cast<double>(opts_.flood_burst) + 1.0,
                                  m.state.tokens + elapsed * opts_.flood_lines_per_second);
    }

    // Reading of m stopped (throttled or held); the tick resumes it.
    void pause(member& m) {
        paused_.push_back(m.shared_from_this());
        ensure_ticking(m.state.held || m.state.backlogged ? hold_tick_interval : tick_interval);
    }

    // Closing with a final flush, which must end by the deadline.
    void begin_drain(member& m, leave_reason why) {
        if (m.state.draining) return;
        m.state.draining = true;
        m.state.deadline = clock::now() + opts_.shutdown_timeout;
        draining_.push_back(m.shared_from_this());
        ensure_ticking();
        m.close_gracefully(why);
    }

    // The next tick comes within `within` (re-arming a later one sooner).
    void ensure_ticking(std::chrono::milliseconds within = tick_interval) {
        const auto due = clock::now() + within;
        if (ticking_ && next_tick_ <= due) return;
        ticking_ = true;
        next_tick_ = due;
        timer_.expires_at(due); // a later wait still pending is cancelled
        timer_.async_wait([this, keep = owner_.lock()](std::error_code ec) {
            if (!ec && keep) on_tick_();
        });
    }

    // What a tick decided, for the hub to carry out.
    struct decisions {
        std::vector<std::pair<std::shared_ptr<member>, std::string>> resume; // reader, unread input
        std::vector<std::pair<std::shared_ptr<member>, leave_reason>> expired;
    };

    // One tick; dead references go to the graveyard, dropped after unlocking.
    void tick(clock::time_point now, fanout& out, const registry& members, decisions& d,
              std::vector<std::shared_ptr<member>>& graveyard) {
        ticking_ = false;
        const bool holding = out.holding(now);
        const bool log_open = !log_accepting_ || log_accepting_();
        for (std::size_t i = 0; i < paused_.size();) {
            member& m = *paused_[i];
            member_state& s = m.state;
            if (s.attached && s.throttled) {
                refill(m, now);
                if (s.tokens >= 2.0) s.throttled = false;
            }
            if (s.held && (!holding || now - s.held_since >= opts_.max_sender_pause)) s.held = false;
            if (s.backlogged && log_open) s.backlogged = false;
            if (!s.attached || (!s.throttled && !s.held && !s.backlogged && !s.awaiting_login)) {
                s.throttled = s.held = s.backlogged = false;
                if (s.attached) d.resume.emplace_back(std::move(paused_[i]), std::move(s.stash));
                else graveyard.push_back(std::move(paused_[i]));
                s.stash.clear();
                paused_[i] = std::move(paused_.back());
                paused_.pop_back();
            } else {
                ++i;
            }
        }

        for (std::size_t i = 0; i < draining_.size();) {
            member& m = *draining_[i];
            if (m.is_closed() || m.state.deadline <= now) {
                if (!m.is_closed()) m.close_now({}, leave_reason::connection_lost);
                graveyard.push_back(std::move(draining_[i]));
                draining_[i] = std::move(draining_.back());
                draining_.pop_back();
            } else {
                ++i;
            }
        }

        out.expire_pressure(now);
        if (timeouts_enabled() && ++tick_count_ % 10 == 0) expire_silent(now, members, d);

        const bool any_held = std::any_of(paused_.begin(), paused_.end(),
                                          [](const auto& m) { return m->state.held || m->state.backlogged; });
        if (any_held) ensure_ticking(hold_tick_interval);
        else if (!paused_.empty() || !draining_.empty() || out.under_pressure() ||
                 (timeouts_enabled() && !members.empty()))
            ensure_ticking();
    }

    // No member holds senders any more: the held readers resume now rather
    // than at the next tick.
    void release_held(decisions& d) {
        for (std::size_t i = 0; i < paused_.size();) {
            member_state& s = paused_[i]->state;
            if (s.held && !s.throttled && !s.backlogged && !s.awaiting_login && s.attached) {
                s.held = false;
                d.resume.emplace_back(std::move(paused_[i]), std::move(s.stash));
                s.stash.clear();
                paused_[i] = std::move(paused_.back());
                paused_.pop_back();
            } else {
                ++i;
            }
        }
    }

    // The login m waited for is decided (and any nick claim it made): its
    // reading resumes, unless something else still pauses it.
    void release_login(member& m, decisions& d) {
        member_state& s = m.state;
        if (!s.awaiting_login || s.login_pending || s.nick_pending) return;
        s.awaiting_login = false;
        if (s.throttled || s.held || s.backlogged) return;
        for (std::size_t i = 0; i < paused_.size(); ++i) {
            if (paused_[i].get() != &m) continue;
            if (s.attached) d.resume.emplace_back(std::move(paused_[i]), std::move(s.stash));
            s.stash.clear();
            paused_[i] = std::move(paused_.back());
            paused_.pop_back();
            return;
        }
    }

private:
    void expire_silent(clock::time_point now, const registry& members, decisions& d) const {
        for (const auto& m : members.members()) {
            const member_state& s = m->state;
            if (opts_.first_line_timeout.count() > 0 && !s.said_something &&
                now - s.connected_at >= opts_.first_line_timeout)
                d.expired.emplace_back(m, leave_reason::first_line_timeout);
            else if (opts_.idle_timeout.count() > 0 && now - s.last_active >= opts_.idle_timeout)
                d.expired.emplace_back(m, leave_reason::idle_timeout);
        }
    }

    const server_options& opts_;
    asio::steady_timer timer_;
    std::function<void()> on_tick_;
    std::function<bool()> log_accepting_;
    std::weak_ptr<void> owner_;
    std::vector<std::shared_ptr<member>> paused_;
    std::vector<std::shared_ptr<member>> draining_;
    std::uint64_t tick_count_ = 0;
    clock::time_point next_tick_{};
    bool ticking_ = false;
};

} // namespace chatroom::detail
