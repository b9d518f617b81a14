#pragma once

/// @file
/// How a server joins a cluster through Redis (docs/scale-out.md#options).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom {

/// Where a Redis server (or a Sentinel) listens.
struct redis_endpoint {
    std::string host = "127.0.0.1"; ///< a name or an address
    unsigned short port = 6379;     ///< its TCP port
};

/// How a server joins a cluster through Redis: for redis_backplane_factory.
struct redis_options {
    /// The instances; the first is home (nicks, liveness, rosters, private
    /// messages). A room's stream lives on the instance its name hashes to,
    /// so every server must list the same instances in the same order.
    std::vector<redis_endpoint> instances;
    /// This server's name in the cluster; empty: made up, unique per process.
    std::string node_id;
    /// Put before every Redis key, so several clusters can share an instance.
    std::string key_prefix = "chatroom:";
    /// Sent with AUTH on every connection first, when not empty (Redis
    /// requirepass; "USER PASSWORD" for an ACL user).
    std::string password;
    /// Each room's stream is trimmed to about this many entries (XADD MAXLEN ~).
    std::size_t stream_length = 10000;
    /// A Redis command (or a connection) not answered within this fails,
    /// and the link is treated as lost.
    std::chrono::milliseconds command_timeout{2000};
    /// Lines are held this long while Redis is unreachable; then the server
    /// is degraded (its members chat among themselves) until it is back.
    std::chrono::milliseconds outage_timeout{5000};
    /// How often this server renews its heartbeat key and reads the
    /// cluster's view (who is alive, where).
    std::chrono::milliseconds heartbeat{1000};
    /// A server whose heartbeat key is this old is dead.
    std::chrono::milliseconds node_ttl{3000};
    /// Unsent bytes past which senders wait.
    std::size_t max_held_bytes = 4 * 1024 * 1024;
    /// Entries per stream read at once.
    std::size_t read_count = 1000;
    /// Entries read back when a room opens here: its history, and what lets
    /// the reader drop an entry sent twice across that point.
    std::size_t replay_entries = 200;
    ///@{
    /// Redis Sentinel: with masters given, the instances are the primaries of
    /// those names (in order, the first is home), whose addresses the
    /// sentinels are asked for, and followed through failovers
    /// (+switch-master); instances is then unused.
    std::vector<redis_endpoint> sentinels;
    std::vector<std::string> masters;
    ///@}
    /// A canary entry is written to each instance this often and read back as
    /// room events are; one that does not come back within the command
    /// timeout and a read's block time degrades the server until it does.
    std::chrono::milliseconds canary_interval{2000};
};

/// "HOST:PORT", "[V6]:PORT" or "HOST" (port 6379).
inline std::optional<redis_endpoint> parse_redis_endpoint(std::string_view text) {
    redis_endpoint e;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        e.host = std::string(text.substr(1, close - 1));
        text.remove_prefix(close + 1);
        if (!text.empty()) {
            if (text.front() != ':') return std::nullopt;
            port = text.substr(1);
        }
    } else {
        const std::size_t colon = text.rfind(':');
        e.host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) port = text.substr(colon + 1);
    }
    if (e.host.empty()) return std::nullopt;
    if (!port.empty() || text.find(':') != std::string_view::npos) {
        if (port.empty() || port.size() > 5) return std::nullopt;
        unsigned long v = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<unsigned long>(c - '0');
        }
        if (v == 0 || v > 65535) return std::nullopt;
        e.port = static_cast<unsigned short>(v);
    }
    return e;
}

} // namespace chatroom
