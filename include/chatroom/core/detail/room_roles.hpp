#pragma once

#include <chatroom/core/names.hpp>
#include <chatroom/core/room_event.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::detail {

// A room's settings and roles, as IRC names them: who are its operators
// (a room operator may kick from the room, set a locked topic and give or
// take operator status; the server's operators may everywhere) and its
// modes. The first member of a new room becomes its operator (the lobby
// excepted). Every change is a room event of kind mode, which each server
// applies as it delivers it (room_delivery.hpp), so all see them in the
// room's one order. Guarded by the hub's lock.

// The room settings, as one byte of flags: tested per line, a bit test.
enum room_mode : std::uint8_t {
    mode_topic_locked = 1, // +t: only operators set the topic
    mode_no_external = 2,  // +n: only members speak in it; always set (a non-member cannot address a room)
    mode_moderated = 4,    // +m: only operators (and voiced members) speak
    mode_secret = 8,       // +s: not listed to non-members
    mode_invite_only = 16, // +i: only those invited (or server operators) join
    mode_key = 32,         // +k KEY: a join gives the key
    mode_limit = 64,       // +l N: at most N members join
};

// The most invitations a room keeps (the oldest is forgotten first).
inline constexpr std::size_t max_room_invitations = 64;
// The longest key (RFC 2812), and the largest limit.
inline constexpr std::size_t max_room_key = 23;
inline constexpr std::uint32_t max_room_limit = 100000;

// One change as a mode event's text carries it: "+o bob", "-t".
struct mode_change {
    bool on = true;
    char letter = 0;  // o, v, t, m, s, i, k or l
    std::string nick; // o, v: whom it names; +k: the key; +l: the limit, in digits
};

// A key: 1-23 printable ASCII characters, no space or comma.
inline bool is_valid_key(std::string_view key) noexcept {
    if (key.empty() || key.size() > max_room_key) return false;
    for (const char ch : key)
        if (ch <= ' ' || ch > '~' || ch == ',') return false;
    return true;
}

// A limit: 1 to max_room_limit, in plain digits; 0 when it is not one.
inline std::uint32_t parse_limit(std::string_view digits) noexcept {
    if (digits.empty() || digits.size() > 6) return 0;
    std::uint32_t n = 0;
    for (const char ch : digits) {
        if (ch < '0' || ch > '9') return 0;
        n = n * 10 + static_cast<std::uint32_t>(ch - '0');
    }
    return n <= max_room_limit ? n : 0;
}

// The flag of a setting's letter; 0 for a role letter or one not kept.
inline std::uint8_t mode_flag(char letter) noexcept {
    switch (letter) {
    case 't': return mode_topic_locked;
    case 'n': return mode_no_external;
    case 'm': return mode_moderated;
    case 's': return mode_secret;
    case 'i': return mode_invite_only;
    case 'k': return mode_key;
    case 'l': return mode_limit;
    default: return 0;
    }
}

inline bool is_role_letter(char letter) noexcept { return letter == 'o' || letter == 'v'; }

