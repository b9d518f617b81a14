// fuzz_redis_entry: chatroom::detail::parse_entry, the one gate between a
// Redis stream and a cluster's members (include/chatroom/detail/redis_entry.hpp),
// on arbitrary field maps. Whoever can write to Redis controls them.
//
// The input: byte 0 chooses the rules (bits 0-1 the stream: any, room, node,
// room; bits 2-4 max_line_bytes from {1, 2, 3, 8, 16, 64, 512, 4096}; bit 5
// puts a valid writer (n, e, s) first, which later fields may override);
// byte 1 the entry's ID (most values "1-N", a few invalid or extreme ones);
// then fields, each a header byte (bits 0-3 the name: k n e s w u x m o r t,
// or an empty, two-letter or other one-letter name; bits 4-5 the value's
// type: string, string, integer, nil; bit 6 a two-byte length; bit 7 the
// value holds its bytes twice over, so long lines are cheap to make), a
// length, and the value's bytes.
//
// Properties (a violation prints what failed and traps):
//   - an entry refused says why; one let through says none;
//   - the kind is one the stream holds (room: no private messages; node:
//     only those);
//   - every name (nick, old nick, target, room) is empty or 1-32 of
//     A-Z a-z 0-9 _ . -, judged here, not by protocol::is_valid_name; a nick
//     is there for every kind but notices, an old nick for renames, a target
//     for private messages; the writer's node and epoch are names too;
//   - text and reason are strictly clean (tests/fuzz/strict_text.hpp: valid
//     UTF-8, no C0 control but TAB, no DEL, no C1) and is_clean_text agrees;
//     a chat event's text is '\n'-ended lines, each clean, non-empty and at
//     most max_line_bytes, with line_count and line_ends matching; any other
//     text is one non-empty line of at most max_line_bytes; so is a reason;
//   - the line renderer turns the event into CRLF-ended lines, each strictly
//     clean, one per chat line;
//   - what is let through, written again (append_fields) and read back,
//     comes back unchanged.

#include <chatroom/detail/redis_entry.hpp>
#include <chatroom/renderer.hpp>
#include <chatroom/sanitize.hpp>

#include "strict_text.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using chatroom::room_event;
using chatroom::room_event_kind;
using chatroom::detail::entry_error;
using chatroom::detail::entry_rules;
using chatroom::detail::entry_stream;
using chatroom::detail::redis_reply;
using chatroom::detail::stream_entry;
using chatroom::detail::stream_id;

[[noreturn]] void fail(const char* what, int line, std::string_view data = {}) {
    std::fprintf(stderr, "fuzz_redis_entry: property violated (line %d): %s\n", line, what);
    if (data.data() != nullptr) std::fprintf(stderr, "  data (%zu bytes): %s\n", data.size(), fuzz::hex(data).c_str());
    std::fflush(stderr);
    __builtin_trap();
}

