#pragma once

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/requests.hpp>
#include <chatroom/irc/message.hpp>
#include <chatroom/version.hpp>

#include <string>
#include <string_view>

namespace chatroom::irc::detail {

// TAGMSG (IRCv3 message-tags) and the server operator's KILL, and INFO.
// With the hub's lock held.

// TAGMSG #chan: the client-only tags alone, to the channel's members that
// negotiated message-tags (the sender too, with echo-message): a chat event
// without text (room_event::client_tags), which no other dialect shows and
// no history keeps. To a nick it is dropped: a private message without
// text is no event here. 403/404 as PRIVMSG; 461 without a target.
inline void tagmsg(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    if (msg.params.empty() || msg.params[0].empty()) return emit(st, c.numeric("461", "TAGMSG", "Not enough parameters"));
    const std::string& target = msg.params[0];
    if (target.front() != '#') return;
    std::string room;
    const bool valid = room_of(target, room);
    const std::string name = valid ? seat_in(m, room) : std::string();
    if (name.empty())
        return emit(st, c.numeric(valid ? "404" : "403", target, valid ? "Cannot send to channel" : "No such channel"));
    const std::string tags = client_tags_of(msg);
    if (tags.empty()) return;
    ask(core, m, st, asked::none, target, command_kind::chat, {}, {}, name, tags);
}

// KILL nick [:reason]: the server's /kick (operators only: 481 for the
// others, from the core's refusal): the member leaves the server, with the
// reason; 401 for no such nick, 461 without one.
inline void kill_user(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    if (msg.params.empty() || msg.params[0].empty()) return emit(st, c.numeric("461", "KILL", "Not enough parameters"));
    std::string reason;
    sanitize_append(reason, msg.param(1));
    ask(core, m, st, asked::none, {}, command_kind::kick, msg.params[0], reason);
}

// INFO: 371 lines about the server, then 374.
inline void info(const connection& c) {
    session_state& st = c.state();
    emit(st, c.numeric("371", {}, "chatroom-" + std::string(version_string) + ": one set of rooms for telnet, "
                                                                                "browsers and IRC"));
    emit(st, c.numeric("371", {}, "Server " + c.settings().options.server_name + ", network " +
                                      c.settings().options.network + ", up since " + c.settings().created));
    emit(st, c.numeric("374", {}, "End of /INFO list"));
}

} // namespace chatroom::irc::detail
