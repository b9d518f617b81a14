#pragma once

#include <chatroom/core/names.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::detail {

// A room's ban masks (IRC's MODE #chan +b nick!user@host): a member whose
// "nick!nick@address" matches one may not join the room, nor speak in it
// while in it (unless an operator or voiced). Every dialect names a member
// by its nick alone, so the user part is the nick too (IRC shows
// nick!nick@host); the host part is matched against the member's address
// (IRC shows every user's host as the server's name, which would match
// everybody; so only a server operator sets a mask whose host part is not
// *: room_moderation.hpp). Wildcards: * (any run) and ? (any one character), compared
// with the server's case folding (ASCII, as names). Bounded: at most
// max_room_bans masks of at most max_ban_mask bytes, each matched in one
// pass (mask_matches); and a member's answer is kept in its seat in the
// room (room::banned), so a line asks the masks again only after the list
// or the member's nick changed. Part of room_roles, so changed only as
// mode events are delivered. Guarded by the hub's lock.

inline constexpr std::size_t max_room_bans = 100;
inline constexpr std::size_t max_ban_mask = 128;

// Whether s matches the wildcard mask. Linear, whatever the mask: the
// mask is read as an automaton (state j: its first j characters other
// than '*' matched; a '*' lets the state before it stay on any
// character), and all its states are followed at once as the bits of at
// most three words (shift-and), so it costs one pass over the mask and then
// a few word operations per character of s: no backtracking at all. Masks
// longer than max_ban_mask characters other than '*' match nothing.
inline bool mask_matches(std::string_view mask, std::string_view s) noexcept {
    // Quick refusals first: more characters to match than s has, or a
    // first character that differs (most masks are "nick!*@*").
    const auto stars = static_cast<std::size_t>(std::count(mask.begin(), mask.end(), '*'));
    if (mask.size() - stars > s.size()) return false;
    if (!mask.empty() && mask[0] != '*' && mask[0] != '?' &&
        protocol::fold_char(mask[0]) != protocol::fold_char(s[0]))
        return false;
    constexpr std::size_t words = (max_ban_mask + 1 + 63) / 64;
    using bits = std::uint64_t[words];
    // at[c]: the states a character c leads into (valid where seen[c]);
    // any: those '?' leads into; stay: those a '*' keeps.
    std::uint64_t at[256][words];
    std::uint64_t seen[4] = {0, 0, 0, 0};
    bits any = {}, stay = {};
    std::size_t j = 0;
    for (const char mc : mask) {
        if (mc == '*') {
            stay[j / 64] |= std::uint64_t{1} << (j % 64);
            continue;
        }
        if (++j > max_ban_mask) return false;
        const std::uint64_t bit = std::uint64_t{1} << (j % 64);
        if (mc == '?') {
            any[j / 64] |= bit;
            continue;
        }
        const auto c = static_cast<unsigned char>(protocol::fold_char(mc));
        if (!(seen[c / 64] & (std::uint64_t{1} << (c % 64)))) {
            seen[c / 64] |= std::uint64_t{1} << (c % 64);
            for (std::uint64_t& w : at[c]) w = 0;
        }
        at[c][j / 64] |= bit;
    }
    const std::size_t used = j / 64 + 1; // the words the states take
    constexpr bits none = {};
    bits now = {1};
    for (const char sc : s) {
        const auto c = static_cast<unsigned char>(protocol::fold_char(sc));
        const std::uint64_t* into = (seen[c / 64] >> (c % 64)) & 1 ? at[c] : none;
        std::uint64_t carry = 0, alive = 0;
        for (std::size_t w = 0; w < used; ++w) {
            const std::uint64_t shifted = (now[w] << 1) | carry;
            carry = now[w] >> 63;
            now[w] = (shifted & (into[w] | any[w])) | (now[w] & stay[w]);
            alive |= now[w];
        }
        if (!alive) return false;
    }
    return (now[j / 64] >> (j % 64)) & 1;
}

