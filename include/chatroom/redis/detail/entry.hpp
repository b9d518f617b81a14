#pragma once

// How a room event is kept in a Redis stream entry, and stream IDs as
// numbers. Pure code: no I/O, so it is tested on its own (tests/redis) and
// fuzzed (tests/fuzz/fuzz_redis_entry.cpp).
//
// What is read back from Redis is untrusted input: anyone who can write to
// it, or a buggy or older server, may have put anything in a stream.
// parse_entry is the one gate every entry passes on its way to members (live
// reads, a room's history, private messages): it checks the kind against the
// stream, the writer's fields, every name with the rules of /nick and /join,
// cleans every line of text with sanitize_append, as client input is
// cleaned, and holds each line to the server's max_line_bytes. An entry that
// fails a check is dropped whole, never delivered in part.

#include <chatroom/redis/detail/entry_kind.hpp>
#include <chatroom/redis/detail/entry_text.hpp>
#include <chatroom/redis/detail/reply.hpp>
#include <chatroom/core/detail/history_ring.hpp> // parse_number, one reading of ids for every part
#include <chatroom/core/detail/room_roles.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/redis/detail/room_list.hpp>
#include <chatroom/redis/detail/stream_id.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/sanitize.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace chatroom::detail {

// One stream entry as the backplane writes it. The writer's node, epoch
// (one per process) and count (per stream, per epoch) let every reader drop
// an entry it has seen: a command whose reply was lost is sent again after a
// reconnect, and may then be in the stream twice.
struct stream_entry {
    room_event event;
    std::string node;
    std::string epoch;
    std::uint64_t count = 0;
    std::uint64_t member = 0; // the origin member on its node
};

// The field-value arguments of XADD for an event written under a writer's
// name (after "XADD key MAXLEN ~ N *"); the event's own node is not written.
// emit(name, value) for each field, in order (string_views, valid for the call).
template <class Emit>
inline void for_each_field(const room_event& e, std::string_view node, std::string_view epoch, std::uint64_t count,
                           std::uint64_t member, Emit&& emit) {
    char digits[24];
    auto number = [&digits](std::uint64_t n) {
        const auto r = std::to_chars(digits, digits + sizeof digits, n);
        return std::string_view(digits, static_cast<std::size_t>(r.ptr - digits));
    };
    const char kind = kind_code(e.kind);
    emit("k", std::string_view(&kind, 1));
    emit("n", node);
    emit("e", epoch);
    emit("s", number(count));
    if (!e.room.empty()) emit("w", e.room);
    if (!e.nick.empty()) emit("u", e.nick);
    if (e.kind == room_event_kind::topic) {
        // x as a notice (what nodes that know no topic show), c the topic;
        // y: it was cleared (no c).
        emit("x", topic_wording(e.nick, e.text));
        if (e.text.empty()) emit("y", "1");
        else emit("c", e.text);
    } else if (e.kind == room_event_kind::mode) {
        emit("x", mode_wording(e.nick, e.text));
        emit("d", e.text);
    } else if (!e.text.empty()) {
        emit("x", e.text);
    }
    if (member) emit("m", number(member));
    if (!e.old_nick.empty()) emit("o", e.old_nick);
    if (!e.reason.empty()) emit("r", e.reason);
    if (!e.kicked_by.empty()) emit("b", e.kicked_by);
    if (e.left_server) emit("q", "1");
    if (e.as_notice) emit("v", "1"); // absent on old nodes' entries: a plain line
    if (!e.target.empty()) emit("t", e.target);
    if (!e.client_tags.empty()) emit("g", e.client_tags); // IRC's client-only tags
    if (!e.account.empty()) emit("a", e.account);         // IRC's account-tag
}

inline void append_fields(std::vector<std::string>& args, const room_event& e, const std::string& node,
                          const std::string& epoch, std::uint64_t count, std::uint64_t member) {
    args.reserve(args.size() + 18); // a chat line's fields (k n e s w u x m) and one more, without a regrowth
    for_each_field(e, node, epoch, count, member, [&args](std::string_view name, std::string_view value) {
        args.emplace_back(name);
        args.emplace_back(value);
    });
}

inline void append_fields(std::vector<std::string>& args, const stream_entry& s) {
    append_fields(args, s.event, s.node, s.epoch, s.count, s.member);
}

// Which stream an entry was read from: each holds only its own kinds.
enum class entry_stream : std::uint8_t {
    any,  // no check (an entry this server queued itself)
    room, // P room:<name>: every kind but private messages
    node, // P node:<id>: private messages only
};

// What parse_entry holds an entry to.
struct entry_rules {
    std::size_t max_line_bytes = 4096; // the server's max_line_bytes: the longest line of text, once cleaned
    entry_stream stream = entry_stream::any;
};

