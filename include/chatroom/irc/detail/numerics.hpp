#pragma once

// The definitions of connection's wording: the core's typed replies as IRC
// numerics (modern.ircdocs.horse), included at the end of connection.hpp.

#include <chatroom/core/names.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/prefixes.hpp>
#include <chatroom/line/replies.hpp>
#include <chatroom/version.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::irc::detail {

// chathistory_replies.hpp words the history replies; it needs connection whole,
// so it is included at the end (this file may be reached from it).
std::string history_answer(const connection& c, const reply& r);

inline std::string connection::welcome() const {
    const irc_options& o = cfg_->options;
    const std::string me = nick();
    std::string out;
    auto add = [&](const std::string& line) {
        out += line;
        out += '\n';
    };
    add(numeric("001", {}, "Welcome to the " + o.network + " IRC network, " + me));
    add(numeric("002", {}, "Your host is " + o.server_name + ", running chatroom-" + version_string));
    add(numeric("003", {}, "This server was created " + cfg_->created));
    add(from_server("004 " + me + " " + o.server_name + " chatroom-" + version_string + " " +
                    std::string(offered_user_modes) + " biklmnostv"));
    // Truthful to the server's rules (core/names.hpp): ASCII case folding,
    // names of 1-32 letters, digits, '_', '.', '-'; one channel type; no
    // channel prefixes (operators are the server's, not a channel's).
    add(from_server("005 " + me + " CASEMAPPING=ascii CHANTYPES=# CHANMODES=b,k,l,imnst PREFIX=(ov)@+ NICKLEN=" +
                    std::to_string(protocol::max_name_length) + " CHANNELLEN=" +
                    std::to_string(protocol::max_name_length + 1) +
                    " TOPICLEN=390" +
                    (chanlimit_ ? " CHANLIMIT=#:" + std::to_string(chanlimit_) : std::string()) + " NETWORK=" + o.network + " TARGMAX=PRIVMSG:1,NOTICE:1 AWAYLEN=" + std::to_string(max_away_bytes) + " :are supported by this server"));
    add(from_server("005 " + me + " CHATHISTORY=" + std::to_string(history_page_) +
                    " MSGREFTYPES=msgid,timestamp UTF8ONLY WHOX :are supported by this server"));
    return out;
}

inline std::string connection::motd() const {
    if (st_.motd.empty()) return numeric("422", {}, "MOTD File is missing") + '\n';
    std::string out = numeric("375", {}, "- " + cfg_->options.server_name + " Message of the day - ") + '\n';
    const std::string head = numeric("372", {}, "");
    for (const std::string& line : st_.motd)
        for (std::string_view piece : split_utf8(line, max_body_bytes - 4 - head.size()))
            out += numeric("372", {}, "- " + std::string(piece)) + '\n';
    return out + numeric("376", {}, "End of /MOTD command.") + '\n';
}

inline std::string connection::names(std::string_view room, const std::vector<std::string>& nicks) const {
    const std::string chan = channel_of(room);
    const chatroom::detail::room* r = seat_room(self_, room);
    const bool secret = r && r->roles().has(chatroom::detail::mode_secret); // "@" for a secret channel, "=" public
    const std::string head = numeric("353", (secret ? "@ " : "= ") + chan, "");
    std::string out = end_replay(), batch; // a JOIN's replay ends before its names
    const bool long_form = (st_.caps & userhost_in_names) != 0, multi = (st_.caps & multi_prefix) != 0;
    // Appended in place (a JOIN lists the whole room): no string per nick.
    auto end_batch = [&] {
        out += head;
        out += batch;
        out += '\n';
        batch.clear();
    };
    for (const std::string& shown : nicks) {
        const std::string prefix = prefix_of(r, shown, multi);
        const std::size_t n = prefix.size() + (long_form ? 2 + 2 * shown.size() + events().host().size() : shown.size());
        if (!batch.empty() && head.size() + batch.size() + 1 + n > max_body_bytes - 2) end_batch();
        if (!batch.empty()) batch += ' ';
        batch += prefix;
        if (long_form) batch += events().source(shown);
        else batch += shown;
    }
    if (!batch.empty()) end_batch();
    out += numeric("366", chan, "End of /NAMES list.");
    out += '\n';
    return out;
}

