#pragma once

// The fuzzers' own judge of "clean text", written independently of the
// library's sanitize_append / is_clean_text so that a bug there cannot hide
// itself: it decodes each code point and then judges it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fuzz {

// Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
// holding no C0 control but TAB, no DEL and no C1 control.
inline bool strictly_clean(std::string_view s) {
    static constexpr std::uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned b0 = static_cast<unsigned char>(s[i]);
        std::size_t len;
        std::uint32_t cp;
        if (b0 < 0x80) {
            len = 1;
            cp = b0;
        } else if ((b0 & 0xE0) == 0xC0) {
            len = 2;
            cp = b0 & 0x1F;
        } else if ((b0 & 0xF0) == 0xE0) {
            len = 3;
            cp = b0 & 0x0F;
        } else if ((b0 & 0xF8) == 0xF0) {
            len = 4;
            cp = b0 & 0x07;
        } else {
            return false;
        }
        if (s.size() - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const unsigned b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3F);
        }
        if (cp < least[len]) return false;              // overlong
        if (cp > 0x10FFFF) return false;                // beyond Unicode
        if (cp >= 0xD800 && cp <= 0xDFFF) return false; // surrogate
        if (cp < 0x20 && cp != '\t') return false;      // C0 control
        if (cp >= 0x7F && cp <= 0x9F) return false;     // DEL, C1 control
        i += len;
    }
    return true;
}

// True when s is clean text cut short: strictly clean, or clean up to a last
// code point whose bytes so far begin some clean code point.
inline bool clean_prefix(std::string_view s) {
    if (strictly_clean(s)) return true;
    for (std::size_t cut = 1; cut <= 3 && cut <= s.size(); ++cut) {
        if (!strictly_clean(s.substr(0, s.size() - cut))) continue;
        for (char pad : {'\x80', '\xBF'}) {
            std::string whole(s.substr(s.size() - cut));
            for (int k = 0; k < 3; ++k) {
                whole += pad;
                if (strictly_clean(whole)) return true;
            }
        }
    }
    return false;
}

inline std::string hex(std::string_view s, std::size_t limit = 512) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (i) out += ' ';
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    if (s.size() > limit) out += " ...";
    return out;
}

} // namespace fuzz
