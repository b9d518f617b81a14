// fuzz_framing: chatroom::line_framer, chatroom::sanitize and
// chatroom::protocol::parse on arbitrary bytes.
//
// The input is a byte stream as a client would send it. It is fed to a
// line_framer in chunks whose sizes come from a generator seeded with a hash
// of the input (so every mutation also changes the splits), and the handler
// sometimes returns false (flow control) so the resume path runs too.
//
// Properties (a violation prints what failed and traps):
//   framing   - a line holds no LF and at most max_line_bytes bytes;
//               buffered() never exceeds max_line_bytes + 1;
//               feed() consumes at least one byte per call, and everything
//               unless the handler asked it to stop;
//               the events equal those of an independent byte-at-a-time
//               model of the documented behaviour, whatever the splits.
//   sanitize  - the result is valid UTF-8 without C0 controls (TAB aside),
//               DEL or C1 controls (judged by strict_text.hpp, not by the
//               library's is_clean_text) and equals the WHATWG-style
//               reference of docs/protocol.md (one U+FFFD per maximal
//               invalid subpart); sanitize is idempotent; clean
//               text passes unchanged; sanitize_append agrees with sanitize;
//               is_clean_text and is_plain_text agree with the validator.
//   parse     - every view of the command points inside the parsed line, and
//               the command is what protocol.hpp describes (kind from the
//               command word, whatever its case; trimmed arguments).

#include <chatroom.hpp>

#include "strict_text.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, int line, std::string_view data = {}) {
    std::fprintf(stderr, "fuzz_framing: property violated (line %d): %s\n", line, what);
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

FUZZ_UNINSTRUMENTED bool only_printable_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (!((c >= 0x20 && c < 0x7F) || c == '\t')) return false;
    return true;
}

// ---- framing ------------------------------------------------------------------

struct frame {
    bool too_long = false;
    std::string text;
    bool operator==(const frame& o) const { return too_long == o.too_long && text == o.text; }
};

// What line_framer is documented to do, one byte at a time: telnet commands
// (IAC x, IAC WILL/WONT/DO/DONT x, IAC SB ... IAC SE) vanish and IAC IAC is a
// 0xFF data byte; LF ends a line, one CR before it is dropped; a line longer
// than max is reported once as too_long (as soon as it holds max + 2 bytes, or
// at its LF) and the rest of it is discarded.
FUZZ_UNINSTRUMENTED std::vector<frame> model(const unsigned char* d, std::size_t n, std::size_t max) {
    enum class st { data, iac, option, sub, sub_iac } state = st::data;
    constexpr unsigned char IAC = 255, SE = 240, SB = 250, WILL = 251, DONT = 254;
    std::vector<frame> out;
    std::string line;
    bool reported = false;
    auto add = [&](unsigned char c) {
        if (reported) return;
        line.push_back(static_cast<char>(c));
        if (line.size() >= max + 2) {
            out.push_back({true, {}});
            reported = true;
            line.clear();
        }
    };
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char c = d[i];
        switch (state) {
        case st::data:
            if (c == IAC) {
                state = st::iac;
            } else if (c == '\n') {
                if (!reported) {
                    std::size_t len = line.size();
                    if (len > 0 && line[len - 1] == '\r') --len;
                    if (len > max) out.push_back({true, {}});
                    else out.push_back({false, line.substr(0, len)});
                }
                line.clear();
                reported = false;
            } else {
                add(c);
            }
            break;
        case st::iac:
            if (c == IAC) {
                add(c);
                state = st::data;
            } else if (c >= WILL && c <= DONT) {
                state = st::option;
            } else if (c == SB) {
                state = st::sub;
            } else {
                state = st::data;
            }
            break;
        case st::option: state = st::data; break;
        case st::sub:
            if (c == IAC) state = st::sub_iac;
            break;
        case st::sub_iac: state = c == SE ? st::data : st::sub; break;
        }
    }
    return out;
}

// xorshift64*: the splits and the flow-control stops.
struct dice {
    std::uint64_t s;
    FUZZ_UNINSTRUMENTED std::uint32_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return static_cast<std::uint32_t>((s * 0x2545F4914F6CDD1DULL) >> 32);
    }
};

FUZZ_UNINSTRUMENTED std::uint64_t hash(const unsigned char* d, std::size_t n) {
    std::uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a
    for (std::size_t i = 0; i < n; ++i) h = (h ^ d[i]) * 0x100000001b3ULL;
    return h | 1;
}

