#pragma once

#include <chatroom/web/detail/http_request.hpp>
#include <chatroom/web/detail/http_response.hpp>
#include <chatroom/web/detail/page.hpp>

#include <cstdint>
#include <string>
#include <string_view>

// GET / : the chat page, with an entity tag so that a browser that has it
// asks again ("Cache-Control: no-cache": revalidate every time, so a server
// upgrade is seen at once) and is answered 304 with no body when it is
// current. The tag is a hash of the page's bytes, the same for every server
// of one build.

namespace chatroom::detail {

// "p-" and the FNV-1a 64-bit hash of the page, in hex, quoted (a strong tag).
inline const std::string& web_page_etag() {
    static const std::string tag = [] {
        std::uint64_t h = 14695981039346656037ull;
        for (const char c : web_page_html) {
            h ^= static_cast<unsigned char>(c);
            h *= 1099511628211ull;
        }
        static constexpr char hex[] = "0123456789abcdef";
        std::string out = "\"p-";
        for (int shift = 60; shift >= 0; shift -= 4) out += hex[(h >> shift) & 0xf];
        return out + '"';
    }();
    return tag;
}

// Whether an If-None-Match value names tag: "*", or a comma-separated list
// of tags compared weakly (RFC 9110 13.1.2: a W/ prefix is ignored).
inline bool etag_listed(std::string_view list, std::string_view tag) noexcept {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        std::string_view one = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
        while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
        if (one.size() > 2 && one[0] == 'W' && one[1] == '/') one.remove_prefix(2);
        if (one == "*" || one == tag) return true;
    }
    return false;
}

// The page, or 304 when the request's If-None-Match names it; the
// connection closes after either.
inline std::string page_response(const http_request_parser& req) {
    const std::string& tag = web_page_etag();
    const std::optional<std::string_view> asked = req.find("If-None-Match");
    if (asked && etag_listed(*asked, tag))
        return render_response(304, {{"ETag", tag}, {"Cache-Control", "no-cache"}, {"Connection", "close"}});
    return render_response(200,
                           {{"Content-Type", "text/html; charset=utf-8"},
                            {"X-Content-Type-Options", "nosniff"},
                            {"Cache-Control", "no-cache"},
                            {"ETag", tag},
                            {"Content-Security-Policy", web_page_csp()},
                            {"Referrer-Policy", "no-referrer"},
                            {"Connection", "close"}},
                           web_page_html);
}

} // namespace chatroom::detail
