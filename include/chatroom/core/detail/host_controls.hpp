#pragma once

#include <chatroom/core/detail/event_text.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/host_rooms.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/membership.hpp>
#include <chatroom/core/detail/nick_changes.hpp>
#include <chatroom/core/detail/operator_commands.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/host_error.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/room_options.hpp>
#include <chatroom/core/sanitize.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

// The host program's controls (server.hpp: kick, move, rename, set_topic,
// the rooms it makes, and notice/say): what the host does to members and
// rooms, as opposed to what members ask for (commands.hpp). /topic by an
// operator ends here too. Guarded by the hub's lock.
class host_controls {
public:
    struct parts {
        registry& members;
        room_directory& rooms;
        host_events& events;
        host_rooms& policy;
        membership& places;
        operator_commands& operators;
        nick_changes& nicks;
    };

    explicit host_controls(parts p) : p_(p) {}

    void set_log(room_log& log) noexcept { log_ = &log; }
    void set_stopping() noexcept { stopping_ = true; }

    // "* text" (from empty) or "<from> text" to a room, from the host.
    control_result inject(std::string_view room_name, std::string_view from, std::string_view text) {
        room* r = p_.rooms.find(room_name);
        if (!r) return host_errc::no_such_room;
        room_event e;
        e.room = r->name();
        if (from.empty()) {
            e.kind = room_event_kind::notice;
            sanitize_append(e.text, text);
        } else {
            e.kind = room_event_kind::chat;
            sanitize_append(e.nick, from);
            std::string line;
            sanitize_append(line, text);
            e.add_line(line);
        }
        log_->append(e);
        return {};
    }

    control_result kick(std::string_view nick, std::string_view reason, std::string_view by) {
        return p_.operators.kick(nick, reason, by);
    }

    control_result move(std::string_view nick, std::string_view room_name) {
        member* t = p_.members.find_nick(nick);
        if (!t) return host_errc::no_such_member;
        if (!protocol::is_valid_name(room_name)) return host_errc::bad_name;
        if (t->state.current() && protocol::same_name(room_name, t->state.current()->name()))
            return {};
        if (p_.policy.full(room_name)) return host_errc::room_full;
        if (t->state.current()) p_.places.leave(*t, *t->state.current(), {});
        p_.places.enter(*t, room_name);
        return {};
    }

    control_result rename(std::string_view nick, std::string_view new_nick) {
        return p_.nicks.host_rename(nick, new_nick);
    }

    control_result set_topic(std::string_view room_name, std::string_view text, std::string_view by) {
        room* r = p_.rooms.find(room_name);
        if (!r) return host_errc::no_such_room;
        std::string clean;
        sanitize_append(clean, text);
        using namespace std::chrono;
        r->set_topic(clean, std::string(by), duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
        room_event e;
        e.kind = room_event_kind::topic;
        e.room = r->name();
        e.nick = std::string(by);
        e.text = clean;
        log_->append(e);
        server_event ev{server_event_kind::topic_changed, {}, r->name(), clean, {}, {}, {}, std::string(by), {}, {}, {}};
        p_.events.push(std::move(ev));
        return {};
    }

    // ---- rooms the host makes (room_options.hpp) ------------------------------

    control_result create_room(std::string_view name, room_options o) {
        return stopping_ ? host_errc::stopping : p_.policy.create(name, std::move(o));
    }
    control_result close_room(std::string_view name, std::string_view reason) {
        return p_.policy.close(name, reason, [&](member& x, room& closing, const std::string& why) {
            p_.places.leave(x, closing, why);
            if (x.state.seats.empty()) p_.places.enter(x, protocol::lobby); // it is somewhere still
        });
    }
    control_result invite(std::string_view room_name, std::string_view nick) {
        member* t = p_.members.find_nick(nick);
        return t ? p_.policy.invite(room_name, *t) : control_result(host_errc::no_such_member);
    }
    std::vector<host_room_info> host_room_list() const { return p_.policy.list(); }

private:
    parts p_;
    room_log* log_ = nullptr;
    bool stopping_ = false;
};

} // namespace chatroom::detail
