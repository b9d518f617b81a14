#pragma once

#include <chatroom/core/detail/room_bans.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/room_event.hpp>

#include <algorithm>
#include <chrono>
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
    mode_no_external = 2,  // +n: only members speak in it (-n: a non-member may, when the room is open here)
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

// The most changes one mode event carries (IRC's MODES), and its longest
// text: IRC's MODE line, with its source and channel, stays within 512 bytes.
inline constexpr std::size_t max_mode_changes = 8;
inline constexpr std::size_t max_mode_text = 300;

// One change as a mode event's text carries it: "+o bob", "-t", "+b m!u@h".
struct mode_change {
    bool on = true;
    char letter = 0;  // o, v, b, t, n, m, s, i, k or l
    std::string nick; // o, v: whom it names; b: the mask; +k: the key; +l: the limit, in digits
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

// Whether the letter takes a value when set (on) or taken away.
inline bool takes_value(char letter, bool on) noexcept {
    return is_role_letter(letter) || letter == 'b' || (on && (letter == 'k' || letter == 'l'));
}

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
    if (c.letter == 'b') { // "+b MASK", "-b MASK": the mask in full (room_bans.hpp)
        if (text.size() < 4 || text[2] != ' ') return std::nullopt;
        c.nick = full_ban_mask(text.substr(3));
        if (c.nick.empty()) return std::nullopt;
        return c;
    }
    if (c.on && (c.letter == 'k' || c.letter == 'l')) { // a value: "+k KEY", "+l N"
        const std::string_view value = text.size() > 3 && text[2] == ' ' ? text.substr(3) : std::string_view();
        if (c.letter == 'k' ? !is_valid_key(value) : parse_limit(value) == 0) return std::nullopt;
        c.nick = std::string(value);
        return c;
    }
    if (text.size() != 2 || mode_flag(c.letter) == 0) return std::nullopt;
    return c;
}

inline std::string mode_text(const mode_change& c) {
    std::string s{c.on ? '+' : '-', c.letter};
    if (!c.nick.empty()) s += ' ' + c.nick;
    return s;
}

// Several changes as one event's text, as IRC writes them: "-int",
// "+o-v bob alice" (one change is as mode_text writes it).
inline std::string mode_text(const std::vector<mode_change>& changes) {
    std::string letters, values;
    char sign = 0;
    for (const mode_change& c : changes) {
        const char s = c.on ? '+' : '-';
        if (s != sign) letters += (sign = s);
        letters += c.letter;
        if (!c.nick.empty()) values += ' ' + c.nick;
    }
    return letters + values;
}

// Reads a mode event's text of one or more changes (untrusted): nothing
// unless every change is one this server keeps, 1 to max_mode_changes,
// in at most max_text bytes (a request's, bounded by its line, may be
// longer than an event's).
inline std::optional<std::vector<mode_change>> parse_mode_changes(std::string_view text,
                                                                  std::size_t max_text = max_mode_text) {
    if (text.size() > max_text) return std::nullopt;
    const std::size_t space = text.find(' ');
    const std::string_view letters = text.substr(0, space);
    std::string_view values = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (letters.empty() || (letters[0] != '+' && letters[0] != '-')) return std::nullopt;
    std::vector<mode_change> out;
    bool on = true;
    for (const char letter : letters) {
        if (letter == '+' || letter == '-') {
            on = letter == '+';
            continue;
        }
        if (out.size() >= max_mode_changes) return std::nullopt;
        std::string one{on ? '+' : '-', letter};
        if (takes_value(letter, on)) {
            const std::size_t end = values.find(' ');
            const std::string_view value = values.substr(0, end);
            values = end == std::string_view::npos ? std::string_view() : values.substr(end + 1);
            one += ' ';
            one.append(value.data(), value.size());
        }
        auto c = parse_mode_change(one);
        if (!c) return std::nullopt;
        out.push_back(std::move(*c));
    }
    if (out.empty() || !values.empty()) return std::nullopt;
    return out;
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
    const room_bans& bans() const noexcept { return bans_; }

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
    // then again as the log delivers it); a ban keeps who set it and when.
    void apply(const mode_change& c, std::string_view by = {}, std::int64_t at = 0) {
        if (c.letter == 'b') {
            if (c.on) bans_.add(c.nick, by, at);
            else bans_.remove(c.nick);
            return;
        }
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
            if (auto changes = parse_mode_changes(e.text)) {
                using namespace std::chrono;
                const std::int64_t at = duration_cast<seconds>(e.time.time_since_epoch()).count();
                for (const mode_change& c : *changes) apply(c, e.nick, at);
            }
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
    room_bans bans_;
    std::string key_;
    std::uint32_t limit_ = 0;
    std::int64_t created_ = 0;
};

} // namespace chatroom::detail
