#pragma once

// The one-letter kind of a Redis stream entry (its "k" field, entry.hpp) for
// each room event kind, and back. A letter an older node does not know makes
// it refuse the entry whole, which is what a new kind wants when old nodes
// should show nothing of it (away); a kind old nodes should show in a simpler
// form travels under an old letter with more fields (topic and mode, as
// notices).

#include <chatroom/core/room_event.hpp>

#include <optional>
#include <string_view>

namespace chatroom::detail {

inline char kind_code(room_event_kind k) noexcept {
    switch (k) {
    case room_event_kind::chat: return 'c';
    case room_event_kind::action: return 'a';
    case room_event_kind::joined: return 'j';
    case room_event_kind::left: return 'l';
    case room_event_kind::renamed: return 'r';
    case room_event_kind::private_message: return 'p';
    case room_event_kind::notice:
    case room_event_kind::topic: // a topic is a notice with its parts (c, u): old nodes show the notice
    case room_event_kind::mode: return 'n'; // so is a mode change (d, u)
    case room_event_kind::away: return 'y';   // old nodes refuse it: nothing they show
    }
    return '?';
}

inline std::optional<room_event_kind> kind_of(std::string_view code) noexcept {
    if (code.size() != 1) return std::nullopt;
    switch (code[0]) {
    case 'c': return room_event_kind::chat;
    case 'a': return room_event_kind::action;
    case 'j': return room_event_kind::joined;
    case 'l': return room_event_kind::left;
    case 'r': return room_event_kind::renamed;
    case 'p': return room_event_kind::private_message;
    case 'n': return room_event_kind::notice;
    case 'y': return room_event_kind::away;
    }
    return std::nullopt;
}

} // namespace chatroom::detail
