#pragma once

// What /who and /rooms show of the other servers' members follows the rooms'
// ordered events as this server reads them (a join, a leave, a rename), so
// it is never behind what its members were shown. The heartbeat's view
// (the rosters in Redis) may come later than an event it already reflects,
// or earlier than one it does not yet: each event is laid over the views
// for a few heartbeats, until the rosters have caught up with it.

#include <chatroom/core/names.hpp>
#include <chatroom/core/room_event.hpp>

#include <chrono>
#include <string>
#include <unordered_map>

namespace chatroom::detail {

struct remote_at {
    std::string nick;
    std::string room;
    std::string node;
};

class roster_events {
public:
    using clock = std::chrono::steady_clock;
    using view = std::unordered_map<std::string, remote_at>; // by folded nick

    // An event read back from a room's stream, written by another server.
    void saw(const room_event& e, view& remote, clock::time_point until) {
        switch (e.kind) {
        case room_event_kind::joined: return here(e.nick, e.room, e.node, remote, until);
        case room_event_kind::left: return gone(e.nick, e.room, remote, until);
        case room_event_kind::renamed:
            gone(e.old_nick, e.room, remote, until);
            return here(e.nick, e.room, e.node, remote, until);
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
            set(it->first, it->second, remote);
            ++it;
        }
    }

private:
    struct change {
        bool present = false; // joined or renamed to (else: left, or renamed from)
        remote_at member;     // present: where; else: the room it left
        clock::time_point until;
    };

    void here(const std::string& nick, const std::string& room, const std::string& node, view& remote,
              clock::time_point until) {
        const std::string folded = protocol::fold_case(nick);
        change& c = recent_[folded] = change{true, remote_at{nick, room, node}, until};
        set(folded, c, remote);
    }
    void gone(const std::string& nick, const std::string& room, view& remote, clock::time_point until) {
        const std::string folded = protocol::fold_case(nick);
        // A leave from a room it has moved out of already (read after its
        // join elsewhere, from another stream) changes nothing.
        auto it = recent_.find(folded);
        if (it != recent_.end() && it->second.present && protocol::fold_case(it->second.member.room) != protocol::fold_case(room))
            return;
        change& c = recent_[folded] = change{false, remote_at{nick, room, {}}, until};
        set(folded, c, remote);
    }
    static void set(const std::string& folded, const change& c, view& remote) {
        if (c.present) {
            remote[folded] = c.member;
            return;
        }
        auto it = remote.find(folded);
        if (it != remote.end() && protocol::fold_case(it->second.room) == protocol::fold_case(c.member.room))
            remote.erase(it);
    }

    std::unordered_map<std::string, change> recent_;
};

} // namespace chatroom::detail
