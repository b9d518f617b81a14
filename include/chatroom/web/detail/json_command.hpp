#pragma once

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

// A checked command: the fields its type allows, as sent (not yet sanitized).
struct browser_command {
    browser_command_kind kind = browser_command_kind::say;
    std::string room, text, to, nick, name, secret, reason;
    std::string before, after; // history: a message id, the bound (excluded)
    std::uint64_t limit = 0; // history: 0 = the server's default
};

// Why a message was refused: code "bad_json", "bad_request" or "unknown_type".
struct browser_command_error {
    std::string_view code; // empty: no error
    std::string text;      // for people
    explicit operator bool() const noexcept { return !code.empty(); }
};

namespace json_schema {

// One type: its name, its kind, the fields it needs and those it may have
// (space-separated; "limit" is a number, every other field a string).
struct entry {
    std::string_view type;
    browser_command_kind kind;
    std::string_view required;
    std::string_view optional;
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

inline bool listed(std::string_view list, std::string_view word) noexcept {
    while (!list.empty()) {
        const std::size_t sp = list.find(' ');
        if (list.substr(0, sp) == word) return true;
        if (sp == std::string_view::npos) break;
        list.remove_prefix(sp + 1);
    }
    return false;
}

inline std::string* slot(browser_command& c, std::string_view key) noexcept {
    if (key == "room") return &c.room;
    if (key == "text") return &c.text;
    if (key == "to") return &c.to;
    if (key == "nick") return &c.nick;
    if (key == "name") return &c.name;
    if (key == "secret") return &c.secret;
    if (key == "reason") return &c.reason;
    if (key == "before") return &c.before;
    if (key == "after") return &c.after;
    return nullptr;
}

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
    json::object obj;
    if (const json::read_error e = json::read_object(message, obj))
        return refuse("bad_json", std::string(e.what) + " at byte " + std::to_string(e.at));
    const json::value* type = obj.find("type");
    if (!type || type->kind != json::value_kind::string) return refuse("bad_request", "no \"type\" string");
    const json_schema::entry* entry = nullptr;
    for (const json_schema::entry& e : json_schema::table)
        if (e.type == type->text) entry = &e;
    if (!entry) return refuse("unknown_type", "unknown type: " + json_schema::clipped(type->text));
    out = browser_command{};
    out.kind = entry->kind;
    for (const json::field& f : obj.fields) {
        if (f.key == "type") continue;
        const bool required = json_schema::listed(entry->required, f.key);
        if (!required && !json_schema::listed(entry->optional, f.key))
            return refuse("bad_request", std::string(entry->type) + " has no field \"" + json_schema::clipped(f.key) + "\"");
        if (f.key == "limit") {
            if (!f.val.as_count(out.limit)) return refuse("bad_request", "\"limit\" must be a whole number");
            continue;
        }
        if (f.val.kind != json::value_kind::string) return refuse("bad_request", "\"" + json_schema::clipped(f.key) + "\" must be a string");
        *json_schema::slot(out, f.key) = f.val.text;
    }
    std::string_view need = entry->required;
    while (!need.empty()) {
        const std::size_t sp = need.find(' ');
        const std::string_view key = need.substr(0, sp);
        if (!obj.find(key)) return refuse("bad_request", std::string(entry->type) + " needs \"" + std::string(key) + "\"");
        need = sp == std::string_view::npos ? std::string_view() : need.substr(sp + 1);
    }
    if (out.kind == browser_command_kind::history && !out.before.empty() && !out.after.empty())
        return refuse("bad_request", "history takes \"before\" or \"after\", not both");
    if (out.kind == browser_command_kind::say) {
        if (out.text.find_first_not_of(" \t\r\n") == std::string::npos) return refuse("bad_request", "say needs a text");
        std::size_t lines = 1;
        for (const char c : out.text) lines += c == '\n';
        if (lines > max_say_lines)
            return refuse("bad_request", "say takes at most " + std::to_string(max_say_lines) + " lines at once");
    }
    return {};
}

} // namespace chatroom::detail
