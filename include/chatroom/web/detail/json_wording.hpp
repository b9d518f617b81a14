#pragma once

#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/line/replies.hpp>
#include <chatroom/web/detail/json/writer.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

// How the JSON dialect words the core's typed replies (docs/web-protocol.md,
// "Replies"): answers with a shape of their own (welcome, joined_room, who,
// rooms, topic, history, help, ...) as objects of that type; refusals as
// {"type":"error","code":<the reply kind's name>,"text":<for people>}; the
// last words of a connection the server ends as {"type":"bye",...}. The
// human text is the line protocol's (line/replies.hpp) without its "! " or
// "* " marker.

namespace chatroom::detail {

// A time as the JSON dialect sends it: ISO 8601 in UTC with milliseconds,
// "2026-12-06T15:17:38.123Z".
inline std::string iso_time(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const long long ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    const long long secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    const long long days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    const long long in_day = secs - days * 86400;
    // Days to a civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    const long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const long long y = static_cast<long long>(yoe) + era * 400 + (m <= 2);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d, static_cast<int>(in_day / 3600),
                  static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day % 60), static_cast<int>(ms - secs * 1000));
    return buf;
}

// The reply kind's name: an error object's code.
inline const char* reply_code(reply_kind k) noexcept {
    switch (k) {
    case reply_kind::welcome: return "welcome";
    case reply_kind::notice: return "notice";
    case reply_kind::joined_room: return "joined_room";
    case reply_kind::left_room: return "left_room";
    case reply_kind::already_in: return "already_in";
    case reply_kind::who: return "who";
    case reply_kind::rooms: return "rooms";
    case reply_kind::topic: return "topic";
    case reply_kind::room_private: return "room_private";
    case reply_kind::room_full: return "room_full";
    case reply_kind::bad_key: return "bad_key";
    case reply_kind::room_banned: return "room_banned";
    case reply_kind::room_closed: return "room_closed";
    case reply_kind::invited: return "invited";
    case reply_kind::history: return "history";
    case reply_kind::history_not_kept: return "history_not_kept";
    case reply_kind::history_failed: return "history_failed";
    case reply_kind::too_many_rooms: return "too_many_rooms";
    case reply_kind::not_in_room: return "not_in_room";
    case reply_kind::bad_nick: return "bad_nick";
    case reply_kind::bad_room: return "bad_room";
    case reply_kind::usage: return "usage";
    case reply_kind::unknown_command: return "unknown_command";
    case reply_kind::nick_taken: return "nick_taken";
    case reply_kind::nick_elsewhere: return "nick_elsewhere";
    case reply_kind::nick_under_way: return "nick_under_way";
    case reply_kind::guest_nick_reserved: return "guest_nick_reserved";
    case reply_kind::nick_registered: return "nick_registered";
    case reply_kind::no_such_nick: return "no_such_nick";
    case reply_kind::line_too_long: return "line_too_long";
    case reply_kind::login_first: return "login_first";
    case reply_kind::logins_disabled: return "logins_disabled";
    case reply_kind::login_under_way: return "login_under_way";
    case reply_kind::already_logged_in: return "already_logged_in";
    case reply_kind::too_many_failed_logins: return "too_many_failed_logins";
    case reply_kind::too_many_logins_under_way: return "too_many_logins_under_way";
    case reply_kind::logged_in: return "logged_in";
    case reply_kind::now_operator: return "now_operator";
    case reply_kind::refused: return "refused";
    case reply_kind::not_permitted: return "not_permitted";
    case reply_kind::muted: return "muted";
    case reply_kind::room_moderated: return "room_moderated";
    case reply_kind::banned: return "banned";
    case reply_kind::banned_login_only: return "banned_login_only";
    case reply_kind::ban_own_address: return "ban_own_address";
    case reply_kind::unbanned: return "unbanned";
    case reply_kind::no_ban_on: return "no_ban_on";
    case reply_kind::help: return "help";
    case reply_kind::shutting_down: return "shutting_down";
    case reply_kind::refused_stopping: return "refused_stopping";
    case reply_kind::server_full: return "server_full";
    case reply_kind::too_many_from_address: return "too_many_from_address";
    case reply_kind::kicked_by: return "kicked_by";
    case reply_kind::banned_by: return "banned_by";
    case reply_kind::dropped_too_slow: return "dropped_too_slow";
    case reply_kind::dropped_idle: return "dropped_idle";
    case reply_kind::dropped_no_first_line: return "dropped_no_first_line";
    }
    return "error";
}

