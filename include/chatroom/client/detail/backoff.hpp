#pragma once

#include <chatroom/client/options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace chatroom::detail {

// The delays of a reconnect_policy, one per attempt.
class backoff {
public:
    // The seed picks the jitter; basic_client seeds each client differently.
    explicit backoff(reconnect_policy p = {}, std::uint32_t seed = 1)
        : policy_(p), random_(seed) {
        policy_.multiplier = std::max(policy_.multiplier, 1.0);
        policy_.jitter = std::clamp(policy_.jitter, 0.0, 1.0);
        policy_.initial_delay = std::max(policy_.initial_delay, std::chrono::milliseconds(0));
        policy_.max_delay = std::max(policy_.max_delay, policy_.initial_delay);
        reset();
    }

    const reconnect_policy& policy() const noexcept { return policy_; }

    // The delay before the next attempt; each call backs off further.
    std::chrono::milliseconds next() {
        const double full = current_;
        // Kept as a double so that a long outage cannot overflow it.
        current_ = std::min(current_ * policy_.multiplier, static_cast<double>(policy_.max_delay.count()));
        const double cut = std::uniform_real_distribution<double>(0.0, policy_.jitter)(random_);
        return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(full * (1.0 - cut)));
    }

    void reset() noexcept { current_ = static_cast<double>(policy_.initial_delay.count()); }

private:
    reconnect_policy policy_;
    std::minstd_rand random_;
    double current_ = 0;
};

} // namespace chatroom::detail
