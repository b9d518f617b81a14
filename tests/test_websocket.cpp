// The I/O-free half of the web listener: SHA-1 and base64 for the handshake,
// the UTF-8 validator, the RFC 6455 frame decoder and encoders, and the
// HTTP request-head parser with the WebSocket upgrade checks.

#include <chatroom/web.hpp> // the codecs are its detail/ parts

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

using namespace chatroom::detail;
using namespace std::string_literals;

namespace {

std::string hex(const sha1_digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char c : d) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

struct event {
    ws_event_kind kind;
    std::string payload;
    std::uint16_t code;
    bool operator==(const event& o) const { return kind == o.kind && payload == o.payload && code == o.code; }
};

std::ostream& operator<<(std::ostream& os, const event& e) {
    static const char* const names[] = {"text", "ping", "pong", "close", "error"};
    return os << names[static_cast<int>(e.kind)] << '(' << e.code << ", \"" << e.payload << "\")";
}

event text(std::string s) { return {ws_event_kind::text, std::move(s), 0}; }
event error(std::uint16_t code) { return {ws_event_kind::error, "", code}; }

// Feeds bytes in chunks of the given size (0: all at once) and collects the
// events; error descriptions are dropped so tests compare codes.
std::vector<event> decode(websocket_decoder& d, const std::string& bytes, std::size_t chunk = 0) {
    std::vector<event> out;
    auto on = [&](ws_event e) {
        out.push_back({e.kind, e.kind == ws_event_kind::error ? std::string() : std::string(e.payload), e.code});
        return true;
    };
    if (chunk == 0) chunk = bytes.empty() ? 1 : bytes.size();
    for (std::size_t i = 0; i < bytes.size() && !d.done(); i += chunk) {
        const std::string part = bytes.substr(i, chunk);
        const std::size_t used = d.feed(part.data(), part.size(), on);
        if (!d.done()) REQUIRE(used == part.size());
        CHECK(d.buffered() <= d.max_message_bytes() + 125 + 14);
    }
    return out;
}

std::vector<event> decode(const std::string& bytes, std::size_t max = 4096, std::size_t chunk = 0) {
    websocket_decoder d(max);
    return decode(d, bytes, chunk);
}

constexpr std::array<unsigned char, 4> key1{0x37, 0xfa, 0x21, 0x3d};
constexpr std::array<unsigned char, 4> key2{0x00, 0xff, 0x80, 0x01};

std::string masked(ws_opcode op, std::string_view payload, bool fin = true) { return client_frame(op, payload, key1, fin); }

// A masked frame whose first byte is set by hand (RSV bits, odd opcodes).
std::string with_first_byte(unsigned char b0, std::string_view payload) {
    std::string f = masked(ws_opcode::text, payload);
    f[0] = static_cast<char>(b0);
    return f;
}

// A masked frame header with a hand-made length field, and no payload.
std::string header_with_length(ws_opcode op, unsigned len7, std::uint64_t ext, std::size_t ext_bytes) {
    std::string h;
    h += static_cast<char>(0x80 | static_cast<unsigned>(op));
    h += static_cast<char>(0x80 | len7);
    for (std::size_t i = ext_bytes; i-- > 0;) h += static_cast<char>((ext >> (8 * i)) & 0xFF);
    h.append("\x01\x02\x03\x04", 4);
    return h;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xFF);
    p.append(reason.data(), reason.size());
    return p;
}

http_request_parser parse(const std::string& head, std::size_t chunk = 0, http_limits limits = {}) {
    http_request_parser p(limits);
    if (chunk == 0) chunk = head.empty() ? 1 : head.size();
    for (std::size_t i = 0; i < head.size() && p.status() == http_parse_status::needs_more; i += chunk)
        p.feed(head.substr(i, chunk));
    return p;
}

const std::string good_upgrade = "GET /ws HTTP/1.1\r\n"
                                 "Host: chat.example:8080\r\n"
                                 "Connection: keep-alive, Upgrade\r\n"
                                 "Pragma: no-cache\r\n"
                                 "Upgrade: websocket\r\n"
                                 "Origin: http://chat.example:8080\r\n"
                                 "Sec-WebSocket-Version: 13\r\n"
                                 "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                                 "\r\n";

// good_upgrade with one field line replaced (or removed when with is empty).
std::string upgrade_with(std::string_view field, std::string_view with) {
    std::string r = good_upgrade;
    const std::size_t at = r.find(std::string(field) + ":");
    REQUIRE(at != std::string::npos);
    const std::size_t eol = r.find("\r\n", at);
    r.replace(at, eol + 2 - at, with.empty() ? std::string() : std::string(with) + "\r\n");
    return r;
}

int upgrade_status(const std::string& head) {
    const http_request_parser p = parse(head);
    return check_websocket_upgrade(p).status;
}

} // namespace

// ---- SHA-1, base64, Sec-WebSocket-Accept --------------------------------------

