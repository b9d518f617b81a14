#pragma once

/// @file
/// IRC messages as data (modern.ircdocs.horse, IRCv3 message-tags): parsing
/// a received line, writing one, escaping tag values, and cutting long text
/// at UTF-8 boundaries so no line passes the 512 bytes IRC allows. Pure
/// functions, no I/O; safe from any thread.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::irc {

/// The longest line body, CR LF included (RFC 1459, 2812): tags not counted.
inline constexpr std::size_t max_body_bytes = 512;
/// The longest tag section, its '@' and the space after it included (IRCv3).
inline constexpr std::size_t max_tag_bytes = 8191;
/// The longest tag data a client may send, without its '@' and the space
/// after it (IRCv3 message-tags: a server answers more with 417).
inline constexpr std::size_t max_client_tag_bytes = 4094;
/// The most parameters a message may have.
inline constexpr std::size_t max_params = 15;

/// One tag: key, and its value unescaped (empty when it has none).
struct tag {
    std::string key;   ///< "time", "msgid", "+draft/reply", ...
    std::string value; ///< unescaped
};

/// A message: tags, source, the command (letters upper-cased, or a
/// three-digit numeric) and its parameters, the trailing one included.
struct irc_message {
    std::vector<tag> tags;           ///< IRCv3 tags, in the order sent, values unescaped
    std::string source;              ///< without the ':'; empty when none
    std::string command;             ///< upper-cased
    std::vector<std::string> params; ///< the last may hold spaces (it was the trailing one)

    /// The i-th parameter, or an empty view when there are fewer.
    std::string_view param(std::size_t i) const noexcept {
        return i < params.size() ? std::string_view(params[i]) : std::string_view();
    }
};

/// Why a line is not a message.
enum class parse_error {
    none,
    empty,          ///< nothing but blanks: ignored by servers
    tags_too_long,  ///< the tag section passes max_tag_bytes
    line_too_long,  ///< the body passes max_body_bytes - 2
    no_command,     ///< tags or a source and no command
    bad_command,    ///< not letters, nor three digits
    too_many_params ///< more than max_params
};

/// A line's meaning: error none and msg, or the error.
struct parsed {
    parse_error error = parse_error::none; ///< why the line is not a message (none: it is)
    irc_message msg;                       ///< the message, when error is none
};

/// Unescapes a tag value: backslash-colon is ';', backslash-s a space, two
/// backslashes one, backslash-r CR, backslash-n LF;
/// a backslash before anything else is dropped, and so is a last one.
inline std::string unescape_tag_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] != '\\') {
            out += v[i];
            continue;
        }
        if (++i == v.size()) break;
        switch (v[i]) {
        case ':': out += ';'; break;
        case 's': out += ' '; break;
        case 'r': out += '\r'; break;
        case 'n': out += '\n'; break;
        default: out += v[i]; break; // "\\" and any other
        }
    }
    return out;
}

/// Appends a tag value escaped, so it holds no ';', space, CR, LF or NUL.
inline void append_escaped_tag_value(std::string& out, std::string_view v) {
    for (const char c : v) {
        switch (c) {
        case ';': out += "\\:"; break;
        case ' ': out += "\\s"; break;
        case '\\': out += "\\\\"; break;
        case '\r': out += "\\r"; break;
        case '\n': out += "\\n"; break;
        case '\0': break;
        default: out += c; break;
        }
    }
}

