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
//               the events (finish() included) and the telnet replies, in
//               telnet_mode::answer and ::ignore, equal those of an
//               independent byte-at-a-time model of the documented
//               behaviour, whatever the splits; a BINARY peer's CR is in
//               replies() before its line's event; one feed adds at most
//               max_reply_bytes(consumed) bytes of replies, ignore none.
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

// The UTF-8 units of a line, decoded from its start: a lead byte and the
// continuation bytes it announces (fewer if the line ends or another byte
// cuts it short), or a single byte. Returns where the last unit starts and
// whether it is a sequence cut short at the end of the line.
struct last_unit {
    std::size_t start = 0;
    bool cut_short = false;
};
FUZZ_UNINSTRUMENTED last_unit last_utf8_unit(const std::string& s) {
    last_unit u;
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned char b = static_cast<unsigned char>(s[i]);
        std::size_t want = 1;
        if (b >= 0xC2 && b <= 0xDF) want = 2;
        else if (b >= 0xE0 && b <= 0xEF) want = 3;
        else if (b >= 0xF0 && b <= 0xF4) want = 4;
        std::size_t got = 1;
        while (got < want && i + got < s.size() && (static_cast<unsigned char>(s[i + got]) & 0xC0) == 0x80) ++got;
        u.start = i;
        u.cut_short = got < want && i + got == s.size();
        i += got;
    }
    return u;
}

// What line_framer is documented to do, one byte at a time (docs/protocol.md):
//   - telnet commands (IAC x, IAC WILL/WONT/DO/DONT x, IAC SB ... IAC SE)
//     vanish, IAC IAC is a 0xFF data byte;
//   - LF ends a line and one CR before it is dropped; once the peer has sent a
//     telnet command (IAC IAC is none), CR NUL ends a line too (the CR
//     dropped): a NUL whose line's last data byte is a CR;
//   - a line longer than max is reported once as too_long (as soon as it holds
//     max + 2 bytes, or at its end) and the rest of it is discarded;
//   - at the end of input, an unfinished line is handed out like any other;
//   - answering (telnet_mode::answer) only: the first command brings the
//     offer IAC DO BINARY, IAC WILL BINARY; DO TIMING-MARK gets WILL
//     TIMING-MARK every time; BINARY is RFC 1143 (the offer pending, or
//     agreed to when asked, confirmed off once when turned off); every other
//     DO gets WONT and WILL gets DONT, WONT and DONT get nothing; AYT gets
//     ayt_reply; EC erases the line's last UTF-8 unit, EL the whole line (not
//     a discarded one); IP, AO, BRK, SUSP while the line ends in a sequence cut
//     short and the peer is not BINARY give back 0x83, 0x8f, 0x9c, 0x9a; each
//     line end of a BINARY peer puts a CR in the replies, before the event.
FUZZ_UNINSTRUMENTED std::vector<frame> model(const unsigned char* d, std::size_t n, std::size_t max, bool answer,
                                             std::string& replies) {
    enum class st { data, iac, option, sub, sub_iac } state = st::data;
    enum class q { no, asked, yes };
    constexpr unsigned char IAC = 255, SE = 240, SB = 250, WILL = 251, WONT = 252, DO = 253, DONT = 254;
    std::vector<frame> out;
    std::string line;
    bool reported = false;   // the line is too long and being discarded
    bool discarded_cr = false; // the discarded line's last data byte was a CR
    bool telnet = false;
    q peer = q::no, server = q::no; // BINARY from the peer, and from the server
    unsigned char verb = 0;
    auto say = [&](unsigned char v, unsigned char o) {
        replies.push_back(static_cast<char>(IAC));
        replies.push_back(static_cast<char>(v));
        replies.push_back(static_cast<char>(o));
    };
    auto add = [&](unsigned char c) {
        if (reported) {
            discarded_cr = c == '\r';
            return;
        }
        line.push_back(static_cast<char>(c));
        if (line.size() >= max + 2) {
            out.push_back({true, {}});
            reported = true;
            discarded_cr = c == '\r';
            line.clear();
        }
    };
    auto line_end = [&] {
        if (peer == q::yes) replies.push_back('\r');
        if (!reported) {
            std::size_t len = line.size();
            if (len > 0 && line[len - 1] == '\r') --len;
            if (len > max) out.push_back({true, {}});
            else out.push_back({false, line.substr(0, len)});
        }
        line.clear();
        reported = false;
        discarded_cr = false;
    };
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char c = d[i];
        switch (state) {
        case st::data: {
            const bool after_cr = reported ? discarded_cr : !line.empty() && line.back() == '\r';
            if (c == IAC) state = st::iac;
            else if (c == '\n' || (c == 0 && telnet && after_cr)) line_end();
            else add(c);
            break;
        }
        case st::iac:
            state = st::data;
            if (c == IAC) {
                add(c);
                break;
            }
            if (!telnet && answer) {
                say(DO, 0);
                say(WILL, 0);
                peer = server = q::asked;
            }
            telnet = true;
            if (c == SB) {
                state = st::sub;
            } else if (c >= WILL) {
                verb = c;
                state = st::option;
            } else if (answer) {
                switch (c) {
                case 246: replies += chatroom::detail::telnet::ayt_reply; break;
                case 247:
                    if (!reported) line.erase(last_utf8_unit(line).start);
                    break;
                case 248:
                    if (!reported) line.clear();
                    break;
                case 244: case 245: case 243: case 237: {
                    if (reported || peer == q::yes || line.empty() || !last_utf8_unit(line).cut_short) break;
                    add(c == 244 ? 0x83 : c == 245 ? 0x8f : c == 243 ? 0x9c : 0x9a);
                    break;
                }
                default: break;
                }
            }
            break;
        case st::option:
            state = st::data;
            if (!answer) break;
            if (c == 0) {
                q& side = verb == WILL || verb == WONT ? peer : server;
                const bool on = verb == WILL || verb == DO;
                if (on) {
                    if (side == q::no) say(verb == WILL ? DO : WILL, 0);
                    side = q::yes;
                } else {
                    if (side == q::yes) say(verb == WONT ? DONT : WONT, 0);
                    side = q::no;
                }
            } else if (verb == DO) {
                say(c == 6 ? WILL : WONT, c);
            } else if (verb == WILL) {
                say(DONT, c);
            }
            break;
        case st::sub:
            if (c == IAC) state = st::sub_iac;
            break;
        case st::sub_iac: state = c == SE ? st::data : st::sub; break;
        }
    }
    if (!line.empty() && !reported) line_end(); // finish()
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

