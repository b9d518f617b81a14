#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/requests.hpp>
#include <chatroom/irc/detail/users.hpp>
#include <chatroom/irc/message.hpp>

#include <string>
#include <string_view>

namespace chatroom::irc::detail {

// User modes: MODE <nick> [changes], as modern.ircdocs.horse gives them.
// A member's modes are its connection's: +i invisible (a WHO mask with
// wildcards does not list it to those sharing no channel with it,
// users.hpp), +w wallops (kept and reported; the server sends no WALLOPS),
// and o, the server's operator (shown, never set or unset by MODE: RFC 2812
// ignores +o, and -o is ignored too, since operators are the server's
// accounts). With the hub's lock held.

// "+iw": the member's modes as 221 shows them ("+" for none).
inline std::string user_modes_of(const member& m, const session_state& st) {
    std::string out = "+";
    if (st.invisible) out += 'i';
    if (m.state.op) out += 'o';
    if (st.wallops) out += 'w';
    return out;
}

// MODE nick: 221 with its modes; MODE nick changes: the known letters
// applied and confirmed in one MODE from the member (what changed only;
// nothing when nothing did), then 501 once if a letter was unknown. Another
// user's nick is 502, a nick nobody has 401.
inline void user_mode(const member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    const std::string& target = msg.params[0];
    if (!protocol::same_name(target, m.state.nick)) {
        user_info u;
        if (!find_user(m, c, target, u)) return emit(st, c.numeric("401", target, "No such nick/channel"));
        return emit(st, c.numeric("502", {},
                                  msg.params.size() < 2 ? "Can't view modes for other users"
                                                        : "Can't change mode for other users"));
    }
    if (msg.params.size() < 2) return emit(st, c.from_server("221 " + c.nick() + " " + user_modes_of(m, st)));
    bool adding = true, unknown = false;
    char sign = 0;
    std::string applied;
    for (const char ch : msg.params[1]) {
        if (ch == '+' || ch == '-') {
            adding = ch == '+';
            continue;
        }
        bool* flag = ch == 'i' ? &st.invisible : ch == 'w' ? &st.wallops : nullptr;
        if (flag == nullptr) {
            unknown = unknown || ch != 'o';
            continue;
        }
        if (*flag == adding) continue;
        *flag = adding;
        const char now = adding ? '+' : '-';
        if (now != sign) applied += now;
        sign = now;
        applied += ch;
    }
    if (!applied.empty()) emit(st, c.from_self("MODE " + c.nick() + " :" + applied));
    if (unknown) emit(st, c.numeric("501", {}, "Unknown MODE flag"));
}

} // namespace chatroom::irc::detail
