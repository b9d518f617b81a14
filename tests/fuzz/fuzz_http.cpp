// fuzz_http: chatroom::detail::http_request_parser, check_websocket_upgrade
// and the response renderers.
//
// Input: byte 0 picks the limits (head size 64..8192 bytes, 0..63 fields);
// the rest is what a client sends on the web port. It is parsed in one feed
// and in chunks whose sizes come from a generator seeded with a hash of the
// input, and compared with an independent reference parser that works on the
// whole input at once.
//
// Properties (a violation prints what failed and traps):
//   - chunked and one-feed parses agree in status, error status, head size,
//     bytes consumed and every part of the request, and both equal the
//     reference (status, 400/431/505, method, target, version, fields);
//   - the parser never holds more than max_head_bytes; a feed consumes
//     everything while more is needed, and once complete nothing more;
//   - a complete head re-parsed alone gives the same request;
//   - find/count/has_token agree with linear scans done here;
//   - check_websocket_upgrade answers 101, 400 or 426, and 101 only for a GET
//     over HTTP/1.1+ with one Host, Upgrade: websocket, Connection: upgrade,
//     version 13 and a 24-character base64 key;
//   - every rendered response is one status line, field lines that end in
//     CRLF with no other CR or LF (whatever bytes the fields held), an empty
//     line and a body of the announced Content-Length.

#include <chatroom/web/detail/handshake.hpp>
#include <chatroom/web/detail/http_request.hpp>
#include <chatroom/web/detail/http_response.hpp>

#include "strict_text.hpp"

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, int line, std::string_view data = {}) {
    std::fprintf(stderr, "fuzz_http: property violated (line %d): %s\n", line, what);
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

// ---- reference parser ---------------------------------------------------------

FUZZ_UNINSTRUMENTED bool ref_tchar(char c) {
    static const std::string extra = "!#$%&'*+-.^_`|~";
    const auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || extra.find(c) != std::string::npos;
}

FUZZ_UNINSTRUMENTED bool ref_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!ref_tchar(c)) return false;
    return true;
}

FUZZ_UNINSTRUMENTED std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

struct reference {
    http_parse_status status = http_parse_status::needs_more;
    int error = 0;
    std::string method, target, version;
    std::vector<std::pair<std::string, std::string>> fields;
};

// Splits the whole input into LF-terminated lines and applies the documented
// grammar line by line; the limit applies to where each line ends.
FUZZ_UNINSTRUMENTED reference reference_parse(std::string_view in, http_limits lim) {
    reference r;
    auto err = [&](int code) {
        r.status = http_parse_status::error;
        r.error = code;
        return r;
    };
    bool started = false;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t lf = in.find('\n', pos);
        if (lf == std::string_view::npos) return in.size() > lim.max_head_bytes ? err(431) : r;
        if (lf + 1 > lim.max_head_bytes) return err(431);
        std::string line(in.substr(pos, lf - pos));
        pos = lf + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        for (char c : line) {
            const auto u = static_cast<unsigned char>(c);
            if (u == 0x7F || (u < 0x20 && u != 0x09)) return err(400);
        }
        if (!started) {
            if (line.empty()) continue;
            started = true;
            std::vector<std::string> parts;
            std::size_t a = 0;
            for (;;) {
                const std::size_t sp = line.find(' ', a);
                parts.push_back(line.substr(a, sp == std::string::npos ? std::string::npos : sp - a));
                if (sp == std::string::npos) break;
                a = sp + 1;
            }
            if (parts.size() != 3 || !ref_token(parts[0]) || parts[1].empty()) return err(400);
            for (char c : parts[1])
                if (c == '\t' || static_cast<unsigned char>(c) >= 0x80) return err(400);
            const std::string& v = parts[2];
            if (!(v.size() == 8 && v.compare(0, 5, "HTTP/") == 0 && std::isdigit(static_cast<unsigned char>(v[5])) &&
                  v[6] == '.' && std::isdigit(static_cast<unsigned char>(v[7]))))
                return err(400);
            if (v[5] != '1') return err(505); // well formed, but only HTTP/1.x is spoken
            r.method = parts[0];
            r.target = parts[1];
            r.version = v;
            continue;
        }
        if (line.empty()) {
            r.status = http_parse_status::complete;
            return r;
        }
        if (line[0] == ' ' || line[0] == '\t') return err(400);
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos || !ref_token(line.substr(0, colon))) return err(400);
        if (r.fields.size() >= lim.max_fields) return err(431);
        std::string value = line.substr(colon + 1);
        const std::size_t first = value.find_first_not_of(" \t");
        value = first == std::string::npos ? std::string() : value.substr(first, value.find_last_not_of(" \t") - first + 1);
        r.fields.emplace_back(line.substr(0, colon), value);
    }
}

