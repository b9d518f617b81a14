#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/detail/room_moderation.hpp>
#include <chatroom/core/detail/room_roles.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/prefixes.hpp>
#include <chatroom/irc/detail/requests.hpp>
#include <chatroom/irc/message.hpp>
#include <chatroom/irc/renderer.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace chatroom::irc::detail {

// What MODE #chan changes of a room's operators and modes (the core keeps
// them: core/detail/room_roles.hpp). With the hub's lock held.

// MODE #chan CHANGES [ARGS...] by a member in the room (seat: the room's
// name): each letter in turn. o and v take a nick (checked: 401, 441);
// +k a key, +l a limit (696 when not valid; -k may name the key); t, m,
// s, i and the others are the room's settings; n is always set; b is the
// server's ban (channel_ops.hpp). Each change is asked of the core, which
// checks that m is an operator (482) and tells the room (MODE). Letters
// kept nowhere: 472.
template <class Ban, class TargetIn>
void channel_changes(commands& core, member& m, const connection& c, const irc_message& msg, const std::string& seat,
                     Ban&& ban, TargetIn&& target_in) {
    session_state& st = c.state();
    const std::string chan = channel_of(seat);
    const std::string& changes = msg.params[1];
    std::size_t next_arg = 2;
    bool on = true;
    std::size_t asked_count = 0;
    for (const char letter : changes) {
        if (letter == '+' || letter == '-') {
            on = letter == '+';
            continue;
        }
        if (++asked_count > 8) return; // a line changes a few modes; the rest are dropped
        const std::string sign(1, on ? '+' : '-');
        if (letter == 'b') {
            const std::string_view arg = msg.param(next_arg++);
            if (arg.empty()) {
                emit(st, c.numeric("368", chan, "End of channel ban list"));
                continue;
            }
            ban(on, arg);
            continue;
        }
        if (chatroom::detail::is_role_letter(letter)) {
            const std::string_view nick = msg.param(next_arg++);
            if (nick.empty()) {
                emit(st, c.numeric("461", "MODE", "Not enough parameters"));
                continue;
            }
            if (!target_in(nick)) continue;
            ask(core, m, st, asked::none, chan, command_kind::mode, sign + letter, nick, seat);
            continue;
        }
        if (letter == 'k' || letter == 'l') {
            const std::string_view value = (on || letter == 'k') ? msg.param(next_arg++) : std::string_view();
            if (on && (letter == 'k' ? !chatroom::detail::is_valid_key(value) : chatroom::detail::parse_limit(value) == 0)) {
                // The value as sent only when it is one word (a bad key is never echoed).
                const bool shown = letter == 'l' && !value.empty() && value.find(' ') == std::string_view::npos;
                emit(st, c.numeric("696", chan + " " + std::string(1, letter) + " " + (shown ? std::string(value) : "*"),
                                   letter == 'k' ? "Invalid key: 1-23 characters, no space or comma"
                                                 : "Invalid limit: a number from 1"));
                continue;
            }
            const chatroom::detail::room* r = seat_room(&m, seat);
            if (!on && r != nullptr && !r->roles().has(chatroom::detail::mode_flag(letter)) &&
                chatroom::detail::room_moderation::may_moderate(m, *r))
                continue; // not set: nothing to take away
            ask(core, m, st, asked::none, chan, command_kind::mode, sign + letter, on ? value : std::string_view(), seat);
            continue;
        }
        if (letter == 'n') continue; // always set: nothing changes
        if (chatroom::detail::mode_flag(letter) == 0) {
            emit(st, c.numeric("472", std::string(1, letter), "is unknown mode char to me"));
            continue;
        }
        const chatroom::detail::room* r = seat_room(&m, seat);
        if (r != nullptr && r->roles().has(chatroom::detail::mode_flag(letter)) == on &&
            chatroom::detail::room_moderation::may_moderate(m, *r))
            continue; // already so: nothing to tell
        ask(core, m, st, asked::none, chan, command_kind::mode, sign + letter, {}, seat);
    }
}

} // namespace chatroom::irc::detail
