#pragma once

#include <chatroom/core/command.hpp>
#include <chatroom/core/names.hpp>

#include <cstddef>
#include <string>
#include <string_view>

/// @file
/// The line protocol's syntax: how a typed line becomes a command request
/// (core/command.hpp), and its /help texts. docs/protocol.md is the prose
/// form of this file.
namespace chatroom::protocol {

/// The line end the server sends.
inline constexpr std::string_view crlf = "\r\n";

/// Splits off the first space-separated word.
inline std::string_view next_word(std::string_view& s) noexcept {
    s = trim(s);
    std::size_t end = s.find_first_of(" \t");
    std::string_view word = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view() : trim(s.substr(end));
    return word;
}

/// Parses one sanitized, non-empty line. The views point into line.
inline command parse(std::string_view line) noexcept {
    command cmd;
    if (line.empty() || line.front() != '/') {
        cmd.arg = line;
        return cmd;
    }
    if (line.size() > 1 && line[1] == '/') { // "//text" is the chat line "/text"
        cmd.arg = line.substr(1);
        return cmd;
    }
    std::string_view rest = line.substr(1);
    std::size_t end = rest.find_first_of(" \t");
    cmd.name = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    cmd.rest = trim(rest);

    const std::string_view w = cmd.name;
    auto is = [w](std::string_view candidate) {
        if (w.size() != candidate.size()) return false;
        for (std::size_t i = 0; i < w.size(); ++i) {
            char c = w[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != candidate[i]) return false;
        }
        return true;
    };
    if (is("nick")) {
        cmd.kind = command_kind::nick;
        cmd.arg = trim(rest);
    } else if (is("join")) {
        cmd.kind = command_kind::switch_room;
        cmd.arg = trim(rest);
        if (!cmd.arg.empty() && cmd.arg.front() == '#') cmd.arg = trim(cmd.arg.substr(1));
    } else if (is("who")) {
        cmd.kind = command_kind::who;
    } else if (is("rooms")) {
        cmd.kind = command_kind::rooms;
    } else if (is("me")) {
        cmd.kind = command_kind::me;
        cmd.arg = trim(rest);
    } else if (is("msg")) {
        cmd.kind = command_kind::msg;
        cmd.arg = next_word(rest);
        cmd.text = rest;
    } else if (is("quit")) {
        cmd.kind = command_kind::quit;
        cmd.arg = trim(rest);
    } else if (is("help")) {
        cmd.kind = command_kind::help;
    } else if (is("login") || is("kick") || is("ban")) {
        cmd.kind = is("login") ? command_kind::login : is("kick") ? command_kind::kick : command_kind::ban;
        cmd.arg = next_word(rest);
        cmd.text = rest;
    } else if (is("unban") || is("mute") || is("unmute")) {
        cmd.kind = is("unban") ? command_kind::unban : is("mute") ? command_kind::mute : command_kind::unmute;
        cmd.arg = trim(rest);
    } else if (is("topic")) {
        cmd.kind = command_kind::topic;
        cmd.arg = trim(rest);
    } else if (is("history")) {
        cmd.kind = command_kind::history;
        cmd.arg = trim(rest);
    } else {
        cmd.kind = command_kind::unknown;
    }
    return cmd;
}

/// The lines /help answers with, before the operators' and the host's commands.
inline constexpr std::string_view help_text[] = {
    "* commands:",
    "*   /nick NAME       change your nick (1-32 of A-Z a-z 0-9 _ . -)",
    "*   /join ROOM       leave this room and join ROOM (created if new)",
    "*   /who             list the members of this room",
    "*   /history [N]     the last N lines of this room (20; times in UTC)",
    "*   /rooms           list the rooms and their member counts",
    "*   /me ACTION       tell the room what you are doing",
    "*   /msg NICK TEXT   send TEXT to NICK only",
    "*   /quit [REASON]   leave the server",
    "*   /login NAME SECRET  log in to your account",
    "*   /help            this list",
    "*   //text           send a line that starts with /",
};

/// The operators' part of /help, shown to operators only.
inline constexpr std::string_view operator_help_text[] = {
    "* operators:",
    "*   /kick NICK [REASON]    disconnect NICK",
    "*   /ban NICK [LENGTH]     disconnect NICK and refuse its account and address for LENGTH",
    "*                          (minutes, or 30s, 2h, 1d; none or 0: until unbanned);",
    "*                          add confirm to ban your own address",
    "*   /unban NAME-OR-ADDRESS lift a ban",
    "*   /mute NICK, /unmute NICK  stop or allow NICK's lines",
    "*   /topic TEXT            set this room's topic",
};

} // namespace chatroom::protocol
