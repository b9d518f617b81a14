// fuzz_websocket: chatroom::detail::websocket_decoder and the frame encoders.
//
// Input: byte 0 picks the mode (bit 0) and byte 1 the message limit; the
// rest is either
//   raw        - bytes as a client would send them, or
//   structured - a list of frame records (see read_frame below) that this
//                harness encodes itself, with its own encoder, into a byte
//                stream of frames both valid and broken in every way RFC 6455
//                names: RSV bits, odd opcodes, unmasked, fragmented or long
//                control frames, bad fragment order, lengths not in minimal
//                form, 64-bit lengths with the high bit, huge declared
//                lengths, binary, bad close codes, invalid or split UTF-8.
// The stream is decoded once in one feed and once in chunks whose sizes come
// from a generator seeded with a hash of the input, with the handler
// sometimes returning false (flow control) so that resuming runs too.
//
// Properties (a violation prints what failed and traps):
//   - the chunked events equal the one-feed events, and so does the number
//     of bytes consumed unless an error ended the stream (split-independence);
//   - in structured mode they equal an independent model computed from the
//     frame records (not from the bytes), including the close code of an
//     error; a stream without error or close is consumed entirely; a close
//     is the last frame consumed;
//   - feed never consumes more than given, nothing once done(), and
//     buffered() never exceeds the limit + 125 + 14;
//   - text is valid UTF-8 (by a reference decoder, not the library's
//     validator) within the limit; control payloads are at most 125 bytes;
//     a close code is one allowed on the wire or 1005; an error code is one
//     of 1002, 1003, 1007, 1009 and is the last event;
//   - close_frame, ping_frame, pong_frame and frame_header built from input
//     bytes are well-formed, never carry 1005/1006/1015, and a masked copy
//     decodes back to what was asked.

#include <chatroom/web/detail/frame_decoder.hpp>
#include <chatroom/web/detail/frame_encoder.hpp>

#include "strict_text.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, int line, std::string_view data = {}) {
    std::fprintf(stderr, "fuzz_websocket: property violated (line %d): %s\n", line, what);
    if (data.data() != nullptr) std::fprintf(stderr, "  data (%zu bytes): %s\n", data.size(), fuzz::hex(data).c_str());
    std::fflush(stderr);
    __builtin_trap();
}

#define FUZZ_CHECK(cond)                                                                                              \
    do {                                                                                                              \
        if (!(cond)) fail(#cond, __LINE__);                                                                           \
    } while (0)
#define FUZZ_CHECK_DATA(cond, data)                                                                                   \
    do {                                                                                                              \
        if (!(cond)) fail(#cond, __LINE__, (data));                                                                   \
    } while (0)

using namespace chatroom::detail;

// ---- reference UTF-8 ------------------------------------------------------------

// Decodes code points arithmetically and checks each for its minimal length,
// surrogates and the U+10FFFF ceiling: a different method from the
// validator's per-lead-byte ranges.
FUZZ_UNINSTRUMENTED bool reference_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = cp << 6 | (d & 0x3F);
        }
        static constexpr std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n;
    }
    return true;
}

// Whether s can be completed into valid UTF-8. A cut sequence needs 1 to 3
// more bytes and only its first continuation byte has a narrowed range,
// which always holds 0x80 or 0xBF: so trying those two paddings decides.
// Only the last sequence can be cut: it starts at the last byte that is
// not a continuation byte.
FUZZ_UNINSTRUMENTED bool reference_utf8_prefix(std::string_view s) {
    if (reference_utf8(s)) return true;
    std::size_t start = s.size();
    while (start > 0 && s.size() - start < 4 && (static_cast<unsigned char>(s[start - 1]) & 0xC0) == 0x80) --start;
    if (start == 0) return false;
    --start;
    if (!reference_utf8(s.substr(0, start))) return false;
    const std::string tail(s.substr(start));
    for (std::size_t k = 1; k <= 3; ++k)
        for (const char pad : {'\x80', '\xBF'})
            if (reference_utf8(tail + std::string(k, pad))) return true;
    return false;
}

FUZZ_UNINSTRUMENTED bool reference_wire_code(std::uint16_t c) {
    switch (c) {
    case 1000: case 1001: case 1002: case 1003: case 1007: case 1008: case 1009:
    case 1010: case 1011: case 1012: case 1013: case 1014:
        return true;
    default:
        return c >= 3000 && c <= 4999;
    }
}

// ---- input helpers ---------------------------------------------------------------

struct input {
    const std::uint8_t* p;
    std::size_t n;
    bool empty() const { return n == 0; }
    std::uint8_t take() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
};

