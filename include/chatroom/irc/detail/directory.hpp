#pragma once

#include <algorithm>
#include <mutex>
#include <vector>

namespace chatroom::irc::detail {

class connection;

// The IRC connections of one listener, for what IRC asks about a user by
// nick wherever it is (WHOIS, USERHOST, ISON, the 301 a message to an away
// user gets, LUSERS' count of connections still registering): the core
// tells the interpreter only of the rooms its own member is in. A
// connection is added when it is bound to its member and removed when it is
// destroyed (before its member is: the session owns it), so each() never
// sees a dangling one. Its own mutex, taken inside the hub's lock or
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

private:
    mutable std::mutex mutex_;
    std::vector<const connection*> all_;
};

} // namespace chatroom::irc::detail
