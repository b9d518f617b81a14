#pragma once

// The fuzzers' own judge of "clean text", written independently of the
// library's sanitize_append / is_clean_text so that a bug there cannot hide
// itself: it decodes each code point and then judges it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The harnesses' own checking code is left out of libFuzzer's coverage
// feedback: its branches say nothing about the library and would only make
// the fuzzer keep inputs for them (and run slower). Only for functions that
// inline no library code, which would lose its instrumentation too.
#if defined(__clang__) && __clang_major__ >= 13
#define FUZZ_UNINSTRUMENTED __attribute__((no_sanitize("coverage"), noinline))
#else
#define FUZZ_UNINSTRUMENTED
#endif

namespace fuzz {

// Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
// holding no C0 control but TAB, no DEL, no C1 control, no bidi embedding,
// override or isolate, no zero width space or non-joiner, no BOM, and no
// zero width joiner but right after an emoji (a four-byte character or the
// presentation selector U+FE0F), where it joins an emoji sequence.
FUZZ_UNINSTRUMENTED inline bool strictly_clean(std::string_view s) {
    static constexpr std::uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    std::size_t i = 0;
    bool after_emoji = false;
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
        if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return false; // bidi
        if (cp == 0x200B || cp == 0x200C || cp == 0xFEFF) return false; // zero width, BOM
        if (cp == 0x200D && !after_emoji) return false;                 // a joiner with nothing to join
        after_emoji = cp >= 0x10000 || cp == 0xFE0F;
        i += len;
    }
    return true;
}

// True when s is clean text cut short: strictly clean, or clean up to a last
// code point whose bytes so far begin some clean code point.
FUZZ_UNINSTRUMENTED inline bool clean_prefix(std::string_view s) {
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

// What docs/protocol.md says sanitizing does, written as the WHATWG UTF-8
// decoder: one U+FFFD for each maximal invalid subpart (stray continuation
// bytes, overlong forms, surrogates, code points above U+10FFFF, truncated
// sequences), then C0 controls but TAB, DEL and C1 controls are dropped.
FUZZ_UNINSTRUMENTED inline std::string reference_sanitize(std::string_view in) {
    std::string out;
    bool after_emoji = false; // the last character, kept or not, was a kept emoji (four bytes, or U+FE0F)
    auto emit = [&out, &after_emoji](std::uint32_t cp) {
        const bool joins = after_emoji;
        after_emoji = false;
        if ((cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F)) return;
        // Invisible characters that reorder or disguise text; the zero width
        // joiner stays right after an emoji.
        if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200B || cp == 0x200C ||
            cp == 0xFEFF || (cp == 0x200D && !joins))
            return;
        after_emoji = cp >= 0x10000 || cp == 0xFE0F;
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    };
    std::uint32_t cp = 0;
    int needed = 0, seen = 0;
    unsigned lower = 0x80, upper = 0xBF;
    std::size_t i = 0;
    while (i < in.size()) {
        const unsigned b = static_cast<unsigned char>(in[i]);
        if (needed == 0) {
            ++i;
            if (b < 0x80) {
                emit(b);
            } else if (b >= 0xC2 && b <= 0xDF) {
                needed = 1;
                cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0) lower = 0xA0;
                if (b == 0xED) upper = 0x9F;
                needed = 2;
                cp = b & 0x0F;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0) lower = 0x90;
                if (b == 0xF4) upper = 0x8F;
                needed = 3;
                cp = b & 0x07;
            } else {
                emit(0xFFFD);
            }
            continue;
        }
        if (b < lower || b > upper) { // the subpart ends here; b starts afresh
            cp = 0;
            needed = seen = 0;
            lower = 0x80;
            upper = 0xBF;
            emit(0xFFFD);
            continue;
        }
        ++i;
        lower = 0x80;
        upper = 0xBF;
        cp = (cp << 6) | (b & 0x3F);
        if (++seen == needed) {
            emit(cp);
            cp = 0;
            needed = seen = 0;
        }
    }
    if (needed != 0) emit(0xFFFD); // truncated at the end
    return out;
}

FUZZ_UNINSTRUMENTED inline std::string hex(std::string_view s, std::size_t limit = 512) {
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
