#pragma once

#include <chatroom/core/detail/access_checks.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/logins.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/membership.hpp>
#include <chatroom/core/detail/moderation.hpp>
#include <chatroom/core/access.hpp>
#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/options.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/sanitize.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace chatroom::detail {

// A connection's arrival as a member (docs/protocol.md, docs/access.md): bans
// by address and the host's admission hook, the welcome and the message of
// the day, "login first" when logins are required, then admission to the
// lobby. Guarded by the hub's lock.
class arrivals {
public:
    struct parts {
        const server_options& opts;
        fanout& out;
        access_checks& access;
        logins& accounts;
        membership& places;
    };

    explicit arrivals(parts p) : p_(p) {}

    void set_motd(std::string text) { motd_ = std::move(text); }

    // A connection's first moment as a member: bans by address, then the
    // host's admission hook. Returns the refusal, or nothing. With logins
    // enabled a banned address is let in, but only to log in as an operator
    // (greet).
    std::optional<reply> admission_refusal(member& m) {
        if (!p_.access.hooks().verify) {
            if (auto left = p_.accounts.address_ban(m)) return reply::of(reply_kind::banned, {}, moderation::time_left(*left));
        }
        return p_.access.admission_refusal(m);
    }

    // A new member: the welcome, then the lobby. From a banned address: the
    // ban and no room; only /login (as an operator), /help and /quit work.
    void greet(member& m) {
        if (auto left = p_.accounts.address_ban(m)) {
            p_.accounts.set_probation(m, true);
            p_.out.send(m, reply::of(reply_kind::banned_login_only, {}, moderation::time_left(*left)));
            return;
        }
        p_.accounts.set_probation(m, false);
        std::string hello;
        std::string name;
        sanitize_append(name, p_.opts.name);
        m.dialect().append(hello, reply::welcome(name, m.state.nick));
        std::string_view extra = motd_.empty() ? std::string_view(p_.opts.welcome) : std::string_view(motd_);
        while (!extra.empty()) {
            const std::size_t nl = extra.find('\n');
            std::string line;
            sanitize_append(line, extra.substr(0, nl));
            m.dialect().append(hello, reply::notice(line));
            extra = nl == std::string_view::npos ? std::string_view() : extra.substr(nl + 1);
        }
        if (p_.access.hooks().require_login) m.dialect().append(hello, reply::of(reply_kind::login_first));
        p_.out.push(m, shared_bytes::copy_of(hello));
        if (!p_.access.hooks().require_login) admit(m);
    }

    // A member is admitted (it may use rooms) and sent to the lobby, unless
    // its dialect's clients join their rooms themselves (IRC).
    void admit(member& m) {
        m.state.admitted = true;
        if (!m.interpreter().starts_in_lobby()) return;
        if (p_.access.authorized(m, action_kind::join, protocol::lobby, {})) p_.places.enter(m, protocol::lobby);
    }

    // Connections waiting on a ban that was lifted are welcomed.
    void welcome_unbanned() {
        for (member* x : p_.accounts.on_probation())
            if (!p_.accounts.address_ban(*x)) greet(*x);
    }

private:
    parts p_;
    std::string motd_;
};

} // namespace chatroom::detail
