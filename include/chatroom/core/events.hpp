#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace chatroom {

/// What an event reports; each kind lists the fields of event that tell more.
enum class server_event_kind {
    connected,    ///< nick, address
    joined,       ///< nick, room
    left,         ///< nick, room, reason ("quit: ...", "too slow", "connection lost", ... or empty)
    message,      ///< nick, room, text; action: a /me (text without "/me "); from the host's say(): nick is its from
    nick_changed, ///< nick (new), old_nick, room
    disconnected, ///< nick, reason
    error,        ///< text: a server-side problem (accept failing for lack of file descriptors), or what a
                  ///< host handler or hook threw (text "event handler threw: WHAT", "command /NAME threw:
                  ///< WHAT", "access hook HOOK threw: WHAT"; nick: the member it was running for)
    logged_in,    ///< nick (the account), address; IRC's OPER: nick the member's own, text "operator ACCOUNT"
    login_failed, ///< nick (the member's own, never what was typed), address, reason
    kicked,       ///< nick, room, reason, by
    banned,       ///< nick, room, text (the ban's key: "account NAME" or "address ADDR"), reason (duration), by
    unbanned,     ///< text (the key), by
    muted,        ///< nick, room, by
    unmuted,      ///< nick, room, by
    topic_changed, ///< room, text, by (empty: the host)
    backplane_changed, ///< text: the new state ("connected", "holding", "degraded"), reason: why
};

/// Something that happened on the server, as the host's event handlers get it.
struct server_event {
    server_event_kind kind; ///< what happened, and so which fields are set
    std::string nick;     ///< the member it is about
    std::string room;     ///< the room it happened in
    std::string text;     ///< the line, topic, ban key, new state or error
    std::string reason;   ///< why it happened (banned: the duration)
    std::string old_nick; ///< nick_changed: the nick before
    std::string address;  ///< the member's, as peer_info::address
    std::string by;       ///< who did it: the operator of a moderation action
    bool action = false;  ///< message: a /me action ("* nick text"), not a chat line
    /// message: the id of the room event that carried the line, as members
    /// were sent it (the in-process log's sequence number in decimal; with
    /// the Redis backplane the stream entry's id, "MS-N", the same on every
    /// server). The lines a member sent in one read are one room event and
    /// share its id. Empty for the other kinds.
    std::string id;
    /// When the server made the event: UTC, whole milliseconds. A message
    /// read from the Redis backplane has its stream entry's time.
    std::chrono::system_clock::time_point time{};
};

/// The 2.x name of server_event (beside room_event, what a room's members
/// are sent, "event" did not say whose). Goes away in 3.1 (docs/migrating-to-3.0.md).
using event [[deprecated("chatroom 3.0 renamed chatroom::event to chatroom::server_event")]] = server_event;
/// The 2.x name of server_event_kind. Goes away in 3.1.
using event_kind [[deprecated("chatroom 3.0 renamed chatroom::event_kind to chatroom::server_event_kind")]] =
    server_event_kind;

/// Which kinds of event a handler wants, as a bit set: a handler that does
/// not ask for `message` events costs nothing per chat line.
using event_mask = std::uint32_t;
/// The bit of one kind; combine them with |.
constexpr event_mask mask_of(server_event_kind k) noexcept { return event_mask{1} << static_cast<unsigned>(k); }
/// Every kind, those added later too.
inline constexpr event_mask all_events = ~event_mask{0};

/// The host's event handlers (basic_server::on_event, which adds one each
/// time it is called). The contract, whatever thread pool runs the server:
/// - one at a time: no two handler calls ever overlap (of one handler, or of
///   two), and none runs with a server lock held, so a handler may call any
///   public server function (what that causes is delivered after it returns,
///   never from inside it);
/// - in order: events come in the order the server made them; message events
///   of one room come in the room's order, the order its members received the
///   lines (with a backplane, the order of the shared log), each once;
/// - on whichever server thread made the event, or on one running the
///   handlers already (that thread delivers the events others made meanwhile
///   before it goes on); so keep handlers short, and block in none;
/// - an exception a handler throws is caught: the other handlers get it as an
///   error event (the throwing one does not), and the server goes on;
/// - none runs once ~basic_server has returned, nor after async_stop
///   completed.
using event_handler = std::function<void(const server_event&)>;

/// The kind's name, as in the enum ("connected", "joined", ...); "?" for any other value.
inline const char* to_string(server_event_kind k) noexcept {
    switch (k) {
    case server_event_kind::connected: return "connected";
    case server_event_kind::joined: return "joined";
    case server_event_kind::left: return "left";
    case server_event_kind::message: return "message";
    case server_event_kind::nick_changed: return "nick_changed";
    case server_event_kind::disconnected: return "disconnected";
    case server_event_kind::error: return "error";
    case server_event_kind::logged_in: return "logged_in";
    case server_event_kind::login_failed: return "login_failed";
    case server_event_kind::kicked: return "kicked";
    case server_event_kind::banned: return "banned";
    case server_event_kind::unbanned: return "unbanned";
    case server_event_kind::muted: return "muted";
    case server_event_kind::unmuted: return "unmuted";
    case server_event_kind::topic_changed: return "topic_changed";
    case server_event_kind::backplane_changed: return "backplane_changed";
    }
    return "?";
}

} // namespace chatroom
