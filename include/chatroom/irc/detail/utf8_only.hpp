#pragma once

// UTF8ONLY (IRCv3, advertised in 005): nothing a client sends reaches anyone
// as anything but UTF-8. The text of PRIVMSG, NOTICE, TOPIC, AWAY, PART,
// KICK, QUIT and USER is sanitized where it is read (invalid UTF-8 becomes
// U+FFFD, core/sanitize.hpp); a line holding invalid UTF-8 anywhere (a tag,
// a target echoed in a numeric) has every field repaired so, once parsed, and
// its sender is told WARN <command> INVALID_UTF8 (the interpreter).

#include <chatroom/core/sanitize.hpp>
#include <chatroom/irc/message.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::irc::detail {

// The length of the valid UTF-8 character at p (1 for any ASCII byte,
// controls too), or 0 when the bytes there are none (then *bad is the
// length of that broken piece): the sanitizer's own decoder.
inline std::size_t utf8_char(const unsigned char* p, const unsigned char* end, std::size_t* bad) noexcept {
    return *p < 0x80 ? 1 : chatroom::detail::utf8_sequence(p, end, *bad);
}

// Whether s is valid UTF-8 (runs of printable ASCII skipped whole).
inline bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        p = chatroom::detail::plain_ascii_end(p, end);
        if (p == end) break;
        std::size_t bad = 0;
        const std::size_t n = utf8_char(p, end, &bad);
        if (n == 0) return false;
        p += n;
    }
    return true;
}

// s with each broken piece replaced by U+FFFD (controls are left to the
// sanitizing of each command). It may grow (one byte to three): each
// field is bounded where it is used (names are checked, text is split to
// lines by the renderers, client tags held to their limit), and cutting it
// back would lose what the sender wrote after a Latin-1 accent.
inline void repair_utf8(std::string& s) {
    if (valid_utf8(s)) return;
    std::string out;
    out.reserve(s.size() + 8);
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        std::size_t bad = 0;
        const std::size_t n = utf8_char(p, end, &bad);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            p += bad;
            continue;
        }
        out.append(reinterpret_cast<const char*>(p), n);
        p += n;
    }
    s = std::move(out);
}

// Every field of msg repaired (repair_utf8), but a tag whose key is not
// UTF-8 is dropped: a repaired key would be another key.
inline void repair_utf8(irc_message& msg) {
    std::vector<tag> kept;
    for (tag& t : msg.tags) {
        if (!valid_utf8(t.key)) continue;
        repair_utf8(t.value);
        kept.push_back(std::move(t));
    }
    msg.tags = std::move(kept);
    repair_utf8(msg.source);
    for (std::string& p : msg.params) repair_utf8(p);
}

} // namespace chatroom::irc::detail
