#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>
#define CHATROOM_SANITIZE_SSE2 1
#endif

namespace chatroom {

namespace detail {

// Invisible characters that change how the text around them is shown:
// the bidi embeddings and overrides U+202A..U+202E and isolates
// U+2066..U+2069 (they reorder what others read, "Trojan Source"), the zero
// width space and non-joiner U+200B, U+200C and the byte order mark U+FEFF
// (they hide inside look-alike words). p points at a valid three-byte
// sequence. The zero width joiner U+200D is one too, except right after an
// emoji (a four-byte character or the emoji presentation selector U+FE0F),
// where it joins emoji sequences such as a person and a laptop.
inline bool is_invisible_format(const unsigned char* p, bool after_emoji) noexcept {
    if (p[0] == 0xE2 && p[1] == 0x80) {
        if (p[2] == 0x8D) return !after_emoji;
        return p[2] == 0x8B || p[2] == 0x8C || (p[2] >= 0xAA && p[2] <= 0xAE);
    }
    if (p[0] == 0xE2 && p[1] == 0x81) return p[2] >= 0xA6 && p[2] <= 0xA9;
    return p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF;
}

// The first byte at or after p that is not printable ASCII (0x20..0x7E) or
// TAB; end when there is none. Sixteen bytes at a time with SSE2 (below);
// elsewhere, and for lines under 16 bytes, eight bytes at a time: a word with no byte
// below 0x20, no byte of 0x7F and none at or above 0x80 is skipped whole
// (the classic has-less / has-zero bit tests); a word that fails is looked at
// byte by byte, so TAB, allowed, costs only its own word.
inline const unsigned char* plain_ascii_end(const unsigned char* p, const unsigned char* end) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    auto plain = [](unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\t'; };
#if defined(CHATROOM_SANITIZE_SSE2)
    // Sixteen bytes at a time where SSE2 is there (every x86-64): a byte is
    // plain when, taken as signed, it is above 0x1F and below 0x7F (bytes
    // from 0x80 are negative). A line of 16 bytes or more ends with one
    // overlapping load of its last 16, the bytes already seen masked off.
    if (end - p >= 16) {
        const __m128i above = _mm_set1_epi8(0x1F), below = _mm_set1_epi8(0x7F);
        const unsigned char* const last = end - 16;
        while (p < end) {
            const unsigned char* base = p <= last ? p : last;
            // Opaque to the compiler: g++ -Warray-bounds otherwise flags this load in
            // code it inlines for an object under 16 bytes, where it never runs.
            __asm__("" : "+r"(base));
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base));
            const __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, above), _mm_cmplt_epi8(v, below));
            const unsigned seen = static_cast<unsigned>(p - base); // 0, or the overlap of the last load
            const unsigned odd = (~static_cast<unsigned>(_mm_movemask_epi8(ok)) & 0xFFFFu) >> seen << seen;
            if (odd == 0) {
                p = base + 16;
                continue;
            }
            p = base + __builtin_ctz(odd);
            if (*p != '\t') return p;
            ++p;
        }
        return p;
    }
#endif
    while (end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        const std::uint64_t below_space = (w - 0x20 * ones) & ~w & highs;
        const std::uint64_t x7f = w ^ (0x7F * ones);
        const std::uint64_t del = (x7f - ones) & ~x7f & highs;
        if ((below_space | del | (w & highs)) == 0) {
            p += 8;
            continue;
        }
        for (const unsigned char* word_end = p + 8; p < word_end; ++p)
            if (!plain(*p)) return p;
    }
    while (p < end && plain(*p)) ++p;
    return p;
}

/// The length of the valid UTF-8 sequence that starts at p (its first byte
/// not ASCII), or 0 when there is none: not a lead byte, an overlong form, a
/// surrogate, past U+10FFFF, or cut short; then `broken` is how many bytes
/// the broken piece takes (the maximal valid prefix, what one U+FFFD stands
/// for).
inline std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end, std::size_t& broken) noexcept {
    // Expected length and the allowed range of the first continuation byte,
    // which rules out overlong forms, surrogates and > U+10FFFF.
    const unsigned char lead = *p;
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
    if (len == 0) { // not a lead byte
        broken = 1;
        return 0;
    }
    std::size_t got = 1;
    while (got < len && p + got < end) {
        const unsigned char c = p[got];
        if (c < (got == 1 ? lo : 0x80) || c > (got == 1 ? hi : 0xBF)) break;
        ++got;
    }
    if (got == len) return len;
    broken = got;
    return 0;
}

} // namespace detail

/// Turns one received line into text that is safe to show on anyone's terminal
/// or page: invalid UTF-8 becomes U+FFFD; C0 controls (except TAB), DEL and C1
/// controls are removed, so no client can put escape sequences on another's
/// screen; and so are the invisible characters that reorder or disguise text
/// (detail::is_invisible_format). Appends to out and returns the number of
/// bytes appended.
inline std::size_t sanitize_append(std::string& out, std::string_view in) {
    static constexpr char replacement[] = "\xEF\xBF\xBD"; // U+FFFD
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const auto* end = p + in.size();
    const std::size_t before = out.size();
    bool after_emoji = false; // the last character kept was a four-byte one or U+FE0F

    while (p < end) {
        // Runs of printable ASCII are copied in one go.
        const auto* run = p;
        p = detail::plain_ascii_end(p, end);
        if (p != run) {
            out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
            after_emoji = false;
        }
        if (p == end) break;

        const unsigned char lead = *p;
        const bool was_after_emoji = after_emoji;
        after_emoji = false;
        if (lead < 0x80) { // C0 control or DEL: dropped
            ++p;
            continue;
        }

        // A broken sequence becomes one U+FFFD.
        std::size_t broken = 0;
        const std::size_t len = detail::utf8_sequence(p, end, broken);
        if (len == 0) {
            out.append(replacement, 3);
            p += broken;
            continue;
        }
        // C1 controls U+0080..U+009F are encoded C2 80..C2 9F.
        const bool c1 = lead == 0xC2 && p[1] < 0xA0;
        const bool invisible = len == 3 && detail::is_invisible_format(p, was_after_emoji);
        if (!c1 && !invisible) {
            out.append(reinterpret_cast<const char*>(p), len);
            after_emoji = len == 4 || (len == 3 && p[0] == 0xEF && p[1] == 0xB8 && p[2] == 0x8F);
        }
        p += len;
    }
    return out.size() - before;
}

/// True when sanitize_append would copy the line unchanged: the common case,
/// which lets the hot path skip the copy.
inline bool is_plain_text(std::string_view in) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    return detail::plain_ascii_end(p, p + in.size()) == p + in.size();
}

/// A clean copy of in, as sanitize_append makes it.
inline std::string sanitize(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    sanitize_append(out, in);
    return out;
}

/// True when text is valid UTF-8 holding no C0 control but TAB, no DEL and no
/// C1 control: what every line the server sends must satisfy.
inline bool is_clean_text(std::string_view in) {
    std::string copy;
    sanitize_append(copy, in);
    return copy == in;
}

} // namespace chatroom
