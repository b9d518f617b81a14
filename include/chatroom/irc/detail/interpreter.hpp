#pragma once

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/interpreter.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/irc/detail/channel_ops.hpp>
#include <chatroom/irc/detail/chathistory.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/oper_tags.hpp>
#include <chatroom/irc/detail/registration.hpp>
#include <chatroom/irc/detail/requests.hpp>
#include <chatroom/irc/detail/user_modes.hpp>
#include <chatroom/irc/detail/users.hpp>
#include <chatroom/irc/detail/utf8_only.hpp>
#include <chatroom/irc/message.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

namespace chatroom::irc::detail {

// The IRC dialect's interpreter: a line is an IRC message; registration
// (CAP, PASS, NICK, USER) is the connection's own, the rest becomes requests
// to the core, whose typed replies the connection words as numerics. What
// the interpreter answers itself (CAP, PONG, errors of syntax) waits in the
// connection's pending bytes, which the session sends right after the line.
// Called with the hub's lock held.
class interpreter final : public chatroom::detail::interpreter {
public:
    // An IRC client is in the channels it joins, never in the lobby unasked.
    bool starts_in_lobby() const noexcept override { return false; }

    void line(commands& core, member& m, std::string_view raw) const override {
        const auto& c = static_cast<const connection&>(m.dialect());
        session_state& st = c.state();
        if (st.pass_refused) return; // 464: the connection is closing
        st.question = asked::none;
        if (st.registered && say_plain_to_channel(core, m, c, raw)) return; // sets the target
        st.target.clear();
        const parsed p = parse(raw);
        if (p.error == parse_error::empty || p.error == parse_error::no_command) return;
        if (p.error == parse_error::line_too_long || p.error == parse_error::tags_too_long || client_tags_too_long(raw))
            return emit(st, c.numeric("417", {}, "Input line was too long"));
        if (p.error == parse_error::bad_command) return emit(st, c.numeric("421", "*", "Unknown command"));
        if (p.error == parse_error::too_many_params) return emit(st, c.numeric("461", p.msg.command, "Too many parameters"));
        // UTF8ONLY (utf8_only.hpp): a line with invalid UTF-8 is repaired and
        // its sender warned; secrets (never shown to anyone) are left as sent.
        irc_message repaired;
        const irc_message* parsed_msg = &p.msg;
        const std::string_view sent = p.msg.command;
        if (sent != "PASS" && sent != "OPER" && sent != "AUTHENTICATE" && !valid_utf8(raw)) {
            repaired = p.msg;
            repair_utf8(repaired);
            // Repairs grow a tag's value (a byte becomes U+FFFD's three):
            // past the client's tag limit it is refused as a long one is.
            if (client_tags_of(repaired).size() > max_client_tag_bytes)
                return emit(st, c.numeric("417", {}, "Input line was too long"));
            parsed_msg = &repaired;
            if (sent != "NOTICE") // NOTICE is never answered
                emit(st, c.from_server("WARN " + repaired.command + " INVALID_UTF8 :Your message was not correctly "
                                       "encoded as UTF-8 and had to be modified"));
        }
        const irc_message& msg = *parsed_msg;
        const std::string_view verb = msg.command; // compared inline, not through std::string::compare
        if (verb == "CAP") return cap(core, m, c, msg);
        if (verb == "PING") {
            if (msg.params.empty()) return emit(st, c.numeric("409", {}, "No origin specified"));
            return emit(st, c.from_server("PONG " + c.settings().options.server_name + " :" + msg.params.back()));
        }
        if (verb == "PONG") return try_register(core, m, c); // a login decided after USER: the PING it sent
        if (verb == "AUTHENTICATE") return authenticate(core, m, c, msg);
        if (verb == "QUIT") return quit(core, m, c, msg.param(0));
        if (verb == "NICK") return nick(core, m, c, msg);
        if (verb == "USER" || verb == "PASS") {
            if (st.registered) return emit(st, c.numeric("462", {}, "You may not reregister"));
            if (verb == "PASS") return pass(core, m, c, msg);
            if (msg.params.size() < 4 || msg.params[0].empty() || msg.params[3].empty())
                return emit(st, c.numeric("461", verb, "Not enough parameters"));
            st.user.clear();
            st.realname.clear();
            sanitize_append(st.user, msg.param(0).substr(0, 32));
            sanitize_append(st.realname, msg.param(3).substr(0, 128));
            st.got_user = true;
            return try_register(core, m, c);
        }
        if (!st.registered) return emit(st, c.numeric("451", {}, "You have not registered"));
        if (verb == "JOIN") return join(core, m, c, msg);
        if (verb == "PART") return part(core, m, c, msg);
        if (verb == "PRIVMSG" || verb == "NOTICE") return say(core, m, c, msg, verb == "NOTICE");
        if (verb == "TOPIC") return topic(core, m, c, msg);
        if (verb == "NAMES" || verb == "WHO") return names(core, m, c, msg, verb == "WHO");
        if (verb == "MODE") return mode(core, m, c, msg);
        if (verb == "KICK") return kick(core, m, c, msg);
        if (verb == "INVITE") return invite(core, m, c, msg);
        if (verb == "TIME") return time(c);
        if (verb == "LIST") return ask(core, m, st, asked::list, {}, command_kind::rooms);
        if (verb == "LUSERS") return ask(core, m, st, asked::lusers, {}, command_kind::rooms);
        if (verb == "MOTD") return emit(st, c.motd());
        if (verb == "WHOIS") return whois(m, c, msg);
        if (verb == "AWAY") return away(core, m, c, msg);
        if (verb == "USERHOST") return userhost(m, c, msg);
        if (verb == "ISON") return ison(m, c, msg);
        if (verb == "WHOWAS") return whowas(c, msg);
        if (verb == "CHATHISTORY") return chathistory(core, m, c, msg);
        if (verb == "TAGMSG") return tagmsg(core, m, c, msg);
        if (verb == "KILL") return kill_user(core, m, c, msg);
        if (verb == "INFO") return info(c);
        if (verb == "OPER") {
            // The operator's rights of one of the server's accounts (--users),
            // checked as /login's secret is, without logging in: the nick
            // stays. 381 and MODE +o, or 464; decided after this line (the
            // verifier runs outside the hub's lock).
            if (msg.params.size() < 2) return emit(st, c.numeric("461", "OPER", "Not enough parameters"));
            return ask(core, m, st, asked::none, {}, command_kind::oper, msg.params[0], msg.params[1]);
        }
        emit(st, c.numeric("421", verb, "Unknown command"));
    }

private:
    // A client's tag data past max_client_tag_bytes (the server's own may be
    // up to max_tag_bytes).
    static bool client_tags_too_long(std::string_view raw) {
        const std::size_t at = raw.find_first_not_of(' ');
        if (at == std::string_view::npos || raw[at] != '@') return false;
        const std::size_t sp = raw.find(' ', at);
        return (sp == std::string_view::npos ? raw.size() : sp) - at - 1 > max_client_tag_bytes;
    }

