#pragma once

#include <chatroom/web/detail/deflate.hpp>
#include <chatroom/web/detail/http_request.hpp>
#include <chatroom/web/detail/http_response.hpp>
#include <chatroom/web/detail/page.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// GET / : the chat page, with an entity tag so that a browser that has it
// asks again ("Cache-Control: no-cache": revalidate every time, so a server
// upgrade is seen at once) and is answered 304 with no body when it is
// current. The tag is a hash of the page's bytes, the same for every server
// of one build. A browser whose Accept-Encoding allows gzip gets the page
// gzip-compressed (deflate.hpp, compressed once per process), under its own
// tag (the same with "-gz"); every answer says Vary: Accept-Encoding.

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

// The page as a gzip member, compressed once per process (the web listener
// asks for it as it starts: web_factory_base) and kept.
inline const std::string& web_page_gzip() {
    static const std::string gz = gzip_compress(web_page_html);
    return gz;
}

inline const std::string& web_page_gzip_etag() {
    static const std::string tag = web_page_etag().substr(0, web_page_etag().size() - 1) + "-gz\"";
    return tag;
}

// The q-value of a list member's parameters ("; q=0.5"), in thousandths:
// 1000 when absent, -1 when malformed (RFC 9110 12.4.2: at most 1, three
// decimals).
inline int accept_qvalue(std::string_view params) noexcept {
    int q = 1000;
    while (!params.empty()) {
        const std::size_t semi = params.find(';');
        const std::string_view p = trim_ows(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        if (p.size() < 2 || ascii_lower(p[0]) != 'q' || p[1] != '=') continue;
        const std::string_view v = p.substr(2);
        if (v.empty() || (v[0] != '0' && v[0] != '1') || (v.size() > 1 && (v[1] != '.' || v.size() > 5))) return -1;
        q = (v[0] - '0') * 1000;
        for (std::size_t i = 2, scale = 100; i < v.size(); ++i, scale /= 10) {
            if (v[i] < '0' || v[i] > '9') return -1;
            q += (v[i] - '0') * static_cast<int>(scale);
        }
        if (q > 1000) return -1;
    }
    return q;
}

// Whether Accept-Encoding values (every such field of a request, in order)
// allow gzip: "gzip" or "x-gzip" with q > 0, or, when neither is named, "*"
// with q > 0. A malformed member counts as absent.
class gzip_acceptance {
public:
    void add(std::string_view list) noexcept {
        while (!list.empty()) {
            const std::string_view member = next_list_member(list);
            const std::size_t semi = member.find(';');
            const std::string_view coding = trim_ows(member.substr(0, semi));
            const int q = semi == std::string_view::npos ? 1000 : accept_qvalue(member.substr(semi + 1));
            if (q < 0) continue;
            if (ascii_iequals(coding, "gzip") || ascii_iequals(coding, "x-gzip")) named_ = std::max(named_, q);
            else if (coding == "*") any_ = std::max(any_, q);
        }
    }
    bool accepted() const noexcept { return named_ >= 0 ? named_ > 0 : any_ > 0; }

private:
    int named_ = -1, any_ = -1; // the best q seen, in thousandths; -1: not named
};

template <class Values>
bool gzip_accepted_in(const Values& values) noexcept {
    gzip_acceptance a;
    for (std::string_view list : values) a.add(list);
    return a.accepted();
}

inline bool gzip_accepted(const http_request_parser& req) noexcept {
    gzip_acceptance a;
    for (std::size_t i = 0; i < req.field_count(); ++i)
        if (ascii_iequals(req.field(i).name, "Accept-Encoding")) a.add(req.field(i).value);
    return a.accepted();
}

// Whether an If-None-Match value names tag: "*", or a comma-separated list
// of tags compared weakly (RFC 9110 13.1.2: a W/ prefix is ignored).
inline bool etag_listed(std::string_view list, std::string_view tag) noexcept {
    while (!list.empty()) {
        std::string_view one = next_list_member(list);
        if (one.size() > 2 && one[0] == 'W' && one[1] == '/') one.remove_prefix(2);
        if (one == "*" || one == tag) return true;
    }
    return false;
}

// The page (gzip-compressed when accepted), or 304 when the request's
// If-None-Match names that variant's tag; the connection closes after either.
inline std::string page_response(const http_request_parser& req) {
    const bool gzip = gzip_accepted(req);
    const std::string& tag = gzip ? web_page_gzip_etag() : web_page_etag();
    const std::optional<std::string_view> asked = req.find("If-None-Match");
    if (asked && etag_listed(*asked, tag))
        return render_response(
            304, {{"ETag", tag}, {"Cache-Control", "no-cache"}, {"Vary", "Accept-Encoding"}, {"Connection", "close"}});
    std::vector<http_field> fields = {{"Content-Type", "text/html; charset=utf-8"},
                                      {"X-Content-Type-Options", "nosniff"},
                                      {"Cache-Control", "no-cache"},
                                      {"ETag", tag},
                                      {"Vary", "Accept-Encoding"},
                                      {"Content-Security-Policy", web_page_csp()},
                                      {"Referrer-Policy", "no-referrer"},
                                      {"Connection", "close"}};
    if (gzip) fields.push_back({"Content-Encoding", "gzip"});
    return render_response(200, fields, gzip ? std::string_view(web_page_gzip()) : web_page_html);
}

} // namespace chatroom::detail
