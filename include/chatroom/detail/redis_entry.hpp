#pragma once

// How a room event is kept in a Redis stream entry, and stream IDs as
// numbers. Pure code: no I/O, so it is tested on its own (tests/redis).

#include <chatroom/detail/redis_connection.hpp>
#include <chatroom/room_event.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::detail {

// "ms-seq", compared as the pair of numbers Redis orders entries by.
struct stream_id {
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;

    static std::optional<stream_id> parse(std::string_view text) {
        const std::size_t dash = text.find('-');
        if (dash == std::string_view::npos) return std::nullopt;
        stream_id id;
        if (!number(text.substr(0, dash), id.ms) || !number(text.substr(dash + 1), id.seq)) return std::nullopt;
        return id;
    }
    std::string str() const { return std::to_string(ms) + "-" + std::to_string(seq); }
    bool zero() const noexcept { return ms == 0 && seq == 0; }
    friend bool operator<(const stream_id& a, const stream_id& b) noexcept {
        return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq);
    }

private:
    static bool number(std::string_view digits, std::uint64_t& out) {
        if (digits.empty() || digits.size() > 20) return false;
        std::uint64_t v = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return false;
            const std::uint64_t next = v * 10 + static_cast<std::uint64_t>(c - '0');
            if (next / 10 != v) return false; // overflow
            v = next;
        }
        out = v;
        return true;
    }
};

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

inline char kind_code(room_event_kind k) noexcept {
    switch (k) {
    case room_event_kind::chat: return 'c';
    case room_event_kind::action: return 'a';
    case room_event_kind::joined: return 'j';
    case room_event_kind::left: return 'l';
    case room_event_kind::renamed: return 'r';
    case room_event_kind::private_message: return 'p';
    case room_event_kind::notice: return 'n';
    }
    return '?';
}

inline std::optional<room_event_kind> kind_of(std::string_view code) noexcept {
    if (code.size() != 1) return std::nullopt;
    switch (code[0]) {
    case 'c': return room_event_kind::chat;
    case 'a': return room_event_kind::action;
    case 'j': return room_event_kind::joined;
    case 'l': return room_event_kind::left;
    case 'r': return room_event_kind::renamed;
    case 'p': return room_event_kind::private_message;
    case 'n': return room_event_kind::notice;
    }
    return std::nullopt;
}

// The field-value arguments of XADD for an entry (after "XADD key MAXLEN ~ N *").
inline void append_fields(std::vector<std::string>& args, const stream_entry& s) {
    const room_event& e = s.event;
    auto field = [&](const char* name, std::string value) {
        args.emplace_back(name);
        args.push_back(std::move(value));
    };
    field("k", std::string(1, kind_code(e.kind)));
    field("n", s.node);
    field("e", s.epoch);
    field("s", std::to_string(s.count));
    if (!e.room.empty()) field("w", e.room);
    if (!e.nick.empty()) field("u", e.nick);
    if (!e.text.empty()) field("x", e.text);
    if (s.member) field("m", std::to_string(s.member));
    if (!e.old_nick.empty()) field("o", e.old_nick);
    if (!e.reason.empty()) field("r", e.reason);
    if (!e.target.empty()) field("t", e.target);
}

// An entry of an XREAD or XRANGE reply: [id, [field, value, ...]]. Nothing
// for what this backplane did not write (wrong shape or kind): a stream is
// shared data, and a reader must survive whatever is in it.
inline std::optional<stream_entry> parse_entry(const redis_reply& r, stream_id& id) {
    if (!r.is_array() || r.elements.size() != 2 || !r.elements[1].is_array()) return std::nullopt;
    auto parsed_id = stream_id::parse(r.elements[0].text);
    if (!parsed_id) return std::nullopt;
    id = *parsed_id;
    const auto& fields = r.elements[1].elements;
    stream_entry s;
    bool have_kind = false;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        const std::string& name = fields[i].text;
        const std::string& value = fields[i + 1].text;
        if (name.size() != 1) continue;
        switch (name[0]) {
        case 'k':
            if (auto k = kind_of(value)) {
                s.event.kind = *k;
                have_kind = true;
            }
            break;
        case 'n': s.node = value; break;
        case 'e': s.epoch = value; break;
        case 's': s.count = std::strtoull(value.c_str(), nullptr, 10); break;
        case 'w': s.event.room = value; break;
        case 'u': s.event.nick = value; break;
        case 'x': s.event.text = value; break;
        case 'm': s.member = std::strtoull(value.c_str(), nullptr, 10); break;
        case 'o': s.event.old_nick = value; break;
        case 'r': s.event.reason = value; break;
        case 't': s.event.target = value; break;
        default: break;
        }
    }
    if (!have_kind) return std::nullopt;
    if (s.event.kind == room_event_kind::chat) {
        // Every line '\n'-ended, as renderers expect.
        if (s.event.text.empty()) return std::nullopt;
        if (s.event.text.back() != '\n') s.event.text += '\n';
        s.event.index_lines();
    }
    s.event.node = s.node;
    return s;
}

} // namespace chatroom::detail