    static void nick(commands& core, member& m, const connection& c, const irc_message& msg) {
        session_state& st = c.state();
        if (msg.params.empty() || msg.params[0].empty()) return emit(st, c.numeric("431", {}, "No nickname given"));
        const std::string& wanted = msg.params[0];
        if (!st.registered) {
            if (!protocol::is_valid_name(wanted)) return emit(st, c.numeric("432", wanted, "Erroneous nickname"));
            st.wanted_nick = wanted;
            pass_login(core, m, c); // PASS came first: its login decides before registration
            return try_register(core, m, c);
        }
        // A rename reaches the rooms it is in, itself among their members;
        // in none, it is told here.
        const std::string before = m.state.nick;
        ask(core, m, st, asked::nick, wanted, command_kind::nick, wanted);
        if (m.state.seats.empty() && m.state.nick != before)
            emit(st, ":" + c.events().source(before) + " NICK " + m.state.nick);
    }

    static void quit(commands& core, member& m, const connection& c, std::string_view reason) {
        c.depart();
        emit(c.state(), "ERROR :Closing link: " + c.nick() + " (Quit)");
        std::string clean;
        sanitize_append(clean, reason);
        command cmd;
        cmd.kind = command_kind::quit;
        cmd.arg = clean;
        core.request(m, cmd);
    }

