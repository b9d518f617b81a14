#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom {

/// What can happen in a room, as data. The protocol turns members' lines into
/// these; a room log (room_log.hpp) orders them; renderers (renderer.hpp)
/// turn them into what each kind of client reads.
enum class room_event_kind : std::uint8_t {
    chat,            ///< nick said the lines of text
    action,          ///< /me: nick does text
    joined,          ///< nick came in
    left,            ///< nick went, for reason (may be empty)
    renamed,         ///< old_nick is now nick
    private_message, ///< nick said text to target only (room is empty)
    notice,          ///< the host or the server says text to the room
    topic,           ///< nick set the room's topic to text (nick empty: the host did)
    /// nick changed the room's settings or roles (nick empty: the server
    /// did): text is one change as IRC writes it, "+o bob", "-o bob", "+t",
    /// "-t", "+m", "+s" (core/detail/room_roles.hpp).
    mode,
    /// nick set itself away with text as its message, or came back (text
    /// empty): said to the rooms it is in for dialects that show it (IRC's
    /// away-notify); the others render nothing, and history keeps none.
    away,
};

/// What a mode change reads as in a dialect with no modes of its own: the
/// line protocol's "* alice: mode +o bob" (after "* ").
inline std::string mode_wording(std::string_view by, std::string_view change) {
    return (by.empty() ? std::string("the server") : std::string(by)) + ": mode " + std::string(change);
}

/// What a topic change reads as where there is no topic to set: the line
/// protocol's "* alice set the topic: text" (after "* "), a notice's text.
/// ("* alice cleared the topic" when text is empty).
inline std::string topic_wording(std::string_view by, std::string_view text) {
    if (text.empty()) return by.empty() ? std::string("the topic was cleared") : std::string(by) + " cleared the topic";
    return (by.empty() ? std::string("the topic is now") : std::string(by) + " set the topic") + ": " +
           std::string(text);
}

/// Calls fn(line) for each '\n'-ended line of text.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        fn(text.substr(0, nl));
        if (nl == std::string_view::npos) return;
        text.remove_prefix(nl + 1);
    }
}

/// The most bytes of client-only tags a room event carries (IRCv3
/// message-tags: a client's tag data is at most 4094 bytes).
inline constexpr std::size_t max_client_tag_bytes = 4094;

/// Whether s may be a room_event's client_tags: at most
/// max_client_tag_bytes, ';'-separated tags whose keys begin with '+', and
/// no space, CR, LF or NUL (values escaped as IRC writes them).
inline bool is_client_tag_data(std::string_view s) noexcept {
    if (s.empty() || s.size() > max_client_tag_bytes) return false;
    bool at_key = true;
    for (const char ch : s) {
        if (ch == ' ' || ch == '\r' || ch == '\n' || ch == '\0') return false;
        if (at_key && ch != '+') return false;
        at_key = ch == ';';
    }
    return !at_key;
}

/// One thing that happened in a room, as data: what the room log orders and
/// every renderer reads. Which fields a kind uses, the comments below say.
struct room_event {
    room_event_kind kind = room_event_kind::chat; ///< what happened
    std::string room;      ///< the room's name as it was created
    std::string nick;      ///< who: the speaker, the joiner, the new nick, the sender
    /// The account nick was logged in to when the event was made (empty: a
    /// guest, the host or another server): IRC's account-tag.
    std::string account;
    std::string old_nick;  ///< renamed
    std::string target;    ///< private_message: the recipient's nick
    std::string text;      ///< chat: lines, each ended by '\n'; others: one line, no '\n'; joined: the joiner's away message
    std::string reason;    ///< left
    /// left: the room operator (or server operator) who kicked nick out of
    /// the room; empty when nick left by itself.
    std::string kicked_by;
    /// left: the member left the server, so each of its rooms hears one of
    /// these (a dialect may say it once: IRC's QUIT); false when it left
    /// this room only, whatever its reason says.
    bool left_server = false;
    /// chat, private_message: said as a notice (IRC's NOTICE), which no
    /// client answers automatically; dialects without the notion show a
    /// plain line.
    bool as_notice = false;
    /// chat (a single line, or no text at all: IRC's TAGMSG, which other
    /// dialects render as nothing and history keeps not), action,
    /// private_message: the client-only tags
    /// an IRC client sent with it (IRCv3 message-tags: "+key=value;+key2"),
    /// as IRC writes them, escaped; at most max_client_tag_bytes (see
    /// is_client_tag_data). Opaque to the core and to every other dialect,
    /// which never show them; IRC relays them to members that negotiated
    /// message-tags. Empty: none.
    std::string client_tags;
    /// Sets client_tags to tags when is_client_tag_data(tags); else leaves it.
    void set_client_tags(std::string_view tags) {
        if (is_client_tag_data(tags)) client_tags.assign(tags.data(), tags.size());
    }
    std::uint64_t seq = 0; ///< its place in the room's log, given by append()
    /// Where a log that orders elsewhere placed it, when it says: the Redis
    /// backplane's stream entry id. Empty otherwise: the id is then seq.
    std::string log_id;
    /// When the log ordered it (UTC, whole milliseconds): set by append(),
    /// or from the Redis stream entry's id. Kept with it in history, never
    /// restamped.
    std::chrono::system_clock::time_point time{};
    /// The local member it came from, which is not sent its own event
    /// (0: the host, or another server); and the server that made it.
    std::uint64_t origin = 0;
    std::string node; ///< the server that made the event (a cluster's node id; empty on one server)
    std::size_t line_count = 0; ///< chat: lines in text
    /// chat: where each line of text ends (its '\n'), so renderers need not
    /// search for them; add_line keeps it, index_lines() rebuilds it.
    std::vector<std::uint32_t> line_ends;

    /// Adds one line (no '\n' in it) to a chat event.
    void add_line(std::string_view line) {
        text.append(line.data(), line.size());
        line_ends.push_back(static_cast<std::uint32_t>(text.size()));
        text += '\n';
        ++line_count;
    }

    /// Empties text and its line index (the event is reused for the next lines).
    void clear_text() noexcept {
        text.clear();
        line_ends.clear();
        line_count = 0;
    }

    /// For a chat event whose text was set directly (read from a backplane).
    void index_lines() {
        line_ends.clear();
        for (std::size_t i = 0; i < text.size(); ++i)
            if (text[i] == '\n') line_ends.push_back(static_cast<std::uint32_t>(i));
        line_count = line_ends.size();
    }

    /// Calls fn(line) for each line of a chat event's text.
    template <class Fn>
    void for_each_line(Fn&& fn) const {
        if (line_ends.size() != line_count) return chatroom::for_each_line(text, fn);
        std::size_t from = 0;
        for (const std::uint32_t end : line_ends) {
            fn(std::string_view(text.data() + from, end - from));
            from = end + 1;
        }
    }
};

/// The kind's name, as in the enum ("chat", "joined", ...).
inline const char* to_string(room_event_kind k) noexcept {
    switch (k) {
    case room_event_kind::chat: return "chat";
    case room_event_kind::action: return "action";
    case room_event_kind::joined: return "joined";
    case room_event_kind::left: return "left";
    case room_event_kind::renamed: return "renamed";
    case room_event_kind::private_message: return "private_message";
    case room_event_kind::notice: return "notice";
    case room_event_kind::topic: return "topic";
    case room_event_kind::mode: return "mode";
    case room_event_kind::away: return "away";
    }
    return "?";
}

} // namespace chatroom
