#pragma once

#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace chatroom {

/// One dialect of the wire: how a line of the protocol travels (CRLF-ended
/// text for telnet and nc, one WebSocket text frame per line for browsers)
/// and how room events read. The server renders each event once per dialect
/// and shares the block with every recipient of that dialect.
class renderer {
public:
    virtual ~renderer() = default;

    /// Bytes a line of line_size bytes takes on the wire.
    virtual std::size_t framed_size(std::size_t line_size) const noexcept = 0;
    /// Writes the line a + b (b may be empty) in framed_size(a.size() + b.size())
    /// bytes at out; returns the end.
    virtual char* frame(char* out, std::string_view a, std::string_view b) const noexcept = 0;

    /// Bytes that end a partly written line so another line can follow (the
    /// server's last words to a member it drops mid-line); empty when the
    /// dialect cannot do that, and then no last words are sent.
    virtual std::string_view line_break() const noexcept { return {}; }

    /// The event's wire form. The line protocol's text: a dialect that reads
    /// differently (IRC, say) overrides it.
    virtual shared_bytes render(const room_event& e) const {
        if (e.kind == room_event_kind::chat) return render_chat(e);
        if (e.kind == room_event_kind::away) return {}; // not shown in the line protocol
        return line(event_text(e));
    }

    /// The renderer whose render(e) equals this one's, so fan-out renders an
    /// event once for every member whose renderer names the same one: this
    /// renderer itself by default. A dialect that keeps a renderer per member
    /// (IRC: its nick, its negotiated capabilities, its registration) returns
    /// a renderer it shares with others for the events that read the same to
    /// all of them, and itself for those it words per member. Called with the
    /// hub's lock held.
    virtual const renderer& shared_for(const room_event& e) const noexcept {
        (void)e;
        return *this;
    }

    /// What shared_for(e) returns for a chat line or action, when the
    /// dialect keeps it at hand: fan-out then makes no virtual call per
    /// member for the events most sent. Null: ask shared_for. Read with the
    /// hub's lock held.
    const renderer* chat_share() const noexcept { return chat_share_; }

    /// A member's own event, sent back because its dialect asked
    /// (member_state::echo): false to send it as every other member gets it
    /// (shared_for, then render); true when this dialect words its own
    /// events apart (a mark that says "yours"), with out holding them, or
    /// empty for one it does not send back. Called with the hub's lock held.
    virtual bool render_own(const room_event& e, shared_bytes& out) const {
        (void)e;
        (void)out;
        return false;
    }

    /// Chat lines read "<nick> text"; the prefix is made once per event.
    shared_bytes render_chat(const room_event& e) const {
        const std::string prefix = chat_prefix(e);
        std::size_t size = 0;
        e.for_each_line([&](std::string_view l) { size += framed_size(prefix.size() + l.size()); });
        return shared_bytes::build(size, [&](char* out) {
            e.for_each_line([&](std::string_view l) { out = frame(out, prefix, l); });
        });
    }

    /// "<nick> ": what comes before each line of a chat event.
    static std::string chat_prefix(const room_event& e) {
        std::string prefix;
        prefix.reserve(e.nick.size() + 3);
        prefix += '<';
        prefix += e.nick;
        prefix += "> ";
        return prefix;
    }

    /// The text of a non-chat event as one protocol line.
    static std::string event_text(const room_event& e) {
        switch (e.kind) {
        case room_event_kind::chat: return "<" + e.nick + "> " + e.text;
        case room_event_kind::action: return "* " + e.nick + " " + e.text;
        case room_event_kind::joined: return "* " + e.nick + " joined";
        case room_event_kind::left:
            if (!e.kicked_by.empty())
                return "* " + e.nick + " was kicked out of the room by " + e.kicked_by +
                       (e.reason.empty() ? std::string() : " (" + e.reason + ")");
            return "* " + e.nick + " left" + (e.reason.empty() ? std::string() : " (" + e.reason + ")");
        case room_event_kind::renamed: return "* " + e.old_nick + " is now known as " + e.nick;
        case room_event_kind::private_message: return "*" + e.nick + "* " + e.text;
        case room_event_kind::notice: return "* " + e.text;
        case room_event_kind::topic: return "* " + topic_wording(e.nick, e.text);
        case room_event_kind::mode: return "* " + mode_wording(e.nick, e.text);
        case room_event_kind::away: return {};
        }
        return {};
    }

    /// How the dialect words a reply to one member: its lines of text, LF
    /// between them (the line protocol's: line/replies.hpp). Text from
    /// outside is sanitized, so it holds no LF of its own. A dialect that
    /// answers in another shape (IRC numerics, structured messages)
    /// overrides word().
    virtual std::string wording(const reply& r) const = 0;

    /// A reply as a block of its own.
    virtual shared_bytes word(const reply& r) const {
        std::string block;
        append(block, r);
        return shared_bytes::copy_of(block);
    }

    /// Appends a reply's lines to a block being built (several replies in one write).
    void append(std::string& out, const reply& r) const {
        const std::string text = wording(r);
        std::string_view rest = text;
        for (;;) {
            const std::size_t lf = rest.find('\n');
            append(out, rest.substr(0, lf));
            if (lf == std::string_view::npos) break;
            rest.remove_prefix(lf + 1);
        }
    }

    /// One line as a block of its own.
    shared_bytes line(std::string_view text) const {
        return shared_bytes::build(framed_size(text.size()), [&](char* out) { frame(out, text, {}); });
    }

    /// Appends one framed line to a block being built (several replies in one write).
    void append(std::string& out, std::string_view text) const {
        const std::size_t at = out.size();
        out.resize(at + framed_size(text.size()));
        frame(&out[at], text, {});
    }

protected:
    /// Kept current by a dialect whose shared_for answers every chat line
    /// and action alike (its own state decides, not the event): set with
    /// the hub's lock held whenever that state changes.
    void share_chats_with(const renderer* r) const noexcept { chat_share_ = r; }

private:
    mutable const renderer* chat_share_ = nullptr;
};

} // namespace chatroom
