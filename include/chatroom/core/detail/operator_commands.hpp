#pragma once

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/event_text.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/membership.hpp>
#include <chatroom/core/detail/moderation.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/host_error.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/transport.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

// How a member is removed by an operator or the host: what its rooms hear,
// its last words, and the host event.
struct removal {
    leave_reason why = leave_reason::kicked;
    std::string room_text; // the reason its rooms hear
    reply last_words;
    server_event_kind kind = server_event_kind::kicked;
    std::string reason, by, key; // for the host event (key: the ban's)
    // Flush what it was sent first (those removed with a ban's target), so
    // its last words are not lost behind a write under way.
    bool graceful = false;
};

// What operator commands need of the rest of the core (commands.hpp).
class operator_effects {
public:
    virtual void remove_member(member& t, const removal& how) = 0;
    // Connections waiting on a ban that was lifted are welcomed.
    virtual void welcome_unbanned() = 0;
    virtual control_result set_topic(std::string_view room_name, std::string_view text, std::string_view by) = 0;

protected:
    ~operator_effects() = default;
};

// The server operators' commands (docs/protocol.md): /kick naming no room,
// /ban, /unban, /mute and /unmute, by a member whose account has the
// operator role; and the host's kick. /topic goes to the room's operators
// (room_moderation.hpp, moderation_requests.hpp). Guarded by the hub's lock.
class operator_commands {
public:
    struct parts {
        registry& members;
        moderation& mod;
        fanout& out;
        host_events& events;
        operator_effects& core;
    };

    explicit operator_commands(parts p) : p_(p) {}

    void set_log(room_log& log) noexcept { log_ = &log; }

    control_result kick(std::string_view nick, std::string_view reason, std::string_view by) {
        member* t = p_.members.find_nick(nick);
        if (!t) return host_errc::no_such_member;
        p_.core.remove_member(*t, removal{leave_reason::kicked, event_text::was_kicked(by, reason),
                                          reply::of(reply_kind::kicked_by, by, reason), server_event_kind::kicked,
                                          std::string(reason), std::string(by), {}, false});
        return {};
    }

    void run(member& m, const protocol::command& cmd) {
        using protocol::command_kind;
        if (!m.state.op) return p_.out.send(m, reply::of(reply_kind::not_permitted));
        switch (cmd.kind) {
        case command_kind::kick:
            if (cmd.arg.empty() || !kick(cmd.arg, cmd.text, m.state.nick))
                p_.out.send(m, cmd.arg.empty() ? reply::usage("kick") : reply::of(reply_kind::no_such_nick, cmd.arg));
            return;
        case command_kind::ban: return ban(m, cmd);
        case command_kind::unban: return unban(m, cmd);
        case command_kind::mute:
        case command_kind::unmute: return mute(m, cmd, cmd.kind == command_kind::mute);
        default: return;
        }
    }

private:
    // /ban NICK [LENGTH] [confirm]
    void ban(member& m, const protocol::command& cmd) {
        const std::string& by = m.state.nick;
        std::string_view length_text = cmd.text;
        const std::size_t sp = length_text.find_last_of(" \t");
        const std::string_view last = sp == std::string_view::npos ? length_text : length_text.substr(sp + 1);
        const bool confirmed = protocol::fold_case(last) == "confirm";
        if (confirmed) length_text = protocol::trim(length_text.substr(0, length_text.size() - last.size()));
        member* t = cmd.arg.empty() ? nullptr : p_.members.find_nick(cmd.arg);
        const auto length = moderation::parse_duration(length_text);
        if (cmd.arg.empty() || !length) return p_.out.send(m, reply::usage("ban"));
        if (!t) return p_.out.send(m, reply::of(reply_kind::no_such_nick, cmd.arg));
        const std::string address = t->address();
        // An operator's own address is not banned by her hand unasked.
        if (!confirmed && !address.empty() && address == m.address())
            return p_.out.send(m, reply::ban_own_address(t->state.nick, address, length_text));
        // A guest is banned by address; an account by name and, for the
        // same time, by the address it last used (it is on it now), so it
        // cannot come back as a guest.
        const std::string address_key = moderation::address_key(address);
        std::string key = address_key;
        if (!t->state.account.empty()) {
            key = moderation::account_key(t->state.account);
            const bool link = !address.empty() && p_.mod.ban_at_least(address_key, *length);
            p_.mod.ban(key, *length, link ? address_key : std::string());
        } else {
            p_.mod.ban(key, *length);
        }
        const std::string how_long = moderation::describe(*length);
        const bool forever = length->count() == 0;
        removal how{leave_reason::banned, event_text::was_banned(by, how_long),
                    reply::of(reply_kind::banned_by, by, forever ? how_long : "for " + how_long), server_event_kind::banned,
                    how_long, by, key, false};
        p_.core.remove_member(*t, how);
        // Whoever else is on that address goes too (operators stay), as new
        // connections from it are refused.
        if (address.empty()) return;
        std::vector<std::shared_ptr<member>> also;
        for (const auto& x : p_.members.members())
            if (x.get() != &m && !x->state.op && x->address() == address) also.push_back(x);
        how.key = address_key;
        how.graceful = true;
        for (const auto& x : also)
            if (x->state.attached) p_.core.remove_member(*x, how);
    }

    void unban(member& m, const protocol::command& cmd) {
        if (cmd.arg.empty()) return p_.out.send(m, reply::usage("unban"));
        const bool by_name = p_.mod.unban(moderation::account_key(cmd.arg));
        const bool by_address = p_.mod.unban(moderation::address_key(cmd.arg));
        if (!by_name && !by_address) return p_.out.send(m, reply::of(reply_kind::no_ban_on, cmd.arg));
        // An address is shown in its one form, whichever was typed.
        const std::string shown = by_name ? std::string(cmd.arg) : canonical_address(cmd.arg);
        p_.out.send(m, reply::of(reply_kind::unbanned, shown));
        server_event ev{server_event_kind::unbanned, {}, {}, shown, {}, {}, {}, m.state.nick, {}, {}, {}};
        p_.events.push(std::move(ev));
        p_.core.welcome_unbanned();
    }

    void mute(member& m, const protocol::command& cmd, bool on) {
        member* t = cmd.arg.empty() ? nullptr : p_.members.find_nick(cmd.arg);
        if (cmd.arg.empty()) return p_.out.send(m, reply::usage("mute"));
        if (!t) return p_.out.send(m, reply::of(reply_kind::no_such_nick, cmd.arg));
        const std::string& by = m.state.nick;
        t->state.muted = on;
        const std::string text = event_text::was_muted(t->state.nick, by, on);
        // The target's rooms hear it (the target included); an operator
        // in none of them is told alone.
        for (const member_state::seat& s : t->state.seats) {
            room_event e;
            e.kind = room_event_kind::notice;
            e.room = s.in->name();
            e.text = text;
            log_->append(e);
        }
        if (!membership::share_a_room(*t, m)) p_.out.send(m, reply::notice(text));
        p_.events.emit(on ? server_event_kind::muted : server_event_kind::unmuted, *t,
                       t->state.current() ? t->state.current()->name() : std::string());
        p_.events.pending_back().by = by;
    }

    parts p_;
    room_log* log_ = nullptr;
};

} // namespace chatroom::detail
