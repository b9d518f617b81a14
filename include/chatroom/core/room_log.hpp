#pragma once

#include <chatroom/core/room_event.hpp>
#include <chatroom/core/stats.hpp>

#include <asio/any_io_executor.hpp>

#include <chrono>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom {

/// Where delivered events go: the server's members on this machine.
class room_event_sink {
public:
    virtual ~room_event_sink() = default;

    /// Delivers one ordered event to the local members it concerns, with the
    /// server's lock held: for logs that order at once, from inside append().
    virtual void deliver(const room_event& event) = 0;

    /// The entry points of a log that orders elsewhere (a backplane). Each
    /// takes the server's lock itself, so call them from the log's own
    /// handlers, never from inside a room_log call.
    virtual void deliver_ordered(const std::vector<room_event>& events) = 0;
    /// A room's past, read from the log when it opened here: kept as the
    /// room's history and sent to the members already in it.
    virtual void replay(const std::string& room, const std::vector<room_event>& past) = 0;
    /// The log's link changed: counted in stats(), told to the host as an
    /// event, and, when notice is not empty, to every local member as "* notice".
    virtual void link_changed(backplane_state state, std::string notice) = 0;
    /// A room's members missed events (its stream was trimmed past where
    /// this server had read): counted, and the room is told.
    virtual void missed(const std::string& room) = 0;
    /// A problem for the host's log (an error event).
    virtual void report(std::string text) = 0;
    /// What a log reads from elsewhere is untrusted: it holds each line of
    /// text to this (the server's max_line_bytes), and the entries it drops
    /// as invalid are counted here (stats().backplane_rejected).
    virtual std::size_t max_line_bytes() const { return 4096; }
    /// Counts count entries the log dropped as invalid.
    virtual void rejected_entries(std::uint64_t count) { (void)count; }
    /// The executor the server runs on, for the log's own I/O.
    virtual asio::any_io_executor executor() const = 0;
};

/// A member of another server, as a shared log knows it.
struct remote_member {
    std::string nick;               ///< its nick
    std::vector<std::string> rooms; ///< the rooms it is in (none yet: empty)
};

/// The one place every room event passes on its way to every recipient: the
/// protocol appends, the log orders (assigning each room's sequence numbers)
/// and delivers each event exactly once to the sink of every server that
/// serves the room. Called with the server's lock held.
///
/// A log shared by several servers also hears of the local rooms and members
/// (to read the rooms that have local members, and to publish who is where),
/// claims nicks for the whole cluster and answers for the other servers'
/// members. The defaults are those of a log that serves one server.
class room_log {
public:
    virtual ~room_log() = default;
    /// Orders event (sets its seq) and delivers it, at once or later, to the
    /// sink of every server serving its room.
    virtual void append(room_event& event) = 0;

    /// The first local member entered the room.
    virtual void room_opened(const std::string& /*room*/) {}
    /// The last local member left the room.
    virtual void room_closed(const std::string& /*room*/) {}
    /// A local member holds nick and is in rooms (none yet: empty; a member
    /// of a dialect that joins several rooms may be in several). Called
    /// whenever either changes.
    virtual void presence(std::string_view /*nick*/, const std::vector<std::string_view>& /*rooms*/) {}
    /// Whether the log uses presence() (a log serving one server has no use
    /// for it, and is not told).
    virtual bool wants_presence() const { return shared(); }
    /// A local member gave nick up (renamed, or left the server).
    virtual void gone(std::string_view /*nick*/) {}

    /// Whether other servers read this log: a room then has members beyond
    /// this server's, who hear leaves even when its last local member goes.
    virtual bool shared() const { return false; }

    /// Whether nicks are claimed through claim_nick() before a member takes
    /// one. claim_nick runs without the server's lock and calls done(won)
    /// once, from any thread.
    virtual bool claims_nicks() const { return false; }
    /// Claims nick for this server across the cluster; calls done(won) once.
    virtual void claim_nick(const std::string& /*nick*/, std::function<void(bool)> done) { done(true); }
    /// The nick of a member of another server, and where it is.
    virtual bool find_remote(std::string_view /*nick*/, remote_member* /*found*/ = nullptr) const { return false; }
    /// Adds the nicks of the other servers' members in room to nicks.
    virtual void remote_members(std::string_view /*room*/, std::vector<std::string>& /*nicks*/) const {}
    /// Adds the other servers' rooms with their member counts to counts (by room name).
    virtual void remote_rooms(std::vector<std::pair<std::string, std::size_t>>& /*counts*/) const {}
    /// Guest nicks made on this server start with this (a shared log makes
    /// them unique across servers).
    virtual std::string guest_prefix() const { return "guest-"; }

    /// False while the log holds as much unsent as it may: senders are then
    /// paused, as flood control pauses them, until it is true again.
    virtual bool accepting() const { return true; }

    /// The server is stopping: the log ends its own I/O, so the executor
    /// can run out of work. Nothing is appended after this.
    virtual void stop() {}
};

/// The in-process log of one server: ordering is the order of append calls,
/// so it delivers at once, with no copy and no lock of its own.
class local_room_log final : public room_log {
public:
    /// A log that delivers to sink, which must outlive it.
    explicit local_room_log(room_event_sink& sink) : sink_(sink) {}

    /// Numbers event in its room's order, stamps its time (UTC, whole
    /// milliseconds) and delivers it at once.
    void append(room_event& event) override {
        event.seq = ++last_seq_;
        event.time = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
        sink_.deliver(event);
    }

    /// Numbers the next events after seq: a history store's last id, so ids
    /// never repeat across a restart. Only ever moves forward.
    void continue_after(std::uint64_t seq) noexcept {
        if (seq > last_seq_) last_seq_ = seq;
    }

private:
    room_event_sink& sink_;
    /// One counter for every room: numbers increase within each room, which
    /// is all that the sequence promises.
    std::uint64_t last_seq_ = 0;
};

} // namespace chatroom
