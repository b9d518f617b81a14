#pragma once

#include <chatroom/core/decoder.hpp>
#include <chatroom/web/detail/json/reader.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// What a browser may send in the JSON dialect (docs/web-protocol.md): one
// object per WebSocket text message, {"type": ..., fields}. This checks a
// message against the schema and gives it as a browser_command, or says why
// not with the machine code of an error object. It decides what a message
// IS; what it means for the rooms is the interpreter's (json_interpreter.hpp).

namespace chatroom::detail {

enum class browser_command_kind : unsigned char {
    say, me, join, part, nick, msg, who, rooms, topic, history, login, quit, help, line, echo
};

// What tells a browser_command from other decoded lines (its form()).
inline constexpr char browser_command_form = 0;

// A checked command: the fields its type allows, as sent (not yet
// sanitized). The strings are views into the message, or into the command's
// own store for those that had escapes: valid while both are. The decoder
// hands it to the interpreter with its message (core/decoder.hpp), so a
// message is read once.
struct browser_command : decoded_line {
    browser_command() noexcept : decoded_line(&browser_command_form) {}

    browser_command_kind kind = browser_command_kind::say;
    std::string_view room, text, to, nick, name, secret, reason;
    std::string_view before, after; // history: a message id, the bound (excluded)
    std::uint64_t limit = 0; // history: 0 = the server's default
    json::object parsed;     // the message read (the store behind the views)
};

// Why a message was refused: code "bad_json", "bad_request" or "unknown_type".
struct browser_command_error {
    std::string_view code; // empty: no error
    std::string text;      // for people
    explicit operator bool() const noexcept { return !code.empty(); }
};

namespace json_schema {

// The fields a command may carry, as bits; "limit" is a number, every
// other field a string, kept in the command's member of the same name.
enum field_id : unsigned { f_room, f_text, f_to, f_nick, f_name, f_secret, f_reason, f_before, f_after, f_limit, no_field };
inline constexpr std::string_view field_names[] = {"room", "text", "to", "nick", "name", "secret", "reason", "before", "after", "limit"};
inline constexpr std::string_view browser_command::* field_slots[] = {
    &browser_command::room, &browser_command::text, &browser_command::to, &browser_command::nick, &browser_command::name,
    &browser_command::secret, &browser_command::reason, &browser_command::before, &browser_command::after};

constexpr unsigned field_of(std::string_view key) noexcept {
    for (unsigned i = 0; i < no_field; ++i)
        if (field_names[i] == key) return i; // constexpr: for the masks below
    return no_field;
}

// The same at run time, with the inlined comparison.
inline unsigned field_id_of(std::string_view key) noexcept {
    for (unsigned i = 0; i < no_field; ++i)
        if (json::same(field_names[i], key)) return i;
    return no_field;
}

// The bits of a space-separated list of field names.
constexpr unsigned mask_of(std::string_view list) noexcept {
    unsigned m = 0;
    while (!list.empty()) {
        const std::size_t sp = list.find(' ');
        m |= 1u << field_of(list.substr(0, sp));
        if (sp == std::string_view::npos) break;
        list.remove_prefix(sp + 1);
    }
    return m;
}

// One type: its name, its kind, the fields it needs and those it may have
// (space-separated), and the same as bits.
struct entry {
    std::string_view type;
    browser_command_kind kind;
    std::string_view required;
    std::string_view optional;
    unsigned need = 0, allow = 0;