TEST_CASE("SHA-1 gives the FIPS 180 and well-known test vectors", "[websocket][sha1]") {
    CHECK(hex(sha1_of("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(hex(sha1_of("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(hex(sha1_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    CHECK(hex(sha1_of("The quick brown fox jumps over the lazy dog")) == "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
    CHECK(hex(sha1_of(std::string(1000000, 'a'))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE("SHA-1 fed in pieces equals SHA-1 of the whole, across block and padding boundaries", "[websocket][sha1]") {
    for (std::size_t len : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 1000u}) {
        std::string s;
        for (std::size_t i = 0; i < len; ++i) s += static_cast<char>(i * 7 + 3);
        const sha1_digest whole = sha1_of(s);
        for (std::size_t piece : {1u, 3u, 64u}) {
            sha1 h;
            for (std::size_t i = 0; i < s.size(); i += piece) h.update(std::string_view(s).substr(i, piece));
            INFO("length " << len << ", pieces of " << piece);
            CHECK(h.finish() == whole);
        }
    }
    sha1 h;
    h.update("garbage");
    h.reset();
    h.update("abc");
    CHECK(hex(h.finish()) == "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST_CASE("base64 gives the RFC 4648 test vectors", "[websocket][base64]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode("\xff\xfe\xfd"s) == "//79");

    CHECK(base64_decoded_size("") == 0);
    CHECK(base64_decoded_size("Zg==") == 1);
    CHECK(base64_decoded_size("Zm8=") == 2);
    CHECK(base64_decoded_size("Zm9vYmFy") == 6);
    CHECK(base64_decoded_size("dGhlIHNhbXBsZSBub25jZQ==") == 16);
    CHECK(base64_decoded_size("Zm9") == -1);
    CHECK(base64_decoded_size("Zm9*") == -1);
    CHECK(base64_decoded_size("Z===") == -1);
    CHECK(base64_decoded_size("====") == -1);
    CHECK(base64_decoded_size("Zg=a") == -1);
}

TEST_CASE("Sec-WebSocket-Accept of the RFC 6455 example key", "[websocket][handshake]") {
    CHECK(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

// ---- UTF-8 -------------------------------------------------------------------

TEST_CASE("UTF-8 validator accepts valid text, including the edges of each range", "[websocket][utf8]") {
    for (const std::string& s : {""s, "plain ascii, long enough for the eight-byte path"s, "caf\xc3\xa9"s,
                                "\xe2\x82\xac"s, "\xf0\x9f\x98\x80"s, "\xc2\x80"s, "\xdf\xbf"s, "\xe0\xa0\x80"s,
                                "\xed\x9f\xbf"s, "\xee\x80\x80"s, "\xef\xbf\xbf"s, "\xf0\x90\x80\x80"s,
                                "\xf4\x8f\xbf\xbf"s, "\x00\x7f"s}) {
        INFO(s);
        CHECK(utf8_validator::valid(s));
    }
}

TEST_CASE("UTF-8 validator rejects overlongs, surrogates, code points past U+10FFFF and bad sequences", "[websocket][utf8]") {
    for (const std::string& s : {"\xc0\xaf"s, "\xc1\xbf"s, "\xe0\x80\xaf"s, "\xe0\x9f\xbf"s, "\xf0\x80\x80\xaf"s,
                                "\xf0\x8f\xbf\xbf"s, "\xed\xa0\x80"s, "\xed\xbf\xbf"s, "\xf4\x90\x80\x80"s,
                                "\xf5\x80\x80\x80"s, "\xff"s, "\xfe"s, "\x80"s, "abc\xbf"s, "\xc3("s, "\xe2\x82("s,
                                "\xf0\x9f\x98("s, "0123456789\xc3\xa9\xa9"s}) {
        INFO(s);
        utf8_validator v;
        CHECK_FALSE(v.feed(s));
        CHECK(v.failed());
        CHECK_FALSE(v.complete());
        CHECK_FALSE(v.feed("a"));
    }
}

TEST_CASE("UTF-8 validator works across pieces and reports a cut sequence only at the end", "[websocket][utf8]") {
    const std::string s = "x\xf0\x9f\x98\x80y\xe2\x82\xacz\xc3\xa9";
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
        utf8_validator v;
        CHECK(v.feed(s.substr(0, cut)));
        CHECK(v.feed(s.substr(cut)));
        CHECK(v.complete());
    }
    utf8_validator v;
    CHECK(v.feed("\xe2\x82"s));
    CHECK_FALSE(v.complete());
    CHECK_FALSE(v.failed());
    CHECK(v.feed("\xac"s));
    CHECK(v.complete());
    v.reset();
    CHECK(v.feed("\xf4"s));
    CHECK_FALSE(v.feed("\x90"s)); // the second byte is already out of range
}

// ---- frame decoder -------------------------------------------------------------

TEST_CASE("decoder gives masked text frames as unmasked messages", "[websocket][decoder]") {
    const std::string bytes = masked(ws_opcode::text, "hello") + client_frame(ws_opcode::text, "", key2) +
                              client_frame(ws_opcode::text, "caf\xc3\xa9 \xe2\x82\xac", key2);
    CHECK(decode(bytes) == std::vector<event>{text("hello"), text(""), text("caf\xc3\xa9 \xe2\x82\xac")});
}

TEST_CASE("decoder refuses unmasked client frames with 1002", "[websocket][decoder]") {
    const ws_frame_header h = frame_header(ws_opcode::text, 2);
    const std::string unmasked = std::string(reinterpret_cast<const char*>(h.data()), h.size()) + "hi";
    websocket_decoder d;
    CHECK(decode(d, unmasked) == std::vector<event>{error(1002)});
    CHECK(d.done());
    CHECK(d.error_code() == 1002);
}

TEST_CASE("decoder joins fragments, with control frames between them", "[websocket][decoder]") {
    const std::string bytes = masked(ws_opcode::text, "one ", false) + masked(ws_opcode::ping, "are you there") +
                              masked(ws_opcode::continuation, "two ", false) + masked(ws_opcode::pong, "p") +
                              masked(ws_opcode::continuation, "", false) + masked(ws_opcode::continuation, "three");
    const std::vector<event> expected{{ws_event_kind::ping, "are you there", 0},
                                      {ws_event_kind::pong, "p", 0},
                                      text("one two three")};
    websocket_decoder d;
    CHECK(decode(d, bytes.substr(0, bytes.size() - 3)) == std::vector<event>(expected.begin(), expected.end() - 1));
    CHECK(d.in_message());
    CHECK(decode(d, bytes.substr(bytes.size() - 3)) == std::vector<event>{expected.back()});
    CHECK_FALSE(d.in_message());
    CHECK(decode(bytes, 4096, 1) == expected);
}

TEST_CASE("decoder accepts a multi-byte character split across fragments", "[websocket][decoder][utf8]") {
    const std::string euro = "\xe2\x82\xac";
    const std::string bytes = masked(ws_opcode::text, "a\xe2", false) + masked(ws_opcode::continuation, "\x82", false) +
                              masked(ws_opcode::continuation, "\xac" "b");
    CHECK(decode(bytes) == std::vector<event>{text("a" + euro + "b")});
    const std::string emoji = "\xf0\x9f\x98\x80";
    for (std::size_t cut = 1; cut < emoji.size(); ++cut) {
        const std::string two = masked(ws_opcode::text, emoji.substr(0, cut), false) +
                                masked(ws_opcode::continuation, emoji.substr(cut));
        CHECK(decode(two) == std::vector<event>{text(emoji)});
    }
}

TEST_CASE("decoder fails invalid UTF-8 with 1007 at the first bad byte, even mid-message", "[websocket][decoder][utf8]") {
    CHECK(decode(masked(ws_opcode::text, "bad \xc0\xaf")) == std::vector<event>{error(1007)});
    CHECK(decode(masked(ws_opcode::text, "\xed\xa0\x80")) == std::vector<event>{error(1007)});
    // Known bad in the first fragment: no need to wait for the last one.
    websocket_decoder d;
    CHECK(decode(d, masked(ws_opcode::text, "ok \xf4\x90", false)) == std::vector<event>{error(1007)});
    // A character cut by the end of the message.
    CHECK(decode(masked(ws_opcode::text, "cut \xe2\x82")) == std::vector<event>{error(1007)});
    CHECK(decode(masked(ws_opcode::text, "cut \xe2", false) + masked(ws_opcode::continuation, "")) ==
          std::vector<event>{error(1007)});
    // Invalid only across the boundary.
    CHECK(decode(masked(ws_opcode::text, "\xe2\x82", false) + masked(ws_opcode::continuation, "x")) ==
          std::vector<event>{error(1007)});
}

TEST_CASE("decoder reports ping, pong and close", "[websocket][decoder]") {
    CHECK(decode(masked(ws_opcode::ping, "")) == std::vector<event>{{ws_event_kind::ping, "", 0}});
    CHECK(decode(masked(ws_opcode::ping, std::string(125, 'p'))) ==
          std::vector<event>{{ws_event_kind::ping, std::string(125, 'p'), 0}});
    CHECK(decode(masked(ws_opcode::pong, "x")) == std::vector<event>{{ws_event_kind::pong, "x", 0}});
    CHECK(decode(masked(ws_opcode::close, "")) == std::vector<event>{{ws_event_kind::close, "", 1005}});
    CHECK(decode(masked(ws_opcode::close, close_payload(1000))) == std::vector<event>{{ws_event_kind::close, "", 1000}});
    CHECK(decode(masked(ws_opcode::close, close_payload(1001, "going \xc3\xa9"))) ==
          std::vector<event>{{ws_event_kind::close, "going \xc3\xa9", 1001}});
    for (std::uint16_t code : {1000, 1003, 1007, 1011, 1012, 1014, 3000, 3999, 4000, 4999}) {
        INFO(code);
        CHECK(decode(masked(ws_opcode::close, close_payload(code))) ==
              std::vector<event>{{ws_event_kind::close, "", code}});
    }
}

TEST_CASE("decoder consumes nothing after a close, and stops at its end", "[websocket][decoder]") {
    const std::string bytes = masked(ws_opcode::text, "a") + masked(ws_opcode::close, close_payload(1000, "bye"));
    const std::string after = masked(ws_opcode::text, "after");
    websocket_decoder d;
    std::vector<event> seen;
    auto on = [&](ws_event e) {
        seen.push_back({e.kind, std::string(e.payload), e.code});
        return true;
    };
    const std::string all = bytes + after;
    CHECK(d.feed(all.data(), all.size(), on) == bytes.size());
    CHECK(d.closed());
    CHECK(d.done());
    CHECK(d.error_code() == 0);
    CHECK(d.feed(after.data(), after.size(), on) == 0);
    CHECK(seen == std::vector<event>{text("a"), {ws_event_kind::close, "bye", 1000}});
}

TEST_CASE("decoder fails bad close frames", "[websocket][decoder]") {
    CHECK(decode(masked(ws_opcode::close, "\x03")) == std::vector<event>{error(1002)});
    for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
        INFO(code);
        CHECK(decode(masked(ws_opcode::close, close_payload(code))) == std::vector<event>{error(1002)});
    }
    CHECK(decode(masked(ws_opcode::close, close_payload(1000, "\xff"))) == std::vector<event>{error(1007)});
    CHECK(decode(masked(ws_opcode::close, close_payload(1000, "cut \xe2\x82"))) == std::vector<event>{error(1007)});
}

TEST_CASE("decoder fails frames with RSV bits or unknown opcodes with 1002", "[websocket][decoder]") {
    for (unsigned rsv : {0x40u, 0x20u, 0x10u, 0x70u}) {
        INFO(rsv);
        CHECK(decode(with_first_byte(static_cast<unsigned char>(0x81 | rsv), "x")) == std::vector<event>{error(1002)});
        CHECK(decode(with_first_byte(static_cast<unsigned char>(0x89 | rsv), "x")) == std::vector<event>{error(1002)});
    }
    for (unsigned op : {3u, 4u, 5u, 6u, 7u, 0xBu, 0xCu, 0xDu, 0xEu, 0xFu}) {
        INFO(op);
        CHECK(decode(with_first_byte(static_cast<unsigned char>(0x80 | op), "x")) == std::vector<event>{error(1002)});
    }
}

TEST_CASE("decoder fails bad fragment order with 1002", "[websocket][decoder]") {
    CHECK(decode(masked(ws_opcode::continuation, "x")) == std::vector<event>{error(1002)});
    CHECK(decode(masked(ws_opcode::text, "a") + masked(ws_opcode::continuation, "x")) ==
          std::vector<event>{text("a"), error(1002)});
    CHECK(decode(masked(ws_opcode::text, "a", false) + masked(ws_opcode::text, "b")) == std::vector<event>{error(1002)});
    CHECK(decode(masked(ws_opcode::text, "a", false) + masked(ws_opcode::binary, "b")) ==
          std::vector<event>{error(1002)});
}

TEST_CASE("decoder fails fragmented or long control frames with 1002", "[websocket][decoder]") {
    CHECK(decode(masked(ws_opcode::ping, "x", false)) == std::vector<event>{error(1002)});
    CHECK(decode(masked(ws_opcode::close, close_payload(1000), false)) == std::vector<event>{error(1002)});
    // 126 bytes need the 16-bit length form, which a control frame may not use.
    websocket_decoder d;
    std::size_t used = 0;
    std::vector<std::uint16_t> codes;
    const std::string ping = masked(ws_opcode::ping, std::string(126, 'p'));
    used = d.feed(ping.data(), ping.size(), [&](ws_event e) {
        codes.push_back(e.code);
        return true;
    });
    CHECK(codes == std::vector<std::uint16_t>{1002});
    CHECK(used == 2); // known from the second byte
    CHECK(decode(masked(ws_opcode::pong, std::string(200, 'p'))) == std::vector<event>{error(1002)});
}

TEST_CASE("decoder refuses binary messages with 1003", "[websocket][decoder]") {
    CHECK(decode(masked(ws_opcode::binary, "\x01\x02")) == std::vector<event>{error(1003)});
    CHECK(decode(masked(ws_opcode::binary, "", false)) == std::vector<event>{error(1003)});
}

TEST_CASE("decoder reads 16-bit and 64-bit lengths", "[websocket][decoder]") {
    std::string medium, large;
    for (std::size_t i = 0; i < 300; ++i) medium += static_cast<char>('a' + i % 26);
    for (std::size_t i = 0; i < 70000; ++i) large += static_cast<char>('A' + i % 26);
    const std::string m = masked(ws_opcode::text, medium);
    REQUIRE(static_cast<unsigned char>(m[1]) == (0x80 | 126));
    const std::string l = masked(ws_opcode::text, large);
    REQUIRE(static_cast<unsigned char>(l[1]) == (0x80 | 127));
    CHECK(decode(m + l, 100000) == std::vector<event>{text(medium), text(large)});
    CHECK(decode(m + l, 100000, 997) == std::vector<event>{text(medium), text(large)});
    CHECK(decode(masked(ws_opcode::text, std::string(126, 'x'))) == std::vector<event>{text(std::string(126, 'x'))});
    CHECK(decode(masked(ws_opcode::text, std::string(65535, 'x')), 65535) ==
          std::vector<event>{text(std::string(65535, 'x'))});
}

TEST_CASE("decoder fails lengths not in their minimal form, or with the high bit set, with 1002", "[websocket][decoder]") {
    CHECK(decode(header_with_length(ws_opcode::text, 126, 125, 2)) == std::vector<event>{error(1002)});
    CHECK(decode(header_with_length(ws_opcode::text, 127, 65535, 8)) == std::vector<event>{error(1002)});
    CHECK(decode(header_with_length(ws_opcode::text, 127, std::uint64_t{1} << 63, 8)) == std::vector<event>{error(1002)});
}

TEST_CASE("decoder refuses a declared length over the limit with 1009 before the payload", "[websocket][decoder]") {
    auto first_error = [](const std::string& bytes, std::size_t max) {
        websocket_decoder d(max);
        std::vector<event> seen;
        const std::size_t used = d.feed(bytes.data(), bytes.size(), [&](ws_event e) {
            seen.push_back({e.kind, "", e.code});
            return true;
        });
        CHECK(seen == std::vector<event>{error(1009)});
        CHECK(d.buffered() == 0);
        return used;
    };
    // Only the header is sent: the payload never needs to arrive.
    CHECK(first_error(header_with_length(ws_opcode::text, 126, 5000, 2), 4096) == 4);
    CHECK(first_error(header_with_length(ws_opcode::text, 127, std::uint64_t{1} << 62, 8), 4096) == 10);
    CHECK(first_error(header_with_length(ws_opcode::text, 127, 70000, 8), 65536) == 10);
    CHECK(first_error(header_with_length(ws_opcode::text, 100, 0, 0), 99) == 2);

    CHECK(decode(masked(ws_opcode::text, std::string(100, 'x')), 100) == std::vector<event>{text(std::string(100, 'x'))});
    CHECK(decode(masked(ws_opcode::text, std::string(101, 'x')), 100) == std::vector<event>{error(1009)});
    CHECK(decode(masked(ws_opcode::text, "", false), 0) == std::vector<event>{});
    CHECK(decode(masked(ws_opcode::text, ""), 0) == std::vector<event>{text("")});
}

TEST_CASE("decoder refuses fragments that together pass the limit with 1009", "[websocket][decoder]") {
    const std::string first = masked(ws_opcode::text, std::string(60, 'a'), false);
    const std::string second = masked(ws_opcode::continuation, std::string(41, 'b'));
    websocket_decoder d(100);
    std::vector<event> seen;
    const std::string bytes = first + second;
    const std::size_t used = d.feed(bytes.data(), bytes.size(), [&](ws_event e) {
        seen.push_back({e.kind, "", e.code});
        return true;
    });
    CHECK(seen == std::vector<event>{error(1009)});
    CHECK(used == first.size() + 2);
    CHECK(decode(first + masked(ws_opcode::continuation, std::string(40, 'b')), 100) ==
          std::vector<event>{text(std::string(60, 'a') + std::string(40, 'b'))});
}

TEST_CASE("decoder consumes nothing after an error", "[websocket][decoder]") {
    websocket_decoder d;
    int events = 0;
    auto on = [&](ws_event) {
        ++events;
        return true;
    };
    const std::string bad = with_first_byte(0xC1, "x") + masked(ws_opcode::text, "never");
    CHECK(d.feed(bad.data(), bad.size(), on) == 2);
    CHECK(events == 1);
    CHECK(d.error_code() == 1002);
    const std::string good = masked(ws_opcode::text, "good");
    CHECK(d.feed(good.data(), good.size(), on) == 0);
    CHECK(events == 1);
}

TEST_CASE("decoder stops where the handler asks and resumes from there", "[websocket][decoder]") {
    const std::string a = masked(ws_opcode::text, "first");
    const std::string b = masked(ws_opcode::ping, "p");
    const std::string c = masked(ws_opcode::text, "third", false) + masked(ws_opcode::continuation, "!");
    const std::string all = a + b + c;
    websocket_decoder d;
    std::vector<event> seen;
    auto stop = [&](ws_event e) {
        seen.push_back({e.kind, std::string(e.payload), e.code});
        return false;
    };
    std::size_t at = d.feed(all.data(), all.size(), stop);
    CHECK(at == a.size());
    at += d.feed(all.data() + at, all.size() - at, stop);
    CHECK(at == a.size() + b.size());
    at += d.feed(all.data() + at, all.size() - at, stop);
    CHECK(at == all.size());
    CHECK(seen == std::vector<event>{text("first"), {ws_event_kind::ping, "p", 0}, text("third!")});
}

TEST_CASE("decoder gives the same events byte at a time as all at once", "[websocket][decoder]") {
    std::string big;
    for (std::size_t i = 0; i < 3000; ++i) big += i % 50 == 0 ? "\xc3\xa9" : "x";
    const std::string stream =
        masked(ws_opcode::text, "hello") + client_frame(ws_opcode::text, big, key2) +
        masked(ws_opcode::text, "frag \xe2", false) + masked(ws_opcode::ping, "mid") +
        client_frame(ws_opcode::continuation, "\x82\xac" + std::string(200, 'y'), key2, false) +
        masked(ws_opcode::continuation, " end") + masked(ws_opcode::pong, "") +
        masked(ws_opcode::close, close_payload(1000, "done"));
    const std::vector<event> whole = decode(stream, 8192);
    REQUIRE(whole.size() == 6);
    CHECK(whole.back() == event{ws_event_kind::close, "done", 1000});
    for (std::size_t chunk : {1u, 2u, 3u, 5u, 7u, 13u, 64u, 1000u}) {
        INFO("chunks of " << chunk);
        CHECK(decode(stream, 8192, chunk) == whole);
    }
    // The same for a stream that ends in an error.
    const std::string bad = masked(ws_opcode::text, "ok") + masked(ws_opcode::text, "x\xf8yz");
    for (std::size_t chunk : {0u, 1u, 3u}) CHECK(decode(bad, 4096, chunk) == std::vector<event>{text("ok"), error(1007)});
}

TEST_CASE("decoder holds at most the message limit plus a control frame and a header", "[websocket][decoder]") {
    websocket_decoder d(1000);
    const std::string bytes = masked(ws_opcode::text, std::string(999, 'a'), false) +
                              masked(ws_opcode::ping, std::string(125, 'p')) + masked(ws_opcode::continuation, "b");
    std::size_t most = 0;
    std::vector<event> seen;
    for (const char c : bytes) {
        d.feed(&c, 1, [&](ws_event e) {
            seen.push_back({e.kind, std::string(e.payload), e.code});
            return true;
        });
        most = std::max(most, d.buffered());
    }
    CHECK(most <= 1000 + 125 + 14);
    CHECK(seen.size() == 2);
    CHECK(seen.back() == text(std::string(999, 'a') + "b"));
    d.shrink();
    CHECK(d.buffered() == 0);
}

// ---- encoders ---------------------------------------------------------------------

TEST_CASE("frame headers use the minimal 2, 4 or 10 byte form and are never masked", "[websocket][encoder]") {
    auto bytes = [](const ws_frame_header& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); };
    CHECK(bytes(frame_header(ws_opcode::text, 0)) == "\x81\x00"s);
    CHECK(bytes(frame_header(ws_opcode::text, 125)) == "\x81\x7d"s);
    CHECK(bytes(frame_header(ws_opcode::text, 126)) == "\x81\x7e\x00\x7e"s);
    CHECK(bytes(frame_header(ws_opcode::text, 65535)) == "\x81\x7e\xff\xff"s);
    CHECK(bytes(frame_header(ws_opcode::text, 65536)) == "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"s);
    CHECK(bytes(frame_header(ws_opcode::text, 0x0102030405060708)) == "\x81\x7f\x01\x02\x03\x04\x05\x06\x07\x08"s);
    CHECK(bytes(frame_header(ws_opcode::text, 5, false)) == "\x01\x05"s);
    CHECK(bytes(frame_header(ws_opcode::continuation, 5)) == "\x80\x05"s);
    CHECK(bytes(frame_header(ws_opcode::ping, 1)) == "\x89\x01"s);
}

TEST_CASE("close frames carry a code allowed on the wire and a fitting UTF-8 reason", "[websocket][encoder]") {
    CHECK(close_frame(1000).view() == "\x88\x02\x03\xe8"s);
    CHECK(close_frame(1001, "bye").view() == "\x88\x05\x03\xe9" "bye"s);
    CHECK(close_frame(1008, "too slow").view() == "\x88\x0a\x03\xf0" "too slow"s);
    // Never 1005, 1006 or 1015 on the wire.
    CHECK(close_frame(1005).view() == "\x88\x00"s);
    CHECK(close_frame(1006, "x").view() == "\x88\x03\x03\xf3x"s);
    CHECK(close_frame(1015).view() == "\x88\x02\x03\xf3"s);
    CHECK(close_frame(0).view() == "\x88\x02\x03\xf3"s);
    CHECK(close_frame(4321).view() == "\x88\x02\x10\xe1"s);
    // Cut to 123 bytes at a character boundary; not UTF-8: dropped.
    const ws_control_frame long_reason = close_frame(1000, std::string(200, 'r'));
    CHECK(long_reason.size() == 127);
    const std::string e_acute = "\xc3\xa9";
    std::string accents;
    for (int i = 0; i < 70; ++i) accents += e_acute;
    const ws_control_frame cut = close_frame(1000, accents);
    CHECK(cut.size() == 2 + 2 + 122);
    CHECK(utf8_validator::valid(cut.view().substr(4)));
    CHECK(close_frame(1000, "\xff\xfe").view() == "\x88\x02\x03\xe8"s);
}

TEST_CASE("ping and pong frames, cut to 125 bytes", "[websocket][encoder]") {
    CHECK(ping_frame().view() == "\x89\x00"s);
    CHECK(ping_frame("k").view() == "\x89\x01k"s);
    CHECK(pong_frame("echo").view() == "\x8a\x04" "echo"s);
    CHECK(pong_frame(std::string(300, 'z')).view() == "\x8a\x7d" + std::string(125, 'z'));
}

TEST_CASE("server frames are refused by the decoder as unmasked, and masked copies round-trip", "[websocket][encoder]") {
    const ws_control_frame pong = pong_frame("x");
    CHECK(decode(std::string(pong.view())) == std::vector<event>{error(1002)});
    const ws_control_frame close = close_frame(1001, "shutdown");
    std::string masked_close(close.view());
    masked_close = client_frame(ws_opcode::close, masked_close.substr(2), key2);
    CHECK(decode(masked_close) == std::vector<event>{{ws_event_kind::close, "shutdown", 1001}});
}

// ---- HTTP request head -------------------------------------------------------------

TEST_CASE("a browser's upgrade request parses and passes the checks", "[websocket][http]") {
    http_request_parser p;
    CHECK(p.feed(good_upgrade) == http_parse_status::complete);
    CHECK(p.consumed() == good_upgrade.size());
    CHECK(p.method() == "GET");
    CHECK(p.target() == "/ws");
    CHECK(p.path() == "/ws");
    CHECK(p.version() == "HTTP/1.1");
    CHECK(p.version_major() == 1);
    CHECK(p.version_minor() == 1);
    CHECK(p.field_count() == 9);
    CHECK(p.field(0).name == "Host");
    CHECK(p.field(0).value == "chat.example:8080");
    CHECK(p.find("HOST") == std::optional<std::string_view>("chat.example:8080"));
    CHECK(p.find("sec-websocket-key") == std::optional<std::string_view>("dGhlIHNhbXBsZSBub25jZQ=="));
    CHECK_FALSE(p.find("Cookie").has_value());
    CHECK(p.has_token("connection", "UPGRADE"));
    CHECK(p.has_token("Connection", "keep-alive"));
    CHECK_FALSE(p.has_token("Connection", "close"));

    const websocket_upgrade u = check_websocket_upgrade(p);
    CHECK(u.status == 101);
    CHECK(u.reason.empty());
    CHECK(u.key == "dGhlIHNhbXBsZSBub25jZQ==");
    CHECK(u.host == "chat.example:8080");
    CHECK(u.origin == std::optional<std::string_view>("http://chat.example:8080"));

    const std::string response = render_handshake_response(u);
    CHECK(response == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    CHECK(response.find("Extensions") == std::string::npos); // permessage-deflate is never accepted
}

TEST_CASE("an upgrade without Origin passes, with no origin to check", "[websocket][http]") {
    const http_request_parser p = parse(upgrade_with("Origin", ""));
    const websocket_upgrade u = check_websocket_upgrade(p);
    CHECK(u.status == 101);
    CHECK_FALSE(u.origin.has_value());
}

TEST_CASE("malformed upgrade requests are answered 400", "[websocket][http]") {
    CHECK(upgrade_status(upgrade_with("Sec-WebSocket-Key", "")) == 400);
    CHECK(upgrade_status(upgrade_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA")) == 400); // 15 bytes
    CHECK(upgrade_status(upgrade_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAAAAAA")) == 400);
    CHECK(upgrade_status(upgrade_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ")) == 400);
    CHECK(upgrade_status(upgrade_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==")) == 400);
    CHECK(upgrade_status(upgrade_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==")) == 101);
    CHECK(upgrade_status(upgrade_with("Sec-WebSocket-Key",
                                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==")) ==
          400);
    CHECK(upgrade_status(upgrade_with("Sec-WebSocket-Version", "")) == 400);
    CHECK(upgrade_status(upgrade_with("Upgrade", "")) == 400);
    CHECK(upgrade_status(upgrade_with("Upgrade", "Upgrade: h2c")) == 400);
    CHECK(upgrade_status(upgrade_with("Upgrade", "Upgrade: WebSocket")) == 101);
    CHECK(upgrade_status(upgrade_with("Connection", "")) == 400);
    CHECK(upgrade_status(upgrade_with("Connection", "Connection: keep-alive")) == 400);
    CHECK(upgrade_status(upgrade_with("Host", "")) == 400);
    CHECK(upgrade_status(upgrade_with("Host", "Host: a\r\nHost: b")) == 400);
    CHECK(upgrade_status(upgrade_with("Origin", "Origin: http://a\r\nOrigin: http://b")) == 400);
    CHECK(upgrade_status(upgrade_with("Pragma", "Content-Length: 5")) == 400);
    CHECK(upgrade_status(upgrade_with("Pragma", "Content-Length: 0")) == 101);
    CHECK(upgrade_status(upgrade_with("Pragma", "Transfer-Encoding: chunked")) == 400);
    std::string http10 = good_upgrade;
    http10.replace(http10.find("HTTP/1.1"), 8, "HTTP/1.0");
    CHECK(upgrade_status(http10) == 400);
    http_request_parser incomplete;
    incomplete.feed("GET /ws HTTP/1.1\r\n");
    CHECK(check_websocket_upgrade(incomplete).status == 400);
}

TEST_CASE("a request in an HTTP version other than 1.x is answered 505", "[websocket][http]") {
    for (const char* version : {"HTTP/9.9", "HTTP/2.0", "HTTP/0.9"}) {
        std::string r = good_upgrade;
        r.replace(r.find("HTTP/1.1"), 8, version);
        const http_request_parser p = parse(r);
        INFO(version);
        CHECK(p.status() == http_parse_status::error);
        CHECK(p.error_status() == 505);
    }
    std::string http10 = good_upgrade;
    http10.replace(http10.find("HTTP/1.1"), 8, "HTTP/1.0");
    CHECK(parse(http10).status() == http_parse_status::complete);
}

TEST_CASE("methods other than GET parse but do not upgrade", "[websocket][http]") {
    for (const char* method : {"POST", "PUT", "HEAD", "OPTIONS", "get"}) {
        std::string r = good_upgrade;
        r.replace(0, 3, method);
        const http_request_parser p = parse(r);
        INFO(method);
        CHECK(p.status() == http_parse_status::complete);
        CHECK(p.method() == method);
        CHECK(check_websocket_upgrade(p).status == 400);
    }
}

TEST_CASE("another Sec-WebSocket-Version is answered 426 naming version 13", "[websocket][http]") {
    const http_request_parser p = parse(upgrade_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"));
    const websocket_upgrade u = check_websocket_upgrade(p);
    CHECK(u.status == 426);
    const std::string response = render_handshake_response(u);
    CHECK(response.rfind("HTTP/1.1 426 Upgrade Required\r\n", 0) == 0);
    CHECK(response.find("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos);
    CHECK(response.find("\r\nConnection: close\r\n") != std::string::npos);
    CHECK(upgrade_status(upgrade_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 14")) == 426);
}

TEST_CASE("a head over the size limit or with too many fields is refused with 431", "[websocket][http]") {
    http_request_parser p;
    CHECK(p.feed("GET / HTTP/1.1\r\n") == http_parse_status::needs_more);
    const std::string big = "X-Filler: " + std::string(9000, 'f') + "\r\n";
    CHECK(p.feed(big) == http_parse_status::error);
    CHECK(p.error_status() == 431);
    CHECK(p.head_size() <= 8192);
    // Without any LF at all, too.
    const http_request_parser q = parse(std::string(10000, 'G'), 100);
    CHECK(q.status() == http_parse_status::error);
    CHECK(q.error_status() == 431);
    CHECK(q.head_size() <= 8192);
    // A head of exactly the limit passes.
    const std::string head = "GET / HTTP/1.1\r\nX: ";
    const std::string exact = head + std::string(100 - head.size() - 4, 'v') + "\r\n\r\n";
    REQUIRE(exact.size() == 100);
    CHECK(parse(exact, 0, {100, 64}).status() == http_parse_status::complete);
    CHECK(parse(exact + "more", 0, {100, 64}).status() == http_parse_status::complete);
    CHECK(parse(exact, 0, {99, 64}).error_status() == 431);

    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 5; ++i) many += "F" + std::to_string(i) + ": v\r\n";
    CHECK(parse(many + "\r\n", 0, {8192, 5}).status() == http_parse_status::complete);
    const http_request_parser r = parse(many + "F5: v\r\n\r\n", 0, {8192, 5});
    CHECK(r.status() == http_parse_status::error);
    CHECK(r.error_status() == 431);
}

TEST_CASE("a head split across feeds at any point parses the same", "[websocket][http]") {
    for (std::size_t cut = 0; cut <= good_upgrade.size(); ++cut) {
        http_request_parser p;
        const http_parse_status first = p.feed(good_upgrade.substr(0, cut));
        CHECK(first == (cut == good_upgrade.size() ? http_parse_status::complete : http_parse_status::needs_more));
        p.feed(good_upgrade.substr(cut));
        REQUIRE(p.status() == http_parse_status::complete);
        CHECK(check_websocket_upgrade(p).status == 101);
        CHECK(p.find("Origin") == std::optional<std::string_view>("http://chat.example:8080"));
    }
    const http_request_parser bytewise = parse(good_upgrade, 1);
    CHECK(check_websocket_upgrade(bytewise).key == "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST_CASE("bare LF line ends and empty lines before the request line are accepted", "[websocket][http]") {
    std::string lf;
    for (const char c : good_upgrade)
        if (c != '\r') lf += c;
    const http_request_parser p = parse("\r\n\n" + lf);
    CHECK(p.status() == http_parse_status::complete);
    CHECK(p.method() == "GET");
    CHECK(p.find("Upgrade") == std::optional<std::string_view>("websocket"));
    CHECK(check_websocket_upgrade(p).status == 101);
    CHECK(parse("GET / HTTP/1.1\nHost: x\r\n\n").status() == http_parse_status::complete);
}

TEST_CASE("bytes after the head are left to the caller", "[websocket][http]") {
    const std::string frame = masked(ws_opcode::text, "early");
    const std::string bytes = good_upgrade + frame;
    http_request_parser p;
    CHECK(p.feed(bytes) == http_parse_status::complete);
    CHECK(p.consumed() == good_upgrade.size());
    CHECK(p.feed("more") == http_parse_status::complete);
    CHECK(p.consumed() == 0);
    p.reset();
    CHECK(p.status() == http_parse_status::needs_more);
    CHECK(p.feed("GET /healthz HTTP/1.1\r\n\r\n") == http_parse_status::complete);
    CHECK(p.target() == "/healthz");
    CHECK(p.field_count() == 0);
}

TEST_CASE("malformed request heads are refused with 400", "[websocket][http]") {
    for (const std::string& head : {
             "GET  / HTTP/1.1\r\n\r\n"s,            // two spaces
             "GET / HTTP/1.1 \r\n\r\n"s,            // trailing space
             "GET /\r\n\r\n"s,                      // HTTP/0.9 style
             "GET / http/1.1\r\n\r\n"s,             // version case
             "GET / HTTP/1.12\r\n\r\n"s,            //
             "GET / HTTP/x.1\r\n\r\n"s,             //
             "G(T / HTTP/1.1\r\n\r\n"s,             // not a token
             " GET / HTTP/1.1\r\n\r\n"s,            //
             "GET /\xc3\xa9 HTTP/1.1\r\n\r\n"s,     // raw non-ASCII target
             "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"s,
             "GET / HTTP/1.1\r\nHost : x\r\n\r\n"s, // space before the colon
             "GET / HTTP/1.1\r\nno colon\r\n\r\n"s, //
             "GET / HTTP/1.1\r\n: empty name\r\n\r\n"s,
             "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"s, // bare CR
             "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"s, // NUL
             "GET / HTTP/1.1\r\nHost: a\x1b[31m\r\n\r\n"s,
             "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n"s,
         }) {
        INFO(head);
        const http_request_parser p = parse(head);
        CHECK(p.status() == http_parse_status::error);
        CHECK(p.error_status() == 400);
        CHECK_FALSE(p.error_reason().empty());
        CHECK(parse(head, 1).error_status() == 400);
    }
}

TEST_CASE("field values are trimmed, may be empty and may hold tabs and obs-text", "[websocket][http]") {
    const http_request_parser p = parse("GET /a?b=c HTTP/1.1\r\nA:\t x y \t\r\nB:\r\nC: caf\xc3\xa9\r\nD: a\tb\r\n\r\n");
    REQUIRE(p.status() == http_parse_status::complete);
    CHECK(p.path() == "/a");
    CHECK(p.target() == "/a?b=c");
    CHECK(p.find("a") == std::optional<std::string_view>("x y"));
    CHECK(p.find("b") == std::optional<std::string_view>(""));
    CHECK(p.find("c") == std::optional<std::string_view>("caf\xc3\xa9"));
    CHECK(p.find("d") == std::optional<std::string_view>("a\tb"));
    CHECK(p.count("A") == 1);
}

TEST_CASE("responses have a status line, Content-Length and no injected lines", "[websocket][http]") {
    CHECK(render_response(404, {{"Content-Type", "text/plain"}}, "not found\n") ==
          "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n");
    CHECK(render_response(200, {}, "") == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    CHECK(render_response(204, {{"Content-Length", "99"}}, "ignored") == "HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(render_response(403, {{"X-Why", "a\r\nSet-Cookie: evil"}}, "") ==
          "HTTP/1.1 403 Forbidden\r\nX-Why: aSet-Cookie: evil\r\nContent-Length: 0\r\n\r\n");
    const std::vector<http_field> fields{{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
    CHECK(render_response(200, fields, "ok") ==
          "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 2\r\n\r\nok");
    CHECK(http_status_reason(431) == "Request Header Fields Too Large");
    websocket_upgrade forbidden;
    forbidden.status = 403;
    CHECK(render_handshake_response(forbidden).rfind("HTTP/1.1 403 Forbidden\r\n", 0) == 0);
}
