#pragma once

#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Just enough HTTP/1.1 (RFC 9110/9112) for the web listener: an incremental,
// bounded parser of a request head (here), the checks of a WebSocket opening
// handshake (RFC 6455 section 4.2, handshake.hpp) and a response renderer
// (http_response.hpp). No I/O, no bodies: the listener answers GETs only, so
// a request body is never read.

namespace chatroom::detail {

struct http_limits {
    std::size_t max_head_bytes = 8192; // request line, fields and the empty line, CRs and LFs included
    std::size_t max_fields = 64;
};

enum class http_parse_status : unsigned char { needs_more, complete, error };

struct http_field {
    std::string_view name;
    std::string_view value;
};

inline constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

// tchar of RFC 9110 section 5.6.2.
inline constexpr bool is_token_char(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    for (const char t : std::string_view("!#$%&'*+-.^_`|~"))
        if (c == t) return true;
    return false;
}

inline constexpr bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (const char c : s)
        if (!is_token_char(c)) return false;
    return true;
}

inline constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Takes the first member off a comma-separated field value (RFC 9110 5.6.1:
// Connection, Accept-Encoding, If-None-Match, X-Forwarded-For), without its
// surrounding whitespace; an empty member comes back empty. Callers loop
// while the list is not empty.
inline constexpr std::string_view next_list_member(std::string_view& list) noexcept {
    const std::size_t comma = list.find(',');
    const std::string_view member = trim_ows(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    return member;
}

// Parses one request head fed in pieces of any size. Lines may end in CRLF
// or a bare LF (RFC 9112 section 2.2 allows a server to accept the latter);
// empty lines before the request line are skipped. Everything else that is
// malformed fails with 400: a bare CR, NUL or other control characters, a
// request line that is not exactly "method SP target SP HTTP/d.d", a field
// without a colon, whitespace before the colon, or an obsolete folded line.
// A head over max_head_bytes or with more than max_fields fields fails with
// 431, as soon as it is known; the parser never holds more than
// max_head_bytes. Once complete, the bytes after the head are not consumed:
// they are the caller's (nothing, or early WebSocket frames).
class http_request_parser {
public:
    explicit http_request_parser(http_limits limits = {}) : limits_(limits) {}

    http_parse_status feed(const char* data, std::size_t size) {
        consumed_ = 0;
        if (status_ != http_parse_status::needs_more) return status_;
        const char* p = data;
        const char* const end = data + size;
        while (p < end) {
            const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
            const char* stop = nl ? nl + 1 : end;
            const auto take = static_cast<std::size_t>(stop - p);
            if (take > limits_.max_head_bytes - buf_.size()) {
                p += limits_.max_head_bytes - buf_.size();
                fail(431, "request head too large");
                break;
            }
            buf_.append(p, take);
            p = stop;
            if (!nl) break;
            const std::size_t start = line_start_;
            line_start_ = buf_.size();
            line(start, buf_.size() - 1 - start);
            if (status_ != http_parse_status::needs_more) break;
        }
        consumed_ = static_cast<std::size_t>(p - data);
        return status_;
    }

    http_parse_status feed(std::string_view s) { return feed(s.data(), s.size()); }

    http_parse_status status() const noexcept { return status_; }
    // Bytes of the last feed that belong to the head.
    std::size_t consumed() const noexcept { return consumed_; }
    // The status to answer a failed request with: 400 or 431.
    int error_status() const noexcept { return error_status_; }
    // What was wrong, for logs.
    std::string_view error_reason() const noexcept { return error_reason_; }
    // Bytes of the head held (all of it once complete).
    std::size_t head_size() const noexcept { return buf_.size(); }

    // The parts of a complete request (empty before).
    std::string_view method() const noexcept { return part(method_); }
    std::string_view target() const noexcept { return part(target_); }
    // The target up to its query, if any.
    std::string_view path() const noexcept {
        const std::string_view t = target();
        return t.substr(0, t.find('?'));
    }
    std::string_view version() const noexcept { return part(version_); }
    int version_major() const noexcept { return version_.size == 8 ? buf_[version_.offset + 5] - '0' : 0; }
    int version_minor() const noexcept { return version_.size == 8 ? buf_[version_.offset + 7] - '0' : 0; }

    std::size_t field_count() const noexcept { return fields_.size(); }
    http_field field(std::size_t i) const noexcept { return {part(fields_[i].name), part(fields_[i].value)}; }

    // The value of the first field of that name (compared without case).
    std::optional<std::string_view> find(std::string_view name) const noexcept {
        for (const auto& f : fields_)
            if (ascii_iequals(part(f.name), name)) return part(f.value);
        return std::nullopt;
    }

    std::size_t count(std::string_view name) const noexcept {
        std::size_t n = 0;
        for (const auto& f : fields_)
            if (ascii_iequals(part(f.name), name)) ++n;
        return n;
    }

    // Whether a comma-separated list field (Connection, Upgrade), over all
    // its fields, holds token, compared without case.
    bool has_token(std::string_view name, std::string_view token) const noexcept {
        for (const auto& f : fields_) {
            if (!ascii_iequals(part(f.name), name)) continue;
            for (std::string_view v = part(f.value); !v.empty();)
                if (ascii_iequals(next_list_member(v), token)) return true;
        }
        return false;
    }

    // Ready for the next request (keeps the buffer's memory).
    void reset() noexcept {
        buf_.clear();
        fields_.clear();
        line_start_ = 0;
        consumed_ = 0;
        method_ = target_ = version_ = {};
        status_ = http_parse_status::needs_more;
        error_status_ = 0;
        error_reason_ = {};
        seen_request_line_ = false;
    }

private:
    struct span {
        std::size_t offset = 0, size = 0;
    };
    struct field_span {
        span name, value;
    };

    std::string_view part(span s) const noexcept { return std::string_view(buf_).substr(s.offset, s.size); }

    void fail(int status, const char* reason) noexcept {
        status_ = http_parse_status::error;
        error_status_ = status;
        error_reason_ = reason;
    }

    // One line, LF excluded, at buf_[offset, offset + size).
    void line(std::size_t offset, std::size_t size) {
        if (size > 0 && buf_[offset + size - 1] == '\r') --size;
        const std::string_view text(buf_.data() + offset, size);
        for (const char c : text) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7F) return fail(400, "control character in the request head");
        }
        if (!seen_request_line_) {
            if (size == 0) return; // empty lines before the request line are skipped
            seen_request_line_ = true;
            return request_line(offset, text);
        }
        if (size == 0) {
            status_ = http_parse_status::complete;
            return;
        }
        if (text[0] == ' ' || text[0] == '\t') return fail(400, "obsolete line folding");
        const std::size_t colon = text.find(':');
        if (colon == std::string_view::npos) return fail(400, "header field without a colon");
        if (!is_token(text.substr(0, colon))) return fail(400, "malformed header field name");
        if (fields_.size() == limits_.max_fields) return fail(431, "too many header fields");
        const std::string_view value = trim_ows(text.substr(colon + 1));
        const std::size_t value_offset = value.empty() ? offset + size : static_cast<std::size_t>(value.data() - buf_.data());
        fields_.push_back({{offset, colon}, {value_offset, value.size()}});
    }

    void request_line(std::size_t offset, std::string_view text) {
        const std::size_t sp1 = text.find(' ');
        if (sp1 == std::string_view::npos) return fail(400, "malformed request line");
        const std::size_t sp2 = text.find(' ', sp1 + 1);
        if (sp2 == std::string_view::npos || text.find(' ', sp2 + 1) != std::string_view::npos)
            return fail(400, "malformed request line");
        const std::string_view method = text.substr(0, sp1);
        const std::string_view target = text.substr(sp1 + 1, sp2 - sp1 - 1);
        const std::string_view version = text.substr(sp2 + 1);
        if (!is_token(method)) return fail(400, "malformed method");
        if (target.empty()) return fail(400, "empty request target");
        for (const char c : target)
            if (c == '\t' || static_cast<unsigned char>(c) >= 0x80) return fail(400, "malformed request target");
        const bool version_ok = version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[5] >= '0' &&
                                version[5] <= '9' && version[6] == '.' && version[7] >= '0' && version[7] <= '9';
        if (!version_ok) return fail(400, "malformed HTTP version");
        // HTTP/0.9, 2 and 9.9 are well formed but not what this parser speaks.
        if (version[5] != '1') return fail(505, "HTTP version not supported");
        method_ = {offset, sp1};
        target_ = {offset + sp1 + 1, target.size()};
        version_ = {offset + sp2 + 1, version.size()};
    }

    std::string buf_;
    std::vector<field_span> fields_;
    http_limits limits_;
    std::size_t line_start_ = 0;
    std::size_t consumed_ = 0;
    span method_, target_, version_;
    http_parse_status status_ = http_parse_status::needs_more;
    int error_status_ = 0;
    std::string_view error_reason_;
    bool seen_request_line_ = false;
};

} // namespace chatroom::detail
