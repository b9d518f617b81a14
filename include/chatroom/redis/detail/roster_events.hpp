#pragma once

// What /who and /rooms show of the other servers' members follows the rooms'
// ordered events as this server reads them (a join, a leave, a rename), so
// it is never behind what its members were shown. The heartbeat's view
// (the rosters in Redis) may come later than an event it already reflects,
// or earlier than one it does not yet: each event is laid over the views
// for a few heartbeats, until the rosters have caught up with it.

#include <chatroom/core/names.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/redis/detail/room_list.hpp>

#include <chrono>
#include <string>
#include <unordered_map>

namespace chatroom::detail {

struct remote_at {
    std::string nick;
    std::string rooms; // room_list.hpp: names separated by spaces; empty: none
    std::string node;
};

class roster_events {
public:
    using clock = std::chrono::steady_clock;
    using view = std::unordered_map<std::string, remote_at>; // by folded nick

    // An event read back from a room's stream, written by another server.
    void saw(const room_event& e, view& remote, clock::time_point until) {
        switch (e.kind) {
        case room_event_kind::joined: return note(true, e.nick, e.room, e.node, remote, until);
        case room_event_kind::left: return note(false, e.nick, e.room, e.node, remote, until);
        case room_event_kind::renamed:
            note(false, e.old_nick, e.room, e.node, remote, until);
            return note(true, e.nick, e.room, e.node, remote, until);
        default: return;
        }
    }

    // A new view from the rosters: the recent events still hold over it.
    void apply(view& remote, clock::time_point now) {
        for (auto it = recent_.begin(); it != recent_.end();) {
            if (it->second.until <= now) {
                it = recent_.erase(it);
                continue;
            }
            set(it->second, remote);
            ++it;
        }
    }

private:
    // One member in or out of one room (members may be in several; a leave
    // of one room and a join of another, read from two streams in either
    // order, are two changes that do not touch each other).
    struct change {
        bool present = false; // joined or renamed to (else: left, or renamed from)
        std::string nick, room, node;
        clock::time_point until;
    };

    void note(bool present, const std::string& nick, const std::string& room, const std::string& node, view& remote,
              clock::time_point until) {
        std::string key = protocol::fold_case(nick);
        key += ' ';
        key += protocol::fold_case(room);
        change& c = recent_[key] = change{present, nick, room, node, until};
        set(c, remote);
    }
    static void set(const change& c, view& remote) {
        const std::string folded = protocol::fold_case(c.nick);
        auto it = remote.find(folded);
        if (c.present) {
            if (it == remote.end()) it = remote.emplace(folded, remote_at{c.nick, {}, c.node}).first;
            it->second.nick = c.nick;
            it->second.node = c.node;
            it->second.rooms = with_room(std::move(it->second.rooms), c.room);
            return;
        }
        if (it == remote.end()) return;
        it->second.rooms = without_room(it->second.rooms, c.room);
        if (it->second.rooms.empty()) remote.erase(it); // seen again at the next view if still connected
    }

    std::unordered_map<std::string, change> recent_; // by folded nick, space, folded room
};

} // namespace chatroom::detail
