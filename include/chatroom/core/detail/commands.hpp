#pragma once

#include <chatroom/core/detail/access_checks.hpp>
#include <chatroom/core/detail/arrivals.hpp>
#include <chatroom/core/detail/chat_batch.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/history_service.hpp>
#include <chatroom/core/detail/host_controls.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/host_rooms.hpp>
#include <chatroom/core/detail/housekeeping.hpp>
#include <chatroom/core/detail/logins.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/membership.hpp>
#include <chatroom/core/detail/moderation.hpp>
#include <chatroom/core/detail/moderation_requests.hpp>
#include <chatroom/core/detail/nick_changes.hpp>
#include <chatroom/core/detail/operator_commands.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/detail/room_moderation.hpp>
#include <chatroom/core/access.hpp>
#include <chatroom/core/detail/custom_calls.hpp>
#include <chatroom/core/detail/custom_commands.hpp>
#include <chatroom/core/options.hpp>
#include <chatroom/core/command.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/detail/event_text.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/stats.hpp>

#include <algorithm>
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
    using command_job = custom_calls::job;
    using nick_job = nick_changes::nick_job;
    using history_job = history_service::request;

    explicit commands(parts p)
        : opts_(p.opts), count_(p.count), members_(p.members), out_(p.out), house_(p.house),
          events_(p.events), graveyard_(p.graveyard), access_(p.out, p.events), calls_(p.count, p.out),
          policy_(p.rooms, p.count, p.out), batch_(p.count, p.opts.soft_limit()),
          membership_({p.opts, p.count, p.rooms, p.out, p.events, policy_, batch_}),
          operators_({p.members, p.mod, p.out, p.events, *this}),
          nicks_({p.members, p.out, p.events, membership_}),
          logins_({p.count, p.members, p.mod, p.out, p.house, p.events, nicks_, access_.hooks(), *this}),
          controls_({p.members, p.rooms, p.events, policy_, membership_, operators_, nicks_}),
          room_ops_({p.out, membership_, controls_, p.members}),
          arrivals_({p.opts, p.out, access_, logins_, membership_}) {
        nicks_.set_access(access_.hooks());
    }

    void set_log(room_log& log) noexcept {
        policy_.set_log(*(log_ = &log));
        batch_.set_log(log);
        calls_.set_log(log);
        membership_.set_log(log);
        operators_.set_log(log);
        nicks_.set_log(log);
        controls_.set_log(log);
        room_ops_.set_log(log);
    }
    void set_stopping() noexcept {
        membership_.set_stopping();
        controls_.set_stopping();
    }
    void set_access(access_hooks hooks) { access_.set(std::move(hooks)); }
    const access_hooks& access() const noexcept { return access_.hooks(); }
    void set_motd(std::string text) { arrivals_.set_motd(std::move(text)); }

    std::error_code add_command(std::string name, std::string help, command_handler handler, bool replace) {
        return custom_.add(std::move(name), std::move(help), std::move(handler), replace);
    }

    std::vector<login_job> take_logins() { return logins_.take_jobs(); }
    std::vector<command_job> take_calls() { return calls_.take(); }
    std::vector<nick_job> take_claims() { return nicks_.take_claims(); }
    std::vector<history_job> take_histories() { return std::exchange(histories_, {}); }
    std::vector<std::string> take_opened() { return membership_.take_opened(); }

    // A connection's first moment as a member, and its welcome (arrivals.hpp).
    std::optional<reply> admission_refusal(member& m) { return arrivals_.admission_refusal(m); }
    void greet(member& m) { arrivals_.greet(m); }

    // A request a member's interpreter made of one of its lines (sanitized,
    // not empty): chat for its room, or a command.
    void request(member& m, const protocol::command& cmd) {
        m.state.said_something = true;
        using protocol::command_kind;
        if (!m.state.admitted) {
            end_batch();
            // From a banned address whose ban ended meanwhile: welcome after all.
            if (logins_.on_probation(m) && !logins_.address_ban(m)) arrivals_.greet(m);
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
            if (!r && !(r = room_ops_.outside_room(m, cmd))) return; // not in it: -n lets it
            if (access_.may_say(m, *r, cmd.arg)) batch_.say(m, *r, cmd.arg, cmd.tags);
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
        const std::string reason = event_text::left_because(why, detail);
        membership_.leave_all(m, reason);
        if (!policy_.empty()) policy_.forget(m);
        log_->gone(m.state.nick);
        auto ref = members_.remove(m);
        events_.emit(server_event_kind::disconnected, m, {}, {}, reason);
        if (ref) graveyard_.push_back(std::move(ref));
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
            return calls_.queue(m, *c, cmd.rest);
        }
        if (cmd.kind == command_kind::unknown) return out_.send(m, reply::of(reply_kind::unknown_command, cmd.name));
        switch (cmd.kind) {
        case command_kind::chat: break;
        case command_kind::nick: nicks_.asked(m, cmd.arg); break;
        case command_kind::join:
        case command_kind::switch_room: {
            // The line protocol's /join switches rooms; other dialects join several.
            const bool switching = cmd.kind == command_kind::switch_room && m.state.current();
            if (auto no = membership_.refusal(m, cmd.arg, switching, cmd.text)) {
                out_.send(m, *no);
            } else if (access_.authorized(m, action_kind::join, cmd.arg, {})) {
                if (switching) membership_.leave(m, *m.state.current(), {});
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
            std::vector<std::string> remote;
            log_->remote_members(r->name(), remote);
            std::vector<std::string> nicks = membership::sorted_nicks(*r, remote);
            out_.send(m, reply::who(r->name(), std::move(nicks)));
            break;
        }
        case command_kind::rooms: {
            std::vector<std::pair<std::string, std::size_t>> remote;
            log_->remote_rooms(remote);
            out_.send(m, reply::room_list(policy_.listing(m, remote)));
            break;
        }
        case command_kind::notice: // a chat line said as a notice: an event of its own
        case command_kind::me: {
            if (cmd.arg.empty()) return out_.send(m, reply::usage("me"));
            room* r = room_of(m, cmd.room);
            if (!r && !(r = room_ops_.outside_room(m, cmd))) break; // not in it: -n lets it
            if (!access_.may_say(m, *r, cmd.arg)) break;
            if (cmd.kind == command_kind::notice) return batch_.add_notice(m, *r, cmd.arg, cmd.tags);
            room_event e = event_of(room_event_kind::action, m, r);
            e.text = std::string(cmd.arg);
            e.set_client_tags(cmd.tags);
            counters::add(count_.lines_in);
            log_->append(e);
            break;
        }
        case command_kind::msg:
        case command_kind::msg_notice: {
            if (cmd.arg.empty() || cmd.text.empty()) return out_.send(m, reply::usage("msg"));
            if (!members_.find_nick(cmd.arg) && !log_->find_remote(cmd.arg)) {
                out_.send(m, reply::of(reply_kind::no_such_nick, cmd.arg));
                break;
            }
            room_event e = event_of(room_event_kind::private_message, m, nullptr);
            e.target = std::string(cmd.arg);
            e.text = std::string(cmd.text);
            e.as_notice = cmd.kind == command_kind::msg_notice;
            e.set_client_tags(cmd.tags);
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
        case command_kind::login:
        case command_kind::oper: logins_.start(m, cmd); break; // oper: the rights, no login
        case command_kind::kick:
        case command_kind::ban:
        case command_kind::unban:
        case command_kind::mute:
        case command_kind::unmute:
        case command_kind::topic:
        case command_kind::mode:
        case command_kind::invite: moderate(operators_, room_ops_, m, cmd); break; // moderation_requests.hpp
        case command_kind::history: {
            room* r = room_of(m, cmd.room);
            if (!r) return not_in(m, cmd.room);
            if (auto job = history_service::asked(m, r->name(), cmd, opts_.history_page))
                histories_.push_back(std::move(*job));
            else out_.send(m, reply::usage("history"));
            break;
        }
        case command_kind::away: membership_.set_away(m, cmd.arg); break;
        case command_kind::unknown: break;
        }
    }

    void admit(member& m) override { arrivals_.admit(m); }
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

    // A custom command's handler ran (custom_calls.hpp).
    void finish_call(member& m, const command_call& call, bool failed) { calls_.finish(m, call, failed); }

    host_controls& controls() noexcept { return controls_; }
    control_result set_topic(std::string_view room_name, std::string_view text, std::string_view by) override {
        return controls_.set_topic(room_name, text, by);
    }

private:
    // Kicked or banned: its rooms are told, the member gets its last words and goes.
    void remove_member(member& t, const removal& how) override {
        auto keep = t.shared_from_this();
        const std::string room_name = t.state.current() ? t.state.current()->name() : std::string();
        events_.push(
            server_event{how.kind, t.state.nick, room_name, how.key, how.reason, {}, t.address(), how.by, {}, {}, {}});
        if (how.graceful) out_.send(t, how.last_words);
        leave_server(t, how.why, how.room_text); // the rooms hear it as the reason the member left
        if (how.graceful) house_.begin_drain(t, how.why);
        else t.close_now(how.last_words, how.why);
        graveyard_.push_back(std::move(keep));
    }

    void welcome_unbanned() override { arrivals_.welcome_unbanned(); }

    const server_options& opts_;
    counters& count_;
    registry& members_;
    fanout& out_;
    housekeeping& house_;
    host_events& events_;
    std::vector<std::shared_ptr<member>>& graveyard_;
    access_checks access_;
    custom_commands custom_;
    custom_calls calls_;
    host_rooms policy_; // the options of the rooms the host made
    room_log* log_ = nullptr;
    chat_batch batch_;
    membership membership_;
    operator_commands operators_;
    nick_changes nicks_;
    logins logins_;
    host_controls controls_;
    room_moderation room_ops_;
    arrivals arrivals_;
    std::string scratch_;
    std::vector<history_job> histories_;
};

} // namespace chatroom::detail
