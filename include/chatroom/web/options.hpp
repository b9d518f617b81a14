#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace chatroom {

/// What a web listener (listen_web, chatroom/web.hpp) lets in and how it
/// keeps browsers alive.
struct web_options {
    /// Origins (exact "scheme://host[:port]", as browsers send them) whose
    /// pages may open the WebSocket. Empty: only the server's own origin, the
    /// scheme of the listener and the request's Host. A request without an
    /// Origin is not from a browser page and is let in: Origin protects
    /// browsers' users from other sites, it is no authentication.
    std::vector<std::string> allowed_origins;
    /// Host header values the server answers to (compared without case). Empty:
    /// the address and port the connection reached, and localhost, 127.0.0.1,
    /// [::1] and the machine's host name with that port (without the port when
    /// it is the scheme's default). A server reached by another DNS name lists
    /// all its names here. Checked on every request: it is what defeats DNS
    /// rebinding.
    std::vector<std::string> allowed_hosts;
    /// Peers whose X-Forwarded-For is believed (exact addresses). For them the
    /// member's address, used for per-address limits and logs, is the last hop
    /// in that header that is not itself a trusted proxy.
    std::vector<std::string> trusted_proxies;
    /// Serve GET /metrics (the server's stats in the Prometheus text format).
    bool metrics = false;
    ///@{
    /// A connection nothing was heard from for ping_interval is pinged; one
    /// that still sends nothing within pong_timeout is dropped. 0: no pings.
    std::chrono::seconds ping_interval{30};
    std::chrono::seconds pong_timeout{30};
    ///@}
    /// The largest request head (431 beyond).
    std::size_t max_request_bytes = 8192;
};

} // namespace chatroom