// Why parse_entry refused an entry.
enum class entry_error : std::uint8_t {
    none,
    malformed,     // not [id, [field, value, ...]] of strings with a valid ID
    kind,          // no kind, or one this backplane does not write
    wrong_stream,  // a private message in a room's stream, or the reverse
    writer,        // node, epoch, count or member missing or not well formed
    room,          // a room name that /join would refuse
    nick,          // a nick (sender, joiner, new nick) that /nick would refuse
    old_nick,      // the old nick of a rename, likewise
    target,        // the recipient of a private message, likewise
    no_text,       // no text left once cleaned, where the kind needs some
    line_too_long, // a line of text longer than max_line_bytes once cleaned
};

inline const char* to_string(entry_error e) noexcept {
    switch (e) {
    case entry_error::none: return "valid";
    case entry_error::malformed: return "not a stream entry";
    case entry_error::kind: return "unknown kind";
    case entry_error::wrong_stream: return "a kind this stream does not hold";
    case entry_error::writer: return "bad node, epoch, count or member";
    case entry_error::room: return "a room name that is not a valid name";
    case entry_error::nick: return "a nick that is not a valid name";
    case entry_error::old_nick: return "an old nick that is not a valid name";
    case entry_error::target: return "a target that is not a valid name";
    case entry_error::no_text: return "no text";
    case entry_error::line_too_long: return "a line longer than the server's max line";
    }
    return "?";
}

// A count or member id: 1-20 decimal digits that fit in 64 bits.
inline bool parse_decimal(std::string_view digits, std::uint64_t& out) noexcept {
    if (digits.empty() || digits.size() > 20) return false;
    std::uint64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
        const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
        if (v > (~std::uint64_t{0} - d) / 10) return false; // overflow
        v = v * 10 + d;
    }
    out = v;
    return true;
}

// A field of an entry as Redis returns it: one letter, and its value.
using entry_field = std::pair<std::string_view, std::string_view>;

// An entry's fields by letter (views of the reply): of a field given twice
// the last counts; names that are not one letter a-z are ignored.
struct entry_fields {
    std::string_view by_letter[26] = {};
    std::string* text_owner = nullptr; // the string x views, when the caller gives it up (parse_entry of an rvalue)
    void set(std::string_view name, std::string_view value) noexcept {
        if (name.size() == 1 && name[0] >= 'a' && name[0] <= 'z') by_letter[name[0] - 'a'] = value;
    }
};

// The checks and cleaning of parse_entry, on an entry's fields. Fields with
// an empty value are written as absent, and are read so; fields a kind does
// not use are ignored (they reach nobody). Nothing when the entry fails a
// check (why says which).
inline std::optional<stream_entry> decode_entry(const entry_fields& fields, const entry_rules& rules,
                                                entry_error* why = nullptr) {
    auto refuse = [why](entry_error e) -> std::optional<stream_entry> {
        if (why) *why = e;
        return std::nullopt;
    };
    if (why) *why = entry_error::none;
    auto field = [&fields](char letter) { return fields.by_letter[letter - 'a']; };

    auto kind = kind_of(field('k'));
    if (!kind) return refuse(entry_error::kind);
    // A notice with a topic (c), or y (cleared), is a topic change, by u when it names one.
    if (*kind == room_event_kind::notice && (!field('c').empty() || field('y') == "1")) kind = room_event_kind::topic;
    // A notice with a mode change (d) is one (room_roles.hpp), by u when it names one.
    else if (*kind == room_event_kind::notice && !field('d').empty()) kind = room_event_kind::mode;
    const bool private_message = *kind == room_event_kind::private_message;
    if ((rules.stream == entry_stream::room && private_message) ||
        (rules.stream == entry_stream::node && !private_message))
        return refuse(entry_error::wrong_stream);

    stream_entry s;
    s.event.kind = *kind;
    // The writer: compared and kept as map keys, never shown, but bounded.
    if (!protocol::is_valid_name(field('n')) || !protocol::is_valid_name(field('e')) ||
        !parse_decimal(field('s'), s.count) || (!field('m').empty() && !parse_decimal(field('m'), s.member)))
        return refuse(entry_error::writer);
    s.node = std::string(field('n'));
    s.epoch = std::string(field('e'));

    room_event& e = s.event;
    if (!private_message && !field('w').empty()) {
        if (!protocol::is_valid_name(field('w'))) return refuse(entry_error::room);
        e.room = std::string(field('w'));
    }
    const bool by_anyone = *kind == room_event_kind::topic || *kind == room_event_kind::mode;
    if (*kind != room_event_kind::notice && (!by_anyone || !field('u').empty())) {
        if (!protocol::is_valid_name(field('u'))) return refuse(entry_error::nick);
        e.nick = std::string(field('u'));
    }
    if (*kind == room_event_kind::renamed) {
        if (!protocol::is_valid_name(field('o'))) return refuse(entry_error::old_nick);
        e.old_nick = std::string(field('o'));
    }
    if (private_message) {
        if (!protocol::is_valid_name(field('t'))) return refuse(entry_error::target);
        e.target = std::string(field('t'));
    }
    const std::size_t max = rules.max_line_bytes ? rules.max_line_bytes : 1;
    switch (*kind) {
    case room_event_kind::chat: {
        if (!add_clean_lines(e, field('x'), max, fields.text_owner)) return refuse(entry_error::line_too_long);
        // No text: IRC's TAGMSG, client-only tags alone (below), or nothing.
        if (e.line_count == 0 && (!e.text.empty() || !is_client_tag_data(field('g'))))
            return refuse(entry_error::no_text);
        e.as_notice = field('v') == "1";
        break;
    }
    case room_event_kind::action:
    case room_event_kind::private_message:
    case room_event_kind::notice:
        e.as_notice = *kind == room_event_kind::private_message && field('v') == "1";
        // One line: a '\n' in it is dropped with the other controls.
        if (!append_clean_line(e.text, field('x'), max)) return refuse(entry_error::line_too_long);
        if (e.text.empty()) return refuse(entry_error::no_text);
        break;
    case room_event_kind::left:
        // A reason past the limit is left out, not the leave: a kick's
        // reason may take "kicked by NICK: " past it legitimately.
        if (!append_clean_line(e.reason, field('r'), max)) e.reason.clear();
        e.left_server = field('q') == "1";
        if (!field('b').empty()) {
            if (!protocol::is_valid_name(field('b'))) return refuse(entry_error::nick);
            e.kicked_by = std::string(field('b'));
        }
        break;
    case room_event_kind::topic:
        // One line, as a topic is set; no text left: no change to tell,
        // unless it says the topic was cleared (y, and no c).
        if (!append_clean_line(e.text, field('c'), max)) return refuse(entry_error::line_too_long);
        if (e.text.empty() && (field('y') != "1" || !field('c').empty())) return refuse(entry_error::no_text);
        break;
    case room_event_kind::mode: {
        // Changes this server keeps (all of them), or the entry carries nothing.
        auto changes = parse_mode_changes(field('d'));
        if (!changes) return refuse(entry_error::no_text);
        e.text = mode_text(*changes);
        break;
    }
    case room_event_kind::away:
        // Its message, or none: back. A message past the limit is left out.
        if (!append_clean_line(e.text, field('x'), max)) e.text.clear();
        break;
    case room_event_kind::joined:
    case room_event_kind::renamed: break;
    }
    if (protocol::is_valid_name(field('a'))) e.account = std::string(field('a'));
    // Client-only tags (IRC's) of a line: kept when well formed, else
    // dropped (the line is not).
    if ((*kind == room_event_kind::chat && e.line_count <= 1) || *kind == room_event_kind::action ||
        *kind == room_event_kind::private_message)
        if (is_client_tag_data(field('g'))) e.client_tags = std::string(field('g'));
    e.node = s.node;
    return s;
}