struct rng {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9E3779B97F4A7C15u);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

std::uint64_t fnv(const std::uint8_t* d, std::size_t n) {
    std::uint64_t h = 1469598103934665603u;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ d[i]) * 1099511628211u;
    return h;
}

// ---- events -------------------------------------------------------------------------

struct event {
    ws_event_kind kind;
    std::string payload; // empty for errors: their text is for logs
    std::uint16_t code;
    bool operator==(const event& o) const { return kind == o.kind && payload == o.payload && code == o.code; }
};

struct run_result {
    std::vector<event> events;
    std::size_t consumed = 0;
};

void check_event(const ws_event& e, std::size_t max) {
    switch (e.kind) {
    case ws_event_kind::text:
        FUZZ_CHECK(e.payload.size() <= max);
        FUZZ_CHECK_DATA(reference_utf8(e.payload), e.payload);
        break;
    case ws_event_kind::ping:
    case ws_event_kind::pong:
        FUZZ_CHECK(e.payload.size() <= 125);
        break;
    case ws_event_kind::close:
        FUZZ_CHECK(e.code == ws_close::no_status || reference_wire_code(e.code));
        FUZZ_CHECK(e.code != ws_close::no_status || e.payload.empty());
        FUZZ_CHECK(e.payload.size() <= 123);
        FUZZ_CHECK_DATA(reference_utf8(e.payload), e.payload);
        break;
    case ws_event_kind::error:
        FUZZ_CHECK(e.code == 1002 || e.code == 1003 || e.code == 1007 || e.code == 1009);
        FUZZ_CHECK(!e.payload.empty());
        break;
    }
}

// Feeds the stream in chunks (0: one feed), stopping the handler now and then.
run_result run(const std::string& stream, std::size_t max, rng* splits) {
    websocket_decoder d(max);
    run_result r;
    bool after_last = false;
    auto on = [&](ws_event e) {
        FUZZ_CHECK(!after_last);
        check_event(e, max);
        if (e.kind == ws_event_kind::error || e.kind == ws_event_kind::close) after_last = true;
        r.events.push_back({e.kind, e.kind == ws_event_kind::error ? std::string() : std::string(e.payload), e.code});
        return splits == nullptr || splits->below(4) != 0;
    };
    std::size_t at = 0;
    while (at < stream.size() && !d.done()) {
        std::size_t chunk = stream.size() - at;
        if (splits != nullptr) {
            // Byte at a time now and then, but not through a 64 KiB payload.
            const std::size_t cap = splits->below(3) == 0 && stream.size() - at < 8192 ? 1 : std::size_t{1} << splits->below(12);
            chunk = 1 + splits->below(cap < chunk ? cap : chunk);
        }
        const std::size_t before = r.events.size();
        const std::size_t used = d.feed(stream.data() + at, chunk, on);
        FUZZ_CHECK(used <= chunk);
        // Short only when the handler stopped it or the decoder finished.
        FUZZ_CHECK(used == chunk || d.done() || r.events.size() > before);
        FUZZ_CHECK(d.buffered() <= max + 125 + 14);
        at += used;
    }
    if (d.done()) {
        const char probe = 'x';
        FUZZ_CHECK(d.feed(&probe, 1, [](ws_event) { return true; }) == 0);
        FUZZ_CHECK(!r.events.empty());
        FUZZ_CHECK(d.closed() == (r.events.back().kind == ws_event_kind::close));
        FUZZ_CHECK(d.error_code() == (d.closed() ? 0 : r.events.back().code));
    }
    r.consumed = at;
    return r;
}

// ---- structured mode: frame records, this harness's encoder, the model ---------------

struct frame_record {
    unsigned opcode = 1;
    bool fin = true;
    unsigned rsv = 0;
    bool masked = true;
    bool nonminimal = false;
    std::uint64_t length = 0; // declared
    bool sent = true;         // the payload follows (false for huge declared lengths)
    std::string payload;
    std::array<std::uint8_t, 4> mask{};
};

// Generated payload text: mostly valid UTF-8, cut anywhere. Slices of two
// long texts made once (one valid, one with a rare invalid sequence), so a
// 64 KiB payload costs a copy, not a loop.
FUZZ_UNINSTRUMENTED const std::string& pattern(bool with_invalid) {
    static const std::array<std::string, 2> texts = [] {
        static const char* const pieces[] = {"a", "b c", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\x9f\xbf",
                                             "\xf4\x8f\xbf\xbf", "\xc0\xaf", "\xed\xa0\x80", "\xff"};
        std::string out[2];
        rng g{42};
        for (int t = 0; t < 2; ++t) {
            while (out[t].size() < 2 * 70000 + 256) {
                const std::size_t k = g.below(1000);
                out[t] += pieces[k < 700 ? k % 2 : k < 999 || t == 0 ? 2 + k % 5 : 7 + k % 3];
            }
        }
        return std::array<std::string, 2>{out[0], out[1]};
    }();
    return texts[with_invalid ? 1 : 0];
}

