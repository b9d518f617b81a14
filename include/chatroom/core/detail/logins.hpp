#pragma once

// Logins (docs/protocol.md, /login; docs/access.md): a member's name and
// secret go to the host's verifier with the hub's lock released; its answer
// comes back here with the lock held again. A login is charged to the
// member's address when it starts (rate limits on failures and on checks
// under way); the account's name becomes the nick, across the cluster when
// a shared log claims nicks. Connections from a banned address are on
// probation: let in only to log in as an operator. Guarded by the hub's lock.

#include <chatroom/core/access.hpp>
#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/housekeeping.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/moderation.hpp>
#include <chatroom/core/detail/nick_changes.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/stats.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace chatroom::detail {

// What logins need of the rest of the core (commands.hpp).
class login_effects {
public:
    // The member may use rooms now (commands.hpp: the lobby, for dialects that start there).
    virtual void admit(member& m) = 0;
    // The member leaves its rooms and the server (its rooms hear detail).
    virtual void leave_server(member& m, leave_reason why, std::string_view detail) = 0;

protected:
    ~login_effects() = default;
};

class logins {
public:
    // A login the host's verifier decides, with the hub's lock released.
    struct job {
        std::weak_ptr<member> who;
        login_request request;
    };

    struct parts {
        counters& count;
        registry& members;
        moderation& mod;
        fanout& out;
        housekeeping& house;
        host_events& events;
        nick_changes& nicks;
        const access_hooks& hooks;
        login_effects& effects;
    };

    explicit logins(parts p) : p_(p) {}

    std::vector<job> take_jobs() { return std::exchange(jobs_, {}); }

    // The time left of a ban on m's address, if any (never for Unix sockets).
    std::optional<moderation::clock::duration> address_ban(const member& m) const {
        if (m.address().empty()) return std::nullopt;
        return p_.mod.banned(moderation::address_key(m.address()));
    }

    // Probation: a connection from a banned address, let in to log in as an
    // operator only.
    void set_probation(member& m, bool on) {
        if (on) probation_.insert(&m);
        else probation_.erase(&m);
    }
    bool on_probation(member& m) const { return !probation_.empty() && probation_.count(&m) != 0; }
    std::vector<member*> on_probation() const { return {probation_.begin(), probation_.end()}; }

    // The member is going: a check under way keeps its charge.
    void forget(member& m) {
        end(m, false);
        probation_.erase(&m);
        oper_only_.erase(&m);
    }

    // /login NAME SECRET: checked and charged here, decided by the verifier.
    // command_kind::oper: the operator's rights of the account, without
    // logging in to it.
    void start(member& m, const protocol::command& cmd) {
        const bool oper_only = cmd.kind == protocol::command_kind::oper;
        const access_hooks& hooks = p_.hooks;
        if (!hooks.verify) return p_.out.send(m, reply::of(reply_kind::logins_disabled));
        if (cmd.arg.empty() || cmd.text.empty()) return p_.out.send(m, reply::usage(oper_only ? "oper" : "login"));
        if (!oper_only && !m.state.account.empty()) return p_.out.send(m, reply::of(reply_kind::already_logged_in));
        if (m.state.login_pending) return p_.out.send(m, reply::of(reply_kind::login_under_way));
        if (!protocol::is_valid_name(cmd.arg)) return p_.out.send(m, reply::of(reply_kind::bad_nick));
        if (auto left = p_.mod.banned(moderation::account_key(cmd.arg)))
            return p_.out.send(m, reply::of(reply_kind::banned, {}, moderation::time_left(*left)));
        // Charged to the address now, not when it fails: checks under way
        // count, and only a few run at once per address.
        switch (p_.mod.start_login(m.address(), hooks.failed_logins_per_minute, hooks.logins_under_way_per_address)) {
        case moderation::login_gate::go: break;
        case moderation::login_gate::too_many_failed:
            counters::add(p_.count.failed_logins);
            return p_.out.send(m, reply::of(reply_kind::too_many_failed_logins));
        case moderation::login_gate::too_many_under_way:
            counters::add(p_.count.failed_logins);
            return p_.out.send(m, reply::of(reply_kind::too_many_logins_under_way));
        }
        m.state.login_pending = true;
        if (oper_only) oper_only_.insert(&m);
        jobs_.push_back(job{m.shared_from_this(), login_request{std::string(cmd.arg), std::string(cmd.text),
                                                                m.address(), protocol::fold_case(cmd.arg)}});
    }

