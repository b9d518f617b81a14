#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/requests.hpp>
#include <chatroom/irc/detail/who.hpp>
#include <chatroom/irc/message.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::irc::detail {

// The IRC commands about users by nick (AWAY, WHOIS, USERHOST, ISON) and
// the 301 a private message to an away user gets. A user is found among
// the IRC users of this listener (its directory: wherever they are) and the
// members of the rooms the asker is in (any dialect); a member of another
// dialect sharing no room with the asker is not seen: the core tells the
// interpreter of no other member. With the hub's lock held.

struct user_info {
    std::string nick, user, realname;
    std::string away;     // its AWAY message (IRC users only); empty: not away
    std::string channels; // the channels it shares with the asker: "#a #b"
    bool oper = false;    // the server's operator (OPER, or an operator's login)
};

// Looks nick up (see above); false when nobody by that name is seen.
inline bool find_user(const member& m, const connection& c, std::string_view nick, user_info& out) {
    out = user_info{};
    for (const auto& seat : m.state.seats)
        for (const member* x : seat.in->members())
            if (protocol::same_name(x->state.nick, nick)) {
                out.nick = x->state.nick;
                out.oper = x->state.op;
                out.channels += (out.channels.empty() ? "#" : " #") + seat.in->name();
            }
    c.settings().users.each([&](const connection& other) {
        const member* x = other.self();
        if (x == nullptr || !other.state().registered || !x->state.attached || !protocol::same_name(x->state.nick, nick))
            return;
        const session_state& s = other.state();
        out.nick = x->state.nick;
        out.oper = x->state.op;
        out.user = s.user;
        out.realname = s.realname;
        out.away = s.away;
    });
    if (out.nick.empty()) return false;
    if (out.user.empty()) out.user = out.realname = out.nick; // another dialect's member: its nick
    return true;
}

// AWAY [:message]: 306 and away with a message; 305 and back without one
// (or with an empty one). The core tells the member's rooms (an away event:
// IRC members with away-notify read it as AWAY; connection.hpp).
inline void away(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    st.away.clear();
    sanitize_append(st.away, split_utf8(msg.param(0), max_away_bytes).front());
    ask(core, m, st, asked::none, {}, command_kind::away, st.away);
    if (st.away.empty()) return emit(st, c.numeric("305", {}, "You are no longer marked as being away"));
    emit(st, c.numeric("306", {}, "You have been marked as being away"));
}

// After a private message to nick: 301 when it is an away IRC user.
inline void tell_if_away(const member& m, const connection& c, std::string_view nick) {
    user_info u;
    if (find_user(m, c, nick, u) && !u.away.empty()) emit(c.state(), c.numeric("301", u.nick, u.away));
}

// WHOIS [server] nick: 311, 312, 301 when away, 319 (the channels shared
// with the asker), 318; 401 then 318 when nobody is seen.
inline void whois(const member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    const std::string_view who = msg.params.size() > 1 ? msg.param(1) : msg.param(0);
    if (who.empty()) return emit(st, c.numeric("431", {}, "No nickname given"));
    user_info u;
    if (!find_user(m, c, who, u)) {
        emit(st, c.numeric("401", who, "No such nick/channel"));
        return emit(st, c.numeric("318", who, "End of /WHOIS list."));
    }
    const std::string& host = c.settings().options.server_name;
    emit(st, c.numeric("311", u.nick + " " + u.user + " " + host + " *", u.realname));
    emit(st, c.numeric("312", u.nick + " " + host, c.settings().options.network));
    if (!u.away.empty()) emit(st, c.numeric("301", u.nick, u.away));
    if (u.oper) emit(st, c.numeric("313", u.nick, "is an IRC operator"));
    if (!u.channels.empty()) emit(st, c.numeric("319", u.nick, u.channels));
    emit(st, c.numeric("318", u.nick, "End of /WHOIS list."));
}

// USERHOST nick...: 302 with "nick=+user@host" ('-' when away) for each
// seen, up to five.
inline void userhost(const member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    if (msg.params.empty()) return emit(st, c.numeric("461", "USERHOST", "Not enough parameters"));
    std::string out;
    for (std::size_t i = 0; i < msg.params.size() && i < 5; ++i) {
        user_info u;
        if (!find_user(m, c, msg.params[i], u)) continue;
        if (!out.empty()) out += ' ';
        out += u.nick + "=" + (u.away.empty() ? "+" : "-") + u.user + "@" + c.settings().options.server_name;
    }
    emit(st, c.numeric("302", {}, out));
}

