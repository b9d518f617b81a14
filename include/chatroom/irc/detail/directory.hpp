#pragma once

#include <chatroom/core/names.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::irc::detail {

class connection;

// The IRC connections of one listener, for what IRC asks about a user by
// nick wherever it is (WHOIS, USERHOST, ISON, the 301 a message to an away
// user gets, LUSERS' count of connections still registering): the core
// tells the interpreter only of the rooms its own member is in. A
// connection is added when it is bound to its member and removed when it is
// destroyed (before its member is: the session owns it), so each() never
// sees a dangling one. It also remembers the last users that left (QUIT, or
// their connection closed) for WHOWAS. Its own mutex, taken inside the hub's lock or
// without it, never the other way round; fn must not add or remove.
class directory {
public:
    void add(const connection* c) {
        const std::lock_guard<std::mutex> lock(mutex_);
        all_.push_back(c);
    }
    void remove(const connection* c) {
        const std::lock_guard<std::mutex> lock(mutex_);
        const auto it = std::find(all_.begin(), all_.end(), c);
        if (it == all_.end()) return;
        *it = all_.back(); // order does not matter
        all_.pop_back();
    }
    // fn(const connection&) for each, with the directory locked.
    template <class Fn>
    void each(Fn&& fn) const {
        const std::lock_guard<std::mutex> lock(mutex_);
        for (const connection* c : all_) fn(*c);
    }

    // WHOWAS: who used a nick, newest last; the oldest are forgotten.
    struct departed {
        std::string nick, user, realname;
    };
    static constexpr std::size_t remembered = 256;
    void remember(departed d) {
        const std::lock_guard<std::mutex> lock(mutex_);
        gone_.push_back(std::move(d));
        if (gone_.size() > remembered) gone_.pop_front();
    }
    // fn(const departed&) for those who used nick (ASCII case ignored),
    // newest first, at most max of them (0: all).
    template <class Fn>
    void recall(std::string_view nick, std::size_t max, Fn&& fn) const {
        const std::lock_guard<std::mutex> lock(mutex_);
        std::size_t told = 0;
        for (auto it = gone_.rbegin(); it != gone_.rend() && (max == 0 || told < max); ++it)
            if (protocol::same_name(it->nick, nick)) {
                fn(*it);
                ++told;
            }
    }

private:
    mutable std::mutex mutex_;
    std::vector<const connection*> all_;
    std::deque<departed> gone_;
};

} // namespace chatroom::irc::detail