// Reads a mode event's text; nothing when it is not one change this
// server keeps (untrusted: it may come from another server).
inline std::optional<mode_change> parse_mode_change(std::string_view text) {
    if (text.size() < 2 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
    mode_change c;
    c.on = text[0] == '+';
    c.letter = text[1];
    if (is_role_letter(c.letter)) {
        if (text.size() < 4 || text[2] != ' ' || !protocol::is_valid_name(text.substr(3))) return std::nullopt;
        c.nick = std::string(text.substr(3));
        return c;
    }
    if (c.on && (c.letter == 'k' || c.letter == 'l')) { // a value: "+k KEY", "+l N"
        const std::string_view value = text.size() > 3 && text[2] == ' ' ? text.substr(3) : std::string_view();
        if (c.letter == 'k' ? !is_valid_key(value) : parse_limit(value) == 0) return std::nullopt;
        c.nick = std::string(value);
        return c;
    }
    if (text.size() != 2 || mode_flag(c.letter) == 0 || c.letter == 'n') return std::nullopt; // +n is fixed
    return c;
}

inline std::string mode_text(const mode_change& c) {
    std::string s{c.on ? '+' : '-', c.letter};
    if (!c.nick.empty()) s += ' ' + c.nick;
    return s;
}

class room_roles {
public:
    static constexpr std::uint8_t default_modes = mode_topic_locked | mode_no_external;

    std::uint8_t modes() const noexcept { return modes_; }
    bool has(std::uint8_t flag) const noexcept { return (modes_ & flag) != 0; }

    bool is_op(std::string_view nick) const noexcept { return find(ops_, nick) != ops_.end(); }
    bool is_voiced(std::string_view nick) const noexcept { return find(voiced_, nick) != voiced_.end(); }
    bool any_op() const noexcept { return !ops_.empty(); }

    const std::string& key() const noexcept { return key_; }
    std::uint32_t limit() const noexcept { return limit_; }
    bool is_invited(std::string_view nick) const noexcept { return find(invited_, nick) != invited_.end(); }

    // "+nt", "+klnt KEY 5": the settings as IRC's 324 shows them; with
    // values: the key and limit (shown to the room's members only).
    std::string mode_string(bool values = false) const {
        std::string s = "+", args;
        for (const char letter : {'i', 'k', 'l', 'm', 'n', 's', 't'})
            if (has(mode_flag(letter))) s += letter;
        if (values && has(mode_key)) args += ' ' + key_;
        if (values && has(mode_limit)) args += ' ' + std::to_string(limit_);
        return s + args;
    }

    // An invitation lets nick in past +i, +k and +l (once: joining uses it).
    void invite(std::string_view nick) {
        if (is_invited(nick)) return;
        if (invited_.size() >= max_room_invitations) invited_.erase(invited_.begin());
        invited_.emplace_back(nick);
    }
    void uninvite(std::string_view nick) {
        if (auto at = find(invited_, nick); at != invited_.end()) invited_.erase(at);
    }

    // When it opened (IRC's 329), in seconds since 1970.
    std::int64_t created() const noexcept { return created_; }
    void set_created(std::int64_t seconds) noexcept { created_ = seconds; }

    // Applies one change (idempotent: a server may apply its own at once,
    // then again as the log delivers it).
    void apply(const mode_change& c) {
        if (c.letter == 'o' || c.letter == 'v') {
            std::vector<std::string>& list = c.letter == 'o' ? ops_ : voiced_;
            auto at = find(list, c.nick);
            if (c.on && at == list.end()) list.push_back(c.nick);
            else if (!c.on && at != list.end()) list.erase(at);
            return;
        }
        const std::uint8_t flag = mode_flag(c.letter);
        modes_ = static_cast<std::uint8_t>(c.on ? (modes_ | flag) : (modes_ & ~flag));
        if (c.letter == 'k') key_ = c.on ? c.nick : std::string();
        if (c.letter == 'l') limit_ = c.on ? parse_limit(c.nick) : 0;
    }

    // What a delivered event changes: a mode event its change; a member
    // leaving loses its roles; a rename carries them.
    void follow(const room_event& e) {
        switch (e.kind) {
        case room_event_kind::mode:
            if (auto c = parse_mode_change(e.text)) apply(*c);
            return;
        case room_event_kind::left: return forget(e.nick);
        case room_event_kind::renamed:
            rename(ops_, e.old_nick, e.nick);
            rename(voiced_, e.old_nick, e.nick);
            return;
        default: return;
        }
    }

    void forget(std::string_view nick) {
        if (auto at = find(ops_, nick); at != ops_.end()) ops_.erase(at);
        if (auto at = find(voiced_, nick); at != voiced_.end()) voiced_.erase(at);
    }

private:
    using list = std::vector<std::string>;
    static list::const_iterator find(const list& l, std::string_view nick) noexcept {
        return std::find_if(l.begin(), l.end(), [nick](const std::string& x) { return protocol::same_name(x, nick); });
    }
    static list::iterator find(list& l, std::string_view nick) noexcept {
        return std::find_if(l.begin(), l.end(), [nick](const std::string& x) { return protocol::same_name(x, nick); });
    }
    static void rename(list& l, std::string_view from, std::string_view to) {
        if (auto at = find(l, from); at != l.end()) *at = std::string(to);
    }

    std::uint8_t modes_ = default_modes;
    list ops_, voiced_, invited_;
    std::string key_;
    std::uint32_t limit_ = 0;
    std::int64_t created_ = 0;
};

} // namespace chatroom::detail
