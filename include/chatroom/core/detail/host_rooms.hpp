#pragma once

#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/host_error.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/room_options.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/core/stats.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace chatroom::detail {

// The rooms the host makes (room_options.hpp): their options and who is
// invited to the private ones, by case-folded room name, and the host's room
// controls. A room has an entry here only while it exists in the room
// directory; rooms members made with /join have none. Invitations name
// members by their id, so they follow a member through nick changes and die
// with its connection. Guarded by the hub's lock.
class host_rooms {
public:
    host_rooms(room_directory& rooms, counters& count, fanout& out) : rooms_dir_(rooms), count_(count), out_(out) {}

    void set_log(room_log& log) noexcept { log_ = &log; }
    bool empty() const noexcept { return rooms_.empty(); }

    // A new, empty room with options; host_controls checks that stopping has not begun.
    control_result create(std::string_view name, room_options o) {
        if (!protocol::is_valid_name(name)) return host_errc::bad_name;
        if (protocol::fold_case(name) == protocol::lobby) return host_errc::lobby_is_fixed;
        if (rooms_dir_.find(name)) return host_errc::name_taken;
        bool created = false;
        room& r = rooms_dir_.find_or_create(name, created);
        counters::add(count_.rooms);
        log_->room_opened(r.name());
        std::string clean;
        sanitize_append(clean, o.topic);
        r.set_topic(clean);
        o.topic = std::move(clean);
        add(name, std::move(o));
        return {};
    }

    // Closes a room: each member is told, then relocate(member, room, reason)
    // takes it out (to the lobby, if it is in no other room); a room left empty goes with its last member, an
    // empty one here.
    template <class Relocate>
    control_result close(std::string_view name, std::string_view reason, Relocate&& relocate) {
        if (protocol::fold_case(name) == protocol::lobby) return host_errc::lobby_is_fixed;
        room* r = rooms_dir_.find(name);
        if (!r) return host_errc::no_such_room;
        const std::string shown = r->name();
        std::string why;
        sanitize_append(why, reason);
        erase(shown); // the last one out now takes the room with it
        const std::vector<member*> inside = r->members();
        for (member* x : inside) {
            out_.send(*x, reply::of(reply_kind::room_closed, shown, why));
            relocate(*x, *r, why.empty() ? std::string("room closed") : "room closed: " + why);
        }
        if (room* still = rooms_dir_.find(shown)) {
            log_->room_closed(still->name());
            rooms_dir_.erase(*still);
            counters::sub(count_.rooms);
        }
        return {};
    }

    // An invitation to a room the host made; the member is told.
    control_result invite(std::string_view name, member& m) {
        const room* r = rooms_dir_.find(name);
        auto it = rooms_.find(protocol::fold_case(name));
        if (!r || it == rooms_.end()) return host_errc::no_such_room;
        it->second.invited.insert(m.id());
        out_.send(m, reply::of(reply_kind::invited, r->name()));
        return {};
    }

    // Every room of this server with its options.
    std::vector<host_room_info> list() const {
        std::vector<host_room_info> all;
        for (const room* r : rooms_dir_.sorted()) {
            host_room_info i{r->name(), r->size(), r->topic(), {}, false};
            if (const room_options* o = find(r->name())) {
                i.options = *o;
                i.made_by_host = true;
            }
            i.options.topic = r->topic();
            all.push_back(std::move(i));
        }
        return all;
    }

    // Whether the room is at its cap (the host's move respects it too).
    bool full(std::string_view name) {
        const room_options* o = find(name);
        if (!o || o->max_members == 0) return false;
        const room* r = rooms_dir_.find(name);
        return r && r->size() >= o->max_members;
    }

    // Why m may not /join the room, if it may not.
    std::optional<reply> join_refusal(const member& m, std::string_view name) {
        const room_options* o = find(name);
        if (!o) return std::nullopt;
        const room* r = rooms_dir_.find(name);
        const std::string_view shown = r ? std::string_view(r->name()) : name;
        if (o->is_private && !invited(name, m)) return reply::of(reply_kind::room_private, shown);
        if (full(name)) {
            reply no = reply::of(reply_kind::room_full, shown);
            no.count = o->max_members;
            return no;
        }
        return std::nullopt;
    }

    // What /rooms shows m: this server's rooms with the other servers'
    // counts added (by folded name), but private rooms only to their members
    // and the invited.
    static bool is_in(const member& m, const room& r) {
        for (const member_state::seat& s : m.state.seats)
            if (s.in == &r) return true;
        return false;
    }

    std::vector<room_summary> listing(const member& m,
                                      const std::vector<std::pair<std::string, std::size_t>>& remote) const {
        std::vector<room_summary> list;
        std::vector<std::string> secret; // +s (room_roles.hpp): listed to its members only
        for (const room* r : rooms_dir_.sorted()) {
            if (r->roles().has(mode_secret) && !m.state.op && !is_in(m, *r)) secret.push_back(protocol::fold_case(r->name()));
            else list.push_back({r->name(), r->size(), r->topic()});
        }
        for (const auto& [name, count] : remote) {
            if (!secret.empty() && std::find(secret.begin(), secret.end(), protocol::fold_case(name)) != secret.end())
                continue;
            const std::string key = protocol::fold_case(name);
            auto it = std::find_if(list.begin(), list.end(),
                                   [&](const room_summary& c) { return protocol::fold_case(c.name) == key; });
            if (it != list.end()) it->members += count;
            else list.push_back({name, count, {}});
        }
        if (!remote.empty())
            std::sort(list.begin(), list.end(),
                      [](const room_summary& a, const room_summary& b) { return a.name < b.name; });
        if (rooms_.empty()) return list;
        auto inside = [&](std::string_view name) { // a private room is listed to its members
            for (const member_state::seat& s : m.state.seats)
                if (protocol::same_name(s.in->name(), name)) return true;
            return false;
        };
        list.erase(std::remove_if(list.begin(), list.end(),
                                  [&](const room_summary& x) {
                                      const room_options* o = find(x.name);
                                      return o && o->is_private && !inside(x.name) && !invited(x.name, m);
                                  }),
                   list.end());
        return list;
    }

    // The room's options, if the host made it.
    const room_options* find(std::string_view name) const {
        if (rooms_.empty()) return nullptr;
        auto it = rooms_.find(protocol::fold_case(name));
        return it == rooms_.end() ? nullptr : &it->second.options;
    }

    void add(std::string_view name, room_options options) {
        rooms_[protocol::fold_case(name)] = entry{std::move(options), {}};
    }

    void erase(std::string_view name) {
        if (!rooms_.empty()) rooms_.erase(protocol::fold_case(name));
    }

    // Whether the room stays when its last member leaves.
    bool keeps(std::string_view name) const {
        const room_options* o = find(name);
        return o && o->persistent;
    }

    bool invited(std::string_view name, const member& m) const {
        auto it = rooms_.find(protocol::fold_case(name));
        return it != rooms_.end() && it->second.invited.count(m.id()) != 0;
    }

    // A member that leaves the server takes its invitations with it (its id
    // may be a later member's).
    void forget(const member& m) {
        for (auto& kv : rooms_) kv.second.invited.erase(m.id());
    }

private:
    struct entry {
        room_options options;
        std::unordered_set<std::uint64_t> invited;
    };
    room_directory& rooms_dir_;
    counters& count_;
    fanout& out_;
    room_log* log_ = nullptr;
    std::map<std::string, entry> rooms_;
};

} // namespace chatroom::detail
