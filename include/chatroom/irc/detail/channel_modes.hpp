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
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::irc::detail {

// What MODE #chan changes of a room's operators and modes (the core keeps
// them: core/detail/room_roles.hpp). With the hub's lock held.

// The channel's ban list: 367 for each mask (who set it and when), then 368.
inline void ban_list(const member& m, const connection& c, const std::string& seat, const std::string& chan) {
    session_state& st = c.state();
    if (const chatroom::detail::room* r = seat.empty() ? nullptr : seat_room(&m, seat))
        for (const chatroom::detail::room_ban& b : r->roles().bans().list())
            emit(st, c.from_server("367 " + c.nick() + " " + chan + " " + b.mask + " " +
                                   (b.by.empty() ? c.settings().options.server_name : b.by) + " " +
                                   std::to_string(b.at)));
    emit(st, c.numeric("368", chan, "End of channel ban list"));
}

// MODE #chan CHANGES [ARGS...] by a member in the room (seat: the room's
// name): each letter in turn. o and v take a nick (checked: 401, 441);
// b a mask (none: the ban list; 478 when it is full; 696 when its host
// part is not * and m is no server operator); +k a key, +l a
// limit (696 when not valid; -k may name the key); t, n, m, s, i and the
// others are the room's settings. The changes that change something are
// asked of the core at once, which checks that m is an operator (482) and
// tells the room in one MODE line. Letters kept nowhere: 472.
template <class TargetIn>
void channel_changes(commands& core, member& m, const connection& c, const irc_message& msg, const std::string& seat,
                     TargetIn&& target_in) {
    namespace core_detail = chatroom::detail;
    session_state& st = c.state();
    const std::string chan = channel_of(seat);
    const std::string& changes = msg.params[1];
    const core_detail::room* r = seat_room(&m, seat);
    const bool may = r != nullptr && core_detail::room_moderation::may_moderate(m, *r);
    std::vector<core_detail::mode_change> asked_for;
    std::size_t next_arg = 2;
    bool on = true;
    std::size_t letters = 0;
    // The room's settings as this request leaves them so far ("+t-t" on a
    // -t room is both changes, and ends -t).
    std::uint8_t now_on = 0, now_off = 0;
    auto has_now = [&](char letter) {
        const std::uint8_t f = core_detail::mode_flag(letter);
        return (now_on & f) != 0 || ((now_off & f) == 0 && r->roles().has(f));
    };
    for (const char letter : changes) {
        if (letter == '+' || letter == '-') {
            on = letter == '+';
            continue;
        }
        if (++letters > core_detail::max_mode_changes) break; // a line changes a few modes; the rest are dropped
        core_detail::mode_change change{on, letter, {}};
        if (letter == 'b') {
            const std::string_view arg = msg.param(next_arg++);
            if (arg.empty()) {
                ban_list(m, c, seat, chan);
                continue;
            }
            change.nick = core_detail::full_ban_mask(arg);
            if (change.nick.empty()) {
                emit(st, c.numeric("696", chan + " b *", "Invalid ban mask: nick!user@host, printable, at most " +
                                                             std::to_string(core_detail::max_ban_mask) + " bytes"));
                continue;
            }
            // The host part is matched against the member's address, which IRC
            // never shows: only a server operator (who may see it) bans by it.
            if (on && !m.state.op && change.nick.substr(change.nick.find('@') + 1) != "*") {
                emit(st, c.numeric("696", chan + " b " + change.nick, "only server operators may ban by address"));
                continue;
            }
            if (on && may && r->roles().bans().full() && !r->roles().bans().has(change.nick)) {
                emit(st, c.numeric("478", chan + " " + change.nick, "Channel ban list is full"));
                continue;
            }
        } else if (core_detail::is_role_letter(letter)) {
            const std::string_view nick = msg.param(next_arg++);
            if (nick.empty()) {
                emit(st, c.numeric("461", "MODE", "Not enough parameters"));
                continue;
            }
            if (!target_in(nick)) continue;
            change.nick = std::string(nick);
        } else if (letter == 'k' || letter == 'l') {
            const std::string_view value = (on || letter == 'k') ? msg.param(next_arg++) : std::string_view();
            if (on && (letter == 'k' ? !core_detail::is_valid_key(value) : core_detail::parse_limit(value) == 0)) {
                // The value as sent only when it is one word (a bad key is never echoed).
                const bool shown = letter == 'l' && !value.empty() && value.find(' ') == std::string_view::npos;
                emit(st, c.numeric("696", chan + " " + std::string(1, letter) + " " + (shown ? std::string(value) : "*"),
                                   letter == 'k' ? "Invalid key: 1-23 characters, no space or comma"
                                                 : "Invalid limit: a number from 1"));
                continue;
            }
            if (!on && may && !has_now(letter)) continue; // not set: nothing to take away
            if (on) change.nick = std::string(value);
        } else if (core_detail::mode_flag(letter) == 0) {
            emit(st, c.numeric("472", std::string(1, letter), "is unknown mode char to me"));
            continue;
        } else if (may && has_now(letter) == on) {
            continue; // already so: nothing to tell
        }
        if (const std::uint8_t f = core_detail::mode_flag(letter)) {
            now_on = static_cast<std::uint8_t>(on ? now_on | f : now_on & ~f);
            now_off = static_cast<std::uint8_t>(on ? now_off & ~f : now_off | f);
        }
        asked_for.push_back(std::move(change));
    }
    if (asked_for.empty()) return;
    // "+o-t bob": the letters as arg, their values as text.
    const std::string text = core_detail::mode_text(asked_for);
    const std::size_t space = text.find(' ');
    const std::string values = space == std::string::npos ? std::string() : text.substr(space + 1);
    ask(core, m, st, asked::none, chan, command_kind::mode, std::string_view(text).substr(0, space), values, seat);
}

} // namespace chatroom::irc::detail