// A mask as kept: nick!user@host, each part not empty, printable ASCII
// with no space or comma, not starting with ':' (IRC would read it as a
// line's last parameter), at most max_ban_mask bytes. A short form is
// completed as IRC servers do: "bar" is bar!*@*, "bar!u" bar!u@*,
// "u@h" *!u@h. Empty when it is no mask.
inline std::string full_ban_mask(std::string_view m) {
    if (m.empty() || m.size() > max_ban_mask || m.front() == ':') return {};
    for (const char ch : m)
        if (ch <= ' ' || ch > '~' || ch == ',') return {};
    const std::size_t bang = m.find('!'), at = m.find('@');
    std::string full;
    if (bang == std::string_view::npos && at == std::string_view::npos) full = std::string(m) + "!*@*";
    else if (at == std::string_view::npos) full = std::string(m) + "@*";
    else if (bang == std::string_view::npos) full = "*!" + std::string(m);
    else full = std::string(m);
    const std::size_t b = full.find('!'), a = full.find('@');
    if (b == 0 || a != full.rfind('@') || b != full.rfind('!') || a < b + 2 || a + 1 == full.size() ||
        full.size() > max_ban_mask)
        return {};
    return full;
}

struct room_ban {
    std::string mask; // nick!user@host, as full_ban_mask gives it
    std::string by;   // who set it (empty: the server)
    std::int64_t at = 0; // when, in seconds since 1970
};

class room_bans {
public:
    const std::vector<room_ban>& list() const noexcept { return bans_; }

    // False when that mask is there already (case folded) or the list is full.
    bool add(std::string_view mask, std::string_view by, std::int64_t at) {
        if (find(mask) != bans_.end() || bans_.size() >= max_room_bans) return false;
        bans_.push_back(room_ban{std::string(mask), std::string(by), at});
        ++generation_;
        return true;
    }
    bool remove(std::string_view mask) {
        auto it = find(mask);
        if (it == bans_.end()) return false;
        bans_.erase(it);
        ++generation_;
        return true;
    }

    // Counts the changes of the list (from 1): an answer of matches() is
    // good while it is the same, for the same nick and address.
    std::uint64_t generation() const noexcept { return generation_; }
    // How many times matches() compared a member with the masks.
    std::uint64_t evaluations() const noexcept { return evaluations_; }
    bool has(std::string_view mask) const { return find(mask) != bans_.end(); }
    bool full() const noexcept { return bans_.size() >= max_room_bans; }

    // Whether a member of that nick and address is banned.
    bool matches(std::string_view nick, std::string_view address) const {
        if (bans_.empty()) return false;
        ++evaluations_;
        std::string who;
        who.reserve(nick.size() * 2 + address.size() + 2);
        who.append(nick.data(), nick.size()).append(1, '!').append(nick.data(), nick.size()).append(1, '@');
        who.append(address.data(), address.size());
        return std::any_of(bans_.begin(), bans_.end(), [&](const room_ban& b) { return mask_matches(b.mask, who); });
    }

    // The same, kept in seen (generation() << 1 | banned; 0: not asked),
    // which the caller clears when the nick changes: the masks are
    // compared again only after the list or the nick changed.
    bool matches(std::uint64_t& seen, std::string_view nick, std::string_view address) const {
        if (bans_.empty()) return false;
        if ((seen >> 1) == generation_) return (seen & 1) != 0;
        const bool banned = matches(nick, address);
        seen = generation_ << 1 | static_cast<std::uint64_t>(banned);
        return banned;
    }

private:
    std::vector<room_ban>::const_iterator find(std::string_view mask) const {
        return std::find_if(bans_.begin(), bans_.end(),
                            [mask](const room_ban& b) { return protocol::same_name(b.mask, mask); });
    }

    std::vector<room_ban> bans_;
    std::uint64_t generation_ = 1;
    mutable std::uint64_t evaluations_ = 0;
};

} // namespace chatroom::detail
