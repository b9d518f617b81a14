#pragma once

#include <chatroom/core/detail/member.hpp>

#include <string>
#include <string_view>

// Texts the core puts into room events (a leave's reason, a notice), which
// every member receives as they are, whatever its dialect, and which a
// shared room log stores. What the core answers one member is typed instead
// (core/reply.hpp) and worded by each dialect.
namespace chatroom::detail::event_text {

// Why a member left, as its rooms hear it in "* nick left (...)"; detail is
// what it said with /quit, a kick's or ban's reason, or more of why the
// connection was lost.
inline std::string left_because(leave_reason why, std::string_view detail) {
    switch (why) {
    case leave_reason::eof: break;
    case leave_reason::quit: return detail.empty() ? "quit" : "quit: " + std::string(detail);
    case leave_reason::connection_lost:
        return detail.empty() ? "connection lost" : "connection lost: " + std::string(detail);
    case leave_reason::too_slow: return "too slow";
    case leave_reason::idle_timeout: return "idle timeout";
    case leave_reason::first_line_timeout: return "no first line";
    case leave_reason::shutdown: return "server shutting down";
    case leave_reason::kicked:
    case leave_reason::banned: return std::string(detail);
    }
    return std::string();
}

// What rooms hear of moderation.
// Kicks and bans are the reason in "* nick left (...)".
inline std::string was_kicked(std::string_view op, std::string_view reason) {
    return "kicked by " + std::string(op) + (reason.empty() ? std::string() : ": " + std::string(reason));
}
inline std::string was_banned(std::string_view op, std::string_view how_long) {
    return "banned by " + std::string(op) + " (" + std::string(how_long) + ")";
}
inline std::string was_muted(std::string_view nick, std::string_view op, bool muted) {
    return std::string(nick) + (muted ? " was muted by " : " was unmuted by ") + std::string(op);
}

// The room is told when a shared log lost events before this server read them.
inline constexpr std::string_view missed_events =
    "some events of this room were missed: the log was trimmed past them before this server read them";

} // namespace chatroom::detail::event_text
