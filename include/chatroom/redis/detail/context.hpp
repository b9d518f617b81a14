#pragma once

// What the parts of the backplane share (core.hpp owns them all): one lock,
// the options, the strand, this process's identity, and the few things a
// part asks of the whole.
//
// Threading: every part's state is guarded by mu. It is taken under the
// server's lock (room_log calls) or alone (handlers), never the other way
// round: what must reach the server (the sink) is posted to the strand and
// runs unlocked (to_sink). Handlers are made with guarded(), which locks
// mu and does nothing once the backplane is gone or stopped.

#include <chatroom/redis/detail/keys.hpp>
#include <chatroom/redis/options.hpp>
#include <chatroom/core/room_log.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>

namespace chatroom::detail {

class backplane_context {
public:
    using clock = std::chrono::steady_clock;
    using strand = asio::strand<asio::any_io_executor>;

    backplane_context(redis_options o, const asio::any_io_executor& executor, std::size_t max_line_bytes)
        : opts(with_defaults(std::move(o))), ex(asio::make_strand(executor)),
          node(opts.node_id.empty() ? random_token(8) : opts.node_id), epoch(random_token(12)),
          keys{opts.key_prefix, node}, max_line(max_line_bytes) {}
    virtual ~backplane_context() = default;
    backplane_context(const backplane_context&) = delete;
    backplane_context& operator=(const backplane_context&) = delete;

    mutable std::mutex mu;
    const redis_options opts;
    const strand ex;
    const std::string node;  // the node id: this server's name in the cluster
    const std::string epoch; // this process: a new incarnation of the node each start
    const redis_keys keys;
    const std::size_t max_line; // the server's: no line read back is longer
    std::mt19937 rng{std::random_device{}()};
    bool stopped = false; // the connections are closed: handlers do nothing

    // With mu held: a part's link came up, went down, or its fault changed.
    virtual void links_changed() = 0;
    // From the strand, unlocked: runs f with the server's sink, if it is
    // still there (the owner is not stopping).
    virtual void with_sink(const std::function<void(room_event_sink&)>& f) = 0;

    // Calls f(sink) later, from the strand, unlocked; in the order posted.
    // f goes to with_sink by reference: a std::function made of f itself
    // would copy what it holds (a read's events, texts and all).
    template <class F>
    void to_sink(F f) {
        asio::post(ex, [w = weak_, f = std::move(f)]() mutable {
            if (auto self = w.lock()) self->with_sink(std::ref(f));
        });
    }
    // A line for the host's log (an error event).
    void note(std::string text) {
        to_sink([text = std::move(text)](room_event_sink& s) mutable { s.report(std::move(text)); });
    }

    // A handler that runs f(args...) with mu held, unless the backplane is
    // gone or stopped.
    template <class F>
    auto guarded(F f) const {
        return [w = weak_, f = std::move(f)](auto&&... args) mutable {
            auto self = w.lock();
            if (!self) return;
            std::lock_guard<std::mutex> g(self->mu);
            if (self->stopped) return;
            f(std::forward<decltype(args)>(args)...);
        };
    }

    // Reconnection delays: 100 ms doubling to 2 s, each with jitter (between
    // half of it and all of it), so a cluster coming back does not reconnect
    // in lockstep. With mu held (the generator).
    static constexpr std::chrono::milliseconds max_backoff{2000};
    std::chrono::milliseconds backoff(unsigned failures) {
        const long long base =
            std::min<long long>(max_backoff.count(), 100LL << std::min(failures ? failures - 1 : 0u, 5u));
        std::uniform_int_distribution<long long> jitter(base / 2, base);
        return std::chrono::milliseconds(jitter(rng));
    }

    // Through Sentinel: the instances are the masters named.
    bool sentinel() const noexcept { return !opts.masters.empty(); }
    std::string where(std::size_t instance) const {
        if (sentinel()) return "master " + opts.masters[instance];
        const redis_endpoint& e = opts.instances[instance];
        return e.host + ":" + std::to_string(e.port);
    }

protected:
    // Set by the owner once it is held by a shared_ptr.
    std::weak_ptr<backplane_context> weak_;

private:
    static redis_options with_defaults(redis_options o) {
        if (!o.masters.empty()) o.instances.assign(o.masters.size(), redis_endpoint{});
        if (o.instances.empty()) o.instances.push_back(redis_endpoint{});
        return o;
    }
};

} // namespace chatroom::detail
