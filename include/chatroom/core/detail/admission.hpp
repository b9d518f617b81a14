#pragma once

#include <chatroom/core/options.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/stats.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatroom::detail {

// Who may connect: the connection limits, overall and per address. It has
// its own lock, not the hub's: release() runs in session destructors, which
// may run while the hub's lock is held.
class admission {
public:
    admission(const server_options& opts, counters& count) : opts_(opts), count_(count) {}

    // Returns the refusal to send, or nothing when the connection may stay
    // (it is then counted until release()).
    std::optional<reply> admit(const std::string& address) {
        std::lock_guard<std::mutex> g(mutex_);
        if (closed_.load(std::memory_order_relaxed)) return reply::of(reply_kind::refused_stopping);
        if (open_ >= opts_.max_connections) return reply::of(reply_kind::server_full);
        const bool per_address = opts_.max_connections_per_address != 0 && !address.empty();
        if (per_address && per_address_[address] >= opts_.max_connections_per_address)
            return reply::of(reply_kind::too_many_from_address);
        ++open_;
        if (per_address) ++per_address_[address];
        counters::add(count_.accepted);
        counters::add(count_.connections);
        return std::nullopt;
    }

    // The connection turned out to come from another address (a trusted
    // proxy's X-Forwarded-For): it is counted under that one instead, if
    // that one's limit allows. Returns the refusal, or nothing.
    std::optional<reply> move(const std::string& from, const std::string& to) {
        if (from == to || opts_.max_connections_per_address == 0) return std::nullopt;
        std::lock_guard<std::mutex> g(mutex_);
        if (!to.empty() && per_address_[to] >= opts_.max_connections_per_address)
            return reply::of(reply_kind::too_many_from_address);
        if (!from.empty()) {
            auto it = per_address_.find(from);
            if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
        }
        if (!to.empty()) ++per_address_[to];
        return std::nullopt;
    }

    // The other half of a successful admit(): the connection is gone.
    void release(const std::string& address) noexcept {
        std::vector<std::function<void()>> empty;
        {
            std::lock_guard<std::mutex> g(mutex_);
            --open_;
            counters::sub(count_.connections);
            if (opts_.max_connections_per_address != 0 && !address.empty()) {
                auto it = per_address_.find(address);
                if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
            }
            if (open_ == 0 && closed()) empty.swap(when_empty_);
        }
        for (auto& f : empty) f();
    }

    // After close(): f runs once no connection is left, now or from the
    // last release(), which may run with the hub's lock held (f only posts).
    void when_empty(std::function<void()> f) {
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (open_ != 0) return when_empty_.push_back(std::move(f));
        }
        f();
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
    std::vector<std::function<void()>> when_empty_;
};

} // namespace chatroom::detail
