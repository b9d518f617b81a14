#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// SHA-1 (FIPS 180-4) and base64 (RFC 4648), only as much as the WebSocket
// handshake needs to compute Sec-WebSocket-Accept. SHA-1 is not used for
// anything where collision resistance matters: RFC 6455 uses it only to prove
// that the server understood the handshake, so a small portable version here
// keeps the web listener free of an OpenSSL dependency when TLS is off.

namespace chatroom::detail {

using sha1_digest = std::array<unsigned char, 20>;

class sha1 {
public:
    void update(const void* data, std::size_t size) noexcept {
        const auto* p = static_cast<const unsigned char*>(data);
        total_bytes_ += size;
        while (size > 0) {
            const std::size_t take = size < 64 - fill_ ? size : 64 - fill_;
            for (std::size_t i = 0; i < take; ++i) block_[fill_ + i] = p[i];
            fill_ += take;
            p += take;
            size -= take;
            if (fill_ == 64) {
                compress();
                fill_ = 0;
            }
        }
    }

    void update(std::string_view s) noexcept { update(s.data(), s.size()); }

    // Pads, finishes and returns the digest; the object is spent afterwards
    // (call reset() to hash something else).
    sha1_digest finish() noexcept {
        const std::uint64_t bits = total_bytes_ * 8;
        block_[fill_++] = 0x80;
        if (fill_ > 56) {
            while (fill_ < 64) block_[fill_++] = 0;
            compress();
            fill_ = 0;
        }
        while (fill_ < 56) block_[fill_++] = 0;
        for (int i = 7; i >= 0; --i) block_[fill_++] = static_cast<unsigned char>(bits >> (8 * i));
        compress();
        fill_ = 0;
        sha1_digest out{};
        for (std::size_t i = 0; i < 5; ++i) {
            out[4 * i] = static_cast<unsigned char>(h_[i] >> 24);
            out[4 * i + 1] = static_cast<unsigned char>(h_[i] >> 16);
            out[4 * i + 2] = static_cast<unsigned char>(h_[i] >> 8);
            out[4 * i + 3] = static_cast<unsigned char>(h_[i]);
        }
        return out;
    }

    void reset() noexcept { *this = sha1(); }

private:
    static constexpr std::uint32_t rotl(std::uint32_t v, int n) noexcept { return (v << n) | (v >> (32 - n)); }

    void compress() noexcept {
        std::uint32_t w[80];
        for (std::size_t i = 0; i < 16; ++i)
            w[i] = std::uint32_t{block_[4 * i]} << 24 | std::uint32_t{block_[4 * i + 1]} << 16 |
                   std::uint32_t{block_[4 * i + 2]} << 8 | std::uint32_t{block_[4 * i + 3]};
        for (std::size_t i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
        for (std::size_t i = 0; i < 80; ++i) {
            std::uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            const std::uint32_t t = rotl(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rotl(b, 30);
            b = a;
            a = t;
        }
        h_[0] += a;
        h_[1] += b;
        h_[2] += c;
        h_[3] += d;
        h_[4] += e;
    }

    std::uint32_t h_[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    unsigned char block_[64] = {};
    std::size_t fill_ = 0;
    std::uint64_t total_bytes_ = 0;
};

inline sha1_digest sha1_of(std::string_view s) noexcept {
    sha1 h;
    h.update(s);
    return h.finish();
}

// Standard alphabet, with '=' padding.
inline std::string base64_encode(const unsigned char* data, std::size_t size) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((size + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        const std::uint32_t v = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8 | data[i + 2];
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (size - i == 1) {
        const std::uint32_t v = std::uint32_t{data[i]} << 16;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += "==";
    } else if (size - i == 2) {
        const std::uint32_t v = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

inline std::string base64_encode(std::string_view s) {
    return base64_encode(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

// Length in bytes of what a base64 text decodes to, or -1 when it is not
// padded base64 of the standard alphabet. Used to check that a
// Sec-WebSocket-Key is a 16-byte nonce without decoding it.
inline long base64_decoded_size(std::string_view s) noexcept {
    if (s.size() % 4 != 0) return -1;
    std::size_t pad = 0;
    if (!s.empty() && s.back() == '=') ++pad;
    if (s.size() >= 2 && s[s.size() - 2] == '=') ++pad;
    for (std::size_t i = 0; i < s.size() - pad; ++i) {
        const char c = s[i];
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!ok) return -1;
    }
    return static_cast<long>(s.size() / 4 * 3 - pad);
}

} // namespace chatroom::detail
