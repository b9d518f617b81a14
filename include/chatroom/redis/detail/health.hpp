#pragma once

// The backplane's state as members and the host see it (stats().backplane):
// connected, holding (lines wait, members notice a delay) or degraded
// (members chat within this server and are told). And the canaries that
// prove each instance is heard: a server whose reads stopped bringing
// anything back is deaf, not idle.
//
// - Connected: every link healthy (a command round trip succeeded and no
//   error reply since), this incarnation registered and cleaned up after its
//   predecessor, and every canary back.
// - Holding, from the first thing that is not: transient faults and lost
//   connections. The outage clock starts then, and only a return to
//   connected stops it.
// - Degraded: held for outage_timeout; or at once for a fault that does not
//   pass by itself (authentication, a refused command: WRONGTYPE, OOM,
//   MISCONF..., a lost canary, another process under this node id). It
//   heals by itself when everything is healthy again.

#include <chatroom/redis/detail/cluster_view.hpp>
#include <chatroom/redis/detail/writer.hpp>

#include <chatroom/core/stats.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::detail {

// The member notices of the backplane's states.
namespace notices {
inline constexpr std::string_view cluster_degraded =
    "the cluster is unreachable: until it is back you chat with this server's members only";
inline constexpr std::string_view cluster_restored = "the cluster is back: rooms span every server again";
} // namespace notices

// The canaries of every instance: a sequence written through each writer
// as room entries are, and read back through the reader. One taken and not
// read back in time makes the server deaf (degraded) until it is.
class canary_watch {
public:
    explicit canary_watch(backplane_context& ctx) : ctx_(ctx), of_(ctx.opts.instances.size()) {}

    bool deaf(std::size_t i) const noexcept { return of_[i].deaf; }

    // With mu held, every canary_interval: whether instance i just went deaf.
    bool lost(std::size_t i, bool listening, std::chrono::milliseconds patience) {
        one& c = of_[i];
        const auto now = backplane_context::clock::now();
        if (!listening || c.deaf || c.acked <= c.read || now - c.acked_at <= patience) return false;
        c.deaf = true;
        ctx_.note("Redis at " + ctx_.where(i) + " is not heard: a canary written " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - c.acked_at).count()) +
                  " ms ago was not read back");
        return true;
    }
    // The next canary of instance i, unless one is on its way.
    std::optional<write_op> next(std::size_t i) {
        one& c = of_[i];
        if (c.sent != c.acked) return std::nullopt;
        write_op op;
        op.what = write_op::kind::canary;
        op.key = ctx_.keys.canary(i);
        op.count = ++c.sent;
        op.add_field("e", ctx_.epoch);
        op.add_field("q", std::to_string(op.count));
        op.bytes = 0; // not held as lines are
        return op;
    }
    void acked(std::size_t i, std::uint64_t seq) {
        one& c = of_[i];
        if (c.read >= c.acked) c.acked_at = backplane_context::clock::now(); // the oldest one not read back
        c.acked = seq;
    }
    // Read back: whether a deaf instance is heard again.
    bool heard(std::size_t i, std::uint64_t seq) {
        one& c = of_[i];
        c.read = std::max(c.read, seq);
        if (!c.deaf || c.read < c.acked) return false;
        c.deaf = false;
        return true;
    }

private:
    struct one {
        std::uint64_t sent = 0;  // the last one queued
        std::uint64_t acked = 0; // the last one Redis took
        std::uint64_t read = 0;  // the last one read back
        backplane_context::clock::time_point acked_at{}; // when the oldest one not read back was taken
        bool deaf = false;
    };
    backplane_context& ctx_;
    std::vector<one> of_;
};

// What links_changed() finds.
struct health {
    bool healthy = false; // everything up and heard
    bool lasting = false; // a fault that does not pass by itself: degrade now
    std::string why;      // the first thing that is not well, for the log
    bool connecting = false; // that thing is a first connection or the registration, still under way
};

template <class Writers, class Readers>
health assess(const backplane_context& ctx, const Writers& writers, const Readers& readers, const cluster_view& view,
              const canary_watch& canaries) {
    health h;
    auto lasting = [](const redis_link& l) { return l.fault() == reply_fault::auth || l.fault() == reply_fault::refused; };
    auto check = [&](const redis_link& l, const char* what) {
        if (l.healthy() || !h.why.empty()) return;
        h.connecting = !l.up() && l.failures() == 0 && l.fault() == reply_fault::none;
        h.why = std::string(what) + " to " + ctx.where(l.instance()) +
                (l.fault_text().empty() ? std::string(" down") : ": " + l.fault_text());
    };
    for (std::size_t i = 0; i < writers.size(); ++i) {
        check(writers[i]->link, "writer");
        check(readers[i]->link, "reader");
        h.lasting = h.lasting || lasting(writers[i]->link) || lasting(readers[i]->link) || canaries.deaf(i);
        if (canaries.deaf(i) && h.why.empty()) h.why = "Redis at " + ctx.where(i) + " is not heard back";
    }
    check(view.link, "control link");
    h.lasting = h.lasting || lasting(view.link) || view.superseded();
    if (h.why.empty() && !view.ready()) {
        h.why = view.superseded() ? "superseded" : "registering";
        h.connecting = !view.superseded();
    }
    h.healthy = h.why.empty();
    return h;
}

} // namespace chatroom::detail
