#pragma once

#include <chatroom/core/detail/interpreter.hpp>
#include <chatroom/core/detail/seat_list.hpp>
#include <chatroom/core/detail/send_ring.hpp>
#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/core/reply.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

class room;
using clock = std::chrono::steady_clock;

// Why a member left; the room is told the reason's text.
enum class leave_reason : std::uint8_t { // one byte: a session keeps one beside its flags
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
// housekeeping, commands); the session never touches it. There is one per
// connection, idle ones included (issue 19's S5 counts the bytes), hence the
// layout: the flags are bits, packed with the registry index into one word.
struct member_state {
    member_state() noexcept
        : attached(false), admitted(false), said_something(false), queued_for_flush(false), draining(false),
          throttled(false), held(false), backlogged(false), pressured(false), op(false), muted(false),
          login_pending(false), awaiting_login(false), nick_pending(false), echo(false) {}

    std::string nick;
    std::string account; // after /login; empty for guests
    // Its away message (IRC's AWAY; membership.hpp), or none: here. Held
    // apart, so that members who are never away (most) pay 8 bytes, not 32.
    std::unique_ptr<const std::string> away;
    // The rooms it is in, in the order it joined them (seat_list.hpp).
    using seat = seat_list::seat;
    seat_list seats;
    // The room a request that names no room addresses: the last it joined
    // of those it is still in (room.hpp keeps the order). The line protocol
    // keeps it in one.
    room* current() const noexcept { return seats.last_room(); }
    // Renames reach a member once, though it may share several rooms with
    // the one renamed (fanout.hpp): the last one it was sent.
    std::size_t last_rename = 0;
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

    // Index in the registry; 32 bits (connections are file descriptors), so
    // that it and the flags below share one 8-byte word.
    std::uint32_t registry_slot = 0;
    // Flags together, as bits (C++17 has no default member initializers for
    // bit-fields: the constructor clears them). The hub's lock guards them
    // all, so sharing bytes is safe.
    bool attached : 1; // in the registry, a room and the nick table
    bool admitted : 1; // welcomed and, if logins are required, logged in: may use rooms
    bool said_something : 1;
    bool queued_for_flush : 1;
    bool draining : 1; // closing with a final flush, under a deadline
    bool throttled : 1;
    bool held : 1;
    bool backlogged : 1; // paused until a shared room log takes lines again
    bool pressured : 1;
    bool op : 1; // the account's operator role
    bool muted : 1;
    bool login_pending : 1;  // a /login is being verified
    bool awaiting_login : 1; // reading paused until the login under way is decided
    bool nick_pending : 1;   // a nick is being claimed across servers
    // Its own room events and private messages come back to it, as its
    // dialect asked (IRC's echo-message); never for the line protocol.
    bool echo : 1;
};

// The queue between the hub, which fills it from any thread, and the
// session, which writes it on its own executor. Every member function takes
// the queue's own lock.
class output_queue {
    // optional_mutex by hand: the switch sits with the flags at the end
    // rather than in a padded word of its own (one queue per connection).
    struct lock {
        explicit lock(output_queue& q) : q_(q) {
            if (q_.locking_) q_.mutex_.lock();
        }
        ~lock() {
            if (q_.locking_) q_.mutex_.unlock();
        }
        lock(const lock&) = delete;
        lock& operator=(const lock&) = delete;
        output_queue& q_;
    };

public:
    explicit output_queue(bool locking) : locking_(locking) {}

    enum class pushed {
        below_soft,   // queued, under the soft mark
        over_soft,    // queued, past the soft mark
        overflow,     // not queued: it would pass the hard limit; the member is now slow
        already_slow, // not queued: the member is being dropped
    };

    pushed push(const shared_bytes& m, std::size_t hard, std::size_t soft) {
        lock g(*this);
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
        lock g(*this);
        if (!slow_) out_.push(m);
    }

    void fill(send_ring::gather& g) {
        lock g2(*this);
        out_.fill(g);
    }

    // Drops n written bytes; true when that took the queue back under the
    // soft mark it had passed.
    bool consume(std::size_t n, std::size_t soft) {
        lock g(*this);
        out_.consume(n);
        if (over_soft_ && out_.bytes() <= soft) {
            over_soft_ = false;
            return true;
        }
        return false;
    }

    bool empty() {
        lock g(*this);
        return out_.empty();
    }
    std::size_t bytes() {
        lock g(*this);
        return out_.bytes();
    }
    bool mid_message() {
        lock g(*this);
        return out_.mid_message();
    }
    void clear() {
        lock g(*this);
        out_.clear();
    }

    // The connection refused bytes (a write would block) until unblocked():
    // the time a member's own socket holds its queue up, which is what the
    // slow-consumer policy charges it for (fanout.hpp), rather than time
    // the server spent elsewhere.
    void blocked(clock::time_point now) {
        lock g(*this);
        if (!blocked_) blocked_since_ = now;
        blocked_ = true;
    }
    void unblocked(clock::time_point now) {
        lock g(*this);
        if (!blocked_) return;
        blocked_total_ += now - blocked_since_;
        blocked_ = false;
    }
    // The time spent blocked so far, the present stretch included.
    clock::duration blocked_time(clock::time_point now) {
        lock g(*this);
        return blocked_total_ + (blocked_ ? now - blocked_since_ : clock::duration::zero());
    }

private:
    std::mutex mutex_; // taken only when locking_ (several threads run the server)
    send_ring out_;
    clock::duration blocked_total_{};
    clock::time_point blocked_since_{};
    const bool locking_;
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
