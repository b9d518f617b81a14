#pragma once

#include <chatroom/core/names.hpp>
#include <chatroom/core/transport.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chatroom::detail {

// Bans by account or by address, with an end or none, and the per-address
// limits on logins. Addresses are keys in their canonical form
// (chatroom::canonical_address), whichever form they were typed or seen in.
// Guarded by the hub's lock.
class moderation {
public:
    using clock = std::chrono::steady_clock;

    static std::string account_key(std::string_view account) { return "account " + protocol::fold_case(account); }
    static std::string address_key(std::string_view address) { return "address " + canonical_address(address); }

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

    // length 0: until unbanned. An account's ban may bring an address's
    // with it (linked): lifting the account's lifts that one too.
    void ban(const std::string& key, std::chrono::seconds length, const std::string& linked = {}) {
        bans_[key] = length.count() == 0 ? clock::time_point::max() : clock::now() + length;
        unlink(key); // a ban of its own now
        if (linked.empty()) links_.erase(key);
        else links_[key] = linked;
    }

    // Bans key for length unless a ban on it already ends later; whether it
    // did.
    bool ban_at_least(const std::string& key, std::chrono::seconds length) {
        const auto until = length.count() == 0 ? clock::time_point::max() : clock::now() + length;
        auto it = bans_.find(key);
        if (it != bans_.end() && it->second > until) return false;
        bans_[key] = until;
        unlink(key);
        return true;
    }

    // Lifts the ban on key, and the one that came with it.
    bool unban(const std::string& key) {
        if (bans_.erase(key) == 0) return false;
        unlink(key);
        if (auto it = links_.find(key); it != links_.end()) {
            bans_.erase(it->second);
            links_.erase(it);
        }
        return true;
    }

    // The time left of a ban on key (max() for one without an end), if any.
    std::optional<clock::duration> banned(const std::string& key) {
        if (bans_.empty()) return std::nullopt;
        auto it = bans_.find(key);
        if (it == bans_.end()) return std::nullopt;
        const auto now = clock::now();
        if (it->second <= now) {
            bans_.erase(it);
            links_.erase(key);
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

    // Logins from one address: each is charged to the address when it
    // starts (not when it fails), so checks under way count; a login that
    // succeeds, or is refused for a reason that says nothing about the
    // secret, gets its charge back. At most limit charges a minute, and at
    // most in_flight logins being checked at once (0: no bound).
    enum class login_gate { go, too_many_failed, too_many_under_way };

    login_gate start_login(const std::string& address, std::size_t limit, std::size_t in_flight) {
        sweep();
        auto& b = logins_[address];
        prune(b, clock::now());
        if (b.charges.size() >= limit) {
            forget_if_idle(address);
            return login_gate::too_many_failed;
        }
        if (in_flight != 0 && b.in_flight >= in_flight) return login_gate::too_many_under_way;
        b.charges.push_back(clock::now());
        ++b.in_flight;
        return login_gate::go;
    }

    // A login that start_login let go was answered (or its member left):
    // refund gives its charge back.
    void end_login(const std::string& address, bool refund) {
        auto it = logins_.find(address);
        if (it == logins_.end()) return;
        login_budget& b = it->second;
        if (b.in_flight > 0) --b.in_flight;
        // The newest charge: the count is what matters, not which one.
        if (refund && !b.charges.empty()) b.charges.pop_back();
        forget_if_idle(address);
    }

    std::size_t logins_under_way(const std::string& address) const {
        auto it = logins_.find(address);
        return it == logins_.end() ? 0 : it->second.in_flight;
    }

private:
    struct login_budget {
        std::deque<clock::time_point> charges; // the last minute's, oldest first
        std::size_t in_flight = 0;
    };

    // No account's ban brings key with it any more.
    void unlink(const std::string& key) {
        if (links_.empty()) return;
        for (auto it = links_.begin(); it != links_.end();) {
            if (it->second == key) it = links_.erase(it);
            else ++it;
        }
    }

    static void prune(login_budget& b, clock::time_point now) {
        while (!b.charges.empty() && now - b.charges.front() >= std::chrono::minutes(1)) b.charges.pop_front();
    }

    void forget_if_idle(const std::string& address) {
        auto it = logins_.find(address);
        if (it != logins_.end() && it->second.charges.empty() && it->second.in_flight == 0) logins_.erase(it);
    }

    // Budgets of addresses that stopped trying go, a whole pass now and
    // then, so the table holds about the last minute's addresses.
    void sweep() {
        if (logins_.size() < sweep_at_) return;
        const auto now = clock::now();
        for (auto it = logins_.begin(); it != logins_.end();) {
            prune(it->second, now);
            if (it->second.charges.empty() && it->second.in_flight == 0) it = logins_.erase(it);
            else ++it;
        }
        sweep_at_ = std::max<std::size_t>(1024, 2 * logins_.size());
    }

    std::unordered_map<std::string, clock::time_point> bans_;
    std::unordered_map<std::string, std::string> links_; // an account's key: the address key banned with it
    std::unordered_map<std::string, login_budget> logins_;
    std::size_t sweep_at_ = 1024;
};

} // namespace chatroom::detail
