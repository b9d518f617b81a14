#pragma once

#include <chatroom/core/detail/interpreter.hpp>
#include <chatroom/core/detail/optional_mutex.hpp>
#include <chatroom/core/detail/send_ring.hpp>
#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/core/reply.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

class room;
using clock = std::chrono::steady_clock;

// Why a member left; the room is told the reason's text.
enum class leave_reason {
    eof,                // the client closed the connection
    quit,               // /quit
    connection_lost,    // reset, failed write, keepalive
    too_slow,           // its output queue passed the limit, or stayed past the soft mark
    idle_timeout,
    first_line_timeout,
    shutdown,           // the server is stopping; rooms are not told
    kicked,             // an operator or the host removed it
    banned,             // an operator banned it
};

// What the hub knows of a member. Every field is read and written only with
// the hub's lock held, by the hub and its parts (registry, rooms, fan-out,
// housekeeping, commands); the session never touches it.
struct member_state {
    std::string nick;
    std::string account; // after /login; empty for guests
    std::string away;    // its away message (IRC's AWAY); empty: here
    // The rooms it is in, each with its index in that room's member list
    // (room.hpp keeps both sides), and the one a request that names no room
    // addresses: the last it joined. The line protocol keeps it in one.
    struct seat {
        room* in = nullptr;
        std::size_t slot = 0;
    };
    std::vector<seat> seats;
    room* current = nullptr;
    // Renames reach a member once, though it may share several rooms with
    // the one renamed (fanout.hpp): the last one it was sent.
    std::size_t last_rename = 0;
    std::size_t registry_slot = 0; // index in the registry
    clock::time_point connected_at{};
    clock::time_point last_active{};
    clock::time_point deadline = clock::time_point::max(); // forced close while draining

    // Reading is paused by flood control (an empty bucket) or because a line
    // of its pushed a recipient past the soft mark (held, since held_since);
    // stash is what had been read but not yet consumed.
    clock::time_point held_since{};
    std::string stash;
    double tokens = 0; // flood control bucket
    clock::time_point refilled_at{};

    // Its own queue is past the soft mark, since pressured_since; one still
    // past it write_deadline later is dropped. While it is, it holds senders,
    // but only within a budget: hold_spent is the time its own connection
    // refused bytes while it was past the mark (output_queue::blocked_time,
    // counted from blocked_mark), which must stay under max_sender_pause and
    // drains back at max_sender_pause per write_deadline. A reader that keeps
    // up spends microseconds of it per burst, however long the server is busy
    // with others (fifty stalled members, say); a stalled one spends it once.
    clock::time_point pressured_since{};
    clock::duration hold_spent{};
    clock::duration blocked_mark{};
    clock::time_point hold_accounted{};

    // Flags together, so they pack (there is one member_state per connection).
    bool attached = false; // in the registry, a room and the nick table
    bool admitted = false; // welcomed and, if logins are required, logged in: may use rooms
    bool said_something = false;
    bool queued_for_flush = false;
    bool draining = false; // closing with a final flush, under a deadline
    bool throttled = false;
    bool held = false;
    bool backlogged = false; // paused until a shared room log takes lines again
    bool pressured = false;
    bool op = false; // the account's operator role
    bool muted = false;
    bool login_pending = false; // a /login is being verified
    bool awaiting_login = false; // reading paused until the login under way is decided
    bool nick_pending = false;  // a nick is being claimed across servers
    // Its own room events and private messages come back to it, as its
    // dialect asked (IRC's echo-message); never for the line protocol.
    bool echo = false;
};

// The queue between the hub, which fills it from any thread, and the
// session, which writes it on its own executor. Every member function takes
// the queue's own lock.
class output_queue {
public:
    explicit output_queue(bool locking) : mutex_(locking) {}

    enum class pushed {
        below_soft,   // queued, under the soft mark
        over_soft,    // queued, past the soft mark
        overflow,     // not queued: it would pass the hard limit; the member is now slow
        already_slow, // not queued: the member is being dropped
    };

    pushed push(const shared_bytes& m, std::size_t hard, std::size_t soft) {
        optional_lock g(mutex_);
        if (slow_) return pushed::already_slow;
        if (out_.bytes() + m.size() > hard) {
            slow_ = true;
            return pushed::overflow;
        }
        out_.push(m);
        if (out_.bytes() > soft) {
            over_soft_ = true;
            return pushed::over_soft;
        }
        return pushed::below_soft;
    }

