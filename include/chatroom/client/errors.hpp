#pragma once

#include <string>
#include <system_error>
#include <type_traits>

namespace chatroom {

/// The client's own errors, as std::error_code values of client_category().
/// The other codes a client reports are Asio's (asio::error::...) and the
/// system's (a refused connection, a reset, a failed TLS handshake).
enum class client_errc {
    /// send()/async_send() was given a line with CR or LF: one call queues
    /// one line, so nothing was sent (a relayed text cannot smuggle a
    /// second line, such as a command, past the caller).
    line_has_newline = 1,
    /// A TLS connect by endpoint without a host name, with a context that
    /// verifies the server: there is no name to verify the certificate
    /// against. Pass one (connect(endpoint, "name"); an address written as
    /// text is checked against the certificate's IP entries), or connect by
    /// host and port, or opt out with make_client_tls_context(ca, false).
    host_name_required,
    /// The client is closed: an operation started after close(), or one
    /// still pending when the client was closed with no error to report.
    closed,
    /// async_receive() while on_line is set: lines go to on_line then, so
    /// the receive would never complete.
    lines_go_to_on_line,
};

namespace detail {

class client_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "chatroom.client"; }
    std::string message(int value) const override {
        switch (static_cast<client_errc>(value)) {
        case client_errc::line_has_newline: return "a line to send contains CR or LF";
        case client_errc::host_name_required:
            return "a TLS connection by endpoint needs a host name to verify the certificate against";
        case client_errc::closed: return "the client is closed";
        case client_errc::lines_go_to_on_line: return "lines go to on_line, so async_receive gets none";
        }
        return "unknown chatroom client error";
    }
};

} // namespace detail

/// The error category of client_errc ("chatroom.client").
inline const std::error_category& client_category() noexcept {
    static const detail::client_error_category category;
    return category;
}

/// Makes client_errc values std::error_codes (found by argument-dependent lookup).
inline std::error_code make_error_code(client_errc e) noexcept {
    return {static_cast<int>(e), client_category()};
}

} // namespace chatroom

namespace std {
template <>
struct is_error_code_enum<chatroom::client_errc> : true_type {};
} // namespace std
