#pragma once

#include <chatroom/protocol.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chatroom::detail {

// Bans by account or by address, with an end or none, and the per-address
// limit on failed logins. Guarded by the hub's lock.
class moderation {
public:
    using clock = std::chrono::steady_clock;

    static std::string account_key(std::string_view account) { return "account " + protocol::fold_case(account); }
    static std::string address_key(std::string_view address) { return "address " + std::string(address); }

    // minutes == 0: until unbanned.
    void ban(const std::string& key, unsigned minutes) {
        bans_[key] = minutes == 0 ? clock::time_point::max() : clock::now() + std::chrono::minutes(minutes);
    }

    bool unban(const std::string& key) { return bans_.erase(key) > 0; }

    // The time left of a ban on key (max() for one without an end), if any.
    std::optional<clock::duration> banned(const std::string& key) {
        auto it = bans_.find(key);
        if (it == bans_.end()) return std::nullopt;
        const auto now = clock::now();
        if (it->second <= now) {
            bans_.erase(it);
            return std::nullopt;
        }
        if (it->second == clock::time_point::max()) return clock::duration::max();
        return it->second - now;
    }

    // "for 3 more minutes" / "until unbanned", for refusals.
    static std::string time_left(clock::duration left) {
        if (left == clock::duration::max()) return "until unbanned";
        const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(left).count() + 1;
        return "for " + std::to_string(minutes) + (minutes == 1 ? " more minute" : " more minutes");
    }

    // Whether address may try another login: fewer than limit failures in the
    // last minute.
    bool may_try_login(const std::string& address, std::size_t limit) {
        auto& times = failures_[address];
        const auto now = clock::now();
        while (!times.empty() && now - times.front() >= std::chrono::minutes(1)) times.pop_front();
        if (times.empty()) {
            failures_.erase(address);
            return limit > 0;
        }
        return times.size() < limit;
    }

    void login_failed(const std::string& address) {
        auto& times = failures_[address];
        times.push_back(clock::now());
        // Bounded whatever the limit: only the last minute's count matters.
        if (times.size() > 1024) times.pop_front();
    }

private:
    std::unordered_map<std::string, clock::time_point> bans_;
    std::unordered_map<std::string, std::deque<clock::time_point>> failures_;
};

} // namespace chatroom::detail
