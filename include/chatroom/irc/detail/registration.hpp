#pragma once

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/requests.hpp>
#include <chatroom/irc/message.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace chatroom::irc::detail {

// Registration and logging in (docs/irc.md): CAP, PASS, AUTHENTICATE (SASL
// PLAIN) and what completes a registration. A login, from SASL, PASS or
// OPER, is the server's /login (its accounts, access_hooks::verify): decided
// after the line that started it, while the member's later lines wait; the
// verdict is worded by login_replies.hpp. With the hub's lock held.

// The capabilities offered, as CAP LS and LIST name them: echo-message is
// the core's (member_state::echo), sasl is offered only when the server has
// accounts, batch and draft/chathistory are the connection's
// (chathistory.hpp), the others are the renderer's tag_caps.
inline constexpr unsigned echo_cap = 1u << 31;
inline constexpr unsigned sasl_cap = 1u << 30;
inline constexpr std::pair<std::string_view, unsigned> offered_caps[] = {{"account-tag", account_tag},
                                                                         {"away-notify", away_notify},
                                                                         {"batch", batch_cap},
                                                                         {"draft/chathistory", chathistory_cap},
                                                                         {"echo-message", echo_cap},
                                                                         {"message-tags", message_tags},
                                                                         {"multi-prefix", multi_prefix},
                                                                         {"sasl", sasl_cap},
                                                                         {"server-time", server_time},
                                                                         {"userhost-in-names", userhost_in_names}};

// The longest SASL response taken, decoded (a name, a password and two NULs
// fit many times over); a longer one fails (904) as it grows.
inline constexpr std::size_t max_sasl_bytes = 1024;
// A SASL response is sent in chunks of this many bytes of base64.
inline constexpr std::size_t sasl_chunk = 400;

// Those in bits, space-separated; with_values: `sasl=PLAIN` (CAP LS 302).
inline std::string cap_names(unsigned bits, bool with_values = false) {
    std::string out;
    for (const auto& [name, bit] : offered_caps)
        if (bits & bit) {
            out.append(out.empty() ? "" : " ").append(name);
            if (with_values && bit == sasl_cap) out += "=PLAIN";
        }
    return out;
}

