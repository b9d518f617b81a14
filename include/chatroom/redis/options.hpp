#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace chatroom {

struct redis_endpoint {
    std::string host = "127.0.0.1";
    unsigned short port = 6379;
};

struct redis_options {
    // The instances; the first is home (nicks, liveness, rosters, private
    // messages). A room's stream lives on the instance its name hashes to,
    // so every server must list the same instances in the same order.
    std::vector<redis_endpoint> instances;
    // This server's name in the cluster; empty: made up, unique per process.
    std::string node_id;
    std::string key_prefix = "chatroom:";
    // Sent with AUTH on every connection first, when not empty (Redis
    // requirepass; "USER PASSWORD" for an ACL user).
    std::string password;
    // Each room's stream is trimmed to about this many entries (XADD MAXLEN ~).
    std::size_t stream_length = 10000;
    std::chrono::milliseconds command_timeout{2000};
    // Lines are held this long while Redis is unreachable; then the server
    // is degraded (its members chat among themselves) until it is back.
    std::chrono::milliseconds outage_timeout{5000};
    std::chrono::milliseconds heartbeat{1000};
    // A server whose heartbeat key is this old is dead.
    std::chrono::milliseconds node_ttl{3000};
    // Unsent bytes past which senders wait.
    std::size_t max_held_bytes = 4 * 1024 * 1024;
    // Entries per stream read at once.
    std::size_t read_count = 1000;
    // Entries read back when a room opens here: its history, and what lets
    // the reader drop an entry sent twice across that point.
    std::size_t replay_entries = 200;
};

} // namespace chatroom