std::vector<frame> run_framer(const unsigned char* d, std::size_t n, std::size_t max, bool answer, std::uint64_t seed,
                              std::string& replies) {
    chatroom::line_framer framer(max, answer ? chatroom::telnet_mode::answer : chatroom::telnet_mode::ignore);
    FUZZ_CHECK(framer.max_line_bytes() == max);
    FUZZ_CHECK(framer.buffered() == 0);
    FUZZ_CHECK(framer.replies().empty());
    // What the handler checks about each event; the replies it may see.
    auto record = [&](std::vector<frame>& out, chatroom::frame_event ev, std::string_view text) {
        FUZZ_CHECK(framer.buffered() <= max + 1);
        if (ev == chatroom::frame_event::line) {
            // A BINARY peer's line end is answered with a CR, queued before the line.
            if (framer.peer_binary()) FUZZ_CHECK(!framer.replies().empty() && framer.replies().back() == '\r');
            FUZZ_CHECK_DATA(text.size() <= max, text);
            FUZZ_CHECK_DATA(text.find('\n') == std::string_view::npos, text);
            out.push_back({false, std::string(text)});
        } else {
            FUZZ_CHECK(ev == chatroom::frame_event::too_long);
            out.push_back({true, {}});
        }
    };
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
                record(out, ev, text);
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
            FUZZ_CHECK(framer.replies().size() <= chatroom::detail::telnet::max_reply_bytes(used));
            if (!answer) FUZZ_CHECK(framer.replies().empty());
            replies += framer.take_replies();
            p += used;
            left -= used;
        }
        pos += len;
        if ((r.next() & 15) == 0) {
            framer.shrink();
            FUZZ_CHECK(framer.buffered() <= max + 1);
        }
    }
    framer.finish([&](chatroom::frame_event ev, std::string_view text) {
        record(out, ev, text);
        return (r.next() & 1) == 0; // what it returns does not matter: finish hands at most one line
    });
    FUZZ_CHECK(framer.buffered() == 0);
    FUZZ_CHECK(framer.replies().size() <= 1);
    replies += framer.take_replies();
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
    else if (w == "join") expect = command_kind::switch_room;
    else if (w == "who") expect = command_kind::who;
    else if (w == "rooms") expect = command_kind::rooms;
    else if (w == "me") expect = command_kind::me;
    else if (w == "msg") expect = command_kind::msg;
    else if (w == "quit") expect = command_kind::quit;
    else if (w == "help") expect = command_kind::help;
    else if (w == "login") expect = command_kind::login;
    else if (w == "kick") expect = command_kind::kick;
    else if (w == "ban") expect = command_kind::ban;
    else if (w == "unban") expect = command_kind::unban;
    else if (w == "mute") expect = command_kind::mute;
    else if (w == "unmute") expect = command_kind::unmute;
    else if (w == "topic") expect = command_kind::topic;
    FUZZ_CHECK_DATA(cmd.kind == expect, line);

    switch (cmd.kind) {
    case command_kind::nick:
    case command_kind::me:
    case command_kind::quit:
    case command_kind::unban:
    case command_kind::mute:
    case command_kind::unmute:
    case command_kind::topic:
        FUZZ_CHECK_DATA(trimmed(cmd.arg), line);
        FUZZ_CHECK_DATA(cmd.text.empty(), line);
        break;
    case command_kind::switch_room: // "/join # x" leaves " x", which is_valid_name refuses
        FUZZ_CHECK_DATA(cmd.text.empty(), line);
        break;
    case command_kind::msg:
    case command_kind::login:
    case command_kind::kick:
    case command_kind::ban:
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
        // The server's mode with the usual limit; either with the tiny one.
        const bool answer = max == 64 || ((h >> 60) & 1) == 0;
        std::string expected_replies, got_replies;
        const std::vector<frame> expected = model(d, size, max, answer, expected_replies);
        const std::vector<frame> got = run_framer(d, size, max, answer, h ^ max, got_replies);
        if (got_replies != expected_replies) {
            std::fprintf(stderr, "fuzz_framing: max %zu, %s: replies differ\n  framer: %s\n  model:  %s\n", max,
                         answer ? "answer" : "ignore", fuzz::hex(got_replies).c_str(),
                         fuzz::hex(expected_replies).c_str());
            fail("framer replies differ from the model of the documented behaviour", __LINE__);
        }
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
