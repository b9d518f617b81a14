#pragma once

#include <chatroom/room_event.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace chatroom {

// Where delivered events go: the server's members on this machine.
class room_event_sink {
public:
    virtual ~room_event_sink() = default;
    // Delivers one ordered event to the local members it concerns. Called
    // with the server's lock held: from inside append() for logs that order
    // at once, or through basic_server's delivery entry point for logs that
    // order elsewhere (a backplane).
    virtual void deliver(const room_event& event) = 0;
};

// The one place every room event passes on its way to every recipient: the
// protocol appends, the log orders (assigning each room's sequence numbers)
// and delivers each event exactly once to the sink of every server that
// serves the room. Called with the server's lock held.
class room_log {
public:
    virtual ~room_log() = default;
    virtual void append(room_event& event) = 0;
};

// The in-process log of one server: ordering is the order of append calls,
// so it delivers at once, with no copy and no lock of its own.
class local_room_log final : public room_log {
public:
    explicit local_room_log(room_event_sink& sink) : sink_(sink) {}

    void append(room_event& event) override {
        event.seq = ++last_seq_;
        sink_.deliver(event);
    }

private:
    room_event_sink& sink_;
    // One counter for every room: numbers increase within each room, which
    // is all that the sequence promises.
    std::uint64_t last_seq_ = 0;
};

} // namespace chatroom
