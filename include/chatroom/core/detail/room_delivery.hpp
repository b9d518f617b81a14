#pragma once

// Where the room log's ordered events reach this server's members, once
// each, with the hub's lock held: a room event goes to the room's members
// through the fan-out (rendered once per dialect), into the room's memory
// and the history store, and to the host's message events; a private
// message goes to its one recipient. The log's other news (a replayed
// history, the link's state, a gap it found) is worded to the rooms here.

#include <chatroom/core/detail/event_text.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/history_service.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/stats.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

class room_delivery {
public:
    room_delivery(counters& count, registry& members, room_directory& rooms, fanout& out, host_events& events,
                  history_service& history)
        : count_(count), members_(members), rooms_(rooms), out_(out), events_(events), history_(history) {}

    void deliver(const room_event& e) {
        if (e.kind == room_event_kind::private_message) {
            member* target = members_.find_nick(e.target);
            if (target && target->state.attached) out_.push(*target, target->dialect().render(e));
            // The sender, when its dialect asked for its own messages back.
            if (member* from = members_.find_nick(e.nick);
                from && from != target && from->state.echo && from->id() == e.origin && from->state.attached) {
                shared_bytes mine;
                out_.push(*from, from->dialect().render_own(e, mine) ? mine : from->dialect().render(e));
            }
            return;
        }
        history_.keep(e);
        room* r = rooms_.find(e.room);
        if (!r) return;
        r->remember(e);
        if (e.kind != room_event_kind::chat) r->roles().follow(e); // operators, modes (room_roles.hpp)
        std::size_t recipients = out_.deliver(*r, e);
        // A line from outside a -n room: the fan-out echoes to members only,
        // so its sender, when its dialect asked for its own lines back, is
        // sent it here (as a private message's is, above).
        if ((e.kind == room_event_kind::chat || e.kind == room_event_kind::action) && e.origin != 0 &&
            !r->roles().has(mode_no_external))
            recipients += echo_outside(*r, e);
        // The host's message events, in the room's order (the cost of a bit test when nobody asks).
        if (e.kind <= room_event_kind::action && events_.wants(server_event_kind::message)) events_.messages(e);
        if (e.kind == room_event_kind::chat) counters::add(count_.lines_delivered, e.line_count * recipients);
        else if (e.kind == room_event_kind::action) counters::add(count_.lines_delivered, recipients);
    }

    // A shared log read the room's past after this server's members joined:
    // the room remembers it and its members get it.
    void replay(const std::string& room_name, const std::vector<room_event>& past) {
        room* r = rooms_.find(room_name);
        if (!r) return;
        for (const room_event& e : past) r->remember(e);
        for (member* m : r->members())
            for (const room_event& e : r->history()) out_.push(*m, m->dialect().render(e));
    }

    // The log's link to its peers changed: counted, told to the host, and
    // its notice (if any) said in every room.
    void link_changed(backplane_state state, std::string notice) {
        const backplane_state was = count_.backplane.exchange(state, std::memory_order_relaxed);
        if (was == backplane_state::connected && state != backplane_state::connected)
            counters::add(count_.backplane_outages);
        server_event ev{server_event_kind::backplane_changed, {}, {}, to_string(state), notice, {}, {}, {}, {}, {}, {}};
        events_.push(std::move(ev));
        if (notice.empty()) return;
        for (const room* r : rooms_.sorted()) deliver(notice_event(r->name(), notice));
    }

    // Some of the room's events never reached this server: its members are told.
    void missed(const std::string& room_name) {
        counters::add(count_.missed_gaps);
        deliver(notice_event(room_name, std::string(event_text::missed_events)));
    }

private:
    std::size_t echo_outside(const room& r, const room_event& e) {
        member* from = members_.find_nick(e.nick);
        if (!from || from->id() != e.origin || !from->state.echo || !from->state.attached) return 0;
        for (const member_state::seat& s : from->state.seats)
            if (s.in == &r) return 0; // a member: the fan-out echoed it
        shared_bytes mine;
        if (!from->dialect().render_own(e, mine)) mine = from->dialect().render(e);
        if (mine.empty()) return 0;
        out_.push(*from, mine);
        return 1;
    }

    static room_event notice_event(const std::string& room_name, std::string text) {
        room_event e;
        e.kind = room_event_kind::notice;
        e.room = room_name;
        e.text = std::move(text);
        return e;
    }

    counters& count_;
    registry& members_;
    room_directory& rooms_;
    fanout& out_;
    host_events& events_;
    history_service& history_;
};

} // namespace chatroom::detail
