#pragma once

#include <chatroom/core/access.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/membership.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/host_error.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

// Nicks change hands here: a member's /nick, the host's rename, the name an
// account logs in with. With a shared log a nick is first claimed across
// the cluster (a nick_job the hub runs unlocked, host_jobs.hpp), then
// taken. Guarded by the hub's lock.
class nick_changes {
public:
    // A nick claimed across servers before the member takes it: a /nick,
    // the host's rename, or a login's account name (with the account's role).
    struct nick_job {
        std::weak_ptr<member> who;
        std::string nick;
        bool login = false;
        bool op = false;
    };

    struct parts {
        registry& members;
        fanout& out;
        host_events& events;
        membership& rooms;
    };

    explicit nick_changes(parts p) : p_(p) {}

    void set_log(room_log& log) noexcept { log_ = &log; }
    void set_access(const access_hooks& hooks) noexcept { hooks_ = &hooks; }

    void claim(nick_job job) { claims_.push_back(std::move(job)); }
    std::vector<nick_job> take_claims() { return std::exchange(claims_, {}); }

    // Whether taking name needs a claim across servers first.
    bool needs_claim(const member& m, std::string_view name) const {
        return log_->claims_nicks() && protocol::fold_case(m.state.nick) != protocol::fold_case(name);
    }

    // /nick NAME.
    void asked(member& m, std::string_view name) {
        if (!protocol::is_valid_name(name)) return p_.out.send(m, reply::of(reply_kind::bad_nick));
        const member* holder = p_.members.find_nick(name);
        if (holder && holder != &m) return p_.out.send(m, reply::of(reply_kind::nick_taken, name));
        if (m.state.nick == name) return;
        const std::string key = protocol::fold_case(name);
        if (hooks_ && hooks_->is_registered && protocol::fold_case(m.state.account) != key &&
            p_.events.hook("is_registered", m, true, [&] { return hooks_->is_registered({key, name}); }))
            return p_.out.send(m, reply::of(reply_kind::nick_registered, name));
        if (needs_claim(m, name)) {
            // Guest nicks are the servers' to give (each its own), never claimed.
            if (key.rfind("guest-", 0) == 0) return p_.out.send(m, reply::of(reply_kind::guest_nick_reserved));
            // The claim decides, atomically in the shared log: a view of
            // the other servers may be a heartbeat old.
            if (m.state.nick_pending) return p_.out.send(m, reply::of(reply_kind::nick_under_way));
            m.state.nick_pending = true;
            return claim(nick_job{m.shared_from_this(), std::string(name)});
        }
        take(m, name);
    }

    // The host renames a member.
    control_result host_rename(std::string_view nick, std::string_view new_nick) {
        member* t = p_.members.find_nick(nick);
        if (!t) return host_errc::no_such_member;
        if (!protocol::is_valid_name(new_nick)) return host_errc::bad_name;
        const member* holder = p_.members.find_nick(new_nick);
        if (holder && holder != t) return host_errc::name_taken;
        if (needs_claim(*t, new_nick)) claim(nick_job{t->shared_from_this(), std::string(new_nick)});
        else take(*t, new_nick);
        return {};
    }

    // A claim for a new nick (not a login's) was decided.
    void claimed(member& m, const nick_job& job, bool won) {
        if (!won) return p_.out.send(m, reply::of(reply_kind::nick_elsewhere, job.nick));
        if (const member* holder = p_.members.find_nick(job.nick); holder && holder != &m) {
            log_->gone(job.nick); // ours in the cluster, but taken here meanwhile
            return p_.out.send(m, reply::of(reply_kind::nick_taken, job.nick));
        }
        const std::string old = m.state.nick;
        take(m, job.nick);
        // Decided after the request, so no reply said it: a member in no
        // room (an IRC client still registering, or one in no channel)
        // would hear nothing, and its dialect may wait for it (IRC's 001).
        if (m.state.seats.empty()) {
            room_event e = membership::event_of(room_event_kind::renamed, m, nullptr);
            e.old_nick = old;
            p_.out.push(m, m.dialect().render(e));
        }
    }

    // m takes name (free here, claimed if it had to be); each of its rooms
    // hears it (a member in several of them, once: fanout.hpp).
    void take(member& m, std::string_view name) {
        std::string old = m.state.nick;
        p_.members.rename(m, name);
        p_.rooms.publish_presence(m);
        log_->gone(old);
        for (const member_state::seat& s : m.state.seats) {
            room_event e = membership::event_of(room_event_kind::renamed, m, s.in);
            e.old_nick = old;
            e.origin = 0; // the member reads its own rename too
            log_->append(e);
        }
        if (!m.state.seats.empty())
            p_.events.emit(server_event_kind::nick_changed, m, m.state.current() ? m.state.current()->name() : std::string(), {},
                           {}, old);
    }

private:
    parts p_;
    room_log* log_ = nullptr;
    const access_hooks* hooks_ = nullptr;
    std::vector<nick_job> claims_;
};

} // namespace chatroom::detail
