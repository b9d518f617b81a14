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

    // A ban's length as an operator types it: MINUTES, or a number with s,
    // m, h or d; empty or 0: until unbanned (0 s). Nothing for anything else.
    static std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
        if (text.empty()) return std::chrono::seconds(0);
        std::chrono::seconds unit = std::chrono::minutes(1);
        switch (text.back()) {
        case 's': unit = std::chrono::seconds(1); text.remove_suffix(1); break;
        case 'm': text.remove_suffix(1); break;
        case 'h': unit = std::chrono::hours(1); text.remove_suffix(1); break;
        case 'd': unit = std::chrono::hours(24); text.remove_suffix(1); break;
        default: break;
        }
        if (text.empty() || text.size() > 6) return std::nullopt;
        long long n = 0;
        for (char c : text) {
            if (c < '0' || c > '9') return std::nullopt;
            n = n * 10 + (c - '0');
        }
        return unit * n;
    }

    // "5 minutes", "30 seconds", "until unbanned".
    static std::string describe(std::chrono::seconds length) {
        const long long n = length.count();
        if (n == 0) return "until unbanned";
        auto plural = [](long long k, const char* what) {
            return std::to_string(k) + " " + what + (k == 1 ? "" : "s");
        };
        if (n % 86400 == 0) return plural(n / 86400, "day");
        if (n % 3600 == 0) return plural(n / 3600, "hour");
        if (n % 60 == 0) return plural(n / 60, "minute");
        return plural(n, "second");
    }

    // length 0: until unbanned.
    void ban(const std::string& key, std::chrono::seconds length) {
        bans_[key] = length.count() == 0 ? clock::time_point::max() : clock::now() + length;
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
        // Rounded up: a ban is never said to end sooner than it does.
        const auto seconds = (std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 999) / 1000;
        if (seconds < 60) return "for " + std::to_string(seconds) + (seconds == 1 ? " more second" : " more seconds");
        const auto minutes = (seconds + 59) / 60;
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