    static void join(commands& core, member& m, const connection& c, const irc_message& msg) {
        session_state& st = c.state();
        if (msg.params.empty()) return emit(st, c.numeric("461", "JOIN", "Not enough parameters"));
        std::string_view keys = msg.param(1); // "k1,k2": the keys of the channels in turn (+k)
        for_each_channel(c, msg.params[0], [&](std::string_view chan, const std::string& room) {
            const std::size_t comma = keys.find(',');
            const std::string_view key = keys.substr(0, comma);
            keys = comma == std::string_view::npos ? std::string_view() : keys.substr(comma + 1);
            if (!seat_in(m, room).empty()) return; // already in it: nothing to say
            ask_join(core, m, c, chan, room, key); // chathistory.hpp: its replay in a batch
            const std::string name = seat_in(m, room);
            if (name.empty()) return; // refused: the reply said why
            ask(core, m, st, asked::names, chan, command_kind::who, {}, {}, name);
        });
    }

    // Calls fn(channel, room) for each channel of a comma-separated list
    // that names a room; 403 for one that does not.
    template <class Fn>
    static void for_each_channel(const connection& c, std::string_view list, Fn&& fn) {
        while (!list.empty()) {
            const std::size_t comma = list.find(',');
            const std::string_view chan = list.substr(0, comma);
            list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
            std::string room;
            if (!room_of(chan, room)) emit(c.state(), c.numeric("403", chan, "No such channel"));
            else fn(chan, room);
        }
    }

    static void part(commands& core, member& m, const connection& c, const irc_message& msg) {
        session_state& st = c.state();
        if (msg.params.empty()) return emit(st, c.numeric("461", "PART", "Not enough parameters"));
        std::string reason;
        sanitize_append(reason, msg.param(1));
        for_each_channel(c, msg.params[0], [&](std::string_view chan, const std::string& room) {
            const std::string name = seat_in(m, room);
            if (name.empty()) return emit(st, c.numeric("442", chan, "You're not on that channel"));
            ask(core, m, st, asked::part, chan, command_kind::part, {}, reason, name);
            if (!seat_in(m, room).empty()) return;
            emit(st, c.from_self("PART " + channel_of(name) + (reason.empty() ? std::string() : " :" + reason)));
        });
    }

    static void say(commands& core, member& m, const connection& c, const irc_message& msg, bool notice) {
        session_state& st = c.state();
        if (msg.params.empty()) {
            if (!notice) emit(st, c.numeric("411", {}, "No recipient given (" + msg.command + ")"));
            return;
        }
        if (msg.params.size() < 2 || msg.params[1].empty()) {
            if (!notice) emit(st, c.numeric("412", {}, "No text to send"));
            return;
        }
        const std::string& target = msg.params[0];
        if (target.empty()) {
            if (!notice) emit(st, c.numeric("411", {}, "No recipient given (" + msg.command + ")"));
            return;
        }
        std::string_view text = msg.params[1];
        bool action = false;
        if (text.front() == '\x01') { // CTCP: ACTION is /me; the rest are not passed on
            text.remove_prefix(1);
            if (!text.empty() && text.back() == '\x01') text.remove_suffix(1);
            if (text.substr(0, 7) != "ACTION ") return;
            text.remove_prefix(7);
            action = true;
        }
        std::string clean;
        sanitize_append(clean, text);
        if (clean.empty()) return;
        // Relayed in one line: what would not fit is cut (at a UTF-8
        // boundary), as a recipient reads one line for the one sent.
        // (A private action is a PRIVMSG starting "* ", below.)
        const bool channel = target.front() == '#';
        const std::size_t room = relay_room(c, m.state.nick, notice && !action ? "NOTICE" : "PRIVMSG", target,
                                            action && channel);
        const std::size_t fits = action && !channel ? (room > 2 ? room - 2 : 0) : room;
        clean.resize(utf8_prefix(clean, fits).size());
        if (clean.empty()) return;
        const asked q = notice ? asked::notice : asked::none;
        const std::string tags = client_tags_of(msg);
        if (channel) {
            std::string room_name;
            const bool valid = room_of(target, room_name);
            if (!valid) {
                if (!notice) emit(st, c.numeric("403", target, "No such channel"));
                return;
            }
            // Not in it: the core says it when the channel is -n (404 if not).
            const std::string name = seat_in(m, room_name);
            const asked outside = notice ? asked::notice : asked::outside;
            // A CTCP ACTION is /me, whatever carried it.
            const command_kind kind = action ? command_kind::me : notice ? command_kind::notice : command_kind::chat;
            return ask(core, m, st, name.empty() ? outside : q, target, kind, clean, {}, name.empty() ? room_name : name,
                       tags);
        }
        if (action) clean = "* " + clean;
        ask(core, m, st, q, target, notice && !action ? command_kind::msg_notice : command_kind::msg, target, clean, {},
            tags);
        if (!notice) tell_if_away(m, c, target);
    }