// ---- checks -----------------------------------------------------------------------

void same_request(const http_request_parser& a, const http_request_parser& b) {
    FUZZ_CHECK(a.status() == b.status());
    FUZZ_CHECK(a.error_status() == b.error_status());
    FUZZ_CHECK(a.method() == b.method());
    FUZZ_CHECK(a.target() == b.target());
    FUZZ_CHECK(a.version() == b.version());
    FUZZ_CHECK(a.field_count() == b.field_count());
    for (std::size_t i = 0; i < a.field_count(); ++i) {
        FUZZ_CHECK(a.field(i).name == b.field(i).name);
        FUZZ_CHECK(a.field(i).value == b.field(i).value);
    }
}

void matches_reference(const http_request_parser& p, const reference& r, std::string_view input) {
    FUZZ_CHECK_DATA(p.status() == r.status, input);
    FUZZ_CHECK_DATA(p.error_status() == r.error, input);
    if (p.status() == http_parse_status::error) FUZZ_CHECK(!p.error_reason().empty());
    if (p.status() != http_parse_status::complete) return;
    FUZZ_CHECK_DATA(p.method() == r.method && p.target() == r.target && p.version() == r.version, input);
    FUZZ_CHECK(p.field_count() == r.fields.size());
    for (std::size_t i = 0; i < r.fields.size(); ++i) {
        FUZZ_CHECK(p.field(i).name == r.fields[i].first);
        FUZZ_CHECK(p.field(i).value == r.fields[i].second);
    }
}

FUZZ_UNINSTRUMENTED std::optional<std::string> linear_find(const reference& r, std::string_view name) {
    for (const auto& f : r.fields)
        if (lower(f.first) == lower(name)) return f.second;
    return std::nullopt;
}

void check_lookups(const http_request_parser& p, const reference& r) {
    for (std::size_t i = 0; i < r.fields.size() && i < 8; ++i) {
        const std::string& name = r.fields[i].first;
        const std::optional<std::string> want = linear_find(r, name);
        const std::optional<std::string_view> got = p.find(lower(name));
        FUZZ_CHECK(got.has_value() && want.has_value() && *got == *want);
        std::size_t n = 0;
        for (const auto& f : r.fields) n += lower(f.first) == lower(name);
        FUZZ_CHECK(p.count(name) == n);
        // has_token against a split done here.
        bool any = false;
        const std::string item = lower(r.fields[i].second.substr(0, r.fields[i].second.find(',')));
        const std::size_t b = item.find_first_not_of(" \t");
        const std::string trimmed = b == std::string::npos ? "" : item.substr(b, item.find_last_not_of(" \t") - b + 1);
        if (!trimmed.empty()) any = true;
        if (any) FUZZ_CHECK(p.has_token(name, trimmed));
    }
    FUZZ_CHECK(!p.find("X-Not-Present-Anywhere").has_value() || linear_find(r, "x-not-present-anywhere"));
}

// One response: status line, fields each ending in CRLF, an empty line and
// exactly Content-Length bytes of body (none for 1xx, 204, 304).
void check_response(std::string_view response, int status, std::size_t fields) {
    const std::string prefix = "HTTP/1.1 " + std::to_string(status) + " ";
    FUZZ_CHECK_DATA(response.compare(0, prefix.size(), prefix) == 0, response);
    const std::size_t end = response.find("\r\n\r\n");
    FUZZ_CHECK_DATA(end != std::string_view::npos, response);
    const std::string_view head = response.substr(0, end + 2);
    const std::string_view body = response.substr(end + 4);
    std::size_t lines = 0, pos = 0;
    std::optional<std::size_t> length;
    while (pos < head.size()) {
        const std::size_t crlf = head.find("\r\n", pos);
        FUZZ_CHECK(crlf != std::string_view::npos);
        const std::string_view line = head.substr(pos, crlf - pos);
        FUZZ_CHECK_DATA(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos, line);
        FUZZ_CHECK(line.find('\0') == std::string_view::npos);
        if (line.compare(0, 16, "Content-Length: ") == 0) {
            FUZZ_CHECK(!length.has_value());
            length = std::stoul(std::string(line.substr(16)));
        }
        ++lines;
        pos = crlf + 2;
    }
    const bool bodyless = status < 200 || status == 204 || status == 304;
    FUZZ_CHECK(lines == 1 + fields + (bodyless ? 0 : 1));
    if (bodyless) FUZZ_CHECK(body.empty() && !length.has_value());
    else FUZZ_CHECK(length.has_value() && *length == body.size());
}