// A line of the line protocol's wording without its "! " or "* " marker.
inline std::string_view unmarked(std::string_view line) noexcept {
    if (line.size() >= 2 && (line[0] == '!' || line[0] == '*') && line[1] == ' ') line.remove_prefix(2);
    return line;
}

// The protocol's version, sent in the hello.
inline constexpr std::uint64_t json_protocol_version = 1;

// An error object, as the core's refusals and the dialect's own are worded.
inline std::string json_error(std::string_view code, std::string_view text) {
    std::string out;
    json::writer(out).begin_object().field("type", "error").field("code", code).field("text", text).end_object();
    return out;
}

// The reply as JSON objects, LF between them (only the welcome has two).
inline std::string json_reply(const reply& r) {
    std::string out;
    json::writer w(out);
    const char* code = reply_code(r.kind);
    switch (r.kind) {
    case reply_kind::welcome:
        w.begin_object().field("type", "hello").field("protocol", json_protocol_version).field("server", r.subject).end_object();
        out += '\n';
        json::writer(out).begin_object().field("type", "welcome").field("server", r.subject).field("nick", r.detail).end_object();
        return out;
    case reply_kind::notice: w.begin_object().field("type", "notice").field("text", r.detail); break;
    case reply_kind::joined_room:
        w.begin_object().field("type", "joined_room").field("room", r.subject).field("members", static_cast<std::uint64_t>(r.count));
        break;
    case reply_kind::left_room: w.begin_object().field("type", "left_room").field("room", r.subject); break;
    case reply_kind::who:
        w.begin_object().field("type", "who").field("room", r.subject).begin_array("names");
        for (const std::string& n : r.names) w.element(n);
        w.end_array();
        break;
    case reply_kind::rooms:
        w.begin_object().field("type", "rooms").begin_array("rooms");
        for (const room_summary& s : r.rooms) {
            w.element_object().field("name", s.name).field("members", static_cast<std::uint64_t>(s.members));
            if (!s.topic.empty()) w.field("topic", s.topic);
            w.end_object();
        }
        w.end_array();
        break;
    case reply_kind::topic:
        w.begin_object().field("type", "topic");
        if (!r.subject.empty()) w.field("room", r.subject);
        w.field("text", r.detail);
        break;
    case reply_kind::history:
        w.begin_object().field("type", "history").field("room", r.subject).field("some_missing", r.count != 0).field("more", r.more);
        w.begin_array("lines");
        for (const past_line& l : r.past)
            w.element_object()
                .field("type", l.action ? "action" : "chat")
                .field("id", l.id)
                .field("time", iso_time(l.time))
                .field("nick", l.nick)
                .field("text", l.text)
                .end_object();
        w.end_array();
        break;
    case reply_kind::help: {
        w.begin_object().field("type", "help").begin_array("lines");
        const std::string text = text_of(r);
        chatroom::for_each_line(text, [&](std::string_view l) { w.element(unmarked(l)); });
        w.end_array();
        break;
    }
    case reply_kind::logged_in: w.begin_object().field("type", "logged_in").field("account", r.subject); break;
    case reply_kind::invited:
        w.begin_object().field("type", "invited").field("room", r.subject);
        if (!r.detail.empty()) w.field("by", r.detail); // a member of the room, not the host
        break;
    case reply_kind::unbanned: w.begin_object().field("type", "unbanned").field("name", r.subject); break;
    case reply_kind::room_closed:
        w.begin_object().field("type", "room_closed").field("room", r.subject).field("reason", r.detail);
        break;
    // The last words of a connection the server ends.
    case reply_kind::shutting_down:
    case reply_kind::kicked_by:
    case reply_kind::banned_by:
    case reply_kind::dropped_too_slow:
    case reply_kind::dropped_idle:
    case reply_kind::dropped_no_first_line:
        w.begin_object().field("type", "bye").field("code", code).field("text", unmarked(text_of(r)));
        if (r.kind == reply_kind::kicked_by || r.kind == reply_kind::banned_by) w.field("by", r.subject);
        if (r.kind == reply_kind::kicked_by && !r.detail.empty()) w.field("reason", r.detail);
        break;
    default:
        // Refusals: what the member asked for was not done.
        w.begin_object().field("type", "error").field("code", code).field("text", unmarked(text_of(r)));
        if (!r.subject.empty()) w.field("subject", r.subject);
        if (r.kind == reply_kind::line_too_long || r.kind == reply_kind::room_full || r.kind == reply_kind::too_many_rooms)
            w.field("limit", static_cast<std::uint64_t>(r.count));
        break;
    }
    w.end_object();
    return out;
}

} // namespace chatroom::detail