// ISON nick...: 303 with those seen (space-separated, in one or several
// parameters), as they spell their nicks.
inline void ison(const member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    if (msg.params.empty()) return emit(st, c.numeric("461", "ISON", "Not enough parameters"));
    std::string out;
    for (const std::string& p : msg.params) {
        std::string_view rest = p;
        while (!rest.empty()) {
            const std::size_t sp = rest.find(' ');
            const std::string_view nick = rest.substr(0, sp);
            rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
            user_info u;
            if (nick.empty() || !find_user(m, c, nick, u)) continue;
            if (!out.empty()) out += ' ';
            out += u.nick;
        }
    }
    emit(st, c.numeric("303", {}, out));
}

// WHOWAS nick [count]: 314 and 312 for each IRC user that used the nick and
// left, newest first, up to count (none or not positive: all), else 406;
// then 369.
inline void whowas(const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    if (msg.params.empty() || msg.params[0].empty()) return emit(st, c.numeric("461", "WHOWAS", "Not enough parameters"));
    const std::string& nick = msg.params[0];
    long count = 0; // a count that is not a positive number asks for all
    const std::string_view n = msg.param(1);
    for (std::size_t i = 0; i < n.size() && i < 9 && n[i] >= '0' && n[i] <= '9'; ++i) count = count * 10 + (n[i] - '0');
    const std::string& host = c.settings().options.server_name;
    bool any = false;
    c.settings().users.recall(nick, count > 0 ? static_cast<std::size_t>(count) : 0, [&](const directory::departed& d) {
        any = true;
        emit(st, c.numeric("314", d.nick + " " + d.user + " " + host + " *", d.realname));
        emit(st, c.numeric("312", d.nick + " " + host, c.settings().options.network));
    });
    if (!any) emit(st, c.numeric("406", nick, "There was no such nickname"));
    emit(st, c.numeric("369", nick, "End of WHOWAS"));
}

// Whether nick matches an IRC mask: '*' any run, '?' any one character,
// ASCII case ignored.
inline bool mask_matches(std::string_view mask, std::string_view nick) {
    std::size_t m = 0, n = 0, star = std::string_view::npos, resume = 0;
    const auto lower = [](char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; };
    while (n < nick.size()) {
        if (m < mask.size() && (mask[m] == '?' || lower(mask[m]) == lower(nick[n]))) {
            ++m;
            ++n;
        } else if (m < mask.size() && mask[m] == '*') {
            star = m++;
            resume = n;
        } else if (star != std::string_view::npos) {
            m = star + 1;
            n = ++resume;
        } else {
            return false;
        }
    }
    while (m < mask.size() && mask[m] == '*') ++m;
    return m == mask.size();
}

// The most users one WHO mask lists (each costs a lookup with the hub's
// lock held).
inline constexpr std::size_t max_who_replies = 100;

// WHO mask [%fields[,token]] (not a channel): a reply (who.hpp: 352, or
// WHOX's 354) with channel "*" for each user seen (see find_user; an
// invisible one, for a mask with wildcards, only when it shares a room with
// the asker or is the asker) whose nick matches ("0" and "*" match all), up
// to max_who_replies, then 315 with the mask as sent.
inline void who_mask(const member& m, const connection& c, std::string_view mask, std::string_view format) {
    session_state& st = c.state();
    const std::string shown = mask.empty() ? std::string("*") : std::string(mask);
    const std::string_view pattern = mask.empty() || mask == "0" ? std::string_view("*") : mask;
    std::vector<std::string> seen;
    auto consider = [&](const std::string& nick) {
        if (seen.size() >= max_who_replies || !mask_matches(pattern, nick)) return;
        for (const std::string& s : seen)
            if (protocol::same_name(s, nick)) return;
        seen.push_back(nick);
    };
    who_index index(c);
    for (const auto& seat : m.state.seats) {
        index.add(*seat.in);
        for (const member* x : seat.in->members()) consider(x->state.nick);
    }
    // Beyond the rooms shared (listed above), a mask with wildcards does not
    // list an invisible user (+i); its exact nick does.
    const bool wild = pattern.find_first_of("*?") != std::string_view::npos;
    c.settings().users.each([&](const connection& other) {
        const member* x = other.self();
        if (x != nullptr && other.state().registered && x->state.attached &&
            (!wild || !other.state().invisible || &other == &c))
            consider(x->state.nick);
    });
    const whox_query q = parse_whox(format);
    for (const std::string& nick : seen) emit(st, who_line(c, index.entry(nick, "*", nullptr, false), q));
    emit(st, c.numeric("315", shown, "End of /WHO list."));
}

} // namespace chatroom::irc::detail
