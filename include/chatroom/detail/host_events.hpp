#pragma once

#include <chatroom/detail/member.hpp>
#include <chatroom/events.hpp>

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
        if (!wants(kind)) return;
        pending_.push_back(event{kind, m.state.nick, std::string(room), std::string(text), std::string(reason),
                                 std::string(old_nick), m.address()});
    }

    void error(std::string text) {
        if (wants(event_kind::error)) pending_.push_back(event{event_kind::error, {}, {}, std::move(text), {}, {}, {}});
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
};

} // namespace chatroom::detail