void check_upgrade(const http_request_parser& p) {
    const websocket_upgrade u = check_websocket_upgrade(p);
    FUZZ_CHECK(u.status == 101 || u.status == 400 || u.status == 426);
    if (u.status == 101) {
        FUZZ_CHECK(p.method() == "GET");
        FUZZ_CHECK(p.version_major() == 1 && p.version_minor() >= 1);
        FUZZ_CHECK(p.count("host") == 1 && u.host == *p.find("HOST"));
        FUZZ_CHECK(p.find("sec-websocket-version") == std::optional<std::string_view>("13"));
        FUZZ_CHECK(u.key.size() == 24 && u.key.substr(22) == "==");
        FUZZ_CHECK(u.key == *p.find("sec-websocket-key"));
        FUZZ_CHECK(u.origin == p.find("origin"));
        FUZZ_CHECK(p.has_token("upgrade", "WEBSOCKET") && p.has_token("connection", "Upgrade"));
        FUZZ_CHECK(u.reason.empty());
    } else {
        FUZZ_CHECK(!u.reason.empty());
    }
    if (u.status == 426) FUZZ_CHECK(p.find("Sec-WebSocket-Version").value_or("13") != "13");
    const std::string response = render_handshake_response(u);
    check_response(response, u.status, u.status == 101 ? 3 : u.status == 426 ? 4 : 2);
    if (u.status == 101) FUZZ_CHECK(response.find("Sec-WebSocket-Accept: " + websocket_accept_key(u.key) + "\r\n") != std::string::npos);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t sel = data[0];
    http_limits limits;
    if (sel & 0x80) {
        limits.max_head_bytes = 64u << (sel & 7);        // 64 .. 8192
        limits.max_fields = static_cast<std::size_t>((sel >> 3) & 15) * 4; // 0 .. 60
    }
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    rng g{fnv(data, size)};

    http_request_parser whole(limits);
    whole.feed(input);
    FUZZ_CHECK(whole.head_size() <= limits.max_head_bytes);
    FUZZ_CHECK(whole.consumed() <= input.size());
    if (whole.status() == http_parse_status::needs_more) FUZZ_CHECK(whole.consumed() == input.size());

    http_request_parser split(limits);
    std::size_t at = 0;
    while (at < input.size() && split.status() == http_parse_status::needs_more) {
        const std::size_t left = input.size() - at;
        const std::size_t chunk = 1 + g.below(g.below(4) == 0 ? 1 : left < 256 ? left : 256);
        const http_parse_status st = split.feed(input.substr(at, chunk));
        FUZZ_CHECK(split.consumed() <= chunk);
        if (st == http_parse_status::needs_more) FUZZ_CHECK(split.consumed() == chunk);
        FUZZ_CHECK(split.head_size() <= limits.max_head_bytes);
        at += split.consumed();
        if (st != http_parse_status::needs_more) break;
    }
    same_request(whole, split);
    FUZZ_CHECK(whole.head_size() == split.head_size() || whole.status() == http_parse_status::error);
    if (whole.status() == http_parse_status::complete) {
        const std::size_t head = whole.consumed();
        FUZZ_CHECK(at == head);
        FUZZ_CHECK(whole.head_size() == head);
        FUZZ_CHECK(whole.feed("x", 1) == http_parse_status::complete && whole.consumed() == 0);
        // The head alone parses to the same request.
        http_request_parser again(limits);
        FUZZ_CHECK(again.feed(input.substr(0, head)) == http_parse_status::complete);
        FUZZ_CHECK(again.consumed() == head);
        same_request(whole, again);
    }

    const reference ref = reference_parse(input, limits);
    matches_reference(whole, ref, input.substr(0, 512));
    if (whole.status() == http_parse_status::complete) {
        check_lookups(whole, ref);
        check_upgrade(whole);
        // Fields made of arbitrary bytes cannot add lines to a response.
        std::vector<http_field> fields;
        for (std::size_t i = 0; i < whole.field_count() && i < 4; ++i)
            if (!ascii_iequals(whole.field(i).name, "Content-Length")) fields.push_back(whole.field(i));
        const std::string_view raw_value = input.substr(0, input.size() < 64 ? input.size() : 64);
        fields.push_back({"X-Raw", raw_value});
        const int statuses[] = {200, 204, 404, 101, 500};
        const int status = statuses[g.below(5)];
        check_response(render_response(status, fields, whole.target()), status, fields.size());
    } else {
        FUZZ_CHECK(check_websocket_upgrade(whole).status == 400);
    }
    return 0;
}