FUZZ_UNINSTRUMENTED std::string generated(rng& g, std::size_t n) {
    const std::string& text = pattern(g.below(4) == 0);
    return text.substr(g.below(256), n);
}

// One record: c = opcode choice (bits 0-2), not-fin (bit 3), length class
// (bits 4-5: 7 bits, 8 bits, 16 bits, 64 bits; the last two
// big only with an anomaly byte), payload from the input instead of generated (bit 6), an
// anomaly byte follows (bit 7: RSV bits 0-2, non-minimal length bit 3,
// unmasked bit 4, huge declared length bit 5, high bit set bit 6); then the
// length bytes, a mask key choice, and payload bytes if taken from the input.
frame_record read_frame(input& in, rng& g) {
    frame_record f;
    const std::uint8_t c = in.take();
    static constexpr unsigned opcodes[] = {0, 1, 0, 8, 9, 10, 1};
    f.opcode = (c & 7) == 7 ? in.take() & 15u : opcodes[c & 7];
    f.fin = (c & 8) == 0;
    const std::uint8_t anomalies = (c & 0x80) ? in.take() : 0;
    f.rsv = anomalies & 7u;
    f.nonminimal = (anomalies & 8) != 0;
    f.masked = (anomalies & 0x10) == 0;
    switch ((c >> 4) & 3) {
    case 0: f.length = in.take() & 0x7Fu; break;
    case 1: f.length = in.take(); break;
    case 2: // the 16-bit form; the larger lengths only with an anomaly byte
        f.length = (c & 0x80) ? (std::uint64_t{in.take()} << 8 | in.take()) : 126u + in.take();
        break;
    default:
        // 64-bit lengths only with an anomaly byte, to keep most inputs fast.
        if (!(c & 0x80)) {
            f.length = in.take() & 0x0Fu;
            break;
        }
        f.length = 65536 + (std::uint64_t{in.take()} << 8 | in.take());
        if (anomalies & 0x20) {
            f.length |= std::uint64_t{in.take()} << 32 | std::uint64_t{1} << 40;
            if (anomalies & 0x40) f.length |= std::uint64_t{1} << 63;
            f.sent = false;
        }
        break;
    }
    const std::uint8_t m = in.take();
    if (m & 1) f.mask = {0, 0, 0, 0};
    else f.mask = {static_cast<std::uint8_t>(m), static_cast<std::uint8_t>(m * 7 + 1), static_cast<std::uint8_t>(m ^ 0xA5),
                   static_cast<std::uint8_t>(m + 0x80)};
    if (!f.sent) return f;
    const auto n = static_cast<std::size_t>(f.length);
    if (c & 0x40) {
        while (f.payload.size() < n && !in.empty()) f.payload += static_cast<char>(in.take());
        f.payload += generated(g, n - f.payload.size());
    } else if (f.opcode == 8 && n >= 2) {
        static constexpr std::uint16_t codes[] = {1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1011,
                                                  1012, 1014, 1015, 1016, 999, 0, 2999, 3000, 4999, 5000};
        const std::uint16_t code = codes[g.below(sizeof codes / sizeof codes[0])];
        f.payload += static_cast<char>(code >> 8);
        f.payload += static_cast<char>(code & 0xFF);
        f.payload += generated(g, n - 2);
    } else {
        f.payload = generated(g, n);
    }
    return f;
}

FUZZ_UNINSTRUMENTED void encode(const frame_record& f, std::string& out) {
    out += static_cast<char>((f.fin ? 0x80 : 0) | f.rsv << 4 | f.opcode);
    const unsigned mask_bit = f.masked ? 0x80 : 0;
    std::size_t ext = 0;
    if (f.length < 126 && !f.nonminimal) {
        out += static_cast<char>(mask_bit | static_cast<unsigned>(f.length));
    } else if (f.length <= 0xFFFF && !(f.nonminimal && f.length >= 126)) {
        out += static_cast<char>(mask_bit | 126);
        ext = 2;
    } else {
        out += static_cast<char>(mask_bit | 127);
        ext = 8;
    }
    for (std::size_t i = ext; i-- > 0;) out += static_cast<char>((f.length >> (8 * i)) & 0xFF);
    if (f.masked) out.append(reinterpret_cast<const char*>(f.mask.data()), 4);
    if (!f.sent) return;
    const std::size_t at = out.size();
    out += f.payload;
    if (f.masked)
        for (std::size_t i = 0; i < f.payload.size(); ++i)
            out[at + i] = static_cast<char>(static_cast<unsigned char>(out[at + i]) ^ f.mask[i & 3]);
}

