#pragma once

// Entries (and roster names) read from Redis that failed validation: each is
// counted in the server's stats at once (backplane_rejected); the first is
// reported to the host's log at once, the ones after it together at most
// once per interval, with their count and where and why the last one
// failed, never its bytes.

#include <chatroom/redis/detail/context.hpp>
#include <chatroom/redis/detail/entry.hpp>

#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace chatroom::detail {

// What one read refused.
struct rejections {
    std::uint64_t count = 0;
    std::string last;

    void add(std::string what) {
        ++count;
        last = std::move(what);
    }
    void add(const std::string& key, const stream_id& id, entry_error why) {
        add(key + (id.zero() ? std::string() : " " + id.str()) + ": " + to_string(why));
    }
};

class rejection_report {
public:
    static constexpr std::chrono::seconds interval{10};

    explicit rejection_report(backplane_context& ctx) : ctx_(ctx), timer_(ctx.ex) {}

    // With mu held.
    void add(rejections r) {
        if (r.count == 0) return;
        ctx_.to_sink([n = r.count](room_event_sink& s) { s.rejected_entries(n); });
        unreported_ += r.count;
        last_ = std::move(r.last);
        if (armed_) return;
        const auto now = backplane_context::clock::now();
        if (now < next_) {
            armed_ = true;
            timer_.expires_at(next_);
            timer_.async_wait(ctx_.guarded([this](std::error_code ec) {
                armed_ = false;
                if (!ec && unreported_ > 0) report(backplane_context::clock::now());
            }));
            return;
        }
        report(now);
    }

    void cancel() { timer_.cancel(); }

private:
    void report(backplane_context::clock::time_point now) {
        const std::uint64_t n = std::exchange(unreported_, 0);
        ctx_.note("dropped " + std::to_string(n) + (n == 1 ? " entry" : " entries") +
                  " read from Redis that failed validation" + (reported_ ? " since the last report" : "") +
                  " (the last: " + last_ + ")");
        reported_ = true;
        next_ = now + interval;
    }

    backplane_context& ctx_;
    asio::steady_timer timer_;
    std::uint64_t unreported_ = 0;
    std::string last_;
    bool reported_ = false;
    bool armed_ = false;
    backplane_context::clock::time_point next_{};
};

} // namespace chatroom::detail
