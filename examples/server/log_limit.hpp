// chatroom-server's log, bounded per client address: a client that churns
// through /join, /nick or reconnects cannot make the log grow faster than
// a few lines a second, however fast it sends. Flood control bounds what a
// client costs the rooms; this bounds what it costs the disk.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace log_limit {

// A token bucket per address. Thread-safe: the server's event handler may
// run on several threads at once.
class per_address {
public:
    using clock = std::chrono::steady_clock;

    per_address(double lines_per_second, double burst, std::size_t max_addresses = 10000)
        : rate_(lines_per_second), burst_(burst), max_addresses_(max_addresses) {}

    // Whether a line about a client at address may be logged now. When it
    // may and earlier lines were held back, suppressed is set to how many,
    // so the caller can say so first. Lines with no address (the host, the
    // backplane, Unix sockets) are never held back.
    bool allow(const std::string& address, std::size_t& suppressed) {
        suppressed = 0;
        if (address.empty()) return true;
        std::lock_guard<std::mutex> g(mutex_);
        const auto now = clock::now();
        auto it = buckets_.find(address);
        if (it == buckets_.end()) {
            if (buckets_.size() >= max_addresses_) forget_idle(now);
            // Still full: the addresses beyond the bound share one bucket.
            const std::string& key = buckets_.size() >= max_addresses_ ? overflow_key_ : address;
            it = buckets_.try_emplace(key, bucket{burst_, now, 0}).first;
        }
        bucket& b = it->second;
        b.tokens = std::min(burst_, b.tokens + std::chrono::duration<double>(now - b.at).count() * rate_);
        b.at = now;
        if (b.tokens < 1.0) {
            ++b.suppressed;
            return false;
        }
        b.tokens -= 1.0;
        suppressed = std::exchange(b.suppressed, 0);
        return true;
    }

private:
    struct bucket {
        double tokens;
        clock::time_point at;
        std::size_t suppressed;
    };

    // Drops buckets that have refilled and hold back nothing.
    void forget_idle(clock::time_point now) {
        for (auto it = buckets_.begin(); it != buckets_.end();) {
            const double full_in = (burst_ - it->second.tokens) / rate_;
            if (it->second.suppressed == 0 && std::chrono::duration<double>(now - it->second.at).count() >= full_in)
                it = buckets_.erase(it);
            else
                ++it;
        }
    }

    const double rate_;
    const double burst_;
    const std::size_t max_addresses_;
    const std::string overflow_key_ = "(other addresses)";
    std::mutex mutex_;
    std::unordered_map<std::string, bucket> buckets_;
};

} // namespace log_limit