struct model_result {
    std::vector<event> events;
    bool ends = false;         // an error or a close ends the stream
    std::size_t close_end = 0; // stream offset after a close frame (when the close ends it)
    bool closed = false;
};

// What RFC 6455 says a server makes of the frames, computed from the records.
FUZZ_UNINSTRUMENTED model_result model(const std::vector<frame_record>& frames, const std::vector<std::size_t>& ends, std::size_t max) {
    model_result m;
    bool in_message = false;
    std::string message;
    auto error = [&](std::uint16_t code) {
        m.events.push_back({ws_event_kind::error, "", code});
        m.ends = true;
    };
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const frame_record& f = frames[i];
        const unsigned op = f.opcode;
        const bool control = (op & 8) != 0;
        if (f.rsv != 0) return error(1002), m;
        if (!(op <= 2 || (op >= 8 && op <= 10))) return error(1002), m;
        if (!f.masked) return error(1002), m;
        if (control) {
            if (!f.fin || f.length > 125 || f.nonminimal) return error(1002), m;
        } else if (op == 0) {
            if (!in_message) return error(1002), m;
        } else {
            if (in_message) return error(1002), m;
            if (op == 2) return error(1003), m;
        }
        const bool can_be_nonminimal = f.length <= 0xFFFF;
        if ((f.nonminimal && can_be_nonminimal) || (f.length >> 63) != 0) return error(1002), m;
        if (!control && message.size() + f.length > max) return error(1009), m;
        if (!f.sent) return m; // unreachable by construction: huge lengths pass the limit
        if (!control) {
            message += f.payload;
            if (!reference_utf8_prefix(message)) return error(1007), m;
            if (f.fin) {
                if (!reference_utf8(message)) return error(1007), m;
                m.events.push_back({ws_event_kind::text, message, 0});
                message.clear();
                in_message = false;
            } else {
                in_message = true;
            }
        } else if (op == 9 || op == 10) {
            m.events.push_back({op == 9 ? ws_event_kind::ping : ws_event_kind::pong, f.payload, 0});
        } else {
            const std::string& p = f.payload;
            if (p.size() == 1) return error(1002), m;
            std::uint16_t code = 1005;
            std::string reason;
            if (p.size() >= 2) {
                code = static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) << 8 | static_cast<unsigned char>(p[1]));
                if (!reference_wire_code(code)) return error(1002), m;
                reason = p.substr(2);
                if (!reference_utf8(reason)) return error(1007), m;
            }
            m.events.push_back({ws_event_kind::close, reason, code});
            m.ends = true;
            m.closed = true;
            m.close_end = ends[i];
            return m;
        }
    }
    return m;
}

// ---- encoders -------------------------------------------------------------------------

