#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom {

/// What the core answers one member, as data. Each dialect words it: the line
/// protocol with the texts of docs/protocol.md (line/replies.hpp), a browser
/// dialect as an object with a machine-readable code, IRC as a numeric. The
/// core never decides how an answer reads.
enum class reply_kind : unsigned char {
    /// Greeting and rooms.
    welcome,          ///< subject: the server's name, detail: the member's nick
    notice,           ///< detail: a line of text from the host or the server (the welcome text, /help)
    joined_room,      ///< subject: the room, count: its members
    left_room,        ///< subject: the room the member left (a part; the line protocol never sends one)
    already_in,       ///< subject: the room
    who,              ///< subject: the room, names: the members
    rooms,            ///< rooms: every room with its members and topic
    topic,            ///< subject: the room, detail: its topic; on a join, extra: who set it (empty: the host), count: when (seconds since 1970; 0: not known)
    room_private,     ///< subject: the room, which the host made private (join by invitation)
    room_full,        ///< subject: the room, count: its cap (the host's, or its operators' +l)
    bad_key,          ///< subject: the room, whose operators set a key (+k) the join did not give
    room_banned,      ///< subject: the room, one of whose ban masks (+b) matches the member: no joining it, nor speaking in it
    room_closed,      ///< subject: the room, detail: the host's reason (may be empty); the member goes to the lobby
    invited,          ///< subject: the room the host (or, detail, a member of it) invited the member to
    history,          ///< subject: the room, past: its last lines (empty: none kept), count: 1 when some are missing, more: more lie beyond
    history_not_kept, ///< the server keeps no history
    history_failed,   ///< detail: why the history could not be read
    too_many_rooms,   ///< subject: the room asked for, count: the limit; extra: "server" for the server's limit on open rooms, else the member's
    not_in_room,      ///< subject: the room named, which the member is not in
    /// Refusals of a command's arguments.
    bad_nick,
    bad_room,
    usage,            ///< subject: the command ("me", "msg", "login", "kick", "ban", "unban", "mute", "topic")
    unknown_command,  ///< subject: the command as typed
    nick_taken,       ///< subject: the nick
    nick_elsewhere,   ///< subject: the nick, taken on another server of the cluster
    nick_under_way,   ///< a nick change is already being decided
    guest_nick_reserved,
    nick_registered,  ///< subject: the nick, an account's: log in to take it
    no_such_nick,     ///< subject: the nick
    line_too_long,    ///< count: the limit in bytes
    /// Accounts.
    login_first,
    logins_disabled,
    login_under_way,
    already_logged_in,
    too_many_failed_logins,
    too_many_logins_under_way,
    logged_in,        ///< subject: the account
    now_operator,     ///< an oper command succeeded; subject: the operator's account
    refused,          ///< detail: why (the host's hooks, a verifier's reason)
    /// Moderation.
    not_permitted,
    muted,            ///< the member is muted and may not speak
    room_moderated,   ///< subject: the room, moderated (+m): only its operators speak
    banned,           ///< detail: the time left ("for 3 more minutes", "until unbanned")
    banned_login_only, ///< detail: the time left; an operator may still log in from here
    ban_own_address,  ///< subject: the nick, detail: the address, extra: the ban's length as typed
    unbanned,         ///< subject: the name or address
    no_ban_on,        ///< subject: the name or address
    help,             ///< count: 1 for an operator; commands: the host's commands with their help
    /// Leaving: the last words of a connection the server closes.
    shutting_down,    ///< the server is stopping (to a member)
    refused_stopping, ///< the server is stopping (to a connection it does not admit)
    server_full,      ///< max_connections reached (to a connection it does not admit)
    too_many_from_address, ///< max_connections_per_address reached (likewise)
    kicked_by,        ///< subject: the operator (or "the host"), detail: the reason
    banned_by,        ///< subject: the operator, detail: for how long
    dropped_too_slow,
    dropped_idle,
    dropped_no_first_line,
};

/// A room and its members, for reply_kind::rooms.
struct room_summary {
    std::string name;        ///< the room
    std::size_t members = 0; ///< its members, on every server
    std::string topic;       ///< its topic; empty: none
};

/// A line of a room's past, for reply_kind::history.
struct past_line {
    std::chrono::system_clock::time_point time{}; ///< when it was said (UTC)
    std::string nick;                              ///< who said it
    std::string text;                              ///< the line
    bool action = false;                           ///< a /me action
    std::string id;                                ///< its message's id (history.hpp; the lines of one message share it)
    std::string account;                           ///< the account it was said under (empty: none; IRC's account-tag)
};

/// One answer: a kind and the few values its wording needs (which ones, the
/// comments of reply_kind say). Made by the named functions below.
struct reply {
    reply_kind kind = reply_kind::notice; ///< which answer
    std::string subject;                  ///< the room, nick or command it is about
    std::string detail;                   ///< a text: a reason, a topic, a notice's line
    std::string extra;                    ///< a third value (ban_own_address: the ban's length; invited: the inviter's account)
    std::size_t count = 0;                ///< a number: members, a byte limit
    std::vector<std::string> names;       ///< who: the members
    std::vector<room_summary> rooms;      ///< rooms: the rooms
    std::vector<std::pair<std::string, std::string>> commands; ///< name, help
    std::vector<past_line> past;          ///< history: the lines, oldest first
    bool more = false;                    ///< history: more lie beyond past in the direction asked (older for latest and before)

    ///@{
    /// Makers: each makes the reply its name says (of: any kind), with the
    /// values the comment of its reply_kind names.
    static reply of(reply_kind k, std::string_view subject = {}, std::string_view detail = {}) {
        reply r;
        r.kind = k;
        r.subject = std::string(subject);
        r.detail = std::string(detail);
        return r;
    }
    static reply welcome(std::string_view server_name, std::string_view nick) {
        return of(reply_kind::welcome, server_name, nick);
    }
    static reply notice(std::string_view text) { return of(reply_kind::notice, {}, text); }
    static reply joined_room(std::string_view room, std::size_t members) {
        reply r = of(reply_kind::joined_room, room);
        r.count = members;
        return r;
    }
    static reply who(std::string_view room, std::vector<std::string> nicks) {
        reply r = of(reply_kind::who, room);
        r.names = std::move(nicks);
        return r;
    }
    static reply room_list(std::vector<room_summary> list) {
        reply r = of(reply_kind::rooms);
        r.rooms = std::move(list);
        return r;
    }
    static reply topic(std::string_view room, std::string_view text) { return of(reply_kind::topic, room, text); }
    static reply usage(std::string_view command) { return of(reply_kind::usage, command); }
    static reply line_too_long(std::size_t limit) {
        reply r = of(reply_kind::line_too_long);
        r.count = limit;
        return r;
    }
    static reply refused(std::string_view why) { return of(reply_kind::refused, {}, why); }
    static reply ban_own_address(std::string_view nick, std::string_view address, std::string_view length) {
        reply r = of(reply_kind::ban_own_address, nick, address);
        r.extra = std::string(length);
        return r;
    }
    ///@}
};

} // namespace chatroom
