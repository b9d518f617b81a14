#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace chatroom::detail {

// Validates UTF-8 (RFC 3629) fed in pieces of any size, so a code point may be
// split across WebSocket fragments or reads. Rejects overlong forms,
// surrogates (U+D800..U+DFFF), code points above U+10FFFF and stray or
// missing continuation bytes. An error is reported at the first byte that
// makes the text invalid, without waiting for the end of the message, which
// RFC 6455 section 8.1 asks of an endpoint ("fail fast"); a sequence cut short
// at the end shows up only in complete().
class utf8_validator {
public:
    // Returns false once the text seen so far cannot be the start of valid
    // UTF-8; the validator stays failed until reset().
    bool feed(const char* data, std::size_t size) noexcept {
        if (failed_) return false;
        const auto* p = reinterpret_cast<const unsigned char*>(data);
        const unsigned char* const end = p + size;
        while (p < end) {
            if (need_ == 0) {
                // Chat text is mostly ASCII: skip it eight bytes at a time.
                while (end - p >= 8) {
                    std::uint64_t v;
                    std::memcpy(&v, p, 8);
                    if (v & 0x8080808080808080u) break;
                    p += 8;
                }
                if (p == end) break;
                const unsigned char c = *p++;
                if (c < 0x80) continue;
                if (c < 0xC2) return fail(); // continuation byte, or C0/C1 (overlong two-byte)
                if (c < 0xE0) {
                    need_ = 1;
                } else if (c < 0xF0) {
                    need_ = 2;
                    if (c == 0xE0) lo_ = 0xA0;      // overlong three-byte
                    else if (c == 0xED) hi_ = 0x9F; // surrogates
                } else if (c < 0xF5) {
                    need_ = 3;
                    if (c == 0xF0) lo_ = 0x90;      // overlong four-byte
                    else if (c == 0xF4) hi_ = 0x8F; // above U+10FFFF
                } else {
                    return fail();
                }
            } else {
                const unsigned char c = *p++;
                if (c < lo_ || c > hi_) return fail();
                // Only the first continuation byte has a narrowed range.
                lo_ = 0x80;
                hi_ = 0xBF;
                --need_;
            }
        }
        return true;
    }

    bool feed(std::string_view s) noexcept { return feed(s.data(), s.size()); }

    // True when everything fed is valid UTF-8 ending on a code point boundary.
    bool complete() const noexcept { return !failed_ && need_ == 0; }

    bool failed() const noexcept { return failed_; }

    void reset() noexcept { *this = utf8_validator(); }

    // Whole-string convenience.
    static bool valid(std::string_view s) noexcept {
        utf8_validator v;
        return v.feed(s) && v.complete();
    }

private:
    bool fail() noexcept {
        failed_ = true;
        return false;
    }

    unsigned char need_ = 0; // continuation bytes still expected
    unsigned char lo_ = 0x80, hi_ = 0xBF; // allowed range of the next continuation byte
    bool failed_ = false;
};

} // namespace chatroom::detail