#define FUZZ_CHECK(cond)                                                                                              \
    do {                                                                                                              \
        if (!(cond)) fail(#cond, __LINE__);                                                                           \
    } while (0)
#define FUZZ_CHECK_DATA(cond, data)                                                                                   \
    do {                                                                                                              \
        if (!(cond)) fail(#cond, __LINE__, (data));                                                                   \
    } while (0)

// The name rule of docs/protocol.md, written here again.
FUZZ_UNINSTRUMENTED bool valid_name(std::string_view s) {
    if (s.empty() || s.size() > 32) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return false;
    return true;
}
FUZZ_UNINSTRUMENTED bool name_or_empty(std::string_view s) { return s.empty() || valid_name(s); }

redis_reply string_reply(std::string text) {
    redis_reply r;
    r.type = redis_reply::kind::string;
    r.text = std::move(text);
    return r;
}

struct reader {
    const std::uint8_t* p;
    const std::uint8_t* end;
    bool empty() const { return p == end; }
    std::uint8_t byte() { return p == end ? 0 : *p++; }
    std::string bytes(std::size_t n) {
        const std::size_t have = static_cast<std::size_t>(end - p);
        if (n > have) n = have;
        std::string s(reinterpret_cast<const char*>(p), n);
        p += n;
        return s;
    }
};

constexpr std::size_t max_lines[] = {1, 2, 3, 8, 16, 64, 512, 4096};
constexpr const char* names[] = {"k", "n", "e", "s", "w", "u", "x", "m", "o", "r", "t", "", "kk", "z", "K", "\xff"};

std::string entry_id(std::uint8_t b) {
    switch (b) {
    case 0xF8: return "0-0";
    case 0xF9: return "x";
    case 0xFA: return "";
    case 0xFB: return "18446744073709551615-18446744073709551615";
    case 0xFC: return "18446744073709551616-1";
    case 0xFD: return "1-";
    case 0xFE: return "-1";
    case 0xFF: return "1-2-3";
    }
    return "1-" + std::to_string(b);
}

// The fields' array as XREAD would give it, and whether it holds only strings.
redis_reply make_reply(reader& in, bool writer, std::string id) {
    redis_reply r;
    r.type = redis_reply::kind::array;
    r.elements.push_back(string_reply(std::move(id)));
    redis_reply fields;
    fields.type = redis_reply::kind::array;
    if (writer)
        for (const char* f : {"n", "zz", "e", "epoch1", "s", "1"}) fields.elements.push_back(string_reply(f));
    while (!in.empty()) {
        const std::uint8_t h = in.byte();
        std::size_t len = in.byte();
        if (h & 0x40) len = len << 8 | in.byte();
        std::string value = in.bytes(len);
        if (h & 0x80) value += value;
        fields.elements.push_back(string_reply(names[h & 0x0F]));
        redis_reply v = string_reply(std::move(value));
        const unsigned type = (h >> 4) & 3;
        if (type == 2) {
            v.type = redis_reply::kind::integer;
            v.integer = 7;
        } else if (type == 3) {
            v.type = redis_reply::kind::nil;
        }
        fields.elements.push_back(std::move(v));
    }
    r.elements.push_back(std::move(fields));
    return r;
}

void check_text(const std::string& text, std::size_t max) {
    FUZZ_CHECK_DATA(fuzz::strictly_clean(text), text);
    FUZZ_CHECK_DATA(chatroom::is_clean_text(text), text);
    FUZZ_CHECK(text.size() <= max);
}

void check_event(const stream_entry& s, const entry_rules& rules) {
    const room_event& e = s.event;
    const std::size_t max = rules.max_line_bytes;
    const bool pm = e.kind == room_event_kind::private_message;
    if (rules.stream == entry_stream::room) FUZZ_CHECK(!pm);
    if (rules.stream == entry_stream::node) FUZZ_CHECK(pm);
    FUZZ_CHECK(valid_name(s.node));
    FUZZ_CHECK(valid_name(s.epoch));
    FUZZ_CHECK(e.node == s.node);
    FUZZ_CHECK_DATA(name_or_empty(e.room), e.room);
    FUZZ_CHECK_DATA(e.kind == room_event_kind::notice   ? e.nick.empty()
                    : e.kind == room_event_kind::topic || e.kind == room_event_kind::mode ? name_or_empty(e.nick)
                                                        : valid_name(e.nick),
                    e.nick);
    FUZZ_CHECK_DATA(e.kind == room_event_kind::renamed ? valid_name(e.old_nick) : e.old_nick.empty(), e.old_nick);
    FUZZ_CHECK_DATA(pm ? valid_name(e.target) : e.target.empty(), e.target);
    if (pm) FUZZ_CHECK(e.room.empty());
    check_text(e.reason, max);
    if (e.kind != room_event_kind::left) FUZZ_CHECK(e.reason.empty());
    switch (e.kind) {
    case room_event_kind::chat: {
        FUZZ_CHECK(!e.text.empty() && e.text.back() == '\n');
        FUZZ_CHECK(e.line_ends.size() == e.line_count);
        std::size_t from = 0, n = 0;
        for (std::size_t i = 0; i < e.text.size(); ++i) {
            if (e.text[i] != '\n') continue;
            FUZZ_CHECK(n < e.line_ends.size() && e.line_ends[n] == i);
            const std::string line = e.text.substr(from, i - from);
            FUZZ_CHECK(!line.empty());
            check_text(line, max);
            from = i + 1;
            ++n;
        }
        FUZZ_CHECK(n == e.line_count && n > 0);
        break;
    }
    case room_event_kind::action:
    case room_event_kind::private_message:
    case room_event_kind::notice:
    case room_event_kind::mode: // the changes, "+o bob", "-int" (room_roles.hpp), by anyone or the server
        FUZZ_CHECK(!e.text.empty());
        check_text(e.text, max);
        break;
    case room_event_kind::topic: // empty: the topic was cleared
        check_text(e.text, max);
        break;
    case room_event_kind::away: // its message, or none: back
        check_text(e.text, max);
        break;
    case room_event_kind::joined:
    case room_event_kind::left:
    case room_event_kind::renamed: FUZZ_CHECK(e.text.empty()); break;
    }

    // As a telnet member reads it.
    const chatroom::line_renderer renderer;
    const std::string out(renderer.render(e).view());
    std::size_t lines = 0, at = 0;
    while (at < out.size()) {
        const std::size_t crlf = out.find("\r\n", at);
        FUZZ_CHECK_DATA(crlf != std::string::npos, out);
        const std::string_view line(out.data() + at, crlf - at);
        FUZZ_CHECK_DATA(fuzz::strictly_clean(line), line);
        FUZZ_CHECK(line.size() <= max + 3 * 32 + 32); // the text and at most two names, with their decoration
        ++lines;
        at = crlf + 2;
    }
    // An away event is IRC's (away-notify): a telnet member reads nothing of it.
    FUZZ_CHECK(lines == (e.kind == room_event_kind::chat   ? e.line_count
                         : e.kind == room_event_kind::away ? 0
                                                           : 1));
}

// Written again and read back: the same event.
void check_round_trip(const stream_entry& s, const entry_rules& rules) {
    std::vector<std::string> args;
    chatroom::detail::append_fields(args, s);
    redis_reply again;
    again.type = redis_reply::kind::array;
    again.elements.push_back(string_reply("2-0"));
    redis_reply fields;
    fields.type = redis_reply::kind::array;
    for (auto& a : args) fields.elements.push_back(string_reply(std::move(a)));
    again.elements.push_back(std::move(fields));
    stream_id id;
    entry_error why = entry_error::malformed;
    const auto back = chatroom::detail::parse_entry(again, id, rules, &why);
    FUZZ_CHECK(back && why == entry_error::none);
    const room_event& a = s.event;
    const room_event& b = back->event;
    FUZZ_CHECK(a.kind == b.kind && a.room == b.room && a.nick == b.nick && a.old_nick == b.old_nick &&
               a.target == b.target && a.reason == b.reason);
    FUZZ_CHECK_DATA(a.text == b.text, b.text);
    FUZZ_CHECK(a.line_count == b.line_count && a.line_ends == b.line_ends);
    FUZZ_CHECK(s.node == back->node && s.epoch == back->epoch && s.count == back->count && s.member == back->member);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    reader in{data, data + size};
    const std::uint8_t config = in.byte();
    entry_rules rules;
    const unsigned stream = config & 3;
    rules.stream = stream == 1 || stream == 3 ? entry_stream::room : stream == 2 ? entry_stream::node : entry_stream::any;
    rules.max_line_bytes = max_lines[(config >> 2) & 7];
    const std::string id_text = entry_id(in.byte());
    const redis_reply reply = make_reply(in, (config & 0x20) != 0, id_text);

    stream_id id;
    entry_error why = entry_error::none;
    const auto entry = chatroom::detail::parse_entry(reply, id, rules, &why);
    // The reader's way: a copy of the reply given up (its text may be moved
    // into the event); the same verdict and the same event.
    {
        redis_reply given = reply;
        stream_id id2;
        entry_error why2 = entry_error::none;
        const auto taken = chatroom::detail::parse_entry(std::move(given), id2, rules, &why2);
        FUZZ_CHECK(why2 == why && id2.str() == id.str() && taken.has_value() == entry.has_value());
        if (entry) {
            FUZZ_CHECK_DATA(taken->event.text == entry->event.text, taken->event.text);
            FUZZ_CHECK(taken->event.line_count == entry->event.line_count && taken->event.line_ends == entry->event.line_ends);
        }
    }
    const auto valid_id = stream_id::parse(id_text);
    if (valid_id && !valid_id->zero()) FUZZ_CHECK(id.str() == valid_id->str());
    else FUZZ_CHECK(id.zero());
    if (!entry) {
        FUZZ_CHECK(why != entry_error::none);
        FUZZ_CHECK(std::string_view(chatroom::detail::to_string(why)) != "?");
        return 0;
    }
    FUZZ_CHECK(why == entry_error::none);
    check_event(*entry, rules);
    check_round_trip(*entry, rules);
    return 0;
}