// RFC 4648 base64 (with padding, no whitespace); false for anything else.
inline bool base64_decode(std::string_view in, std::string& out) {
    auto value = [](char ch) -> int {
        if (ch >= 'A' && ch <= 'Z') return ch - 'A';
        if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
        if (ch >= '0' && ch <= '9') return ch - '0' + 52;
        return ch == '+' ? 62 : ch == '/' ? 63 : -1;
    };
    if (in.size() % 4 != 0) return false;
    out.clear();
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=') : 0;
        if (pad == 1 && in[i + 2] == '=') return false; // "x=y="
        unsigned bits = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const int v = k >= 4u - static_cast<unsigned>(pad) ? 0 : value(in[i + k]);
            if (v < 0) return false;
            bits = (bits << 6) | static_cast<unsigned>(v);
        }
        out += static_cast<char>((bits >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((bits >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(bits & 0xff);
    }
    return true;
}

// The server's /login NAME SECRET, started for SASL or PASS: its verdict is
// worded by login_replies.hpp, for via.
inline void start_login(commands& core, member& m, session_state& st, login_via via, std::string_view name,
                        std::string_view secret) {
    st.via = via;
    ask(core, m, st, asked::none, {}, command_kind::login, name, secret);
}

// The member leaves with ERROR (after what was said), as QUIT does.
inline void close_link(commands& core, member& m, const connection& c, std::string_view why) {
    emit(c.state(), "ERROR :Closing link: " + c.nick() + " (" + std::string(why) + ")");
    command cmd;
    cmd.kind = command_kind::quit;
    cmd.arg = why;
    core.request(m, cmd);
}

// PASS before registration: the password of the account its NICK names,
// checked as soon as both are known (the login then decides before USER and
// CAP END are read). Without accounts it is ignored: the server has no
// connection password.
inline void pass_login(commands& core, member& m, const connection& c) {
    session_state& st = c.state();
    if (st.password.empty() || st.wanted_nick.empty() || !m.state.account.empty() || m.state.login_pending) return;
    const std::string secret = std::exchange(st.password, {});
    start_login(core, m, st, login_via::pass, st.wanted_nick, secret);
}

inline void pass(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    if (msg.params.empty() || msg.params[0].empty()) return emit(st, c.numeric("461", "PASS", "Not enough parameters"));
    if (!core.access().verify) return;
    st.password = msg.params[0].substr(0, max_body_bytes);
    pass_login(core, m, c);
}

// A SASL exchange given up: 906 when it was under way (the client
// registered, or sent `AUTHENTICATE *`).
inline void abort_sasl(session_state& st, const connection& c) {
    if (!st.sasl_open) return;
    st.sasl_open = false;
    st.sasl_payload.clear();
    emit(st, c.numeric("906", {}, "SASL authentication aborted"));
}

// AUTHENTICATE: PLAIN only (908 names it), its response in 400-byte chunks
// of base64 (a chunk of exactly 400 is followed by more, or by `+`). The
// response `authzid NUL authcid NUL password` logs in as authcid; an authzid
// other than authcid is refused (904): no account acts as another.
inline void authenticate(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    auto fail = [&] {
        st.sasl_open = false;
        st.sasl_payload.clear();
        emit(st, c.numeric("904", {}, "SASL authentication failed"));
    };
    if (!core.access().verify) return emit(st, c.numeric("421", "AUTHENTICATE", "Unknown command"));
    if (msg.params.empty() || msg.params[0].empty())
        return emit(st, c.numeric("461", "AUTHENTICATE", "Not enough parameters"));
    const std::string& arg = msg.params[0];
    if (!st.sasl_open) {
        if (!m.state.account.empty()) return emit(st, c.numeric("907", {}, "You have already authenticated using SASL"));
        if (upper(arg) != "PLAIN") {
            emit(st, c.numeric("908", "PLAIN", "are available SASL mechanisms"));
            return fail();
        }
        st.sasl_open = true;
        st.sasl_payload.clear();
        return emit(st, "AUTHENTICATE +");
    }
    if (arg == "*") return abort_sasl(st, c);
    if (arg.size() > sasl_chunk) {
        st.sasl_open = false;
        st.sasl_payload.clear();
        return emit(st, c.numeric("905", {}, "SASL message too long"));
    }
    if (arg != "+") st.sasl_payload += arg;
    if (st.sasl_payload.size() > (max_sasl_bytes + 2) / 3 * 4) return fail();
    if (arg.size() == sasl_chunk) return; // more to come
    std::string plain;
    const bool decoded = base64_decode(st.sasl_payload, plain);
    st.sasl_open = false;
    st.sasl_payload.clear();
    const std::size_t a = decoded ? plain.find('\0') : std::string::npos;
    const std::size_t b = a == std::string::npos ? a : plain.find('\0', a + 1);
    if (b == std::string::npos || plain.find('\0', b + 1) != std::string::npos) return fail();
    const std::string_view authzid = std::string_view(plain).substr(0, a);
    const std::string_view authcid = std::string_view(plain).substr(a + 1, b - a - 1);
    const std::string_view secret = std::string_view(plain).substr(b + 1);
    if (authcid.empty() || secret.empty() || (!authzid.empty() && !protocol::same_name(authzid, authcid)))
        return fail();
    start_login(core, m, st, login_via::sasl, authcid, secret);
}

// NICK and USER given, capability negotiation over: the nick is taken
// from the core (the guest nick renamed), then 001 and the rest. A server
// that requires a login closes a client that has not logged in (464).
inline void try_register(commands& core, member& m, const connection& c) {
    session_state& st = c.state();
    if (st.registered || st.cap_negotiating || st.wanted_nick.empty() || !st.got_user) return;
    if (m.state.login_pending) return; // PASS's login: its verdict sends a PING, whose PONG registers
    abort_sasl(st, c);
    if (!m.state.admitted) {
        emit(st, c.numeric("464", {}, "Password required: log in with SASL, or PASS as your nick's account"));
        return close_link(core, m, c, "Password required");
    }
    if (m.state.nick != st.wanted_nick) {
        // Decided now (one server): the rename's own event must not
        // complete the registration, this function does.
        st.registering = true;
        ask(core, m, st, asked::nick, st.wanted_nick, command_kind::nick, st.wanted_nick);
        st.registering = false;
        if (m.state.nick != st.wanted_nick) {
            // Refused (432, 433 went out): the client sends another NICK.
            if (!m.state.nick_pending) st.wanted_nick.clear();
            return;
        }
    }
    st.registered = true;
    c.refresh_share();
    // One reply carries the welcome, LUSERS and the MOTD, so they go in order.
    ask(core, m, st, asked::welcome, {}, command_kind::rooms);
}

inline void cap(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    const std::string sub = upper(msg.param(0));
    const std::string me = st.registered ? c.nick() : std::string("*");
    const std::string head = "CAP " + me + " ";
    const unsigned offered = core.access().verify ? ~0u : ~sasl_cap;
    const unsigned current = st.caps | (m.state.echo ? echo_cap : 0u);
    if (sub == "LS") {
        if (!st.registered) st.cap_negotiating = true;
        const std::string_view v = msg.param(1); // 302 and later: values (sasl=PLAIN)
        const bool values = v.find_first_not_of("0123456789") == std::string_view::npos &&
                            (v.size() > 3 || (v.size() == 3 && v >= "302"));
        return emit(st, c.from_server(head + "LS :" + cap_names(offered, values)));
    }
    if (sub == "LIST") return emit(st, c.from_server(head + "LIST :" + cap_names(current)));
    if (sub == "REQ") {
        if (!st.registered) st.cap_negotiating = true;
        const std::string_view wanted = msg.param(1);
        unsigned on = current;
        std::string_view rest = wanted;
        bool ok = true;
        while (!rest.empty()) {
            const std::size_t sp = rest.find(' ');
            std::string_view name = rest.substr(0, sp);
            rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
            if (name.empty()) continue;
            const bool off = name.front() == '-';
            if (off) name.remove_prefix(1);
            unsigned bit = 0;
            for (const auto& offer : offered_caps) bit = offer.first == name ? offer.second : bit;
            if ((bit & offered) == 0) ok = false;
            on = off ? (on & ~bit) : (on | bit);
        }
        if (!ok) return emit(st, c.from_server(head + "NAK :" + std::string(wanted)));
        st.caps = on & ~echo_cap;
        c.refresh_share();
        m.state.echo = (on & echo_cap) != 0;
        return emit(st, c.from_server(head + "ACK :" + std::string(wanted)));
    }
    if (sub == "END") {
        st.cap_negotiating = false;
        return try_register(core, m, c);
    }
    emit(st, c.numeric("410", std::string(msg.param(0)), "Invalid CAP command"));
}

} // namespace chatroom::irc::detail
