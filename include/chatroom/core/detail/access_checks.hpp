#pragma once

#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/access.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/reply.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace chatroom::detail {

// What the host's code is told of a member (access hooks, custom commands,
// snapshots). Guarded by the hub's lock.
inline member_info info_of(const member& m) {
    member_info i;
    i.nick = m.state.nick;
    i.account = m.state.account;
    i.room = m.state.current() ? m.state.current()->name() : std::string();
    for (const member_state::seat& s : m.state.seats) i.rooms.push_back(s.in->name());
    i.address = m.address();
    i.transport = m.transport();
    // Told in wall-clock time, kept in steady time.
    i.connected_since = std::chrono::system_clock::now() -
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(clock::now() -
                                                                                        m.state.connected_at);
    i.op = m.state.op;
    i.muted = m.state.muted;
    return i;
}

// The host's access hooks (access.hpp) and the checks that ask them: the
// admission hook, and whether a member may join a room or say a line (a
// muted member may not). A refusal is sent to the member here. Guarded by
// the hub's lock; the hooks run with it held (host_events::hook catches).
class access_checks {
public:
    access_checks(fanout& out, host_events& events) : out_(out), events_(events) {}

    void set(access_hooks hooks) { hooks_ = std::move(hooks); }
    const access_hooks& hooks() const noexcept { return hooks_; }

    // The host's admission hook: the refusal, or nothing.
    std::optional<reply> admission_refusal(member& m) {
        if (hooks_.admit) {
            const verdict v = events_.hook("admit", m, verdict::refuse("server error"), [&] {
                return hooks_.admit(peer_info{m.address(), m.transport(), m.certificate_subject()});
            });
            if (!v.allowed) return reply::refused(v.reason.empty() ? "not admitted" : v.reason);
        }
        return {};
    }

    // Muted members and the host's authorizer may refuse a line.
    bool may_say(member& m, const room& r, std::string_view text) {
        // The common case, inline: one test of flags.
        if (!m.state.muted && !hooks_.authorize && !r.roles().has(mode_moderated) && r.roles().bans().list().empty())
            return true;
        if (m.state.muted) {
            out_.send(m, reply::of(reply_kind::muted));
            return false;
        }
        // +m, and a member banned while in the room (room_bans.hpp): only
        // operators and voiced members speak.
        if (!m.state.op && !r.roles().is_op(m.state.nick) && !r.roles().is_voiced(m.state.nick)) {
            if (r.roles().has(mode_moderated)) {
                out_.send(m, reply::of(reply_kind::room_moderated, r.name()));
                return false;
            }
            if (r.banned(m)) {
                out_.send(m, reply::of(reply_kind::room_banned, r.name()));
                return false;
            }
        }
        return authorized(m, action_kind::say, r.name(), text);
    }

    bool authorized(member& m, action_kind kind, std::string_view room_name, std::string_view text) {
        if (!hooks_.authorize) return true;
        const verdict v = events_.hook("authorize", m, verdict::refuse("server error"), [&] {
            return hooks_.authorize(info_of(m), action{kind, room_name, text, protocol::fold_case(room_name)});
        });
        if (!v.allowed) out_.send(m, reply::refused(v.reason.empty() ? "not permitted" : v.reason));
        return v.allowed;
    }

private:
    fanout& out_;
    host_events& events_;
    access_hooks hooks_;
};

} // namespace chatroom::detail
