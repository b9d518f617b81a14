#pragma once

#include <cstddef>
#include <string>
#include <string_view>

// The server side of telnet (RFC 854, 855, 856, 860, 1143), as line_framer
// uses it on its slow path: what to answer, and the byte-level repairs that
// BSD telnet clients need. Nothing here runs for input without IAC bytes.
namespace chatroom::detail::telnet {

// Commands (RFC 854) and the options this server has an opinion about.
inline constexpr unsigned char se = 240, nop = 241, data_mark = 242, brk = 243, ip = 244, ao = 245, ayt = 246,
                               ec = 247, el = 248, ga = 249, sb = 250, will = 251, wont = 252, do_ = 253, dont = 254,
                               iac = 255;
inline constexpr unsigned char susp = 237;
inline constexpr unsigned char opt_binary = 0, opt_timing_mark = 6;

// The visible answer to Are You There: a notice line, like the server's own.
inline constexpr std::string_view ayt_reply = "* yes, still here\r\n";

// The most reply bytes `fed` input bytes can cause in one feed: an AYT (two
// bytes) is answered with ayt_reply every time, every other answer is at most
// as long as what it answers, and a command whose IAC came in an earlier feed
// and the one-time BINARY offer add a constant. The peer's output queue limit
// bounds the rest.
constexpr std::size_t max_reply_bytes(std::size_t fed) noexcept {
    return fed * ((ayt_reply.size() + 1) / 2) + ayt_reply.size() + 6;
}

// Bytes a UTF-8 sequence starting with lead announces, 0 for a byte that
// cannot start one (ASCII counts as 1).
constexpr std::size_t utf8_length(unsigned char lead) noexcept {
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}

constexpr bool is_continuation(unsigned char c) noexcept { return (c & 0xC0) == 0x80; }

// True when s ends inside a UTF-8 sequence: a lead byte followed by fewer
// continuation bytes than it announces.
constexpr bool ends_inside_utf8(std::string_view s) noexcept {
    std::size_t tail = 0;
    while (tail < 3 && tail < s.size() && is_continuation(static_cast<unsigned char>(s[s.size() - 1 - tail]))) ++tail;
    if (tail == s.size()) return false;
    const std::size_t need = utf8_length(static_cast<unsigned char>(s[s.size() - 1 - tail]));
    return need > 1 && tail + 1 < need;
}

// Bytes of the last character of s, what erase-character removes: a UTF-8
// sequence with its lead byte (also one cut short), else a single byte.
constexpr std::size_t last_character_bytes(std::string_view s) noexcept {
    if (s.empty()) return 0;
    std::size_t tail = 0;
    while (tail < 3 && tail < s.size() && is_continuation(static_cast<unsigned char>(s[s.size() - 1 - tail]))) ++tail;
    if (tail == s.size()) return 1;
    const std::size_t need = utf8_length(static_cast<unsigned char>(s[s.size() - 1 - tail]));
    return need > 1 && tail < need ? tail + 1 : 1;
}

// Before BINARY, inetutils telnet compares each typed byte with bit 7 cleared
// against its control keys, so a UTF-8 continuation byte 0x83 (^C), 0x8f
// (^O), 0x9c (^\) or 0x9a (^Z) leaves as IP, AO, BRK or SUSP. Inside a UTF-8
// sequence such a command can only be that byte; it is 0 for other commands.
constexpr unsigned char mistaken_byte(unsigned char command) noexcept {
    switch (command) {
    case ip: return 0x83;
    case ao: return 0x8f;
    case brk: return 0x9c;
    case susp: return 0x9a;
    default: return 0;
    }
}

// Option negotiation for one connection, with RFC 1143's Q method. The
// server wants exactly one option, BINARY, in both directions, and offers it
// once, when the peer shows it speaks telnet (its first command). Every other
// option is refused; since the server never wants them, their state on both
// sides is NO for good and is not stored. Not storing it is also what keeps
// an IAC DONT x from ever being answered (no loops). TIMING-MARK is answered
// WILL every time it is asked: it is a one-shot marker, and BSD telnets
// discard all output after Ctrl-C until the answer comes, so recording it as
// "on" would freeze them at the second Ctrl-C.
class negotiation {
public:
    // The one-time offer; does nothing after the first call.
    void begin(std::string& out) {
        if (begun_) return;
        begun_ = true;
        out += {static_cast<char>(iac), static_cast<char>(do_), static_cast<char>(opt_binary)};
        out += {static_cast<char>(iac), static_cast<char>(will), static_cast<char>(opt_binary)};
        peer_ = side::wantyes;
        ours_ = side::wantyes;
    }

    bool begun() const noexcept { return begun_; }

    // The peer sends BINARY data (it said WILL BINARY and the server agreed).
    bool peer_binary() const noexcept { return peer_ == side::yes; }
    // The server may send BINARY data (the peer said DO BINARY).
    bool our_binary() const noexcept { return ours_ == side::yes; }

    // IAC verb option from the peer; appends the answer, if any, to out.
    void receive(unsigned char verb, unsigned char option, std::string& out) {
        switch (verb) {
        case will: // the peer offers to enable its side
            if (option != opt_binary) return send(out, dont, option);
            if (peer_ == side::no) send(out, do_, option);
            peer_ = side::yes; // from wantyes: our request accepted, not answered again
            return;
        case wont: // the peer's side is off, or refuses our request
            if (option != opt_binary) return;
            if (peer_ == side::yes) send(out, dont, option);
            peer_ = side::no;
            return;
        case do_: // the peer asks the server to enable its side
            if (option == opt_timing_mark) return send(out, will, option);
            if (option != opt_binary) return send(out, wont, option);
            if (ours_ == side::no) send(out, will, option);
            ours_ = side::yes;
            return;
        case dont:
            if (option != opt_binary) return;
            if (ours_ == side::yes) send(out, wont, option);
            ours_ = side::no;
            return;
        default: return;
        }
    }

private:
    // RFC 1143's states for one side of BINARY. WANTNO and the queue bit are
    // not needed: the server never asks to disable anything, and never asks
    // again while a request is pending.
    enum class side : unsigned char { no, wantyes, yes };

    static void send(std::string& out, unsigned char verb, unsigned char option) {
        out += {static_cast<char>(iac), static_cast<char>(verb), static_cast<char>(option)};
    }

    side peer_ = side::no;
    side ours_ = side::no;
    bool begun_ = false;
};

} // namespace chatroom::detail::telnet
