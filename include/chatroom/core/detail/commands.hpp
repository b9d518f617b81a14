#pragma once

#include <chatroom/core/detail/chat_batch.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/history_service.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/host_rooms.hpp>
#include <chatroom/core/detail/housekeeping.hpp>
#include <chatroom/core/detail/logins.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/membership.hpp>
#include <chatroom/core/detail/moderation.hpp>
#include <chatroom/core/detail/nick_changes.hpp>
#include <chatroom/core/detail/operator_commands.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/access.hpp>
#include <chatroom/core/command_error.hpp>
#include <chatroom/core/detail/custom_commands.hpp>
#include <chatroom/core/options.hpp>
#include <chatroom/core/command.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/core/detail/event_text.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/core/stats.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace chatroom::detail {

// The protocol (docs/protocol.md): what a member's line means. Whatever
// happens in a room becomes a room event appended to the room log; answers
// meant for the member alone go straight to it. Consecutive chat lines of one
// read become one event, so one block is shared by every recipient.
// Guarded by the hub's lock.
class commands final : private operator_effects, private login_effects {
public:
    struct parts {
        const server_options& opts;
        counters& count;
        registry& members;
        room_directory& rooms;
        fanout& out;
        housekeeping& house;
        host_events& events;
        moderation& mod;
        std::vector<std::shared_ptr<member>>& graveyard; // references dropped after unlocking
    };

    // Work that must run with the hub's lock released (host code: a login
    // verifier, a custom command's handler); the hub runs it after unlocking.
    using login_job = logins::job;
    struct command_job {
        std::weak_ptr<member> who;
        command_handler handler;
        command_call call;
        std::string name; // as registered
    };
    using nick_job = nick_changes::nick_job;

    using history_job = history_service::request;

    explicit commands(parts p)
        : opts_(p.opts), count_(p.count), members_(p.members), rooms_(p.rooms), out_(p.out), house_(p.house),
          events_(p.events), graveyard_(p.graveyard), policy_(p.rooms, p.count, p.out),
          batch_(p.count, p.opts.soft_limit()),
          membership_({p.opts, p.count, p.rooms, p.out, p.events, policy_, batch_}),
          operators_({p.members, p.mod, p.out, p.events, *this}),
          nicks_({p.members, p.out, p.events, membership_}),
          logins_({p.count, p.members, p.mod, p.out, p.house, p.events, nicks_, hooks_, *this}) {
        nicks_.set_access(hooks_);
    }

    void set_log(room_log& log) noexcept {
        policy_.set_log(*(log_ = &log));
        batch_.set_log(log);
        membership_.set_log(log);
        operators_.set_log(log);
        nicks_.set_log(log);
    }
    void set_stopping() noexcept {
        stopping_ = true;
        membership_.set_stopping();
    }
    void set_access(access_hooks hooks) { hooks_ = std::move(hooks); }
    const access_hooks& access() const noexcept { return hooks_; }
    void set_motd(std::string text) { motd_ = std::move(text); }

    // Custom commands (custom_commands.hpp).
    std::error_code add_command(std::string name, std::string help, command_handler handler, bool replace) {
        return custom_.add(std::move(name), std::move(help), std::move(handler), replace);
    }

    std::vector<login_job> take_logins() { return logins_.take_jobs(); }
    std::vector<command_job> take_calls() { return std::exchange(calls_, {}); }
    std::vector<nick_job> take_claims() { return nicks_.take_claims(); }
    std::vector<history_job> take_histories() { return std::exchange(histories_, {}); }
    std::vector<std::string> take_opened() { return membership_.take_opened(); }

    static room_event notice_event(const std::string& room_name, std::string text) {
        room_event e;
        e.kind = room_event_kind::notice;
        e.room = room_name;
        e.text = std::move(text);
        return e;
    }

