#pragma once

// The verdict of a login that SASL or PASS started (registration.hpp), as
// IRC numerics: included at the end of connection.hpp. The core's /login
// answers with logged_in, or one of its refusals, possibly long after the
// line that started it (the verifier runs outside the hub's lock); the
// account's name then becomes the member's nick, as /login and OPER do.

#include <chatroom/core/reply.hpp>
#include <chatroom/irc/detail/connection.hpp>

#include <string>

namespace chatroom::irc::detail {

inline bool connection::login_reply(const reply& r, std::string& out) const {
    const login_via via = st_.via;
    switch (r.kind) {
    case reply_kind::logged_in: break;
    case reply_kind::refused:
    case reply_kind::logins_disabled:
    case reply_kind::usage:
    case reply_kind::already_logged_in:
    case reply_kind::login_under_way:
    case reply_kind::bad_nick:
    case reply_kind::banned:
    case reply_kind::too_many_failed_logins:
    case reply_kind::too_many_logins_under_way:
        st_.via = login_via::none;
        if (via == login_via::sasl) {
            out = numeric("904", {}, "SASL authentication failed");
            return true;
        }
        // PASS: 464, and the connection ends.
        st_.pass_refused = true;
        out = numeric("464", {}, "Password incorrect") + "\nERROR :Closing link: " + nick() + " (Password incorrect)";
        if (drop_) drop_("Password incorrect");
        return true;
    default: return false;
    }
    st_.via = login_via::none;
    // Said now, before the core renames the member to its account.
    const std::string& account = r.subject;
    const std::string before = self_ ? self_->state.nick : std::string();
    out = numeric("900", events().source(account) + " " + account, "You are now logged in as " + account) + '\n';
    if (via == login_via::sasl) out += numeric("903", {}, "SASL authentication successful") + '\n';
    if (!st_.registered) {
        st_.wanted_nick = account;
        // PASS's login started by the last line registration needed: the
        // client's PONG to this registers it (registration.hpp).
        if (via == login_via::pass && st_.got_user && !st_.cap_negotiating)
            out += from_server("PING :" + cfg_->options.server_name) + '\n';
    } else if (self_ && self_->state.seats.empty() && before != account) {
        // In no room, it reads its rename here (its rooms would tell it).
        out += ":" + events().source(before) + " NICK " + account + '\n';
    }
    return true;
}

} // namespace chatroom::irc::detail