std::vector<frame> run_framer(const unsigned char* d, std::size_t n, std::size_t max, std::uint64_t seed) {
    chatroom::line_framer framer(max);
    FUZZ_CHECK(framer.max_line_bytes() == max);
    FUZZ_CHECK(framer.buffered() == 0);
    dice r{seed};
    std::vector<frame> out;
    std::size_t pos = 0;
    while (pos < n) {
        const std::uint32_t x = r.next();
        std::size_t len;
        switch (x & 3) {
        case 0: len = 1; break;
        case 1: len = 1 + (x >> 8) % 8; break;
        case 2: len = 1 + (x >> 8) % (2 * max + 8); break;
        default: len = n - pos; break;
        }
        if (len > n - pos) len = n - pos;

        const char* p = reinterpret_cast<const char*>(d + pos);
        std::size_t left = len;
        while (left > 0) {
            bool stopped = false;
            const std::size_t used = framer.feed(p, left, [&](chatroom::frame_event ev, std::string_view text) {
                FUZZ_CHECK(!stopped); // no event after the handler said stop
                FUZZ_CHECK(framer.buffered() <= max + 1);
                if (ev == chatroom::frame_event::line) {
                    FUZZ_CHECK_DATA(text.size() <= max, text);
                    FUZZ_CHECK_DATA(text.find('\n') == std::string_view::npos, text);
                    out.push_back({false, std::string(text)});
                } else {
                    FUZZ_CHECK(ev == chatroom::frame_event::too_long);
                    out.push_back({true, {}});
                }
                if ((r.next() & 7) == 0) {
                    stopped = true;
                    return false;
                }
                return true;
            });
            FUZZ_CHECK(used > 0);
            FUZZ_CHECK(used <= left);
            if (!stopped) FUZZ_CHECK(used == left);
            FUZZ_CHECK(framer.buffered() <= max + 1);
            p += used;
            left -= used;
        }
        pos += len;
        if ((r.next() & 15) == 0) {
            framer.shrink();
            FUZZ_CHECK(framer.buffered() <= max + 1);
        }
    }
    return out;
}

// ---- sanitize -------------------------------------------------------------------

void check_sanitize(std::string_view in) {
    const std::string once = chatroom::sanitize(in);
    FUZZ_CHECK_DATA(fuzz::strictly_clean(once), once);
    FUZZ_CHECK_DATA(once == fuzz::reference_sanitize(in), in); // U+FFFD per maximal invalid subpart
    FUZZ_CHECK(once.size() <= 3 * in.size()); // one U+FFFD at most per byte
    FUZZ_CHECK_DATA(chatroom::sanitize(once) == once, once);

    const bool clean = fuzz::strictly_clean(in);
    if (clean) FUZZ_CHECK_DATA(once == in, in);
    FUZZ_CHECK_DATA(chatroom::is_clean_text(in) == clean, in);
    FUZZ_CHECK_DATA(chatroom::is_plain_text(in) == only_printable_ascii(in), in);

    std::string appended = "prefix\t";
    const std::size_t n = chatroom::sanitize_append(appended, in);
    FUZZ_CHECK(n == once.size());
    FUZZ_CHECK(appended.size() == 7 + once.size());
    FUZZ_CHECK(appended.compare(0, 7, "prefix\t") == 0);
    FUZZ_CHECK(appended.compare(7, std::string::npos, once) == 0);
}

// ---- parse ----------------------------------------------------------------------

FUZZ_UNINSTRUMENTED bool within(std::string_view part, std::string_view whole) {
    const auto lo = reinterpret_cast<std::uintptr_t>(whole.data());
    const auto hi = lo + whole.size();
    const auto p = reinterpret_cast<std::uintptr_t>(part.data());
    if (part.empty()) return part.data() == nullptr || (p >= lo && p <= hi);
    return p >= lo && p <= hi && part.size() <= hi - p;
}

FUZZ_UNINSTRUMENTED bool has_blank(std::string_view s) { return s.find_first_of(" \t") != std::string_view::npos; }
FUZZ_UNINSTRUMENTED bool trimmed(std::string_view s) {
    return s.empty() || ((s.front() != ' ' && s.front() != '\t') && (s.back() != ' ' && s.back() != '\t'));
}

FUZZ_UNINSTRUMENTED std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    return out;
}

