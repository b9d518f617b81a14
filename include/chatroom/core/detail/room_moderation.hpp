#pragma once

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/host_controls.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/membership.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/detail/room_roles.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::detail {

// What a room's operators do (room_roles.hpp), asked by a member: set the
// topic of a topic-locked room, kick a member out of the room (a request
// naming its room; the line protocol's /kick names none and is the
// server's), change a mode or a member's role, and invite. A server operator may
// in every room. Guarded by the hub's lock.
class room_moderation {
public:
    struct parts {
        fanout& out;
        membership& places;
        host_controls& controls;
        registry& members;
    };

    explicit room_moderation(parts p) : p_(p) {}

    void set_log(room_log& log) noexcept { log_ = &log; }

    static bool may_moderate(const member& m, const room& r) noexcept {
        return m.state.op || r.roles().is_op(m.state.nick);
    }

    // /topic TEXT, TOPIC #room :text. No text in a request naming its
    // room (IRC's TOPIC #room :, JSON's "text":"") clears the topic; the
    // line protocol names none, and /topic alone is its usage. The dialects
    // send text that sanitizes to nothing as no room (usage) or refuse it.
    void topic(member& m, const protocol::command& cmd) {
        if (cmd.arg.empty() && cmd.room.empty()) return p_.out.send(m, reply::usage("topic"));
        room* r = membership::room_of(m, cmd.room);
        if (!r) return p_.out.send(m, reply::of(reply_kind::not_in_room, cmd.room));
        if (r->roles().has(mode_topic_locked) && !may_moderate(m, *r))
            return p_.out.send(m, reply::of(reply_kind::not_permitted));
        p_.controls.set_topic(r->name(), cmd.arg, m.state.nick);
    }

    // KICK #room nick :reason: nick leaves the room (and hears it).
    void kick(member& m, const protocol::command& cmd) {
        room* r = membership::room_of(m, cmd.room);
        if (!r) return p_.out.send(m, reply::of(reply_kind::not_in_room, cmd.room));
        if (!may_moderate(m, *r)) return p_.out.send(m, reply::of(reply_kind::not_permitted));
        if (cmd.arg.empty()) return p_.out.send(m, reply::usage("kick"));
        member* t = local_member(*r, cmd.arg);
        if (!t) return p_.out.send(m, reply::of(reply_kind::no_such_nick, cmd.arg));
        p_.places.leave(*t, *r, cmd.text, true, false, m.state.nick);
    }

    // MODE #room +o nick, -int, +b mask...: arg the changes as IRC writes
    // them ("+o", "-int", "+ob"), text their values ("bob", "bob m!u@h"),
    // at most max_mode_changes. One event tells the room every change that
    // changes something (IRC: one MODE line), or several when their text
    // would pass max_mode_text (long masks).
    void mode(member& m, const protocol::command& cmd) {
        room* r = membership::room_of(m, cmd.room);
        if (!r) return p_.out.send(m, reply::of(reply_kind::not_in_room, cmd.room));
        std::string text(cmd.arg);
        if (!cmd.text.empty()) text += ' ' + std::string(cmd.text);
        auto changes = parse_mode_changes(text, text.size()); // the dialect bounded the line
        if (!changes) return p_.out.send(m, reply::usage("mode"));
        if (!may_moderate(m, *r)) return p_.out.send(m, reply::of(reply_kind::not_permitted));
        using namespace std::chrono;
        const std::int64_t now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
        std::vector<mode_change> kept;
        for (mode_change& c : *changes) {
            if (is_role_letter(c.letter)) {
                // Whom it names is in the room, here or on another server.
                const std::string nick = member_named(*r, c.nick);
                if (nick.empty()) {
                    p_.out.send(m, reply::of(reply_kind::no_such_nick, c.nick));
                    continue;
                }
                c.nick = nick;
            } else if (c.letter == 'b') {
                // Its host part is matched against the member's real address, which
                // no dialect shows: only a server operator (who may see it) bans by it.
                if (c.on && !m.state.op && c.nick.substr(c.nick.find('@') + 1) != "*") {
                    p_.out.send(m, reply::refused("only server operators may ban by address"));
                    continue;
                }
                const room_bans& bans = r->roles().bans();
                if (c.on ? (bans.has(c.nick) || bans.full()) : !bans.has(c.nick)) continue; // nothing changes
            }
            r->roles().apply(c, m.state.nick, now); // at once: a mask twice in one request is added once
            kept.push_back(std::move(c));
        }
        if (kept.empty()) return;
        auto tell = [&](const std::vector<mode_change>& changes) {
            room_event e;
            e.kind = room_event_kind::mode;
            e.room = r->name();
            e.nick = m.state.nick;
            e.text = mode_text(changes);
            log_->append(e); // origin 0: the setter hears it too, as IRC echoes MODE
        };
        std::vector<mode_change> group;
        for (mode_change& c : kept) {
            group.push_back(std::move(c));
            if (group.size() > 1 && mode_text(group).size() > max_mode_text) {
                mode_change last = std::move(group.back());
                group.pop_back();
                tell(group);
                group.assign(1, std::move(last));
            }
        }
        tell(group);
    }

    // A line to a room m is not in: said when the room is open on this
    // server and not +n (IRC's -n: "no external messages" off); otherwise
    // m hears it is not in the room (IRC: 404). The room's bans, +m and the
    // host's authorizer apply as to members (access_checks.hpp).
    room* outside_room(member& m, const protocol::command& cmd) {
        room* r = cmd.room.empty() ? nullptr : p_.places.find_room(cmd.room);
        if (r && !r->roles().has(mode_no_external)) return r;
        p_.out.send(m, reply::of(reply_kind::not_in_room, cmd.room));
        return nullptr;
    }

    // INVITE nick #room: nick (a member of this server) may join past +i,
    // +k and +l, and is told who invites it where. Under +i only operators
    // invite. Answered to the inviter by its dialect (IRC: 341).
    void invite(member& m, const protocol::command& cmd) {
        room* r = membership::room_of(m, cmd.room);
        if (!r) return p_.out.send(m, reply::of(reply_kind::not_in_room, cmd.room));
        if (r->roles().has(mode_invite_only) && !may_moderate(m, *r))
            return p_.out.send(m, reply::of(reply_kind::not_permitted));
        member* t = cmd.arg.empty() ? nullptr : p_.members.find_nick(cmd.arg);
        if (!t || !t->state.attached) return p_.out.send(m, reply::of(reply_kind::no_such_nick, cmd.arg));
        r->roles().invite(t->state.nick);
        reply invited = reply::of(reply_kind::invited, r->name(), m.state.nick);
        invited.extra = m.state.account; // IRC's account-tag
        p_.out.send(*t, invited);
    }

private:
    static member* local_member(const room& r, std::string_view nick) {
        for (member* x : r.members())
            if (protocol::same_name(x->state.nick, nick)) return x;
        return nullptr;
    }

    std::string member_named(const room& r, std::string_view nick) const {
        if (const member* x = local_member(r, nick)) return x->state.nick;
        std::vector<std::string> elsewhere;
        log_->remote_members(r.name(), elsewhere);
        for (const std::string& n : elsewhere)
            if (protocol::same_name(n, nick)) return n;
        return {};
    }

    parts p_;
    room_log* log_ = nullptr;
};

} // namespace chatroom::detail
