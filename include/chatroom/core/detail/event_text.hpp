#pragma once

#include <string>
#include <string_view>

// Texts the core puts into room events (a leave's reason, a notice), which
// every member receives as they are, whatever its dialect, and which a
// shared room log stores. What the core answers one member is typed instead
// (core/reply.hpp) and worded by each dialect.
namespace chatroom::detail::event_text {

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
inline std::string set_topic(std::string_view op, std::string_view text) {
    return (op.empty() ? std::string("the topic is now") : std::string(op) + " set the topic") + ": " +
           std::string(text);
}

// The room is told when a shared log lost events before this server read them.
inline constexpr std::string_view missed_events =
    "some events of this room were missed: the log was trimmed past them before this server read them";

} // namespace chatroom::detail::event_text
