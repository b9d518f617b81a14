#pragma once

#include <atomic>
#include <cstdint>

namespace chatroom {

// A snapshot of a server's counters.
struct server_stats {
    std::uint64_t connections = 0;       // open now
    std::uint64_t rooms = 0;             // existing now
    std::uint64_t accepted = 0;          // since start
    std::uint64_t rejected = 0;          // refused: server full or too many from one address
    std::uint64_t lines_in = 0;          // chat lines received
    std::uint64_t lines_delivered = 0;   // chat lines queued to recipients
    std::uint64_t bytes_out = 0;         // bytes written to sockets
    std::uint64_t slow_consumer_disconnects = 0;
    std::uint64_t lines_too_long = 0;
    std::uint64_t throttled = 0;         // times flood control paused a reader
    std::uint64_t timeouts = 0;          // idle and first-line timeouts
    std::uint64_t accept_errors = 0;     // failed accepts (e.g. out of file descriptors)
    std::uint64_t failed_logins = 0;     // wrong secrets, and attempts refused by the rate limit
};

namespace detail {

// Relaxed counters: each is a tally, read by stats() without ordering.
struct counters {
    using counter = std::atomic<std::uint64_t>;
    counter connections{0}, rooms{0}, accepted{0}, rejected{0}, lines_in{0}, lines_delivered{0}, bytes_out{0},
        slow_consumer_disconnects{0}, lines_too_long{0}, throttled{0}, timeouts{0}, accept_errors{0}, failed_logins{0};

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
        return s;
    }
};

} // namespace detail
} // namespace chatroom
