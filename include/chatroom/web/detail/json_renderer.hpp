#pragma once

#include <chatroom/core/renderer.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/web/detail/frame_encoder.hpp>
#include <chatroom/web/detail/json/writer.hpp>
#include <chatroom/web/detail/json_wording.hpp>

#include <chrono>
#include <cstring>
#include <string>
#include <string_view>

namespace chatroom::detail {

// The event's type in the JSON dialect.
inline const char* json_event_type(room_event_kind k) noexcept {
    switch (k) {
    case room_event_kind::chat: return "chat";
    case room_event_kind::action: return "action";
    case room_event_kind::joined: return "joined";
    case room_event_kind::left: return "left";
    case room_event_kind::renamed: return "renamed";
    case room_event_kind::private_message: return "private";
    case room_event_kind::notice:
    case room_event_kind::topic: // with a topic field
    case room_event_kind::mode: return "notice"; // with a mode field
    case room_event_kind::away: return "away"; // never rendered (json_renderer::render)
    }
    return "notice";
}

// A room event as one JSON object (docs/web-protocol.md, "Room events"). A
// chat event of several lines is one object whose text holds them joined
// by "\n" (one id per object; the lines of one event were said together).
// own: the event is the recipient's own, sent back to it, marked "own":true.
inline std::string json_event(const room_event& e, bool own = false) {
    std::string out;
    out.reserve(96 + e.room.size() + e.nick.size() + e.text.size());
    json::writer w(out);
    w.begin_object().field("type", json_event_type(e.kind));
    if (!e.log_id.empty()) w.field("id", e.log_id);
    else if (e.seq != 0) w.field("id", std::to_string(e.seq));
    if (e.time != std::chrono::system_clock::time_point{}) w.field("time", iso_time(e.time));
    if (!e.room.empty()) w.field("room", e.room);
    if (!e.nick.empty()) w.field("nick", e.nick);
    if (own) w.field("own", true);
    switch (e.kind) {
    case room_event_kind::chat: {
        // text holds each line ended by '\n': drop the last one.
        std::string_view text = e.text;
        if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
        w.field("text", text);
        if (e.as_notice) w.field("notice", true);
        break;
    }
    case room_event_kind::renamed: w.field("old_nick", e.old_nick); break;
    case room_event_kind::left:
        if (!e.reason.empty()) w.field("reason", e.reason);
        if (!e.kicked_by.empty()) w.field("kicked_by", e.kicked_by);
        break;
    case room_event_kind::private_message:
        w.field("to", e.target).field("text", e.text);
        if (e.as_notice) w.field("notice", true);
        break;
    case room_event_kind::action:
    case room_event_kind::notice: w.field("text", e.text); break;
    case room_event_kind::topic:
        // A notice as before (browsers that know no topic show its text), and the topic.
        w.field("text", topic_wording(e.nick, e.text)).field("topic", e.text);
        break;
    case room_event_kind::mode:
        // A notice (browsers that know no modes show its text), and the change.
        w.field("text", mode_wording(e.nick, e.text)).field("mode", e.text);
        break;
    case room_event_kind::joined:
    case room_event_kind::away: break;
    }
    w.end_object();
    return out;
}

// The JSON dialect of browsers that ask for the WebSocket subprotocol
// chatroom.v1: each event and each reply is one JSON object in one text
// frame. Frames are unmasked, so an event is rendered once and the block
// shared by every browser of this dialect, as for web_renderer. Stateless:
// the one instance serves every connection, from any thread.
class json_renderer final : public renderer {
public:
    std::size_t framed_size(std::size_t n) const noexcept override { return text_frame_size(n); }
    char* frame(char* out, std::string_view a, std::string_view b) const noexcept override {
        return write_text_frame(out, a, b);
    }
    std::string_view line_break() const noexcept override { return {}; }

    // A chat event without text (IRC's TAGMSG) is nothing to a browser, nor
    // is an away event (IRC's away-notify).
    shared_bytes render(const room_event& e) const override {
        if ((e.kind == room_event_kind::chat && e.text.empty()) || e.kind == room_event_kind::away) return {};
        return line(json_event(e));
    }

    // A browser's own chat, action and private message come back to it
    // (once it sent {"type":"echo"}: the member's echo) as everyone gets them,
    // with id and time, marked "own"; its own joined and left do not (the
    // joined_room and left_room replies say those).
    bool render_own(const room_event& e, shared_bytes& out) const override {
        if ((e.kind == room_event_kind::chat && !e.text.empty()) || e.kind == room_event_kind::action ||
            e.kind == room_event_kind::private_message)
            out = line(json_event(e, true));
        return true;
    }

    // Each reply is one object (the welcome two: hello, then welcome); the
    // JSON has no raw LF, so renderer::append frames each object on its own.
    std::string wording(const reply& r) const override { return json_reply(r); }
};

// The one instance, so fan-out renders an event once for every JSON browser.
inline const json_renderer& json_dialect() noexcept {
    static const json_renderer r;
    return r;
}

} // namespace chatroom::detail
