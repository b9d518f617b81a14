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
// max_room_bans masks of at most max_ban_mask bytes. Part of room_roles,
// so changed only as mode events are delivered. Guarded by the hub's lock.

inline constexpr std::size_t max_room_bans = 100;
inline constexpr std::size_t max_ban_mask = 128;

// Whether s matches the wildcard mask: iterative, at most
// mask.size() * s.size() steps (one backtrack point: the last '*').
inline bool mask_matches(std::string_view mask, std::string_view s) noexcept {
    std::size_t m = 0, i = 0, star = std::string_view::npos, resume = 0;
    while (i < s.size()) {
        if (m < mask.size() && mask[m] == '*') {
            star = m++;
            resume = i;
        } else if (m < mask.size() && (mask[m] == '?' || protocol::fold_char(mask[m]) == protocol::fold_char(s[i]))) {
            ++m;
            ++i;
        } else if (star != std::string_view::npos) {
            m = star + 1;
            i = ++resume;
        } else {
            return false;
        }
    }
    while (m < mask.size() && mask[m] == '*') ++m;
    return m == mask.size();
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
        return true;
    }
    bool remove(std::string_view mask) {
        auto it = find(mask);
        if (it == bans_.end()) return false;
        bans_.erase(it);
        return true;
    }
    bool has(std::string_view mask) const { return find(mask) != bans_.end(); }
    bool full() const noexcept { return bans_.size() >= max_room_bans; }

    // Whether a member of that nick and address is banned.
    bool matches(std::string_view nick, std::string_view address) const {
        if (bans_.empty()) return false;
        std::string who;
        who.reserve(nick.size() * 2 + address.size() + 2);
        who.append(nick.data(), nick.size()).append(1, '!').append(nick.data(), nick.size()).append(1, '@');
        who.append(address.data(), address.size());
        return std::any_of(bans_.begin(), bans_.end(), [&](const room_ban& b) { return mask_matches(b.mask, who); });
    }

private:
    std::vector<room_ban>::const_iterator find(std::string_view mask) const {
        return std::find_if(bans_.begin(), bans_.end(),
                            [mask](const room_ban& b) { return protocol::same_name(b.mask, mask); });
    }

    std::vector<room_ban> bans_;
};

} // namespace chatroom::detail
