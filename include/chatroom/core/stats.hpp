#pragma once

#include <atomic>
#include <cstdint>

namespace chatroom {

/// The link of a log shared by several servers (redis.hpp); none for the
/// in-process log.
enum class backplane_state : std::uint8_t {
    none,      ///< the in-process log: this server alone
    connected, ///< events go through the shared log
    holding,   ///< the shared log is unreachable: lines are held until it is back
    degraded,  ///< unreachable for longer: local members chat among themselves
};

/// The state's name, as in the enum ("none", "connected", "holding", "degraded").
inline const char* to_string(backplane_state s) noexcept {
    switch (s) {
    case backplane_state::none: return "none";
    case backplane_state::connected: return "connected";
    case backplane_state::holding: return "holding";
    case backplane_state::degraded: return "degraded";
    }
    return "?";
}

/// A snapshot of a server's counters.
struct server_stats {
    std::uint64_t connections = 0;       ///< open now
    std::uint64_t rooms = 0;             ///< existing now
    std::uint64_t accepted = 0;          ///< since start
    std::uint64_t rejected = 0;          ///< refused: server full or too many from one address
    std::uint64_t lines_in = 0;          ///< chat lines received
    std::uint64_t lines_delivered = 0;   ///< chat lines queued to recipients
    std::uint64_t bytes_out = 0;         ///< bytes written to sockets
    std::uint64_t slow_consumer_disconnects = 0; ///< connections dropped as too slow (server_options::max_queue_bytes, write_deadline)
    std::uint64_t lines_too_long = 0;            ///< lines refused past server_options::max_line_bytes
    std::uint64_t throttled = 0;         ///< times flood control paused a reader
    std::uint64_t timeouts = 0;          ///< idle and first-line timeouts
    std::uint64_t accept_errors = 0;     ///< failed accepts (e.g. out of file descriptors)
    std::uint64_t failed_logins = 0;     ///< wrong secrets, and attempts refused by the rate limit
    backplane_state backplane = backplane_state::none; ///< the shared log's link; none without one
    std::uint64_t backplane_outages = 0; ///< times the shared log became unreachable
    std::uint64_t missed_gaps = 0;       ///< times a room was told it missed events (trimmed streams)
    std::uint64_t backplane_rejected = 0; ///< entries read from the shared log dropped as invalid (redis.hpp)
};

namespace detail {

// Relaxed counters: each is a tally, read by stats() without ordering.
struct counters {
    using counter = std::atomic<std::uint64_t>;
    counter connections{0}, rooms{0}, accepted{0}, rejected{0}, lines_in{0}, lines_delivered{0}, bytes_out{0},
        slow_consumer_disconnects{0}, lines_too_long{0}, throttled{0}, timeouts{0}, accept_errors{0}, failed_logins{0},
        backplane_outages{0}, missed_gaps{0}, backplane_rejected{0};
    std::atomic<backplane_state> backplane{backplane_state::none};

    static void add(counter& c, std::uint64_t n = 1) noexcept { c.fetch_add(n, std::memory_order_relaxed); }
    static void sub(counter& c, std::uint64_t n = 1) noexcept { c.fetch_sub(n, std::memory_order_relaxed); }

    server_stats snapshot() const noexcept {
        auto get = [](const counter& c) { return c.load(std::memory_order_relaxed); };
        server_stats s;
        s.connections = get(connections);
        s.rooms = get(rooms);
        s.accepted = get(accepted);
        s.rejected = get(rejected);
        s.lines_in = get(lines_in);
        s.lines_delivered = get(lines_delivered);
        s.bytes_out = get(bytes_out);
        s.slow_consumer_disconnects = get(slow_consumer_disconnects);
        s.lines_too_long = get(lines_too_long);
        s.throttled = get(throttled);
        s.timeouts = get(timeouts);
        s.accept_errors = get(accept_errors);
        s.failed_logins = get(failed_logins);
        s.backplane = backplane.load(std::memory_order_relaxed);
        s.backplane_outages = get(backplane_outages);
        s.missed_gaps = get(missed_gaps);
        s.backplane_rejected = get(backplane_rejected);
        return s;
    }
};

} // namespace detail
} // namespace chatroom
