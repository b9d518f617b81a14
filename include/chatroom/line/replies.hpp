#pragma once

#include <chatroom/core/access.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/line/command.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom {

/// Every line the server sends, as text without a line end: docs/protocol.md
/// in code. text_of(reply) at the end words the core's typed replies with them.
namespace replies {

/// @name Reply texts
/// Each is the text of one reply, as docs/protocol.md gives it; the
/// functions fill in the reply's values.
///@{

inline std::string welcome(std::string_view server_name, std::string_view nick) {
    return "* welcome to " + std::string(server_name) + ", you are " + std::string(nick);
}
inline std::string notice(std::string_view text) { return "* " + std::string(text); }
inline std::string joined_room(std::string_view room, std::size_t members) {
    return "* joined " + std::string(room) + " (" + std::to_string(members) +
           (members == 1 ? " member)" : " members)");
}
inline std::string already_in(std::string_view room) { return "* you are already in " + std::string(room); }
inline std::string left_room(std::string_view room) { return "* you left " + std::string(room); }
inline std::string who(std::string_view room, const std::vector<std::string_view>& nicks) {
    std::string line = "* in " + std::string(room) + ":";
    for (std::size_t i = 0; i < nicks.size(); ++i) (line += i ? ", " : " ").append(nicks[i]);
    return line;
}
/// A room as /rooms lists it.
struct room_count {
    std::string_view name; ///< the room
    std::size_t members;   ///< its members
    std::string_view topic; ///< its topic; empty: none
};
inline std::string rooms(const std::vector<room_count>& list) {
    std::string line = "* rooms:";
    for (std::size_t i = 0; i < list.size(); ++i) {
        (line += i ? ", " : " ").append(list[i].name) += " (" + std::to_string(list[i].members);
        if (!list[i].topic.empty()) (line += ", topic: ").append(list[i].topic);
        line += ")";
    }
    return line;
}
inline std::string topic(std::string_view text) { return "* topic: " + std::string(text); }
inline std::string room_private(std::string_view room) {
    return "! " + std::string(room) + " is private: ask for an invitation";
}
inline std::string room_full(std::string_view room, std::size_t cap) {
    return "! " + std::string(room) + " is full (" + std::to_string(cap) + (cap == 1 ? " member)" : " members)");
}
inline std::string bad_key(std::string_view room) {
    return "! " + std::string(room) + " needs a key: its operators set one";
}
inline std::string room_banned(std::string_view room) {
    return "! you are banned from " + std::string(room) + " by its operators: you may not join it or speak in it";
}
inline std::string room_closed(std::string_view room, std::string_view reason) {
    std::string line = "* " + std::string(room) + " was closed by the host";
    if (!reason.empty()) (line += ": ").append(reason);
    return line;
}
inline std::string invited(std::string_view room) {
    return "* you are invited to " + std::string(room) + ": /join " + std::string(room);
}

/// A time as /history shows it, in UTC: "[HH:MM]" on the day of `today`,
/// else "[YYYY-MM-DD HH:MM]".
inline std::string history_time(std::chrono::system_clock::time_point t, std::chrono::system_clock::time_point today) {
    using namespace std::chrono;
    auto civil = [](system_clock::time_point at, long long& days, int& y, unsigned& m, unsigned& d, int& minute) {
        const long long secs = duration_cast<seconds>(at.time_since_epoch()).count();
        days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
        minute = static_cast<int>((secs - days * 86400) / 60);
        // Days to a civil date (proleptic Gregorian), after H. Hinnant's algorithm.
        const long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        const unsigned doe = static_cast<unsigned>(z - era * 146097);
        const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        d = doy - (153 * mp + 2) / 5 + 1;
        m = mp < 10 ? mp + 3 : mp - 9;
        y = static_cast<int>(static_cast<long long>(yoe) + era * 400 + (m <= 2));
    };
    long long day = 0, now_day = 0;
    int y = 0, minute = 0, ny = 0, nminute = 0;
    unsigned mo = 0, d = 0, nmo = 0, nd = 0;
    civil(t, day, y, mo, d, minute);
    civil(today, now_day, ny, nmo, nd, nminute);
    char buf[64];
    if (day == now_day) std::snprintf(buf, sizeof buf, "[%02d:%02d]", minute / 60, minute % 60);
    else std::snprintf(buf, sizeof buf, "[%04d-%02u-%02u %02d:%02d]", y, mo, d, minute / 60, minute % 60);
    return buf;
}
/// /history's answer: a heading, then each line with its time.
inline std::string history(std::string_view room, const std::vector<past_line>& past, bool some_missing,
                           std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    if (past.empty()) return "* no history in " + std::string(room);
    std::string text = "* history of " + std::string(room) + ", last " + std::to_string(past.size()) +
                       (past.size() == 1 ? " line" : " lines") + " (UTC)" + (some_missing ? ", some missing:" : ":");
    for (const past_line& l : past) {
        text += '\n';
        text += history_time(l.time, now);
        text += l.action ? " * " : " <";
        text += l.nick;
        text += l.action ? " " : "> ";
        text += l.text;
    }
    return text;
}

inline constexpr std::string_view bad_nick = "! bad nick: use 1-32 of A-Z a-z 0-9 _ . -";
inline constexpr std::string_view bad_room = "! bad room name: use 1-32 of A-Z a-z 0-9 _ . -";
inline constexpr std::string_view usage_me = "! usage: /me ACTION";
inline constexpr std::string_view usage_msg = "! usage: /msg NICK TEXT";
inline std::string nick_taken(std::string_view nick) { return "! nick taken: " + std::string(nick); }
inline std::string no_such_nick(std::string_view nick) { return "! no such nick: " + std::string(nick); }
inline std::string unknown_command(std::string_view name) {
    return "! unknown command: /" + std::string(name) + " (try /help)";
}
/// Accounts and moderation.
inline constexpr std::string_view login_first = "! log in first: /login NAME SECRET";
inline constexpr std::string_view logins_disabled = "! logins are not enabled";
inline constexpr std::string_view usage_login = "! usage: /login NAME SECRET";
inline constexpr std::string_view login_under_way = "! a login is already under way";
inline constexpr std::string_view already_logged_in = "! you are logged in already";
inline constexpr std::string_view too_many_failed_logins = "! too many failed logins; try again in a minute";
inline constexpr std::string_view too_many_logins_under_way =
    "! too many logins under way from your address; try again when they are answered";
/// The reason a refused login gives when the verifier names none.
inline constexpr std::string_view wrong_name_or_secret = login_result::default_reason;
inline constexpr std::string_view not_permitted = "! not permitted";
inline constexpr std::string_view you_are_muted = "! you are muted";
inline constexpr std::string_view room_moderated = "! the room is moderated: only its operators speak";
inline constexpr std::string_view usage_kick = "! usage: /kick NICK [REASON]";
inline constexpr std::string_view usage_ban =
    "! usage: /ban NICK [MINUTES, or a number with s, m, h or d] [confirm]";
inline constexpr std::string_view usage_unban = "! usage: /unban NAME-OR-ADDRESS";
inline constexpr std::string_view usage_mute = "! usage: /mute NICK";
inline constexpr std::string_view usage_topic = "! usage: /topic TEXT";
inline constexpr std::string_view usage_history = "! usage: /history [N] (a number of lines)";
inline constexpr std::string_view history_not_kept = "! this server keeps no history";
inline std::string history_failed(std::string_view why) { return "! history not available: " + std::string(why); }
inline std::string too_many_rooms(std::string_view room, std::size_t limit, bool server_wide) {
    return "! cannot join " + std::string(room) + (server_wide ? ": the server has " : ": you are in ") +
           std::to_string(limit) + " rooms, the most it allows";
}
inline std::string not_in_room(std::string_view room) {
    return room.empty() ? std::string("! you are not in a room") : "! you are not in " + std::string(room);
}
inline std::string refused(std::string_view reason) { return "! " + std::string(reason); }
inline std::string logged_in(std::string_view account) { return "* logged in as " + std::string(account); }
inline std::string now_operator(std::string_view account) {
    return "* you have the operator rights of " + std::string(account);
}
inline std::string nick_registered(std::string_view nick) {
    return "! nick registered: log in with /login " + std::string(nick) + " SECRET";
}
inline std::string banned(std::string_view time_left) { return "! you are banned " + std::string(time_left); }
/// A connection from a banned address, let in to log in as an operator only.
inline std::string banned_login_only(std::string_view time_left) {
    return "! you are banned " + std::string(time_left) + "; only an operator may log in here: /login NAME SECRET";
}
/// /ban of a member on the operator's own address waits for a confirmation.
inline std::string ban_own_address(std::string_view nick, std::string_view address, std::string_view length) {
    return "! " + std::string(nick) + " is on your own address " + std::string(address) +
           ": banning it refuses everyone there but operators; to ban it anyway: /ban " + std::string(nick) +
           (length.empty() ? std::string() : " " + std::string(length)) + " confirm";
}
inline std::string kicked_by(std::string_view op, std::string_view reason) {
    return "! kicked by " + std::string(op) + (reason.empty() ? std::string() : ": " + std::string(reason));
}
inline std::string banned_by(std::string_view op, std::string_view how_long) {
    return "! banned by " + std::string(op) + " " + std::string(how_long);
}
inline std::string unbanned(std::string_view key) { return "* unbanned " + std::string(key); }
inline std::string no_ban_on(std::string_view name) { return "! no ban on " + std::string(name); }
inline std::string line_too_long(std::size_t limit) {
    return "! line too long (limit " + std::to_string(limit) + " bytes)";
}

inline constexpr std::string_view guest_nick_reserved = "! nicks starting with guest- are given by the servers";
inline constexpr std::string_view nick_under_way = "! a nick change is already under way";
inline std::string nick_elsewhere(std::string_view nick) {
    return "! nick taken: " + std::string(nick) + " (on another server)";
}

/// Refusals at connect, and the last words of a connection the server drops.
inline constexpr std::string_view server_full = "! server full";
inline constexpr std::string_view too_many_from_address = "! too many connections from your address";
inline constexpr std::string_view shutting_down_refusal = "! server shutting down";
inline constexpr std::string_view shutting_down = "* server shutting down";
inline constexpr std::string_view dropped_too_slow = "! disconnected: too slow";
inline constexpr std::string_view dropped_idle = "! disconnected: idle timeout";
inline constexpr std::string_view dropped_no_first_line = "! disconnected: no line received in time";
///@}

} // namespace replies

