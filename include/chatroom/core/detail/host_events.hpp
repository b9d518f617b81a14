#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/events.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

// The events the host program asked for, collected under the hub's lock and
// handed to its handler after the lock is released. Kinds it did not ask for
// cost one test of a bit.
class host_events {
public:
    void set_handler(event_handler h, event_mask wanted) {
        handler_ = std::move(h);
        wanted_ = handler_ ? wanted : event_mask{0};
    }

    bool wants(event_kind kind) const noexcept { return (wanted_ & mask_of(kind)) != 0; }

    void emit(event_kind kind, const member& m, std::string_view room, std::string_view text = {},
              std::string_view reason = {}, std::string_view old_nick = {}) {
        last_wanted_ = wants(kind);
        if (!last_wanted_) return;
        pending_.push_back(event{kind, m.state.nick, std::string(room), std::string(text), std::string(reason),
                                 std::string(old_nick), m.address(), {}});
    }

    // An event built by the caller (moderation, which names who did it).
    void push(event e) {
        if (wants(e.kind)) pending_.push_back(std::move(e));
    }

    // The event emit() just made, to add to it; a scratch one when it was not wanted.
    event& pending_back() {
        if (pending_.empty() || !last_wanted_) return scratch_;
        return pending_.back();
    }

    void error(std::string text) {
        if (wants(event_kind::error)) pending_.push_back(event{event_kind::error, {}, {}, std::move(text), {}, {}, {}, {}});
    }

    // What to deliver once unlocked: the events and a copy of the handler.
    bool take(std::vector<event>& out, event_handler& handler) {
        if (pending_.empty()) return false;
        out.swap(pending_);
        handler = handler_;
        return true;
    }

private:
    event_handler handler_;
    event_mask wanted_ = 0;
    std::vector<event> pending_;
    event scratch_{};
    bool last_wanted_ = false;
};

} // namespace chatroom::detail
