#pragma once

#include <chatroom/core/history.hpp>

#include <string_view>

/// @file
/// What a member asks the core to do, whatever the dialect it typed it in:
/// the line protocol parses "/join dev" into one (line/command.hpp), an IRC
/// front would parse "JOIN #dev" into the same. The core executes requests
/// (core/detail/commands.hpp) and never sees the syntax.
namespace chatroom::protocol {

/// What a line asks for: a chat line, or one of the built-in commands.
enum class command_kind {
    chat,    ///< not a command: text to the room (also "//text", which sends "/text")
    nick,
    join,        ///< join arg as well as the rooms the member is in (dialects with several rooms); text: its key (+k)
    switch_room, ///< the line protocol's /join: leave the current room for arg
    part,        ///< leave room (or arg), text: the reason
    who,
    rooms,
    me,
    msg,
    notice,     ///< chat said as a notice (IRC's NOTICE): arg the text, room the room (room_event::as_notice)
    msg_notice, ///< msg said as a notice: arg the nick, text the text
    quit,
    help,
    login,  ///< /login NAME SECRET
    /// IRC's OPER NAME SECRET: the operator's rights of account NAME, checked
    /// as /login's are (the verifier, the same limits), without a login: the
    /// member keeps its nick and its account, if any. Refused unless the
    /// account is an operator's.
    oper,
    kick,   ///< operators: /kick NICK [REASON]; naming a room: out of that room, by its operators
    ban,    ///< operators: /ban NICK [LENGTH] [confirm]
    unban,  ///< operators: /unban NICK-OR-ADDRESS
    mute,   ///< operators: /mute NICK
    unmute, ///< operators: /unmute NICK
    topic,  ///< /topic TEXT: operators (of the server, or of a topic-locked room)
    mode,   ///< a room's operators: arg a change ("+o", "-t"), text the nick it names (IRC's MODE #room)
    invite, ///< arg the nick invited to room (IRC's INVITE): past +i, +k, +l (operators only under +i)
    history, ///< /history [N]: the room's last N lines, with their times
    away,    ///< IRC's AWAY: arg the message (empty: back), told to the member's rooms (room_event_kind::away)
    unknown, ///< a /word that is not a built-in (a custom command, or an error)
};

/// A line parsed into a request: views into the line, valid while it is.
struct command {
    command_kind kind = command_kind::chat; ///< what the line asks for
    std::string_view name; ///< the command word as typed, for "unknown command"
    std::string_view arg;  ///< first argument (nick, room, target) or the text
    std::string_view text; ///< the rest: /msg's text, /login's secret, /kick's reason, /ban's minutes
    std::string_view rest; ///< everything after the command word, for custom commands
    /// The room a request addresses (chat, me, who, topic, history, part);
    /// empty: the member's current room, the last it joined. The line
    /// protocol never names one: its members are in one room at a time.
    std::string_view room;
    /// history: a dialect's whole question (a range, ids or times: IRC's
    /// CHATHISTORY, a browser's "load older"); its room and limit are taken
    /// from room and the query, capped at the page size. Null: arg is N,
    /// the latest N lines (the line protocol's /history N).
    const history_query* history = nullptr;
    /// chat, notice, me, msg, msg_notice: client-only tags the event
    /// carries (room_event::client_tags; is_client_tag_data). Empty: none.
    std::string_view tags;
};

/// Built-in command words, which custom commands may not shadow unless asked to.
inline constexpr std::string_view builtin_commands[] = {"nick",  "join", "who",  "rooms",  "me",    "msg",  "quit",
                                                        "help",  "login", "kick", "ban",   "unban", "mute", "unmute",
                                                        "topic", "history"};

/// A request's text without the blanks around it.
inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

} // namespace chatroom::protocol
