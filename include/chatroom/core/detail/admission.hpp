#pragma once

#include <chatroom/core/options.hpp>
#include <chatroom/line/replies.hpp>
#include <chatroom/core/stats.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chatroom::detail {

// Who may connect: the connection limits, overall and per address. It has
// its own lock, not the hub's: release() runs in session destructors, which
// may run while the hub's lock is held.
class admission {
public:
    admission(const server_options& opts, counters& count) : opts_(opts), count_(count) {}

    // Returns the refusal line to send, or an empty view when the connection
    // may stay (it is then counted until release()).
    std::string_view admit(const std::string& address) {
        std::lock_guard<std::mutex> g(mutex_);
        if (closed_.load(std::memory_order_relaxed)) return replies::shutting_down_refusal;
        if (open_ >= opts_.max_connections) return replies::server_full;
        const bool per_address = opts_.max_connections_per_address != 0 && !address.empty();
        if (per_address && per_address_[address] >= opts_.max_connections_per_address)
            return replies::too_many_from_address;
        ++open_;
        if (per_address) ++per_address_[address];
        counters::add(count_.accepted);
        counters::add(count_.connections);
        return {};
    }

    // The connection turned out to come from another address (a trusted
    // proxy's X-Forwarded-For): it is counted under that one instead, if
    // that one's limit allows. Returns the refusal line, or empty.
    std::string_view move(const std::string& from, const std::string& to) {
        if (from == to || opts_.max_connections_per_address == 0) return {};
        std::lock_guard<std::mutex> g(mutex_);
        if (!to.empty() && per_address_[to] >= opts_.max_connections_per_address)
            return replies::too_many_from_address;
        if (!from.empty()) {
            auto it = per_address_.find(from);
            if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
        }
        if (!to.empty()) ++per_address_[to];
        return {};
    }

    // The other half of a successful admit(): the connection is gone.
    void release(const std::string& address) noexcept {
        std::lock_guard<std::mutex> g(mutex_);
        --open_;
        counters::sub(count_.connections);
        if (opts_.max_connections_per_address != 0 && !address.empty()) {
            auto it = per_address_.find(address);
            if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
        }
    }

    void reject() noexcept { counters::add(count_.rejected); }

    // stop(): nobody new gets in.
    void close() noexcept { closed_.store(true, std::memory_order_relaxed); }
    bool closed() const noexcept { return closed_.load(std::memory_order_relaxed); }

private:
    const server_options& opts_;
    counters& count_;
    std::mutex mutex_;
    std::atomic<bool> closed_{false};
    std::size_t open_ = 0;
    std::unordered_map<std::string, std::size_t> per_address_;
};

} // namespace chatroom::detail
