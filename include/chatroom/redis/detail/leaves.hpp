#pragma once

// The leaves of a dead server's members (cluster_view.hpp): one "left
// (server lost)" entry per member that was in a room, written under the
// dead incarnation's name, marked (its epoch and ".gone"), with a count per
// room by folded nick. So the entries are the same whoever writes them (a
// survivor that reaps, the node's successor that cleans up, or both), and
// readers drop a second copy as one they have seen.

#include <chatroom/redis/detail/keys.hpp>
#include <chatroom/redis/detail/writer.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace chatroom::detail {

// With the roster (nick, room, ...): returns the job whose acknowledgements
// call then() once Redis has every leave, or nothing when no room hears of
// any (names that fail the checks are left out: the view refused them).
inline std::shared_ptr<leave_job> announce_leaves(const redis_keys& keys, const std::string& dead,
                                                  const std::string& dead_epoch, const redis_reply& roster,
                                                  std::function<void()> then,
                                                  const std::function<void(write_op)>& write) {
    std::map<std::string, std::map<std::string, room_event>> by_room; // key -> folded nick -> leave
    for (std::size_t k = 0; k + 1 < roster.elements.size(); k += 2) {
        const std::string& nick = roster.elements[k].text;
        const std::string& rooms = roster.elements[k + 1].text;
        if (!valid_roster_entry(nick, rooms)) continue;
        for_each_room(rooms, [&](std::string_view room) {
            room_event e;
            e.kind = room_event_kind::left;
            e.nick = nick;
            e.room = std::string(room);
            e.reason = "server lost";
            e.left_server = true;
            by_room[keys.room(e.room)][protocol::fold_case(nick)] = std::move(e);
            return true;
        });
    }
    if (by_room.empty()) return nullptr;
    auto job = std::make_shared<leave_job>();
    job->then = std::move(then);
    for (const auto& [key, leaves] : by_room) {
        std::uint64_t count = 0;
        for (const auto& [folded, e] : leaves) {
            ++job->remaining;
            write(entry_op(key, e, ++count, dead, dead_epoch + ".gone", 0, job));
        }
    }
    return job;
}

} // namespace chatroom::detail
