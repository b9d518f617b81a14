#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace chatroom {

/// The limits of a basic_client.
struct client_options {
    /// Longest line accepted from the server; a longer one is dropped and
    /// line_too_long_marker is received in its place.
    std::size_t max_line_bytes = 64 * 1024;
    /// send() beyond this much unsent output fails the connection.
    std::size_t max_queue_bytes = 4 * 1024 * 1024;
    /// Lines received with no on_line set wait here for async_receive(), up
    /// to this many bytes; lines beyond it are dropped, and one
    /// lines_dropped_marker is received where they were.
    std::size_t max_receive_queue_bytes = 1024 * 1024;
};

/// Reconnecting after a lost connection or a failed attempt, with exponential
/// backoff: attempt n waits d(n) = min(max_delay, initial_delay * multiplier^n),
/// shortened by a random part of up to jitter * d(n), so the clients of a
/// restarted server do not all come back in the same instant. The delay
/// starts from initial_delay again once a connection is up.
struct reconnect_policy {
    bool enabled = false;                         ///< off: the first loss or failed attempt closes the client
    std::chrono::milliseconds initial_delay{500}; ///< the first delay, and again after each connection
    std::chrono::milliseconds max_delay{30000};   ///< the longest delay
    double multiplier = 2.0; ///< below 1 counts as 1
    double jitter = 0.25;    ///< a fraction in [0, 1]
};

/// Sent to on_line in place of a line from the server longer than
/// client_options::max_line_bytes, which is dropped whole: a line cut short
/// could say something its sender did not.
inline constexpr std::string_view line_too_long_marker = "! (a line longer than the client's limit was dropped)";

/// Received by async_receive() in place of the lines dropped because the
/// receive queue (client_options::max_receive_queue_bytes) was full.
inline constexpr std::string_view lines_dropped_marker = "! (lines were dropped: the client's receive queue was full)";

} // namespace chatroom