// LUSERS: the core counts the members of each room (on every server), not
// members; this listener's directory knows its own IRC connections. Users:
// the rooms' members, less the seats of this listener's IRC connections,
// plus those of them registered (an IRC user may be in no room, or in
// several; one still registering is in none and is counted apart, 253). Exact for one server whose other dialects hold one room at a time
// (the line protocol's members); a remote IRC member in several rooms counts
// once per room.
inline std::string connection::lusers_of(const std::vector<room_summary>& rooms) const {
    std::size_t seats = 0, irc_seats = 0, registered = 0, registering = 0;
    for (const room_summary& s : rooms) seats += s.members;
    cfg_->users.each([&](const connection& c) {
        const chatroom::detail::member* x = c.self();
        if (x == nullptr || !x->state.attached) return;
        irc_seats += x->state.seats.size();
        ++(c.st_.registered ? registered : registering);
    });
    const std::string users = std::to_string(seats - std::min(seats, irc_seats) + registered);
    std::string out = numeric("251", {}, "There are " + users + " users and 0 invisible on 1 servers") + '\n';
    if (registering) out += numeric("253", std::to_string(registering), "unknown connection(s)") + '\n';
    out += numeric("254", std::to_string(rooms.size()), "channels formed") + '\n';
    out += numeric("255", {}, "I have " + users + " clients and 0 servers") + '\n';
    out += numeric("265", {}, "Current local users: " + users) + '\n';
    return out + numeric("266", {}, "Current global users: " + users) + '\n';
}

