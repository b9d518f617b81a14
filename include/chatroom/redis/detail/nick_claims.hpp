#pragma once

// Nick claims across the cluster (scripts::claim on the home). A claim is
// decided only by Redis, and only when it can be: while the control link is
// down or not yet ready (just back, or this process still cleaning up after
// its predecessor) it waits; while the nick's holder is a dead server whose
// leaves are not yet announced (the script answers 2) it is asked again at
// every heartbeat. It is refused when another live server's member holds
// the nick, or when its patience runs out (then uniqueness could not be
// checked: refused rather than risked). A claim lost in flight is asked
// again (the script counts a nick this server already holds as won).

#include <chatroom/redis/detail/link.hpp>
#include <chatroom/redis/detail/scripts.hpp>

#include <asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

class nick_claims {
public:
    using done_handler = std::function<void(bool)>;

    explicit nick_claims(backplane_context& ctx) : ctx_(ctx) {}

    // How long a claim may wait: a link's outage, or a dead holder's
    // reaping (its heartbeat's TTL and two views).
    std::chrono::milliseconds patience() const {
        return std::max(ctx_.opts.outage_timeout, ctx_.opts.node_ttl + 4 * ctx_.opts.heartbeat);
    }

    // With mu held.
    void add(const std::string& folded, done_handler done) {
        waiting_.push_back(claim{folded, std::move(done), backplane_context::clock::now() + patience()});
    }

    // With mu held, the link up and ready: each waiting claim not on its way
    // is asked.
    void send(redis_link& link) {
        for (claim& c : waiting_) {
            if (c.in_flight) continue;
            c.in_flight = true;
            c.id = ++ids_;
            link.conn()->command({"EVAL", redis_scripts::claim, "1", ctx_.keys.nicks(), c.folded, ctx_.node,
                                  ctx_.opts.key_prefix},
                                 link.handler([this, &link, id = c.id](std::error_code ec, const redis_reply& r) {
                                     if (!ec && r.is_error()) link.fault(classify(r), "claim: " + r.text);
                                     answered(id, ec, r);
                                 }));
        }
    }

    // With mu held: the link was lost; what was on its way is asked again.
    void lost() {
        for (claim& c : waiting_) c.in_flight = false;
    }

    // With mu held, every heartbeat: claims past their patience are refused.
    void expire() {
        const auto now = backplane_context::clock::now();
        for (auto it = waiting_.begin(); it != waiting_.end();) {
            if (!it->in_flight && now >= it->deadline) {
                finish(std::move(it->done), false);
                it = waiting_.erase(it);
            } else {
                ++it;
            }
        }
    }

    // With mu held: the backplane stops; every claim is refused.
    void refuse_all() {
        for (claim& c : waiting_) finish(std::move(c.done), false);
        waiting_.clear();
    }

private:
    struct claim {
        std::string folded;
        done_handler done;
        backplane_context::clock::time_point deadline;
        bool in_flight = false;
        std::uint64_t id = 0;
    };

    void answered(std::uint64_t id, std::error_code ec, const redis_reply& r) {
        auto it = std::find_if(waiting_.begin(), waiting_.end(), [id](const claim& c) { return c.id == id; });
        if (it == waiting_.end()) return;
        it->in_flight = false;
        // No answer, an error reply, or "not yet": asked again later.
        if (ec || !r.is_integer() || r.integer == 2) return;
        finish(std::move(it->done), r.integer == 1);
        waiting_.erase(it);
    }

    // The server's handler runs unlocked, from the strand.
    void finish(done_handler done, bool won) {
        if (done) asio::post(ctx_.ex, [done = std::move(done), won] { done(won); });
    }

    backplane_context& ctx_;
    std::deque<claim> waiting_;
    std::uint64_t ids_ = 0;
};

} // namespace chatroom::detail
