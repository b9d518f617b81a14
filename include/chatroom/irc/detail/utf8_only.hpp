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
// controls too), or 0 when the bytes there are none: not a lead byte, an
// overlong form, a surrogate, past U+10FFFF, or cut short; then *bad is the
// length of that broken piece (what one U+FFFD stands for).
inline std::size_t utf8_char(const unsigned char* p, const unsigned char* end, std::size_t* bad) noexcept {
    const unsigned char lead = *p;
    if (lead < 0x80) return 1;
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) len = 2;
    else if (lead == 0xE0) { len = 3; lo = 0xA0; }
    else if (lead >= 0xE1 && lead <= 0xEC) len = 3;
    else if (lead == 0xED) { len = 3; hi = 0x9F; }
    else if (lead >= 0xEE && lead <= 0xEF) len = 3;
    else if (lead == 0xF0) { len = 4; lo = 0x90; }
    else if (lead >= 0xF1 && lead <= 0xF3) len = 4;
    else if (lead == 0xF4) { len = 4; hi = 0x8F; }
    std::size_t got = 1;
    while (len != 0 && got < len && p + got < end) {
        const unsigned char c = p[got];
        if (c < (got == 1 ? lo : 0x80) || c > (got == 1 ? hi : 0xBF)) break;
        ++got;
    }
    if (len != 0 && got == len) return len;
    *bad = got;
    return 0;
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
// sanitizing of each command), no longer than it was: cut at a character's
// boundary when the replacements made it longer, so no bound on what was
// read grows.
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
    std::size_t cut = out.size() > s.size() ? s.size() : out.size();
    while (cut < out.size() && cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
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
