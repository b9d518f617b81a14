#pragma once

#include <chatroom/line_framer.hpp>
#include <chatroom/optional_mutex.hpp>
#include <chatroom/outbox.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace chatroom::detail {

class room;
using clock = std::chrono::steady_clock;

// Why a member left; the room is told the reason's text.
enum class leave_reason {
    eof,                // the client closed the connection
    quit,               // /quit
    connection_lost,    // reset, failed write, keepalive
    too_slow,           // its output queue passed the limit
    idle_timeout,
    first_line_timeout,
    shutdown,           // the server is stopping; rooms are not told
};

// One connected client as the hub sees it, whatever carries its bytes.
// The session (one per transport) derives from it and does the I/O.
class member : public std::enable_shared_from_this<member> {
public:
    member(bool locking, std::size_t max_line_bytes) : framer(max_line_bytes), mutex(locking) {}
    member(const member&) = delete;
    member& operator=(const member&) = delete;
    virtual ~member() = default;

    // Writes queued output; the hub calls it once per batch of deliveries.
    virtual void flush() = 0;
    // Reads no more; closes once queued output is written (the hub bounds how long).
    virtual void close_gracefully() = 0;
    // Drops queued output, tries to send last_words (may be empty), closes.
    virtual void close_now(std::string_view last_words) = 0;
    // Flood control paused reading; the bucket has tokens again. unread is
    // what the session had read but the hub had not yet consumed.
    virtual void resume_reading(std::string unread) = 0;
    // True once the socket is closed.
    virtual bool is_closed() = 0;

    // Guarded by the hub's lock.
    std::string nick;
    std::string nick_key; // nick folded to lower case
    std::string chat_prefix; // "<nick> ", what starts each of its chat lines
    std::string address;  // the peer, for logs and per-address limits
    room* current = nullptr;
    std::size_t room_slot = 0;     // index in current's member list
    std::size_t registry_slot = 0; // index in the hub's registry
    bool attached = false;         // in the registry, a room and the nick table
    bool said_something = false;
    bool queued_for_flush = false;
    bool throttled = false;
    bool draining = false;         // closing with a final flush, under a deadline
    clock::time_point connected_at{};
    clock::time_point last_active{};
    clock::time_point deadline = clock::time_point::max(); // forced close while draining
    double tokens = 0;                                     // flood control bucket
    std::string stash; // read while throttled, not yet consumed
    clock::time_point refilled_at{};

    // Touched only by the session's read path, which is one chain of handlers.
    line_framer framer;

    // Guarded by mutex: the output queue and the socket's write side.
    optional_mutex mutex;
    outbox out;
    bool slow = false; // overflowed; a disconnection is on its way
};

} // namespace chatroom::detail
