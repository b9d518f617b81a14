#pragma once

// A Redis reply owned by C++, and what an error reply means for the link
// that got it. Every error reply is a fault, never a success: the caller
// holds what it was writing and asks again as the fault's class says.

#include <hiredis/hiredis.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::detail {

// A reply owned by C++ (hiredis frees its redisReply as soon as the reply
// callback returns). RESP2 kinds only, as hiredis 0.14 knows no others; a
// nil array (a BLOCK that timed out) is nil.
struct redis_reply {
    enum class kind : unsigned char { nil, integer, status, error, string, array };

    kind type = kind::nil;
    long long integer = 0;
    std::string text;                  // string, status and error replies (binary-safe)
    std::vector<redis_reply> elements; // array replies

    bool is_nil() const noexcept { return type == kind::nil; }
    bool is_integer() const noexcept { return type == kind::integer; }
    bool is_status() const noexcept { return type == kind::status; }
    bool is_error() const noexcept { return type == kind::error; }
    bool is_string() const noexcept { return type == kind::string; }
    bool is_array() const noexcept { return type == kind::array; }

    static redis_reply from_hiredis(const redisReply& r) {
        redis_reply out;
        switch (r.type) {
        case REDIS_REPLY_INTEGER:
            out.type = kind::integer;
            out.integer = r.integer;
            break;
        case REDIS_REPLY_STATUS:
        case REDIS_REPLY_ERROR:
        case REDIS_REPLY_STRING:
            out.type = r.type == REDIS_REPLY_STATUS ? kind::status : r.type == REDIS_REPLY_ERROR ? kind::error : kind::string;
            if (r.str) out.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ARRAY:
            out.type = kind::array;
            out.elements.reserve(r.elements);
            for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(from_hiredis(*r.element[i]));
            break;
        default: // REDIS_REPLY_NIL
            break;
        }
        return out;
    }
};

// What an error reply says about the server that sent it.
enum class reply_fault : unsigned char {
    none,      // not an error reply
    transient, // LOADING, BUSY, TRYAGAIN, MASTERDOWN...: the same command succeeds later; ask again with backoff
    readonly,  // READONLY: this is (now) a replica; find the primary again (Sentinel), then ask again
    auth,      // NOAUTH, WRONGPASS, NOPERM: the connection must authenticate (again) or has no right
    refused,   // anything else (WRONGTYPE, OOM, MISCONF, ERR...): refused until someone fixes it
};

// The error code: the reply's first word (LOADING, WRONGTYPE, ERR...).
inline std::string_view error_code_of(std::string_view text) noexcept {
    const std::size_t space = text.find(' ');
    return space == std::string_view::npos ? text : text.substr(0, space);
}

inline reply_fault classify_error(std::string_view text) noexcept {
    const std::string_view code = error_code_of(text);
    if (code == "LOADING" || code == "BUSY" || code == "TRYAGAIN" || code == "MASTERDOWN" || code == "CLUSTERDOWN" ||
        code == "MASTER_DOWN" || code == "UNBLOCKED")
        return reply_fault::transient;
    if (code == "READONLY") return reply_fault::readonly;
    if (code == "NOAUTH" || code == "WRONGPASS" || code == "NOPERM") return reply_fault::auth;
    return reply_fault::refused;
}

inline reply_fault classify(const redis_reply& r) noexcept {
    return r.is_error() ? classify_error(r.text) : reply_fault::none;
}

inline const char* to_string(reply_fault f) noexcept {
    switch (f) {
    case reply_fault::none: return "none";
    case reply_fault::transient: return "transient";
    case reply_fault::readonly: return "read-only replica";
    case reply_fault::auth: return "authentication";
    case reply_fault::refused: return "refused";
    }
    return "?";
}

} // namespace chatroom::detail
