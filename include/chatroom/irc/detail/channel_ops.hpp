#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/irc/detail/channel_modes.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/requests.hpp>
#include <chatroom/irc/detail/users.hpp>
#include <chatroom/irc/message.hpp>

#include <string>
#include <string_view>

namespace chatroom::irc::detail {

// The channel commands an IRC client sends to channel operators (KICK,
// INVITE, MODE #chan), checked in the order modern.ircdocs.horse gives
// (403, 442, 401, 441 or 443); the core checks that the sender is an
// operator of the channel or of the server (482) and does it: KICK puts a
// member out of the channel, MODE changes roles, settings and ban masks
// (channel_modes.hpp). With the hub's lock.

// Whether a room of that name is open (asks the core for its rooms).
inline bool room_exists(commands& core, member& m, session_state& st, std::string_view room) {
    st.exists = false;
    ask(core, m, st, asked::exists, room, command_kind::rooms);
    return st.exists;
}

// The member's name for the channel's room, when it is in it; otherwise
// 403 (no such room, or a bad name) or 442 is said and the result is empty.
inline std::string channel_seat(commands& core, member& m, const connection& c, std::string_view chan) {
    session_state& st = c.state();
    std::string room;
    if (!room_of(chan, room)) {
        emit(st, c.numeric("403", chan, "No such channel"));
        return {};
    }
    std::string name = seat_in(m, room);
    if (name.empty()) {
        if (room_exists(core, m, st, room)) emit(st, c.numeric("442", chan, "You're not on that channel"));
        else emit(st, c.numeric("403", chan, "No such channel"));
    }
    return name;
}

// Whether nick is a member of the room m is in under that name.
inline bool in_room(const member& m, std::string_view room, std::string_view nick) {
    for (const auto& seat : m.state.seats)
        if (seat.in->name() == room)
            for (const member* x : seat.in->members())
                if (protocol::same_name(x->state.nick, nick)) return true;
    return false;
}

// 401 when nobody by that nick is seen, 441 when not in the room; true
// when the nick is in it.
inline bool target_in(const member& m, const connection& c, std::string_view room, std::string_view nick) {
    session_state& st = c.state();
    if (in_room(m, room, nick)) return true;
    user_info u;
    if (!find_user(m, c, nick, u)) emit(st, c.numeric("401", nick, "No such nick/channel"));
    else emit(st, c.numeric("441", std::string(nick) + " " + channel_of(room), "They aren't on that channel"));
    return false;
}

// KICK #chan nick[,nick] [:reason]: each nick in the channel is put out of
// it (the channel hears KICK), when the sender is an operator.
inline void kick(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    if (msg.params.size() < 2) return emit(st, c.numeric("461", "KICK", "Not enough parameters"));
    const std::string room = channel_seat(core, m, c, msg.params[0]);
    if (room.empty()) return;
    std::string reason;
    sanitize_append(reason, msg.param(2));
    std::string_view list = msg.params[1];
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view nick = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (nick.empty() || !target_in(m, c, room, nick)) continue;
        ask(core, m, st, asked::none, channel_of(room), command_kind::kick, nick, reason, room);
    }
}

// INVITE nick #chan: the core lets nick in past +i, +k and +l and tells it
// (INVITE from the inviter); 341 to the inviter; 461, 401, 403, 442, 443
// as usual, 482 under +i for one who is no operator.
inline void invite(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    if (msg.params.size() < 2) return emit(st, c.numeric("461", "INVITE", "Not enough parameters"));
    const std::string& nick = msg.params[0];
    user_info u;
    if (!find_user(m, c, nick, u)) return emit(st, c.numeric("401", nick, "No such nick/channel"));
    const std::string room = channel_seat(core, m, c, msg.params[1]);
    if (room.empty()) return;
    const std::string chan = channel_of(room);
    if (in_room(m, room, nick)) return emit(st, c.numeric("443", u.nick + " " + chan, "is already on channel"));
    ask(core, m, st, asked::none, chan, command_kind::invite, nick, {}, room);
    const chatroom::detail::room* r = seat_room(&m, room);
    const bool refused = r && r->roles().has(chatroom::detail::mode_invite_only) &&
                         !chatroom::detail::room_moderation::may_moderate(m, *r); // 482 said
    if (r && !refused && r->roles().is_invited(nick)) emit(st, c.numeric("341", u.nick, chan));
}

// MODE #chan [changes]: 324 for a query (403 for no such room), the ban
// list (367, 368) for b alone, other changes as channel_changes says.
inline void channel_mode(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    const std::string& chan = msg.params[0];
    std::string room;
    if (!room_of(chan, room)) return emit(st, c.numeric("403", chan, "No such channel"));
    const std::string seat = seat_in(m, room);
    if (seat.empty() && !room_exists(core, m, st, room)) return emit(st, c.numeric("403", chan, "No such channel"));
    if (msg.params.size() < 2) {
        // The room's settings (with its key and limit) and when it opened,
        // when m is in it; the defaults of a room it is not in.
        const chatroom::detail::room* r = seat_room(&m, seat);
        const std::string modes = r ? r->roles().mode_string(true) : chatroom::detail::room_roles().mode_string();
        emit(st, c.from_server("324 " + c.nick() + " " + chan + " " + modes));
        if (r && r->roles().created())
            emit(st, c.from_server("329 " + c.nick() + " " + chan + " " + std::to_string(r->roles().created())));
        return;
    }
    const std::string& change = msg.params[1];
    if (change == "b" || ((change == "+b" || change == "-b") && msg.param(2).empty()))
        return ban_list(m, c, seat, channel_of(seat.empty() ? room : seat)); // a room not in: none shown
    if (seat.empty()) return emit(st, c.numeric("442", chan, "You're not on that channel"));
    channel_changes(core, m, c, msg, seat, [&](std::string_view nick) { return target_in(m, c, seat, nick); });
}

} // namespace chatroom::irc::detail