void check_encoders(input& in) {
    const auto code = static_cast<std::uint16_t>(in.take() << 8 | in.take());
    std::string reason;
    const std::size_t n = in.take();
    while (reason.size() < n && !in.empty()) reason += static_cast<char>(in.take());

    const ws_control_frame f = close_frame(code, reason);
    const std::string_view v = f.view();
    FUZZ_CHECK(v.size() >= 2 && v.size() <= 127);
    FUZZ_CHECK(static_cast<unsigned char>(v[0]) == 0x88);
    FUZZ_CHECK(static_cast<std::size_t>(v[1]) == v.size() - 2);
    std::uint16_t sent = 1005;
    std::string_view sent_reason;
    if (v.size() == 2) {
        FUZZ_CHECK(code == 1005);
    } else {
        FUZZ_CHECK(v.size() >= 4);
        sent = static_cast<std::uint16_t>(static_cast<unsigned char>(v[2]) << 8 | static_cast<unsigned char>(v[3]));
        FUZZ_CHECK(reference_wire_code(sent));
        FUZZ_CHECK(sent == (reference_wire_code(code) ? code : 1011));
        sent_reason = v.substr(4);
        FUZZ_CHECK_DATA(reference_utf8(sent_reason), sent_reason);
        if (reference_utf8(reason)) {
            FUZZ_CHECK(reason.compare(0, sent_reason.size(), sent_reason) == 0);
            FUZZ_CHECK(sent_reason.size() == reason.size() || sent_reason.size() > 119);
        } else {
            FUZZ_CHECK(sent_reason.empty());
        }
    }
    // What a client would send back decodes to it.
    const std::string echoed = client_frame(ws_opcode::close, v.substr(2), {1, 2, 3, 4});
    const run_result r = run(echoed, 0, nullptr);
    FUZZ_CHECK(r.events.size() == 1 && r.events[0].kind == ws_event_kind::close);
    FUZZ_CHECK(r.events[0].code == sent && r.events[0].payload == sent_reason);

    const ws_control_frame ping = ping_frame(reason), pong = pong_frame(reason);
    FUZZ_CHECK(ping.size() == 2 + (reason.size() < 125 ? reason.size() : 125));
    FUZZ_CHECK(ping.view().substr(2) == std::string_view(reason).substr(0, 125));
    FUZZ_CHECK(static_cast<unsigned char>(ping.view()[0]) == 0x89 && static_cast<unsigned char>(pong.view()[0]) == 0x8A);
    FUZZ_CHECK(pong.view().substr(1) == ping.view().substr(1));

    std::uint64_t len = 0;
    for (int i = 0; i < 8; ++i) len = len << 8 | in.take();
    len >>= in.take() & 63;
    len &= ~(std::uint64_t{1} << 63);
    const ws_frame_header h = frame_header(ws_opcode::text, len, (len & 1) == 0);
    FUZZ_CHECK(h.data()[0] == ((len & 1) == 0 ? 0x81 : 0x01));
    FUZZ_CHECK((h.data()[1] & 0x80) == 0);
    const unsigned len7 = h.data()[1];
    std::uint64_t back = len7;
    if (len7 == 126 || len7 == 127) {
        back = 0;
        for (std::size_t i = 2; i < h.size(); ++i) back = back << 8 | h.data()[i];
    }
    FUZZ_CHECK(back == len);
    FUZZ_CHECK(h.size() == (len < 126 ? 2 : len <= 0xFFFF ? 4 : 10));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    input in{data, size};
    const std::uint8_t mode = in.take();
    const std::uint8_t limit = in.take();
    static constexpr std::size_t limits[] = {125, 1000, 4096, 70000};
    const std::size_t max = (limit & 3) == 0 ? limit >> 2 : limits[limit & 3];
    rng g{fnv(data, size)};

    std::string stream;
    model_result expected;
    const bool structured = (mode & 1) != 0;
    if (structured) {
        std::vector<frame_record> frames;
        std::vector<std::size_t> ends;
        while (!in.empty() && frames.size() < 64 && stream.size() < (1u << 20)) {
            frames.push_back(read_frame(in, g));
            encode(frames.back(), stream);
            ends.push_back(stream.size());
            if (!frames.back().sent) break;
        }
        expected = model(frames, ends, max);
    } else {
        if (mode & 2) {
            input enc{in.p, in.n};
            check_encoders(enc);
        }
        stream.assign(reinterpret_cast<const char*>(in.p), in.n);
    }

    const run_result whole = run(stream, max, nullptr);
    const run_result split = run(stream, max, &g);
    FUZZ_CHECK(split.events == whole.events);
    const bool failed = !whole.events.empty() && whole.events.back().kind == ws_event_kind::error;
    const bool ended = failed || (!whole.events.empty() && whole.events.back().kind == ws_event_kind::close);
    // Where inside a frame an error is noticed depends on the splits (UTF-8
    // is checked per piece); everywhere else the consumption is the same.
    if (!failed) FUZZ_CHECK(split.consumed == whole.consumed);
    if (!ended) FUZZ_CHECK(whole.consumed == stream.size());

    if (structured) {
        if (!(whole.events == expected.events)) {
            std::fprintf(stderr, "decoder: %zu events, model: %zu events\n", whole.events.size(), expected.events.size());
            for (std::size_t i = 0; i < whole.events.size() || i < expected.events.size(); ++i) {
                auto show = [](const std::vector<event>& v, std::size_t k) {
                    if (k >= v.size()) return std::string("-");
                    return std::to_string(static_cast<int>(v[k].kind)) + "/" + std::to_string(v[k].code) + "/" +
                           std::to_string(v[k].payload.size());
                };
                std::fprintf(stderr, "  %zu: decoder %s model %s\n", i, show(whole.events, i).c_str(),
                             show(expected.events, i).c_str());
            }
            fail("events differ from the model", __LINE__, stream.substr(0, 256));
        }
        FUZZ_CHECK(ended == expected.ends);
        if (expected.closed) FUZZ_CHECK(whole.consumed == expected.close_end);
    }
    return 0;
}