    constexpr entry(std::string_view t, browser_command_kind k, std::string_view req, std::string_view opt) noexcept
        : type(t), kind(k), required(req), optional(opt), need(mask_of(req)), allow(mask_of(req) | mask_of(opt)) {}
};

inline constexpr entry table[] = {
    {"say", browser_command_kind::say, "text", "room"},
    {"me", browser_command_kind::me, "text", "room"},
    {"join", browser_command_kind::join, "room", ""},
    {"part", browser_command_kind::part, "room", "reason"},
    {"nick", browser_command_kind::nick, "nick", ""},
    {"msg", browser_command_kind::msg, "to text", ""},
    {"who", browser_command_kind::who, "", "room"},
    {"rooms", browser_command_kind::rooms, "", ""},
    {"topic", browser_command_kind::topic, "text", "room"},
    {"history", browser_command_kind::history, "", "room limit before after"},
    {"login", browser_command_kind::login, "name secret", ""},
    {"quit", browser_command_kind::quit, "", "reason"},
    {"help", browser_command_kind::help, "", ""},
    {"line", browser_command_kind::line, "text", ""},
    {"echo", browser_command_kind::echo, "", ""},
};

// At most n bytes of s for an error text, never cutting a UTF-8 character.
inline std::string clipped(std::string_view s, std::size_t n = 64) {
    if (s.size() <= n) return std::string(s);
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n));
}

} // namespace json_schema

// The most lines one say may carry: each is a chat line, and flood control
// counts messages.
inline constexpr std::size_t max_say_lines = 20;

// Checks message (one text message from a browser) and fills out.
inline browser_command_error parse_browser_command(std::string_view message, browser_command& out) {
    auto refuse = [](std::string_view code, std::string text) { return browser_command_error{code, std::move(text)}; };
    json::object& obj = out.parsed;
    if (const json::read_error e = json::read_object(message, obj))
        return refuse("bad_json", std::string(e.what) + " at byte " + std::to_string(e.at));
    const json::value* type = obj.find("type");
    if (!type || type->kind != json::value_kind::string) return refuse("bad_request", "no \"type\" string");
    const json_schema::entry* entry = nullptr;
    for (const json_schema::entry& e : json_schema::table)
        if (json::same(e.type, type->text)) {
            entry = &e;
            break;
        }
    if (!entry) return refuse("unknown_type", "unknown type: " + json_schema::clipped(type->text));
    out.room = out.text = out.to = out.nick = out.name = out.secret = out.reason = out.before = out.after = {};
    out.limit = 0;
    out.kind = entry->kind;
    unsigned seen = 0;
    for (const json::field& f : obj.fields) {
        if (json::same(f.key, "type")) continue;
        const unsigned id = json_schema::field_id_of(f.key);
        if (id == json_schema::no_field || !(entry->allow & (1u << id)))
            return refuse("bad_request", std::string(entry->type) + " has no field \"" + json_schema::clipped(f.key) + "\"");
        seen |= 1u << id;
        if (id == json_schema::f_limit) {
            if (!f.val.as_count(out.limit)) return refuse("bad_request", "\"limit\" must be a whole number");
            continue;
        }
        if (f.val.kind != json::value_kind::string) return refuse("bad_request", "\"" + json_schema::clipped(f.key) + "\" must be a string");
        out.*json_schema::field_slots[id] = f.val.text;
    }
    // A missing field: the first one the type lists.
    for (std::string_view need = entry->required; (seen & entry->need) != entry->need && !need.empty();) {
        const std::size_t sp = need.find(' ');
        const std::string_view key = need.substr(0, sp);
        if (!obj.find(key)) return refuse("bad_request", std::string(entry->type) + " needs \"" + std::string(key) + "\"");
        need = sp == std::string_view::npos ? std::string_view() : need.substr(sp + 1);
    }
    if (out.kind == browser_command_kind::history && !out.before.empty() && !out.after.empty())
        return refuse("bad_request", "history takes \"before\" or \"after\", not both");
    if (out.kind == browser_command_kind::say) {
        if (out.text.find_first_not_of(" \t\r\n") == std::string_view::npos) return refuse("bad_request", "say needs a text");
        std::size_t lines = 1;
        for (const char c : out.text) lines += c == '\n';
        if (lines > max_say_lines)
            return refuse("bad_request", "say takes at most " + std::to_string(max_say_lines) + " lines at once");
    }
    return {};
}

} // namespace chatroom::detail