/// Parses one line (without its CR LF). Never throws on any input but
/// std::bad_alloc; what it cannot read is a parse_error.
inline parsed parse(std::string_view line) {
    parsed p;
    auto skip_spaces = [&] {
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    };
    skip_spaces();
    if (line.empty()) {
        p.error = parse_error::empty;
        return p;
    }
    if (line.front() == '@') {
        const std::size_t sp = line.find(' ');
        const std::size_t section = sp == std::string_view::npos ? line.size() : sp + 1;
        if (section > max_tag_bytes) {
            p.error = parse_error::tags_too_long;
            return p;
        }
        std::string_view tags = line.substr(1, sp == std::string_view::npos ? std::string_view::npos : sp - 1);
        line.remove_prefix(std::min(section, line.size()));
        while (!tags.empty()) {
            const std::size_t semi = tags.find(';');
            const std::string_view one = tags.substr(0, semi);
            tags = semi == std::string_view::npos ? std::string_view() : tags.substr(semi + 1);
            if (one.empty()) continue;
            const std::size_t eq = one.find('=');
            tag t;
            t.key = std::string(one.substr(0, eq));
            if (eq != std::string_view::npos) t.value = unescape_tag_value(one.substr(eq + 1));
            // A later tag of the same key wins.
            bool replaced = false;
            for (tag& old : p.msg.tags)
                if (old.key == t.key) {
                    old.value = std::move(t.value);
                    replaced = true;
                }
            if (!replaced) p.msg.tags.push_back(std::move(t));
        }
        skip_spaces();
    }
    if (line.size() > max_body_bytes - 2) {
        p.error = parse_error::line_too_long;
        return p;
    }
    if (!line.empty() && line.front() == ':') {
        const std::size_t sp = line.find(' ');
        p.msg.source = std::string(line.substr(1, sp == std::string_view::npos ? std::string_view::npos : sp - 1));
        line = sp == std::string_view::npos ? std::string_view() : line.substr(sp);
        skip_spaces();
    }
    if (line.empty()) {
        p.error = parse_error::no_command;
        return p;
    }
    const std::size_t end = line.find(' ');
    const std::string_view cmd = line.substr(0, end);
    bool letters = true, digits = cmd.size() == 3;
    for (const char c : cmd) {
        letters = letters && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
        digits = digits && c >= '0' && c <= '9';
    }
    if (!letters && !digits) {
        p.error = parse_error::bad_command;
        return p;
    }
    p.msg.command.assign(cmd.data(), cmd.size());
    for (char& c : p.msg.command)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    line = end == std::string_view::npos ? std::string_view() : line.substr(end);
    p.msg.params.reserve(4); // one allocation for what most commands have
    for (;;) {
        skip_spaces();
        if (line.empty()) break;
        if (p.msg.params.size() == max_params) {
            p.error = parse_error::too_many_params;
            return p;
        }
        if (line.front() == ':') {
            p.msg.params.emplace_back(line.substr(1));
            break;
        }
        const std::size_t sp = line.find(' ');
        p.msg.params.emplace_back(line.substr(0, sp));
        line = sp == std::string_view::npos ? std::string_view() : line.substr(sp);
    }
    return p;
}

/// Writes a message as a line without CR LF: "@k=v;k2 :source CMD a b :last".
/// The last parameter gets its ':' when it is empty, holds a space or begins
/// with ':'. Tag values are escaped; parameters are written as they are.
inline std::string serialize(const irc_message& m) {
    std::string out;
    if (!m.tags.empty()) {
        out += '@';
        for (std::size_t i = 0; i < m.tags.size(); ++i) {
            if (i) out += ';';
            out += m.tags[i].key;
            if (m.tags[i].value.empty()) continue;
            out += '=';
            append_escaped_tag_value(out, m.tags[i].value);
        }
        out += ' ';
    }
    if (!m.source.empty()) {
        out += ':';
        out += m.source;
        out += ' ';
    }
    out += m.command;
    for (std::size_t i = 0; i < m.params.size(); ++i) {
        const std::string& p = m.params[i];
        out += ' ';
        const bool last = i + 1 == m.params.size();
        if (last && (p.empty() || p.front() == ':' || p.find(' ') != std::string::npos)) out += ':';
        out += p;
    }
    return out;
}

/// Cuts text into pieces of at most max_bytes, never inside a UTF-8
/// sequence (a piece ends before a continuation byte), preferring the last
/// space of a piece when there is one in its second half. Every byte of text
/// is in exactly one piece (a cut at a space keeps the space at the end of
/// its piece). max_bytes below 4 is taken as 4. fn(piece) is called once per
/// piece, in order; once with an empty piece for empty text.
template <class Fn>
void for_each_utf8_piece(std::string_view text, std::size_t max_bytes, Fn&& fn) {
    if (max_bytes < 4) max_bytes = 4;
    if (text.empty()) return fn(text);
    while (text.size() > max_bytes) {
        std::size_t cut = max_bytes;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
        if (cut == 0) cut = max_bytes; // not UTF-8 at all: cut where the limit is
        const std::size_t space = text.substr(0, cut).rfind(' ');
        if (space != std::string_view::npos && space + 1 > cut / 2) cut = space + 1;
        fn(text.substr(0, cut));
        text.remove_prefix(cut);
    }
    if (!text.empty()) fn(text);
}

/// The first piece for_each_utf8_piece would give (split_utf8(...).front()),
/// with no vector: a numeric's text cut to fit its line.
inline std::string_view first_utf8_piece(std::string_view text, std::size_t max_bytes) {
    std::string_view first;
    bool got = false;
    for_each_utf8_piece(text, max_bytes, [&](std::string_view piece) {
        if (!got) first = piece;
        got = true;
    });
    return first;
}

/// The pieces of for_each_utf8_piece as a vector (one empty piece for empty text).
inline std::vector<std::string_view> split_utf8(std::string_view text, std::size_t max_bytes) {
    std::vector<std::string_view> pieces;
    for_each_utf8_piece(text, max_bytes, [&](std::string_view piece) { pieces.push_back(piece); });
    return pieces;
}

} // namespace chatroom::irc