    // Queues bytes the server sends on its own clock (a WebSocket keepalive
    // ping), outside the limits: one small frame per interval, whatever the
    // peer does. What answers the peer's input goes through push().
    void push_own(const shared_bytes& m) {
        optional_lock g(mutex_);
        if (!slow_) out_.push(m);
    }

    void fill(send_ring::gather& g) {
        optional_lock g2(mutex_);
        out_.fill(g);
    }

    // Drops n written bytes; true when that took the queue back under the
    // soft mark it had passed.
    bool consume(std::size_t n, std::size_t soft) {
        optional_lock g(mutex_);
        out_.consume(n);
        if (over_soft_ && out_.bytes() <= soft) {
            over_soft_ = false;
            return true;
        }
        return false;
    }

    bool empty() {
        optional_lock g(mutex_);
        return out_.empty();
    }
    std::size_t bytes() {
        optional_lock g(mutex_);
        return out_.bytes();
    }
    bool mid_message() {
        optional_lock g(mutex_);
        return out_.mid_message();
    }
    void clear() {
        optional_lock g(mutex_);
        out_.clear();
    }

    // The connection refused bytes (a write would block) until unblocked():
    // the time a member's own socket holds its queue up, which is what the
    // slow-consumer policy charges it for (fanout.hpp), rather than time
    // the server spent elsewhere.
    void blocked(clock::time_point now) {
        optional_lock g(mutex_);
        if (!blocked_) blocked_since_ = now;
        blocked_ = true;
    }
    void unblocked(clock::time_point now) {
        optional_lock g(mutex_);
        if (!blocked_) return;
        blocked_total_ += now - blocked_since_;
        blocked_ = false;
    }
    // The time spent blocked so far, the present stretch included.
    clock::duration blocked_time(clock::time_point now) {
        optional_lock g(mutex_);
        return blocked_total_ + (blocked_ ? now - blocked_since_ : clock::duration::zero());
    }

private:
    optional_mutex mutex_;
    send_ring out_;
    clock::duration blocked_total_{};
    clock::time_point blocked_since_{};
    bool blocked_ = false;
    bool slow_ = false;      // overflowed; a disconnection is on its way
    bool over_soft_ = false; // past the soft mark since the last time it drained
};

// One connected client as the hub sees it, whatever carries its bytes and
// whichever dialect it speaks. The session (detail/session.hpp) derives from
// it and does the I/O.
class member : public std::enable_shared_from_this<member> {
public:
    member(bool locking, const renderer& dialect, const detail::interpreter& interpreter, std::string address,
           const char* transport = "tcp")
        : output(locking), dialect_(dialect), interpreter_(interpreter), address_(std::move(address)),
          transport_(transport) {}
    member(const member&) = delete;
    member& operator=(const member&) = delete;
    virtual ~member() = default;

    // Each may be called from any thread; the session runs it on its executor.
    // Writes queued output; the hub calls it once per batch of deliveries.
    virtual void flush() = 0;
    // Reads no more; closes once queued output is written (the hub bounds
    // how long). why is for dialects that tell the peer (a WebSocket close code).
    virtual void close_gracefully(leave_reason why) = 0;
    // Drops queued output, sends last_words (may be empty) if it can, closes.
    virtual void close_now(std::optional<reply> last_words, leave_reason why) = 0;
    // Reading was paused; unread is what had been read but not consumed.
    virtual void resume_reading(std::string unread) = 0;
    // True once the connection is closed.
    virtual bool is_closed() = 0;

    const renderer& dialect() const noexcept { return dialect_; }
    // What its lines mean: its dialect's interpreter.
    const detail::interpreter& interpreter() const noexcept { return interpreter_; }
    // Names this member in room events, so it is not sent its own.
    std::uint64_t id() const noexcept { return reinterpret_cast<std::uintptr_t>(this); }
    const std::string& address() const noexcept { return address_; }
    // "tcp", "unix", "tls", "web": for the host's admission hook and snapshots.
    const char* transport() const noexcept { return transport_; }
    // The verified subject of a TLS client certificate, when the server asked for one.
    virtual std::string certificate_subject() { return {}; }

    member_state state;     // the hub's lock
    output_queue output; // its own lock

private:
    const renderer& dialect_;
    const detail::interpreter& interpreter_;
    const std::string address_; // the peer, for logs and per-address limits
    const char* const transport_; // a string literal
};

} // namespace chatroom::detail