void check_parse(std::string_view line) {
    using chatroom::protocol::command_kind;
    const chatroom::protocol::command cmd = chatroom::protocol::parse(line);
    FUZZ_CHECK_DATA(within(cmd.name, line), line);
    FUZZ_CHECK_DATA(within(cmd.arg, line), line);
    FUZZ_CHECK_DATA(within(cmd.text, line), line);

    if (line.empty() || line.front() != '/') {
        FUZZ_CHECK_DATA(cmd.kind == command_kind::chat, line);
        FUZZ_CHECK_DATA(cmd.arg.data() == line.data() && cmd.arg.size() == line.size(), line);
        return;
    }
    if (line.size() > 1 && line[1] == '/') { // "//text" says "/text"
        FUZZ_CHECK_DATA(cmd.kind == command_kind::chat, line);
        FUZZ_CHECK_DATA(cmd.arg.data() == line.data() + 1 && cmd.arg.size() == line.size() - 1, line);
        return;
    }
    FUZZ_CHECK_DATA(cmd.kind != command_kind::chat, line);
    const std::size_t blank = line.find_first_of(" \t");
    const std::string_view word = line.substr(1, blank == std::string_view::npos ? std::string_view::npos : blank - 1);
    FUZZ_CHECK_DATA(cmd.name == word, line);

    const std::string w = lower(word);
    command_kind expect = command_kind::unknown;
    if (w == "nick") expect = command_kind::nick;
    else if (w == "join") expect = command_kind::join;
    else if (w == "who") expect = command_kind::who;
    else if (w == "rooms") expect = command_kind::rooms;
    else if (w == "me") expect = command_kind::me;
    else if (w == "msg") expect = command_kind::msg;
    else if (w == "quit") expect = command_kind::quit;
    else if (w == "help") expect = command_kind::help;
    FUZZ_CHECK_DATA(cmd.kind == expect, line);

    switch (cmd.kind) {
    case command_kind::nick:
    case command_kind::me:
    case command_kind::quit:
        FUZZ_CHECK_DATA(trimmed(cmd.arg), line);
        FUZZ_CHECK_DATA(cmd.text.empty(), line);
        break;
    case command_kind::join: // "/join # x" leaves " x", which is_valid_name refuses
        FUZZ_CHECK_DATA(cmd.text.empty(), line);
        break;
    case command_kind::msg:
        FUZZ_CHECK_DATA(!has_blank(cmd.arg), line);
        FUZZ_CHECK_DATA(trimmed(cmd.text), line);
        if (cmd.arg.empty()) FUZZ_CHECK_DATA(cmd.text.empty(), line);
        break;
    default:
        FUZZ_CHECK_DATA(cmd.arg.empty() && cmd.text.empty(), line);
        break;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto* d = reinterpret_cast<const unsigned char*>(data);
    const std::uint64_t h = hash(d, size);

    // The limit the fuzzer mostly works with, and a tiny one for the edges.
    const std::size_t limits[2] = {64, static_cast<std::size_t>(h >> 61)}; // 64 and 0..7
    for (std::size_t max : limits) {
        const std::vector<frame> expected = model(d, size, max);
        const std::vector<frame> got = run_framer(d, size, max, h ^ max);
        if (got != expected) {
            std::fprintf(stderr, "fuzz_framing: max %zu: framer gave %zu events, model %zu\n", max, got.size(),
                         expected.size());
            for (std::size_t i = 0; i < got.size() || i < expected.size(); ++i) {
                auto show = [](const std::vector<frame>& v, std::size_t k) {
                    if (k >= v.size()) return std::string("(none)");
                    return v[k].too_long ? std::string("too_long") : "line[" + std::to_string(v[k].text.size()) + "]";
                };
                std::fprintf(stderr, "  %zu: framer %s, model %s%s\n", i, show(got, i).c_str(),
                             show(expected, i).c_str(),
                             i < got.size() && i < expected.size() && got[i] == expected[i] ? "" : "   <--");
            }
            fail("framer events differ from the model of the documented behaviour", __LINE__);
        }
        if (max != 64) continue;
        for (const frame& f : got) {
            if (f.too_long) continue;
            check_sanitize(f.text);
            const std::string clean = chatroom::sanitize(f.text);
            check_parse(clean);
        }
    }

    // sanitize and parse on the raw bytes too: LF, CR and IAC included.
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    check_sanitize(raw);
    check_parse(chatroom::sanitize(raw));
    return 0;
}
