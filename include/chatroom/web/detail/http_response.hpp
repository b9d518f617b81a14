#pragma once

#include <chatroom/web/detail/http_request.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

// The responses of the web listener: an HTTP/1.1 response renderer, and the
// responses that end the exchange (http_request.hpp says what HTTP this is).

namespace chatroom::detail {

inline std::string_view http_status_reason(int status) noexcept {
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

namespace http_detail {
// Appends s without CR, LF or NUL, so no value can split the response.
inline void append_field_text(std::string& out, std::string_view s) {
    for (const char c : s)
        if (c != '\r' && c != '\n' && c != '\0') out += c;
}
} // namespace http_detail

// An HTTP/1.1 response. Content-Length is added (and any given one
// ignored) except for 1xx, 204 and 304, which carry no body.
template <class Fields>
std::string render_response(int status, const Fields& fields, std::string_view body = {}) {
    const bool bodyless = (status >= 100 && status < 200) || status == 204 || status == 304;
    std::string out;
    out.reserve(128 + body.size());
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += http_status_reason(status);
    out += "\r\n";
    for (const http_field& f : fields) {
        if (ascii_iequals(f.name, "Content-Length")) continue;
        http_detail::append_field_text(out, f.name);
        out += ": ";
        http_detail::append_field_text(out, f.value);
        out += "\r\n";
    }
    if (!bodyless) {
        out += "Content-Length: ";
        out += std::to_string(body.size());
        out += "\r\n";
    }
    out += "\r\n";
    if (!bodyless) out.append(body.data(), body.size());
    return out;
}

inline std::string render_response(int status, std::initializer_list<http_field> fields, std::string_view body = {}) {
    return render_response<std::initializer_list<http_field>>(status, fields, body);
}

// A response that ends the exchange; the connection closes after it.
inline std::string closing_response(int status, std::string_view body, std::string_view content_type = "text/plain; charset=utf-8",
                                    std::initializer_list<http_field> extra = {}) {
    std::vector<http_field> fields = {{"Content-Type", content_type},
                                      {"X-Content-Type-Options", "nosniff"},
                                      {"Cache-Control", "no-store"},
                                      {"Connection", "close"}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    return render_response(status, fields, body);
}

inline std::string status_response(int status) {
    std::string body(http_status_reason(status));
    body += '\n';
    return closing_response(status, body);
}

} // namespace chatroom::detail