inline std::optional<stream_entry> decode_entry(const std::vector<entry_field>& fields, const entry_rules& rules,
                                                entry_error* why = nullptr) {
    entry_fields table;
    for (const auto& [name, value] : fields) table.set(name, value);
    return decode_entry(table, rules, why);
}

// An entry of an XREAD or XRANGE reply: [id, [field, value, ...]], checked
// and cleaned by decode_entry. Nothing when it fails (why says why); id is
// set whenever the reply held a valid ID, so a reader moves past an entry it
// refused (stream IDs are never 0-0).
// Given an rvalue, the entry's text may be moved out of the reply (a chat
// line's text that is clean as it stands, add_clean_lines): the same entry,
// one copy fewer; the reply is left valid but its text unspecified.
template <class Reply>
inline std::optional<stream_entry> parse_entry_of(Reply& r, stream_id& id, const entry_rules& rules, entry_error* why) {
    if (why) *why = entry_error::malformed;
    if (!r.is_array() || r.elements.size() != 2 || !r.elements[0].is_string() || !r.elements[1].is_array())
        return std::nullopt;
    auto parsed_id = stream_id::parse(r.elements[0].text);
    if (!parsed_id || parsed_id->zero()) return std::nullopt;
    id = *parsed_id;
    auto& items = r.elements[1].elements;
    if (items.size() % 2 != 0) return std::nullopt;
    entry_fields fields; // no allocation per entry
    for (std::size_t i = 0; i < items.size(); i += 2) {
        if (!items[i].is_string() || !items[i + 1].is_string()) return std::nullopt;
        fields.set(items[i].text, items[i + 1].text);
        if constexpr (!std::is_const_v<Reply>)
            if (items[i].text == "x") fields.text_owner = &items[i + 1].text; // the last x counts, as in set
    }
    return decode_entry(fields, rules, why);
}

inline std::optional<stream_entry> parse_entry(const redis_reply& r, stream_id& id, const entry_rules& rules = {},
                                               entry_error* why = nullptr) {
    return parse_entry_of(r, id, rules, why);
}

inline std::optional<stream_entry> parse_entry(redis_reply&& r, stream_id& id, const entry_rules& rules = {},
                                               entry_error* why = nullptr) {
    return parse_entry_of(r, id, rules, why);
}

// A member of another server as its roster in Redis names it: a valid nick,
// in valid rooms (room_list.hpp) or in none (empty) yet.
inline bool valid_roster_entry(std::string_view nick, std::string_view rooms) noexcept {
    return protocol::is_valid_name(nick) && valid_room_list(rooms);
}

} // namespace chatroom::detail