    static void topic(commands& core, member& m, const connection& c, const irc_message& msg) {
        session_state& st = c.state();
        if (msg.params.empty()) return emit(st, c.numeric("461", "TOPIC", "Not enough parameters"));
        std::string room;
        if (!room_of(msg.params[0], room)) return emit(st, c.numeric("403", msg.params[0], "No such channel"));
        if (msg.params.size() < 2) return ask(core, m, st, asked::topic, room, command_kind::rooms);
        const std::string name = seat_in(m, room);
        if (name.empty()) return emit(st, c.numeric("442", msg.params[0], "You're not on that channel"));
        std::string clean; // empty as sent (TOPIC #chan :): the topic is cleared
        sanitize_append(clean, msg.params[1]);
        if (clean.empty() && !msg.params[1].empty()) return emit(st, c.numeric("461", "TOPIC", "Not enough parameters"));
        ask(core, m, st, asked::none, msg.params[0], command_kind::topic, clean, {}, name);
    }

    static void names(commands& core, member& m, const connection& c, const irc_message& msg, bool who) {
        session_state& st = c.state();
        std::string_view chan = msg.param(0);
        if (who && (chan.empty() || chan.front() != '#')) return who_mask(m, c, chan, msg.param(1));
        std::string room;
        if (!room_of(chan, room)) room.clear();
        const std::string name = room.empty() ? std::string() : seat_in(m, room);
        const std::string shown = name.empty() ? std::string(chan.empty() ? "*" : chan) : channel_of(name);
        if (!name.empty() && who) {
            st.who_format = msg.param(1); // WHOX: how connection::who_channel words the answer
            ask(core, m, st, asked::who, shown, command_kind::who, {}, {}, name);
            return st.who_format.clear();
        }
        if (!name.empty()) return ask(core, m, st, asked::names, shown, command_kind::who, {}, {}, name);
        // Only the members of rooms it is in are listed to a member.
        if (who) return emit(st, c.numeric("315", shown, "End of /WHO list."));
        emit(st, c.numeric("366", shown, "End of /NAMES list."));
    }

    // 391: the server's time, as seconds since 1970, 0 (no offset) and text.
    static void time(const connection& c) {
        const auto now = std::chrono::system_clock::now();
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
        emit(c.state(), c.numeric("391", c.settings().options.server_name + " " + std::to_string(secs) + " 0",
                                  format_time(now)));
    }

    static void mode(commands& core, member& m, const connection& c, const irc_message& msg) {
        if (msg.params.empty()) return emit(c.state(), c.numeric("461", "MODE", "Not enough parameters"));
        const std::string& target = msg.params[0];
        if (!target.empty() && target.front() == '#') return channel_mode(core, m, c, msg);
        user_mode(m, c, msg);
    }
};

// The one instance, shared by every IRC member.
inline const interpreter& interpreter_instance() noexcept {
    static const interpreter i;
    return i;
}

} // namespace chatroom::irc::detail
