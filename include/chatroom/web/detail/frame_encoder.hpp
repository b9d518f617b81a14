#pragma once

#include <chatroom/web/detail/frame.hpp>
#include <chatroom/web/detail/utf8_validator.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// What the server sends, encoded without I/O (frame.hpp says more): server
// to client, frames are never masked.

namespace chatroom::detail {

// A frame header, sent in one gather write before a payload that stays where
// it is (the shared message buffer), so no payload is copied per recipient.
struct ws_frame_header {
    std::array<unsigned char, 10> bytes{};
    std::size_t length = 0;

    const unsigned char* data() const noexcept { return bytes.data(); }
    std::size_t size() const noexcept { return length; }
};

// A 2, 4 or 10 byte header, the minimal form for payload_size.
inline ws_frame_header frame_header(ws_opcode op, std::uint64_t payload_size, bool fin = true) noexcept {
    ws_frame_header h;
    h.bytes[0] = static_cast<unsigned char>((fin ? 0x80 : 0x00) | static_cast<unsigned char>(op));
    if (payload_size < 126) {
        h.bytes[1] = static_cast<unsigned char>(payload_size);
        h.length = 2;
    } else if (payload_size <= 0xFFFF) {
        h.bytes[1] = 126;
        h.bytes[2] = static_cast<unsigned char>(payload_size >> 8);
        h.bytes[3] = static_cast<unsigned char>(payload_size);
        h.length = 4;
    } else {
        h.bytes[1] = 127;
        for (std::size_t i = 0; i < 8; ++i) h.bytes[2 + i] = static_cast<unsigned char>(payload_size >> (56 - 8 * i));
        h.length = 10;
    }
    return h;
}

// A text frame holding the line a + b: its size, and writing it at out (the
// renderers' framing: web_renderer, json_renderer). Returns the end.
inline std::size_t text_frame_size(std::size_t n) noexcept { return frame_header(ws_opcode::text, n).size() + n; }
inline char* write_text_frame(char* out, std::string_view a, std::string_view b) noexcept {
    const ws_frame_header h = frame_header(ws_opcode::text, a.size() + b.size());
    std::memcpy(out, h.data(), h.size());
    out += h.size();
    if (!a.empty()) std::memcpy(out, a.data(), a.size());
    out += a.size();
    if (!b.empty()) std::memcpy(out, b.data(), b.size());
    return out + b.size();
}

// A whole control frame (header and at most 125 bytes of payload), small
// enough to live in the session rather than on the heap.
struct ws_control_frame {
    std::array<unsigned char, 2 + 125> bytes{};
    std::size_t length = 0;

    const unsigned char* data() const noexcept { return bytes.data(); }
    std::size_t size() const noexcept { return length; }
    std::string_view view() const noexcept { return {reinterpret_cast<const char*>(bytes.data()), length}; }
};

namespace ws_detail {
inline ws_control_frame control_frame(ws_opcode op, std::string_view prefix, std::string_view payload) noexcept {
    ws_control_frame f;
    const std::size_t n = prefix.size() + payload.size();
    f.bytes[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned char>(op));
    f.bytes[1] = static_cast<unsigned char>(n);
    if (!prefix.empty()) std::memcpy(f.bytes.data() + 2, prefix.data(), prefix.size());
    if (!payload.empty()) std::memcpy(f.bytes.data() + 2 + prefix.size(), payload.data(), payload.size());
    f.length = 2 + n;
    return f;
}

// The longest prefix of s of at most max bytes that does not end inside a
// UTF-8 sequence (s is assumed valid).
inline std::string_view utf8_prefix(std::string_view s, std::size_t max) noexcept {
    if (s.size() <= max) return s;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
}
} // namespace ws_detail

// A close frame. The codes that must never be sent are not: no_status (1005,
// what the decoder reports when the peer's close had no code) gives a close
// frame without a body, which is the right echo of such a close; any other
// code not allowed on the wire (1006, 1015, unassigned ones) becomes 1011,
// since asking for it is a bug here, not the peer's doing. The reason is cut
// to the 123 bytes that fit, at a character boundary, and dropped when it is
// not UTF-8 (the peer would fail the connection over it).
inline ws_control_frame close_frame(std::uint16_t code, std::string_view reason = {}) noexcept {
    if (code == ws_close::no_status) return ws_detail::control_frame(ws_opcode::close, {}, {});
    if (!is_wire_close_code(code)) code = ws_close::internal_error;
    if (!utf8_validator::valid(reason)) reason = {};
    const char be[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    return ws_detail::control_frame(ws_opcode::close, std::string_view(be, 2), ws_detail::utf8_prefix(reason, 123));
}

// Ping and pong payloads are cut to the 125 bytes a control frame allows.
inline ws_control_frame ping_frame(std::string_view payload = {}) noexcept {
    return ws_detail::control_frame(ws_opcode::ping, {}, payload.substr(0, 125));
}

inline ws_control_frame pong_frame(std::string_view payload = {}) noexcept {
    return ws_detail::control_frame(ws_opcode::pong, {}, payload.substr(0, 125));
}

// A masked frame as a client sends it: for tests, fuzzers and clients.
inline std::string client_frame(ws_opcode op, std::string_view payload, std::array<unsigned char, 4> mask,
                                bool fin = true) {
    const ws_frame_header h = frame_header(op, payload.size(), fin);
    std::string out(reinterpret_cast<const char*>(h.data()), h.size());
    out[1] = static_cast<char>(static_cast<unsigned char>(out[1]) | 0x80);
    out.append(reinterpret_cast<const char*>(mask.data()), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out += static_cast<char>(static_cast<unsigned char>(payload[i]) ^ mask[i & 3]);
    return out;
}

} // namespace chatroom::detail
