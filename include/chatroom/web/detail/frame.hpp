#pragma once

#include <cstdint>

// The server side of RFC 6455 framing, without I/O: a decoder for what
// clients send (frame_decoder.hpp) and encoders for what the server sends
// (frame_encoder.hpp). The session owns the socket and the buffers; these
// only turn bytes into events and back. Here: what both speak of.

namespace chatroom::detail {

enum class ws_opcode : unsigned char {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

// Close status codes (RFC 6455 section 7.4.1) that this code uses.
namespace ws_close {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005; // never on the wire: "the close frame had no code"
inline constexpr std::uint16_t abnormal = 1006;  // never on the wire: "the connection dropped"
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t tls_handshake = 1015; // never on the wire
} // namespace ws_close

// Whether a code may appear in a close frame: the codes RFC 6455 defines for
// use on the wire, those registered with IANA since (1012-1014), and the
// ranges for libraries (3000-3999) and applications (4000-4999).
constexpr bool is_wire_close_code(std::uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

constexpr bool is_control(ws_opcode op) noexcept { return (static_cast<unsigned char>(op) & 0x8) != 0; }

} // namespace chatroom::detail