inline std::string connection::wording(const reply& r) const {
    if (std::string said; st_.via != login_via::none && login_reply(r, said)) return said;
    const std::string me = nick();
    switch (r.kind) {
    // The greeting reaches a connection before it registers: its notices are
    // the MOTD, its room the one it is in once registered.
    case reply_kind::welcome: return {};
    case reply_kind::notice:
        if (!st_.registered) {
            st_.motd.push_back(r.detail);
            return {};
        }
        return from_server("NOTICE " + me + " :" + std::string(split_utf8(r.detail, 400).front()));
    case reply_kind::joined_room:
        st_.last_joined = r.subject;
        if (!st_.registered) return {};
        return from_self("JOIN " + channel_of(r.subject));
    case reply_kind::topic:
        if (!st_.registered) return {};
    {
        const std::string chan = channel_of(r.subject.empty() ? st_.last_joined : r.subject);
        if (r.count == 0) return numeric("332", chan, r.detail);
        const std::string by = r.extra.empty() ? cfg_->options.server_name : r.extra;
        return numeric("332", chan, r.detail) + '\n' +
               from_server("333 " + me + " " + chan + " " + by + " " + std::to_string(r.count));
    }
    case reply_kind::already_in: return {};
    case reply_kind::history:
    case reply_kind::history_not_kept:
    case reply_kind::history_failed: return history_answer(*this, r);
    case reply_kind::who: {
        const std::string chan = channel_of(r.subject);
        if (st_.question == asked::join) return from_self("JOIN " + chan) + '\n' + names(r.subject, r.names);
        if (st_.question == asked::who) return who_channel(r.subject, r.names);
        return names(r.subject, r.names);
    }
    case reply_kind::rooms: {
        if (st_.question == asked::exists) {
            for (const room_summary& s : r.rooms)
                if (protocol::same_name(s.name, st_.target)) st_.exists = true;
            return {};
        }
        if (st_.question == asked::topic) {
            for (const room_summary& s : r.rooms)
                if (protocol::fold_case(s.name) == protocol::fold_case(st_.target)) {
                    if (s.topic.empty()) return numeric("331", channel_of(s.name), "No topic is set");
                    return numeric("332", channel_of(s.name), s.topic);
                }
            return numeric("403", "#" + st_.target, "No such channel");
        }
        if (st_.question == asked::lusers || st_.question == asked::welcome) {
            const std::string lusers = lusers_of(r.rooms);
            return st_.question == asked::welcome ? welcome() + lusers + motd() : lusers;
        }
        std::string out = numeric("321", "Channel", "Users  Name") + '\n';
        for (const room_summary& s : r.rooms)
            out += numeric("322", channel_of(s.name) + " " + std::to_string(s.members), s.topic) + '\n';
        return out + numeric("323", {}, "End of /LIST");
    }
    case reply_kind::bad_nick:
    case reply_kind::guest_nick_reserved:
        return numeric("432", st_.target.empty() ? "*" : st_.target, "Erroneous nickname");
    case reply_kind::nick_taken:
    case reply_kind::nick_elsewhere:
    case reply_kind::nick_registered:
        return numeric("433", r.subject, "Nickname is already in use");
    case reply_kind::nick_under_way: return numeric("437", st_.target, "Nick change under way");
    case reply_kind::bad_room: return numeric("403", st_.target, "No such channel");
    // The interpreter echoes PART itself, with the reason the client gave.
    case reply_kind::left_room: return {};
    case reply_kind::too_many_rooms: return numeric("405", channel_of(r.subject), "You have joined too many channels");
    case reply_kind::not_in_room: // to a channel not in: 404 (-n would let it), nothing to a NOTICE
        if (st_.question == asked::notice) return {};
        if (st_.question == asked::outside) return numeric("404", st_.target, "Cannot send to channel");
        return numeric("442", channel_of(r.subject), "You're not on that channel");
    case reply_kind::room_full: return numeric("471", channel_of(r.subject), "Cannot join channel (+l)");
    case reply_kind::room_private: return numeric("473", channel_of(r.subject), "Cannot join channel (+i)");
    case reply_kind::bad_key: return numeric("475", channel_of(r.subject), "Cannot join channel (+k)");
    case reply_kind::room_banned: // refused a JOIN (474), or a line in the channel (404; none to a NOTICE)
        if (st_.question == asked::join) return numeric("474", channel_of(r.subject), "Cannot join channel (+b)");
        if (st_.question == asked::notice) return {};
        return numeric("404", channel_of(r.subject), "Cannot send to channel (+b)");
    case reply_kind::invited: { // by a member: its INVITE (account-tag: its account); by the host: a notice
        if (r.detail.empty()) break;
        std::string line;
        if ((st_.caps & account_tag) && !r.extra.empty()) {
            line = "@account=";
            append_escaped_tag_value(line, r.extra);
            line += ' ';
        }
        return line + ":" + events().source(r.detail) + " INVITE " + me + " " + channel_of(r.subject);
    }
    case reply_kind::no_such_nick:
        if (st_.question == asked::notice) return {}; // NOTICE is never answered
        return numeric("401", r.subject, "No such nick/channel");
    case reply_kind::usage: {
        std::string cmd;
        for (const char c : r.subject) cmd += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
        return numeric("461", cmd, "Not enough parameters");
    }
    case reply_kind::unknown_command: return numeric("421", r.subject, "Unknown command");
    case reply_kind::line_too_long: return numeric("417", {}, "Input line was too long");
    case reply_kind::not_permitted:
        if (!st_.target.empty()) return numeric("482", st_.target, "You're not channel operator");
        return numeric("481", {}, "Permission Denied- You're not an IRC operator");
    case reply_kind::muted:
        if (st_.question == asked::notice) return {};
        return numeric("404", st_.target, "Cannot send to channel (muted)");
    case reply_kind::room_moderated:
        if (st_.question == asked::notice) return {};
        return numeric("404", channel_of(r.subject), "Cannot send to channel (+m)");
    // Before registration the interpreter decides (464 with --require-login).
    case reply_kind::login_first: return st_.registered ? numeric("451", {}, "You have not registered") : std::string();
    // OPER: the operator's rights, and user mode +o to show it.
    case reply_kind::now_operator:
        return numeric("381", {}, "You are now an IRC operator") + '\n' + from_self("MODE " + me + " :+o");
    case reply_kind::logged_in: return from_server("NOTICE " + me + " :" + text_of(r).substr(2)); // "logged in as NAME"
    case reply_kind::refused: return numeric("464", {}, "Password incorrect");
    case reply_kind::logins_disabled: return numeric("491", {}, "No O-lines for your host");
    // Last words: the connection is closing.
    case reply_kind::shutting_down:
    case reply_kind::refused_stopping:
    case reply_kind::server_full:
    case reply_kind::too_many_from_address:
    case reply_kind::kicked_by:
    case reply_kind::banned_by:
    case reply_kind::dropped_too_slow:
    case reply_kind::dropped_idle:
    case reply_kind::dropped_no_first_line:
    case reply_kind::banned:
    {
        const std::string why = text_of(r);
        return "ERROR :Closing link: " + std::string(split_utf8(why.substr(0, why.find('\n')), 400).front());
    }
    default: break;
    }
    // The rest (history, help, accounts, moderation) in the line protocol's
    // words, as notices from the server.
    std::string out;
    const std::string text = text_of(r);
    std::string_view rest = text;
    while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        out += from_server("NOTICE " + me + " :" + std::string(split_utf8(rest.substr(0, nl), 400).front())) + '\n';
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    return out;
}

} // namespace chatroom::irc::detail

#include <chatroom/irc/detail/chathistory_replies.hpp>