    member_info info(const member& m) const {
        member_info i;
        i.nick = m.state.nick;
        i.account = m.state.account;
        i.room = m.state.current ? m.state.current->name() : std::string();
        for (const hub_state::seat& s : m.state.seats) i.rooms.push_back(s.in->name());
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

    // A connection's first moment as a member: bans by address, then the
    // host's admission hook. Returns the refusal, or nothing. With logins
    // enabled a banned address is let in, but only to log in as an operator
    // (greet).
    std::optional<reply> admission_refusal(member& m) {
        if (!hooks_.verify) {
            if (auto left = logins_.address_ban(m)) return reply::of(reply_kind::banned, {}, moderation::time_left(*left));
        }
        if (hooks_.admit) {
            const verdict v = events_.hook("admit", m, verdict::refuse("server error"), [&] {
                return hooks_.admit(peer_info{m.address(), m.transport(), m.certificate_subject()});
            });
            if (!v.allowed) return reply::refused(v.reason.empty() ? "not admitted" : v.reason);
        }
        return {};
    }

    // A new member: the welcome, then the lobby. From a banned address: the
    // ban and no room; only /login (as an operator), /help and /quit work.
    void greet(member& m) {
        if (auto left = logins_.address_ban(m)) {
            logins_.set_probation(m, true);
            out_.send(m, reply::of(reply_kind::banned_login_only, {}, moderation::time_left(*left)));
            return;
        }
        logins_.set_probation(m, false);
        std::string hello;
        std::string name;
        sanitize_append(name, opts_.name);
        m.dialect().append(hello, reply::welcome(name, m.state.nick));
        std::string_view extra = motd_.empty() ? std::string_view(opts_.welcome) : std::string_view(motd_);
        while (!extra.empty()) {
            const std::size_t nl = extra.find('\n');
            std::string line;
            sanitize_append(line, extra.substr(0, nl));
            m.dialect().append(hello, reply::notice(line));
            extra = nl == std::string_view::npos ? std::string_view() : extra.substr(nl + 1);
        }
        if (hooks_.require_login) m.dialect().append(hello, reply::of(reply_kind::login_first));
        out_.push(m, message::copy_of(hello));
        if (!hooks_.require_login) admit(m);
    }

    // A request a member's interpreter made of one of its lines (sanitized,
    // not empty): chat for its room, or a command.
    void request(member& m, const protocol::command& cmd) {
        m.state.said_something = true;
        using protocol::command_kind;
        if (!m.state.admitted) {
            end_batch();
            // From a banned address whose ban ended meanwhile: welcome after all.
            if (logins_.on_probation(m) && !logins_.address_ban(m)) greet(m);
        }
        if (!m.state.admitted && cmd.kind != command_kind::login && cmd.kind != command_kind::help &&
            cmd.kind != command_kind::quit) {
            if (auto left = logins_.on_probation(m) ? logins_.address_ban(m) : std::nullopt)
                out_.send(m, reply::of(reply_kind::banned_login_only, {}, moderation::time_left(*left)));
            else
                out_.send(m, reply::of(reply_kind::login_first)); // not in a room yet: login required
            return;
        }
        if (cmd.kind == command_kind::chat) {
            room* r = room_of(m, cmd.room);
            if (!r) return not_in(m, cmd.room);
            if (may_say(m, *r, cmd.arg)) batch_.add(m, *r, cmd.arg);
            return;
        }
        end_batch();
        run(m, cmd);
    }

    // A buffer the interpreter may sanitize a line into (the hub's lock held).
    std::string& scratch() noexcept { return scratch_; }

    void line_too_long(member& m) {
        end_batch();
        counters::add(count_.lines_too_long);
        out_.send(m, reply::line_too_long(opts_.max_line_bytes));
    }

    // The chat lines gathered so far go out as one event.
    void end_batch() { batch_.end(); }

    // The member leaves its room and the server (the room is told why).
    // Idempotent.
    void leave_server(member& m, leave_reason why, std::string_view detail = {}) override {
        if (!m.state.attached) return;
        logins_.forget(m); // a check under way keeps its charge
        batch_.end_of(m);
        std::string reason;
        switch (why) {
        case leave_reason::eof: break;
        case leave_reason::quit: reason = detail.empty() ? "quit" : "quit: " + std::string(detail); break;
        case leave_reason::connection_lost:
            reason = detail.empty() ? "connection lost" : "connection lost: " + std::string(detail);
            break;
        case leave_reason::too_slow: reason = "too slow"; break;
        case leave_reason::idle_timeout: reason = "idle timeout"; break;
        case leave_reason::first_line_timeout: reason = "no first line"; break;
        case leave_reason::shutdown: reason = "server shutting down"; break;
        case leave_reason::kicked:
        case leave_reason::banned: reason = std::string(detail); break;
        }
        membership_.leave_all(m, reason);
        if (!policy_.empty()) policy_.forget(m);
        log_->gone(m.state.nick);
        auto ref = members_.remove(m);
        events_.emit(event_kind::disconnected, m, {}, {}, reason);
        if (ref) graveyard_.push_back(std::move(ref));
    }

    // "* text" (from empty) or "<from> text" to a room, from the host.
    control_result inject(std::string_view room_name, std::string_view from, std::string_view text) {
        room* r = rooms_.find(room_name);
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

private:
    static room_event event_of(room_event_kind kind, const member& m, const room* r) {
        return membership::event_of(kind, m, r);
    }
    static room* room_of(const member& m, std::string_view name) { return membership::room_of(m, name); }

    void not_in(member& m, std::string_view room_name) { out_.send(m, reply::of(reply_kind::not_in_room, room_name)); }

    void run(member& m, const protocol::command& cmd) {
        using protocol::command_kind;
        if (const custom_commands::entry* c = cmd.kind != command_kind::chat ? custom_.find(cmd.name) : nullptr) {
            std::string args;
            sanitize_append(args, cmd.rest);
            calls_.push_back(command_job{m.shared_from_this(), c->handler, command_call(info(m), args), c->name});
            return;
        }
        if (cmd.kind == command_kind::unknown) return out_.send(m, reply::of(reply_kind::unknown_command, cmd.name));
        switch (cmd.kind) {
        case command_kind::chat: break;
        case command_kind::nick: nicks_.asked(m, cmd.arg); break;
        case command_kind::join:
        case command_kind::switch_room: {
            // The line protocol's /join switches rooms; other dialects join several.
            const bool switching = cmd.kind == command_kind::switch_room && m.state.current;
            if (auto no = membership_.refusal(m, cmd.arg, switching)) {
                out_.send(m, *no);
            } else if (authorized(m, action_kind::join, cmd.arg, {})) {
                if (switching) membership_.leave(m, *m.state.current, {});
                membership_.enter(m, cmd.arg);
            }
            break;
        }
        case command_kind::part: {
            const std::string_view name = cmd.room.empty() ? cmd.arg : cmd.room;
            room* r = name.empty() ? nullptr : room_of(m, name);
            if (!r) return not_in(m, name);
            const std::string left = r->name();
            membership_.leave(m, *r, cmd.text);
            out_.send(m, reply::of(reply_kind::left_room, left));
            break;
        }
        case command_kind::who: {
            room* r = room_of(m, cmd.room);
            if (!r) return not_in(m, cmd.room);
            std::vector<std::string> nicks;
            log_->remote_members(r->name(), nicks);
            for (member* x : r->members()) nicks.push_back(x->state.nick);
            std::sort(nicks.begin(), nicks.end(), [](std::string_view a, std::string_view b) {
                return protocol::fold_case(a) < protocol::fold_case(b);
            });
            out_.send(m, reply::who(r->name(), std::move(nicks)));
            break;
        }
        case command_kind::rooms: {
            std::vector<std::pair<std::string, std::size_t>> remote;
            log_->remote_rooms(remote);
            out_.send(m, reply::room_list(policy_.listing(m, remote)));
            break;
        }
        case command_kind::me: {
            if (cmd.arg.empty()) {
                out_.send(m, reply::usage("me"));
                break;
            }
            room* r = room_of(m, cmd.room);
            if (!r) return not_in(m, cmd.room);
            if (!may_say(m, *r, cmd.arg)) break;
            room_event e = event_of(room_event_kind::action, m, r);
            e.text = std::string(cmd.arg);
            counters::add(count_.lines_in);
            log_->append(e);
            break;
        }
        case command_kind::msg: {
            if (cmd.arg.empty() || cmd.text.empty()) {
                out_.send(m, reply::usage("msg"));
                break;
            }
            if (!members_.find_nick(cmd.arg) && !log_->find_remote(cmd.arg)) {
                out_.send(m, reply::of(reply_kind::no_such_nick, cmd.arg));
                break;
            }
            room_event e = event_of(room_event_kind::private_message, m, nullptr);
            e.target = std::string(cmd.arg);
            e.text = std::string(cmd.text);
            log_->append(e);
            break;
        }
        case command_kind::quit:
            leave_server(m, leave_reason::quit, cmd.arg);
            house_.begin_drain(m, leave_reason::quit);
            break;
        case command_kind::help: {
            reply help = reply::of(reply_kind::help);
            help.count = m.state.op ? 1 : 0;
            custom_.list(help);
            out_.send(m, help);
            break;
        }
        case command_kind::login: logins_.start(m, cmd); break;
        case command_kind::kick:
        case command_kind::ban:
        case command_kind::unban:
        case command_kind::mute:
        case command_kind::unmute:
        case command_kind::topic: operators_.run(m, cmd); break;
        case command_kind::history: {
            room* r = room_of(m, cmd.room);
            if (!r) return not_in(m, cmd.room);
            if (auto job = history_service::asked(m, r->name(), cmd, opts_.history_page))
                histories_.push_back(std::move(*job));
            else out_.send(m, reply::usage("history"));
            break;
        }
        case command_kind::unknown: break;
        }
    }

    // ---- accounts and moderation ---------------------------------------------

    // Muted members and the host's authorizer may refuse a line.
    bool may_say(member& m, const room& r, std::string_view text) {
        if (!m.state.muted && !hooks_.authorize) return true; // the common case, inline
        if (m.state.muted) {
            out_.send(m, reply::of(reply_kind::muted));
            return false;
        }
        return authorized(m, action_kind::say, r.name(), text);
    }

    bool authorized(member& m, action_kind kind, std::string_view room_name, std::string_view text) {
        if (!hooks_.authorize) return true;
        const verdict v = events_.hook("authorize", m, verdict::refuse("server error"), [&] {
            return hooks_.authorize(info(m), action{kind, room_name, text, protocol::fold_case(room_name)});
        });
        if (!v.allowed) out_.send(m, reply::refused(v.reason.empty() ? "not permitted" : v.reason));
        return v.allowed;
    }

    // A member is admitted (it may use rooms) and sent to the lobby, unless
    // its dialect's clients join their rooms themselves (IRC).
    void admit(member& m) override {
        m.state.admitted = true;
        if (!m.interpreter().starts_in_lobby()) return;
        if (authorized(m, action_kind::join, protocol::lobby, {})) membership_.enter(m, protocol::lobby);
    }

public:
    // The verifier's answer, with the hub's lock held again (logins.hpp).
    void finish_login(member& m, const std::string& typed, const login_result& r) { logins_.finish(m, typed, r); }

    // A claim across servers was decided.
    void finish_claim(member& m, const nick_job& job, bool won) {
        m.state.nick_pending = false;
        if (!m.state.attached) return;
        if (job.login) return logins_.claimed(m, job, won);
        nicks_.claimed(m, job, won);
    }

public:
    // A custom command's handler ran; what it asked for goes out now. One
    // that threw (failed) sent nothing: the caller hears so.
    void finish_call(member& m, const command_call& call, bool failed) {
        if (!m.state.attached) return;
        if (failed) return out_.send(m, reply::refused("command failed"));
        if (!call.refusal().empty()) return out_.send(m, reply::refused(call.refusal()));
        for (const std::string& text : call.replies()) {
            std::string line;
            sanitize_append(line, text);
            out_.send(m, reply::notice(line));
        }
        room* r = m.state.current; // a custom command speaks in the room the member is using
        if (!r) return;
        for (const std::string& text : call.says()) {
            std::string line;
            sanitize_append(line, text);
            if (line.empty()) continue;
            room_event e = event_of(room_event_kind::chat, m, r);
            e.add_line(line);
            counters::add(count_.lines_in);
            log_->append(e);
        }
    }

    // ---- the host's controls (hub.hpp) ------------------------------------

    control_result kick(std::string_view nick, std::string_view reason, std::string_view by) {
        return operators_.kick(nick, reason, by);
    }

    control_result move(std::string_view nick, std::string_view room_name) {
        member* t = members_.find_nick(nick);
        if (!t) return host_errc::no_such_member;
        if (!protocol::is_valid_name(room_name)) return host_errc::bad_name;
        if (t->state.current && protocol::same_name(room_name, t->state.current->name()))
            return {};
        if (policy_.full(room_name)) return host_errc::room_full;
        if (t->state.current) membership_.leave(*t, *t->state.current, {});
        membership_.enter(*t, room_name);
        return {};
    }

    control_result rename(std::string_view nick, std::string_view new_nick) {
        return nicks_.host_rename(nick, new_nick);
    }

    // ---- rooms the host makes (room_options.hpp) ------------------------------

    control_result create_room(std::string_view name, room_options o) {
        return stopping_ ? host_errc::stopping : policy_.create(name, std::move(o));
    }
    control_result close_room(std::string_view name, std::string_view reason) {
        return policy_.close(name, reason, [&](member& x, room& closing, const std::string& why) {
            membership_.leave(x, closing, why);
            if (x.state.seats.empty()) membership_.enter(x, protocol::lobby); // it is somewhere still
        });
    }
    control_result invite(std::string_view room_name, std::string_view nick) {
        member* t = members_.find_nick(nick);
        return t ? policy_.invite(room_name, *t) : control_result(host_errc::no_such_member);
    }
    std::vector<host_room_info> host_room_list() const { return policy_.list(); }

    control_result set_topic(std::string_view room_name, std::string_view text, std::string_view by) override {
        room* r = rooms_.find(room_name);
        if (!r) return host_errc::no_such_room;
        std::string clean;
        sanitize_append(clean, text);
        r->set_topic(clean);
        room_event e;
        e.kind = room_event_kind::notice;
        e.room = r->name();
        e.text = event_text::set_topic(by, clean);
        log_->append(e);
        event ev{event_kind::topic_changed, {}, r->name(), clean, {}, {}, {}, std::string(by), {}, {}, {}};
        events_.push(std::move(ev));
        return {};
    }

private:
    // Kicked or banned: its rooms are told, the member gets its last words
    // and goes.
    void remove_member(member& t, const removal& how) override {
        auto keep = t.shared_from_this();
        const std::string room_name = t.state.current ? t.state.current->name() : std::string();
        event ev{how.kind, t.state.nick, room_name, how.key, how.reason, {}, t.address(), how.by, {}, {}, {}};
        events_.push(std::move(ev));
        if (how.graceful) out_.send(t, how.last_words);
        // The rooms hear it as the reason the member left.
        leave_server(t, how.why, how.room_text);
        if (how.graceful) house_.begin_drain(t, how.why);
        else t.close_now(how.last_words, how.why);
        graveyard_.push_back(std::move(keep));
    }

    void welcome_unbanned() override {
        for (member* x : logins_.on_probation())
            if (!logins_.address_ban(*x)) greet(*x);
    }

    const server_options& opts_;
    counters& count_;
    registry& members_;
    room_directory& rooms_;
    fanout& out_;
    housekeeping& house_;
    host_events& events_;
    std::vector<std::shared_ptr<member>>& graveyard_;
    access_hooks hooks_;
    std::string motd_;
    custom_commands custom_;
    std::vector<command_job> calls_;
    host_rooms policy_; // the options of the rooms the host made
    room_log* log_ = nullptr;
    chat_batch batch_;
    membership membership_;
    operator_commands operators_;
    nick_changes nicks_;
    logins logins_;
    std::string scratch_;
    bool stopping_ = false;
    std::vector<history_job> histories_;
};

} // namespace chatroom::detail