    // The verifier's answer, with the hub's lock held again. What was typed
    // after /login (typed is its name) never reaches an event: the
    // login_failed event names the member by its nick, with its address.
    void finish(member& m, const std::string& typed, const login_result& r) {
        // A success, or a refusal that says nothing about the secret, gives
        // back the charge the login made when it started.
        const bool oper_only = oper_only_.erase(&m) != 0;
        end(m, (r.ok && (r.op || !oper_only)) || !r.counts_as_failure);
        if (!m.state.attached) return;
        if (oper_only) return oper(m, typed, r);
        // From a banned address: an operator's login or nothing.
        const auto ban_left = on_probation(m) ? address_ban(m) : std::nullopt;
        if (!r.ok) {
            if (r.counts_as_failure) counters::add(p_.count.failed_logins);
            const std::string why = r.reason.empty() ? std::string(login_result::default_reason) : r.reason;
            p_.events.emit(server_event_kind::login_failed, m, {}, {}, why);
            p_.out.send(m, reply::refused(why));
            if (ban_left && r.counts_as_failure) close_banned(m, *ban_left);
            return;
        }
        if (ban_left && !r.op) {
            p_.events.emit(server_event_kind::login_failed, m, {}, {}, "not an operator, from a banned address");
            return close_banned(m, *ban_left);
        }
        const std::string& name = r.account.empty() ? typed : r.account;
        if (p_.nicks.needs_claim(m, name)) {
            m.state.nick_pending = true; // the login is decided by the claim
            return p_.nicks.claim(nick_changes::nick_job{m.shared_from_this(), name, true, r.op});
        }
        complete(m, name, r.op);
    }

    // The cluster decided the claim of a logged-in name (job.login).
    void claimed(member& m, const nick_changes::nick_job& job, bool won) {
        if (!won) return p_.out.send(m, reply::refused(job.nick + " is logged in elsewhere"));
        complete(m, job.nick, job.op);
    }

private:
    // The login m had under way is over; refund gives its charge back.
    void end(member& m, bool refund) {
        if (!m.state.login_pending) return;
        m.state.login_pending = false;
        p_.mod.end_login(m.address(), refund);
    }

    // A connection from a banned address failed to log in as an operator:
    // what it was told is flushed, with the ban, and it closes.
    void close_banned(member& m, moderation::clock::duration left) {
        p_.out.send(m, reply::of(reply_kind::banned, {}, moderation::time_left(left)));
        p_.effects.leave_server(m, leave_reason::banned, "banned address");
        p_.house.begin_drain(m, leave_reason::banned);
    }

    // An oper command's verdict: the rights of an operator's account, the
    // member's nick and account unchanged (an accepted account that is not
    // an operator's is refused, and counts as a failure).
    void oper(member& m, const std::string& typed, const login_result& r) {
        const std::string& name = r.account.empty() ? typed : r.account;
        if (!r.ok || !r.op) {
            if (r.ok || r.counts_as_failure) counters::add(p_.count.failed_logins);
            const std::string why = !r.ok ? (r.reason.empty() ? std::string(login_result::default_reason) : r.reason)
                                          : name + " is not an operator";
            p_.events.emit(server_event_kind::login_failed, m, {}, {}, "oper: " + why);
            return p_.out.send(m, reply::refused(why));
        }
        m.state.op = true;
        p_.out.send(m, reply::of(reply_kind::now_operator, name));
        p_.events.emit(server_event_kind::logged_in, m, m.state.current() ? m.state.current()->name() : std::string(),
                       "operator " + name);
    }

    void complete(member& m, const std::string& name, bool op) {
        // The account's name becomes the nick; a guest holding it gives it up.
        if (member* holder = p_.members.find_nick(name); holder && holder != &m) {
            if (!holder->state.account.empty())
                return p_.out.send(m, reply::refused(name + " is logged in elsewhere"));
            p_.nicks.take(*holder, p_.members.guest_nick());
        }
        m.state.account = name;
        m.state.op = op;
        probation_.erase(&m);
        p_.out.send(m, reply::of(reply_kind::logged_in, name));
        if (m.state.nick != name) p_.nicks.take(m, name);
        p_.events.emit(server_event_kind::logged_in, m, m.state.current() ? m.state.current()->name() : std::string());
        if (!m.state.admitted) p_.effects.admit(m);
    }

    parts p_;
    std::vector<job> jobs_;
    std::unordered_set<member*> probation_;
    std::unordered_set<member*> oper_only_; // their login under way is an oper command
};

} // namespace chatroom::detail
