#pragma once

// WHO's replies, 352 and WHOX's 354 (IRCv3 WHOX: "WHO mask %fields[,token]"),
// from one gathering of what WHO shows of a user (who_index::entry): 354 only
// chooses and orders its fields. Included at the end of connection.hpp
// (connection::who_channel is defined here); WHO mask is in users.hpp.

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/prefixes.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatroom::irc::detail {

// WHOX's fields, in the order 354 gives them whatever order they were asked
// in: token, channel, user, IP, host, server, nick, flags, hop count, idle
// seconds, account, op level, real name.
inline constexpr std::string_view whox_fields = "tcuihsnfdlaor";

// WHO's second argument read as WHOX: "%" and field letters (unknown ones,
// and any flags before the '%', ignored), then "," and a token of 1-3 digits,
// which 't' gives back ("0" when the token is missing or not 1-3 digits).
// No '%': plain WHO (352).
struct whox_query {
    bool extended = false;
    unsigned fields = 0; // bit i: whox_fields[i] asked
    std::string token = "0";
    bool has(char field) const noexcept {
        const std::size_t i = whox_fields.find(field);
        return i != std::string_view::npos && (fields & (1u << i)) != 0;
    }
};

inline whox_query parse_whox(std::string_view arg) {
    whox_query q;
    const std::size_t pct = arg.find('%');
    if (pct == std::string_view::npos) return q;
    q.extended = true;
    const std::string_view rest = arg.substr(pct + 1);
    const std::size_t comma = rest.find(',');
    for (const char ch : rest.substr(0, comma)) {
        const std::size_t i = whox_fields.find(ch);
        if (i != std::string_view::npos) q.fields |= 1u << i;
    }
    if (comma == std::string_view::npos) return q;
    const std::string_view token = rest.substr(comma + 1);
    bool digits = !token.empty() && token.size() <= 3;
    for (const char ch : token) digits = digits && ch >= '0' && ch <= '9';
    if (digits) q.token = std::string(token);
    return q;
}

// What WHO shows of one user. user and realname are an IRC user's USER (a
// member of another dialect, or of another node: its nick); flags H or G
// (away), * for the server's operator, then its prefixes in the channel;
// account empty for a guest.
struct who_entry {
    std::string channel; // "#chan", or "*" (WHO mask)
    std::string user, nick, flags, account, realname;
};

// What WHO may show of a user: this listener's IRC users (their USER and
// AWAY) and the members of the rooms added, looked up by nick. Built once per
// WHO, with the hub's lock held.
class who_index {
public:
    explicit who_index(const connection& c) {
        c.settings().users.each([&](const connection& other) {
            const chatroom::detail::member* x = other.self();
            if (x != nullptr && other.state().registered && x->state.attached)
                known_[protocol::fold_case(x->state.nick)] = {x, &other.state()};
        });
    }
    // The room's members (any dialect) not known yet.
    void add(const chatroom::detail::room& r) {
        for (const chatroom::detail::member* x : r.members()) known_.emplace(protocol::fold_case(x->state.nick), seen{x, nullptr});
    }

    // The user by that nick (the nick as given when nobody here holds it: a
    // member on another node), in channel ("*" for none) whose roles r holds.
    who_entry entry(std::string_view nick, std::string_view channel, const chatroom::detail::room* r, bool multi) const {
        const auto it = known_.find(protocol::fold_case(nick));
        const seen found = it == known_.end() ? seen{} : it->second;
        const chatroom::detail::member* x = found.member;
        const session_state* s = found.session;
        who_entry e;
        e.channel = std::string(channel);
        e.nick = x ? x->state.nick : std::string(nick);
        // A middle parameter: one word, not empty, not beginning with ':'.
        const bool word = s && !s->user.empty() && s->user.front() != ':' && s->user.find(' ') == std::string::npos;
        e.user = word ? s->user : e.nick;
        e.realname = s && !s->realname.empty() ? s->realname : e.nick;
        const bool away = (s && !s->away.empty()) || (x && x->state.away);
        e.flags = away ? "G" : "H";
        if (x && x->state.op) e.flags += '*';
        e.flags += prefix_of(r, e.nick, multi);
        if (x) e.account = x->state.account;
        return e;
    }

private:
    struct seen {
        const chatroom::detail::member* member = nullptr;
        const session_state* session = nullptr; // an IRC user of this listener
    };
    std::unordered_map<std::string, seen> known_;
};

// One user's reply: 352 ("chan user host server nick flags :0 realname"), or
// with WHOX 354 with the fields asked, in whox_fields' order. The host and
// server are the server's name (no address is shown: 255.255.255.255 for
// the IP), hop count 0, idle 0 (not kept), account 0 for a guest, op level
// n/a; the real name, last, is the trailing parameter.
inline std::string who_line(const connection& c, const who_entry& e, const whox_query& q) {
    const std::string& host = c.settings().options.server_name;
    if (!q.extended)
        return c.numeric("352", e.channel + " " + e.user + " " + host + " " + host + " " + e.nick + " " + e.flags,
                         "0 " + e.realname);
    std::string params;
    for (std::size_t i = 0; i + 1 < whox_fields.size(); ++i) { // 'r' is the trailing parameter
        if ((q.fields & (1u << i)) == 0) continue;
        if (!params.empty()) params += ' ';
        switch (whox_fields[i]) {
        case 't': params += q.token; break;
        case 'c': params += e.channel; break;
        case 'u': params += e.user; break;
        case 'i': params += "255.255.255.255"; break;
        case 'h':
        case 's': params += host; break;
        case 'n': params += e.nick; break;
        case 'f': params += e.flags; break;
        case 'd':
        case 'l': params += '0'; break;
        case 'a': params += e.account.empty() ? std::string("0") : e.account; break;
        default: params += "n/a"; break; // 'o'
        }
    }
    if (q.has('r')) return c.numeric("354", params, e.realname);
    return c.from_server("354 " + c.nick() + (params.empty() ? std::string() : " " + params));
}

// WHO #chan: a reply for each member of the room, then 315.
inline std::string connection::who_channel(std::string_view room, const std::vector<std::string>& nicks) const {
    const std::string chan = channel_of(room);
    const chatroom::detail::room* r = seat_room(self_, room);
    const bool multi = (st_.caps & multi_prefix) != 0;
    const whox_query q = parse_whox(st_.who_format);
    who_index index(*this);
    if (r) index.add(*r);
    std::string out;
    for (const std::string& n : nicks) {
        out += who_line(*this, index.entry(n, chan, r, multi), q);
        out += '\n';
    }
    return out + numeric("315", chan, "End of /WHO list.");
}

} // namespace chatroom::irc::detail
