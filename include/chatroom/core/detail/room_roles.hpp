#pragma once

#include <chatroom/core/names.hpp>
#include <chatroom/core/room_event.hpp>

#include <algorithm>
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
};

// One change as a mode event's text carries it: "+o bob", "-t".
struct mode_change {
    bool on = true;
    char letter = 0;  // o, v, t, m or s
    std::string nick; // o, v: whom it names
};

// The flag of a setting's letter; 0 for a role letter or one not kept.
inline std::uint8_t mode_flag(char letter) noexcept {
    switch (letter) {
    case 't': return mode_topic_locked;
    case 'n': return mode_no_external;
    case 'm': return mode_moderated;
    case 's': return mode_secret;
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

    // "+nt": the settings as IRC's 324 shows them.
    std::string mode_string() const {
        std::string s = "+";
        for (const char letter : {'m', 'n', 's', 't'})
            if (has(mode_flag(letter))) s += letter;
        return s;
    }

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
    list ops_, voiced_;
};

} // namespace chatroom::detail
