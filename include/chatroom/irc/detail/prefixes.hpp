#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/names.hpp>

#include <string>
#include <string_view>

namespace chatroom::irc::detail {

// How NAMES and WHO mark a channel's operators (@) and voiced members (+):
// the roles the core keeps (core/detail/room_roles.hpp). With the hub's lock.

// The room of that name among those m is in, or null.
inline const chatroom::detail::room* seat_room(const chatroom::detail::member* m, std::string_view room) {
    if (m == nullptr) return nullptr;
    for (const auto& seat : m->state.seats)
        if (protocol::same_name(seat.in->name(), room)) return seat.in;
    return nullptr;
}

// "@", "+", "@+" (multi-prefix: every one, highest first) or "".
inline std::string prefix_of(const chatroom::detail::room* r, std::string_view nick, bool multi) {
    std::string p;
    if (r == nullptr) return p;
    if (r->roles().is_op(nick)) p += '@';
    if ((multi || p.empty()) && r->roles().is_voiced(nick)) p += '+';
    return p;
}

} // namespace chatroom::irc::detail
