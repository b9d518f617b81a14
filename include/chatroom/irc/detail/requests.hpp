#pragma once

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/message.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace chatroom::irc::detail {

using chatroom::detail::commands;
using chatroom::detail::member;
using protocol::command;
using protocol::command_kind;

// What the IRC interpreter (interpreter.hpp) builds its commands from: its
// own lines for the peer, requests to the core worded for a question, and
// channel names read as rooms. With the hub's lock held.

// Lines (separated by LF, without CR LF) for the peer, after this line.
inline void emit(session_state& st, const std::string& lines) {
    std::string_view rest = lines;
    while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        const std::string_view one = rest.substr(0, nl);
        if (!one.empty()) {
            st.pending.append(one.data(), one.size());
            st.pending += "\r\n";
        }
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
}

// Whether a and b hold the same bytes: a channel's name as sent, on the
// hot path, where most names are a few bytes (no library call).
inline bool same_bytes(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return false;
    return true;
}

// A request whose reply is worded for the question.
inline void ask(commands& core, member& m, session_state& st, asked q, std::string_view target, command_kind kind,
                std::string_view arg = {}, std::string_view text = {}, std::string_view room = {},
                std::string_view tags = {}) {
    st.question = q;
    if (!same_bytes(st.target, target)) st.target.assign(target.data(), target.size()); // the same channel line after line
    command cmd;
    cmd.kind = kind;
    cmd.arg = arg;
    cmd.text = text;
    cmd.room = room;
    cmd.tags = tags;
    core.request(m, cmd);
    st.question = asked::none;
}

// "#dev" names room "dev"; anything else is no channel of ours.
inline bool room_of(std::string_view channel, std::string& room) {
    if (channel.size() < 2 || channel.front() != '#') return false;
    room = std::string(channel.substr(1));
    return protocol::is_valid_name(room);
}

// The member's name for a room it is in (as the room was created), or empty.
inline std::string seat_in(const member& m, std::string_view room) {
    for (const auto& seat : m.state.seats)
        if (protocol::same_name(seat.in->name(), room)) return seat.in->name();
    return {};
}

// The most bytes of text that ":nick!nick@host COMMAND target :" (and, for
// an action, CTCP's "\1ACTION " and "\1") leave in one line of
// max_body_bytes with its CR LF: what the member's line is relayed as.
inline std::size_t relay_room(const connection& c, std::string_view nick, std::string_view command,
                              std::string_view target, bool action) {
    const std::size_t head = 1 + 2 * nick.size() + 2 + c.settings().options.server_name.size() + 1 + command.size() + 1 +
                             target.size() + 2 + (action ? 9 : 0);
    return head + 2 < max_body_bytes ? max_body_bytes - 2 - head : 0;
}

// The longest start of text of at most max bytes that ends at a UTF-8
// boundary (a line cut where a multi-byte character would be split ends
// before it).
inline std::string_view utf8_prefix(std::string_view text, std::size_t max) {
    if (text.size() <= max) return text;
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return text.substr(0, cut);
}

// The hot path of a registered client: "PRIVMSG #channel :text" with no
// tags and no source, to a channel the member is in, text plain ASCII (no
// CTCP, nothing sanitizing would change) and short enough to be relayed in
// one line (relay_room). Asked of the core straight from the received line,
// with no parsed copy; false, having done nothing, for anything else, which
// the full parser and its replies handle.
inline bool say_plain_to_channel(commands& core, member& m, const connection& c, std::string_view raw) {
    constexpr std::string_view verb = "PRIVMSG #";
    if (raw.size() > max_body_bytes - 2 || raw.size() < verb.size() || !same_bytes(raw.substr(0, verb.size()), verb))
        return false;
    const std::size_t sp = raw.find(' ', verb.size());
    if (sp == std::string_view::npos || raw.size() < sp + 3 || raw[sp + 1] != ':') return false;
    const std::string_view target = raw.substr(verb.size() - 1, sp - (verb.size() - 1));
    const std::string_view text = raw.substr(sp + 2);
    // ":" nick "!" nick "@" host " " adds this much to the line as the client sent it.
    if (raw.size() + 4 + 2 * m.state.nick.size() + c.settings().options.server_name.size() > max_body_bytes - 2)
        return false;
    session_state& st = c.state();
    if (text.front() == '\x01' || !is_plain_text(text) || protocol::trim(text).empty()) return false;
    // The seat's room, found with no copy of the name: a name that matches a
    // room's is as valid as it (room_of's check).
    const std::string_view wanted = target.substr(1);
    const chatroom::detail::room* in = nullptr;
    for (const auto& seat : m.state.seats)
        if (same_bytes(seat.in->name(), wanted) || protocol::same_name(seat.in->name(), wanted)) {
            in = seat.in;
            break;
        }
    if (!in) return false;
    // Its current room (the last it joined) is named by no name, so the
    // core does not look it up again.
    const std::string_view name = in == m.state.current() ? std::string_view() : std::string_view(in->name());
    ask(core, m, st, asked::none, target, command_kind::chat, text, {}, name);
    return true;
}

// The client-only tags of a message ("+key=value", keys beginning with
// '+'), as IRC writes them, for room_event::client_tags; the others (a
// client may not set the server's tags), and keys of other characters than
// IRCv3's (letters, digits, '-', and a vendor's '.' and '/'), are dropped.
// Within the client's tag data, which the interpreter bounds (417); values
// are UTF-8 (the interpreter repairs a line that is not: utf8_only.hpp).
inline std::string client_tags_of(const irc_message& msg) {
    std::string out;
    auto key_char = [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
               ch == '.' || ch == '/';
    };
    for (const tag& t : msg.tags) {
        bool valid = t.key.size() >= 2 && t.key.front() == '+';
        for (std::size_t i = 1; valid && i < t.key.size(); ++i) valid = key_char(t.key[i]);
        if (!valid) continue;
        if (!out.empty()) out += ';';
        out += t.key;
        if (t.value.empty()) continue;
        out += '=';
        append_escaped_tag_value(out, t.value);
    }
    return out;
}

// A command or subcommand word as IRC compares them.
inline std::string upper(std::string_view s) {
    std::string u(s);
    for (char& ch : u)
        if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    return u;
}

} // namespace chatroom::irc::detail