/// The line protocol's wording of a typed reply: its lines of text, without
/// line ends, separated by LF (only /help has more than one).
inline std::string text_of(const reply& r) {
    switch (r.kind) {
    case reply_kind::welcome: return replies::welcome(r.subject, r.detail);
    case reply_kind::notice: return replies::notice(r.detail);
    case reply_kind::joined_room: return replies::joined_room(r.subject, r.count);
    case reply_kind::left_room: return replies::left_room(r.subject);
    case reply_kind::already_in: return replies::already_in(r.subject);
    case reply_kind::who: return replies::who(r.subject, std::vector<std::string_view>(r.names.begin(), r.names.end()));
    case reply_kind::rooms: {
        std::vector<replies::room_count> list;
        list.reserve(r.rooms.size());
        for (const room_summary& room : r.rooms) list.push_back({room.name, room.members, room.topic});
        return replies::rooms(list);
    }
    case reply_kind::topic: return replies::topic(r.detail);
    case reply_kind::room_private: return replies::room_private(r.subject);
    case reply_kind::room_full: return replies::room_full(r.subject, r.count);
    case reply_kind::bad_key: return replies::bad_key(r.subject);
    case reply_kind::room_banned: return replies::room_banned(r.subject);
    case reply_kind::room_closed: return replies::room_closed(r.subject, r.detail);
    case reply_kind::invited: return replies::invited(r.subject);
    case reply_kind::history: return replies::history(r.subject, r.past, r.count != 0);
    case reply_kind::history_not_kept: return std::string(replies::history_not_kept);
    case reply_kind::history_failed: return replies::history_failed(r.detail);
    case reply_kind::too_many_rooms: return replies::too_many_rooms(r.subject, r.count, r.extra == "server");
    case reply_kind::not_in_room: return replies::not_in_room(r.subject);
    case reply_kind::bad_nick: return std::string(replies::bad_nick);
    case reply_kind::bad_room: return std::string(replies::bad_room);
    case reply_kind::usage:
        if (r.subject == "me") return std::string(replies::usage_me);
        if (r.subject == "msg") return std::string(replies::usage_msg);
        if (r.subject == "login") return std::string(replies::usage_login);
        if (r.subject == "kick") return std::string(replies::usage_kick);
        if (r.subject == "ban") return std::string(replies::usage_ban);
        if (r.subject == "unban") return std::string(replies::usage_unban);
        if (r.subject == "mute") return std::string(replies::usage_mute);
        if (r.subject == "topic") return std::string(replies::usage_topic);
        if (r.subject == "history") return std::string(replies::usage_history);
        return "! usage: /" + r.subject;
    case reply_kind::unknown_command: return replies::unknown_command(r.subject);
    case reply_kind::nick_taken: return replies::nick_taken(r.subject);
    case reply_kind::nick_elsewhere: return replies::nick_elsewhere(r.subject);
    case reply_kind::nick_under_way: return std::string(replies::nick_under_way);
    case reply_kind::guest_nick_reserved: return std::string(replies::guest_nick_reserved);
    case reply_kind::nick_registered: return replies::nick_registered(r.subject);
    case reply_kind::no_such_nick: return replies::no_such_nick(r.subject);
    case reply_kind::line_too_long: return replies::line_too_long(r.count);
    case reply_kind::login_first: return std::string(replies::login_first);
    case reply_kind::logins_disabled: return std::string(replies::logins_disabled);
    case reply_kind::login_under_way: return std::string(replies::login_under_way);
    case reply_kind::already_logged_in: return std::string(replies::already_logged_in);
    case reply_kind::too_many_failed_logins: return std::string(replies::too_many_failed_logins);
    case reply_kind::too_many_logins_under_way: return std::string(replies::too_many_logins_under_way);
    case reply_kind::logged_in: return replies::logged_in(r.subject);
    case reply_kind::now_operator: return replies::now_operator(r.subject);
    case reply_kind::refused: return replies::refused(r.detail);
    case reply_kind::not_permitted: return std::string(replies::not_permitted);
    case reply_kind::muted: return std::string(replies::you_are_muted);
    case reply_kind::room_moderated: return std::string(replies::room_moderated);
    case reply_kind::banned: return replies::banned(r.detail);
    case reply_kind::banned_login_only: return replies::banned_login_only(r.detail);
    case reply_kind::ban_own_address: return replies::ban_own_address(r.subject, r.detail, r.extra);
    case reply_kind::unbanned: return replies::unbanned(r.subject);
    case reply_kind::no_ban_on: return replies::no_ban_on(r.subject);
    case reply_kind::help: {
        std::string text;
        auto add = [&](std::string_view line) { (text.empty() ? text : text += '\n').append(line); };
        for (std::string_view line : protocol::help_text) add(line);
        if (r.count != 0)
            for (std::string_view line : protocol::operator_help_text) add(line);
        for (const auto& [name, help] : r.commands) {
            std::string line = "*   /" + name;
            line.resize(std::max<std::size_t>(line.size() + 1, 21), ' ');
            add(line + help);
        }
        return text;
    }
    case reply_kind::shutting_down: return std::string(replies::shutting_down);
    case reply_kind::refused_stopping: return std::string(replies::shutting_down_refusal);
    case reply_kind::server_full: return std::string(replies::server_full);
    case reply_kind::too_many_from_address: return std::string(replies::too_many_from_address);
    case reply_kind::kicked_by: return replies::kicked_by(r.subject, r.detail);
    case reply_kind::banned_by: return replies::banned_by(r.subject, r.detail);
    case reply_kind::dropped_too_slow: return std::string(replies::dropped_too_slow);
    case reply_kind::dropped_idle: return std::string(replies::dropped_idle);
    case reply_kind::dropped_no_first_line: return std::string(replies::dropped_no_first_line);
    }
    return {};
}

} // namespace chatroom
