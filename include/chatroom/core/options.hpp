#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace chatroom {

/// Who runs the server's handlers.
enum class threading {
    multi,  ///< any number of threads: shared state is locked (always correct)
    single, ///< exactly one thread runs the executor: the server takes no locks
};

/// A server's settings: limits, timeouts and the threading promise. The
/// defaults suit a public server; every limit is per connection unless it
/// says otherwise (docs/reliability.md).
struct server_options {
    /// Named in the welcome notice.
    std::string name = "chatroom";
    /// Extra welcome text; each of its lines reaches a new client as a "* " notice.
    std::string welcome;

    /// Longest line accepted, in bytes, CR and LF not counted.
    std::size_t max_line_bytes = 4096;
    ///@{
    /// The slow-consumer policy (docs/reliability.md). Output queued for one
    /// connection beyond max_queue_bytes drops it at once: the hard limit that
    /// bounds memory. Past soft_queue_bytes (0: a quarter of the hard limit) the
    /// senders into its room stop being read for at most max_sender_pause, so a
    /// burst waits for a reader that keeps up instead of overflowing it; one that
    /// stays past the soft mark for write_deadline is dropped, and from then on
    /// (or once it has held senders for max_sender_pause) nobody waits for it.
    std::size_t max_queue_bytes = 4 * 1024 * 1024;
    std::size_t soft_queue_bytes = 0;
    std::chrono::milliseconds max_sender_pause{100};
    std::chrono::milliseconds write_deadline{10000};
    ///@}
    /// Connections beyond this are answered "! server full" and closed.
    std::size_t max_connections = 10000;
    /// Connections from one address beyond this are refused; 0: no limit.
    std::size_t max_connections_per_address = 0;
    /// Rooms one member may be in at once (dialects that join several: IRC,
    /// browsers; the line protocol is in one at a time). A join past it is
    /// refused with reply_kind::too_many_rooms.
    std::size_t max_rooms_per_member = 20;
    /// Rooms open on this server at once; a join that would open one more is
    /// refused with reply_kind::too_many_rooms. 0: no limit.
    std::size_t max_rooms = 10000;
    /// Rooms with at least this many members announce no joins and leaves:
    /// each notice goes to every member, so a crowd arriving would cost
    /// members squared deliveries. 0: always announce.
    std::size_t quiet_room_size = 1000;
    /// Chat lines each room keeps and replays to members who join; 0: none.
    std::size_t history_lines = 0;
    /// The most lines one history query answers (/history N, async_history,
    /// a dialect's history requests); larger asks get this many.
    std::size_t history_page = 100;

    ///@{
    /// Flood control: a token bucket per connection, refilled at this many lines
    /// per second, holding at most flood_burst. When it is empty the server stops
    /// reading that socket, so TCP pushes back on the sender; nothing is dropped.
    /// 0: off.
    double flood_lines_per_second = 0;
    std::size_t flood_burst = 100;
    ///@}

    /// A connection that sends no line for this long is closed; 0: never.
    std::chrono::seconds idle_timeout{0};
    /// A connection whose first line does not arrive within this is closed; 0: never.
    std::chrono::seconds first_line_timeout{0};
    /// A TLS handshake that has not finished by then closes the connection.
    std::chrono::milliseconds handshake_timeout{10000};
    /// TCP keepalive, so half-open connections of vanished peers go away.
    bool tcp_keepalive = true;

    /// How long stop() and a departing client's final flush may take.
    std::chrono::milliseconds shutdown_timeout{2000};

    /// Permissions of a Unix socket's file: who may connect.
    unsigned unix_socket_mode = 0660;

    /// Who runs the server's handlers: threading::single only when exactly
    /// one thread runs the executor (then no lock is taken anywhere).
    threading concurrency = threading::multi;

    /// The soft mark in force.
    std::size_t soft_limit() const noexcept {
        const std::size_t soft = soft_queue_bytes ? soft_queue_bytes : max_queue_bytes / 4;
        return soft < max_queue_bytes ? soft : max_queue_bytes;
    }
};

} // namespace chatroom
