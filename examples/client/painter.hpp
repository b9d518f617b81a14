#pragma once
// How chatroom-client shows a server line: colour (SGR sequences, the one
// piece of terminal output no line-editing library offers), an optional
// [HH:MM] stamp, and the user's own nick followed through renames so that
// mentions of it stand out. Lines reach it already sanitized by the library.

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace console {

class painter {
public:
    painter(bool colour, bool timestamps) : colour_(colour), timestamps_(timestamps) {}

    const std::string& own_nick() const noexcept { return nick_; }
    // The room the server last said we joined; empty before the first join.
    const std::string& room() const noexcept { return room_; }

    // Learns the user's nick and room from the lines that announce them.
    // Returns true when the line renamed the user.
    bool observe(std::string_view line) {
        constexpr std::string_view welcome = "* welcome to ", you_are = ", you are ";
        constexpr std::string_view joined = "* joined ", renamed = " is now known as ";
        if (starts_with(line, welcome)) {
            const auto at = line.rfind(you_are);
            if (at != std::string_view::npos) nick_ = std::string(line.substr(at + you_are.size()));
        } else if (starts_with(line, joined)) {
            const auto rest = line.substr(joined.size());
            room_ = std::string(rest.substr(0, rest.find(' ')));
        } else if (starts_with(line, "* ")) {
            const auto at = line.find(renamed);
            if (at != std::string_view::npos && line.substr(2, at - 2) == nick_ && !nick_.empty()) {
                nick_ = std::string(line.substr(at + renamed.size()));
                return true;
            }
        }
        return false;
    }

    std::string render(std::string_view line) const {
        std::string out;
        if (timestamps_) out += stamp();
        if (!colour_) {
            out += line;
            return out;
        }
        if (starts_with(line, "! ")) {
            paint(out, red, line);
        } else if (starts_with(line, "<")) {
            const auto end = line.find("> ");
            if (end == std::string_view::npos) return out += line, out;
            const auto nick = line.substr(1, end - 1);
            const auto text = line.substr(end + 2);
            out += '<';
            paint(out, nick_colour(nick), nick);
            out += "> ";
            if (mentions_me(text)) paint(out, mention, text);
            else out += text;
        } else if (starts_with(line, "* ")) {
            notice(out, line);
        } else if (starts_with(line, "*") && line.find("* ", 1) != std::string_view::npos) {
            // A private message, "*sender* text": the whole line stands out.
            const auto end = line.find("* ", 1);
            const auto nick = line.substr(1, end - 1);
            out += bold;
            out += '*';
            out += nick_colour(nick);
            out += nick;
            out += reset;
            out += bold;
            out += "* ";
            out += line.substr(end + 2);
            out += reset;
        } else {
            out += line;
        }
        return out;
    }

    // The 256-colour palette entry a nick always gets (FNV-1a over its
    // lower-cased bytes, as the server compares nicks ignoring case).
    static std::string nick_colour(std::string_view nick) {
        static constexpr int palette[] = {33, 39, 41, 70, 76, 112, 128, 135, 166, 172, 178, 202, 208, 214, 37, 163};
        std::uint32_t h = 2166136261u;
        for (unsigned char c : nick) {
            if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
            h = (h ^ c) * 16777619u;
        }
        return "\x1b[38;5;" + std::to_string(palette[h % (sizeof palette / sizeof palette[0])]) + "m";
    }

private:
    static constexpr std::string_view reset = "\x1b[0m", dim = "\x1b[2m", red = "\x1b[31m", bold = "\x1b[1m",
                                      mention = "\x1b[1;33m";

    static bool starts_with(std::string_view s, std::string_view prefix) {
        return s.substr(0, prefix.size()) == prefix;
    }

    static void paint(std::string& out, std::string_view sgr, std::string_view text) {
        out += sgr;
        out += text;
        out += reset;
    }

    // Joins, leaves and renames show the nick in its colour; the rest is dim.
    void notice(std::string& out, std::string_view line) const {
        constexpr std::string_view renamed = " is now known as ";
        const auto body = line.substr(2);
        const auto space = body.find(' ');
        const auto nick = body.substr(0, space);
        const auto rest = space == std::string_view::npos ? std::string_view() : body.substr(space);
        const bool about_nick = starts_with(rest, " joined") || starts_with(rest, " left") || starts_with(rest, renamed);
        if (!about_nick || nick.empty()) return paint(out, dim, line);
        paint(out, dim, "* ");
        paint(out, nick_colour(nick), nick);
        if (starts_with(rest, renamed)) {
            paint(out, dim, renamed);
            const auto to = rest.substr(renamed.size());
            paint(out, nick_colour(to), to);
        } else {
            paint(out, dim, rest);
        }
    }

    // The nick as a word of its own, ignoring case.
    bool mentions_me(std::string_view text) const {
        if (nick_.empty() || text.size() < nick_.size()) return false;
        auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c; };
        auto word_char = [](unsigned char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                   c == '.';
        };
        for (std::size_t i = 0; i + nick_.size() <= text.size(); ++i) {
            std::size_t k = 0;
            while (k < nick_.size() && lower(static_cast<unsigned char>(text[i + k])) ==
                                           lower(static_cast<unsigned char>(nick_[k])))
                ++k;
            if (k != nick_.size()) continue;
            const bool left = i == 0 || !word_char(static_cast<unsigned char>(text[i - 1]));
            const std::size_t after = i + nick_.size();
            // A trailing '.' is punctuation ("thanks, bob.") rather than part of a nick.
            const bool right = after == text.size() || !word_char(static_cast<unsigned char>(text[after])) ||
                               (text[after] == '.' && (after + 1 == text.size() || text[after + 1] == ' '));
            if (left && right) return true;
        }
        return false;
    }

    static std::string stamp() {
        const std::time_t now = std::time(nullptr);
        std::tm local{};
        localtime_r(&now, &local);
        char buf[16];
        std::strftime(buf, sizeof buf, "[%H:%M] ", &local);
        return buf;
    }

    bool colour_;
    bool timestamps_;
    std::string nick_, room_;
};

} // namespace console
