#pragma once

#include <chatroom/detail/fanout.hpp>
#include <chatroom/detail/host_events.hpp>
#include <chatroom/detail/housekeeping.hpp>
#include <chatroom/detail/member.hpp>
#include <chatroom/detail/registry.hpp>
#include <chatroom/detail/room.hpp>
#include <chatroom/options.hpp>
#include <chatroom/protocol.hpp>
#include <chatroom/renderer.hpp>
#include <chatroom/room_event.hpp>
#include <chatroom/room_log.hpp>
#include <chatroom/sanitize.hpp>
#include <chatroom/stats.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::detail {

// The protocol (docs/protocol.md): what a member's line means. Whatever
// happens in a room becomes a room event appended to the room log; answers
// meant for the member alone go straight to it. Consecutive chat lines of one
// read become one event, so one block is shared by every recipient.
// Guarded by the hub's lock.
class commands {
public:
    struct parts {
        const server_options& opts;
        counters& count;
        registry& members;
        room_directory& rooms;
        fanout& out;
        housekeeping& house;
        host_events& events;
        std::vector<std::shared_ptr<member>>& graveyard; // references dropped after unlocking
    };

    explicit commands(parts p)
        : opts_(p.opts), count_(p.count), members_(p.members), rooms_(p.rooms), out_(p.out), house_(p.house),
          events_(p.events), graveyard_(p.graveyard),
          batch_limit_(std::max<std::size_t>(1024, std::min<std::size_t>(p.opts.soft_limit() / 4, 64 * 1024))) {}

    void set_log(room_log& log) noexcept { log_ = &log; }
    void set_stopping() noexcept { stopping_ = true; }

    // A new member: the welcome, then the lobby.
    void greet(member& m) {
        std::string hello;
        std::string name;
        sanitize_append(name, opts_.name);
        m.dialect().append(hello, replies::welcome(name, m.state.nick));
        std::string_view extra = opts_.welcome;
        while (!extra.empty()) {
            const std::size_t nl = extra.find('\n');
            std::string line;
            sanitize_append(line, extra.substr(0, nl));
            m.dialect().append(hello, replies::notice(line));
            extra = nl == std::string_view::npos ? std::string_view() : extra.substr(nl + 1);
        }
        out_.push(m, message::copy_of(hello));
        enter(m, protocol::lobby);
    }

    // One line a member sent (its line end removed).
    void line(member& m, std::string_view raw) {
        std::string_view text = raw;
        if (!is_plain_text(raw)) {
            scratch_.clear();
            sanitize_append(scratch_, raw);
            text = scratch_;
        }
        if (text.empty()) return;
        m.state.said_something = true;
        const protocol::command cmd = protocol::parse(text);
        if (cmd.kind == protocol::command_kind::chat) {
            add_chat(m, cmd.arg);
            return;
        }
        end_batch();
        run(m, cmd);
    }

    void line_too_long(member& m) {
        end_batch();
        counters::add(count_.lines_too_long);
        out_.send(m, replies::line_too_long(opts_.max_line_bytes));
    }

    // The chat lines gathered so far go out as one event.
    void end_batch() {
        if (batch_.line_count == 0) return;
        counters::add(count_.lines_in, batch_.line_count);
        log_->append(batch_);
        batch_.clear_text();
    }

    // The member leaves its room and the server (the room is told why).
    // Idempotent.
    void leave_server(member& m, leave_reason why, std::string_view detail = {}) {
        if (!m.state.attached) return;
        if (batch_.line_count != 0 && batch_.origin == m.id()) end_batch();
        std::string reason;
        switch (why) {
        case leave_reason::eof: break;
        case leave_reason::quit: reason = detail.empty() ? "quit" : "quit: " + std::string(detail); break;
        case leave_reason::connection_lost: reason = "connection lost"; break;
        case leave_reason::too_slow: reason = "too slow"; break;
        case leave_reason::idle_timeout: reason = "idle timeout"; break;
        case leave_reason::first_line_timeout: reason = "no first line"; break;
        case leave_reason::shutdown: reason = "server shutting down"; break;
        }
        leave_room(m, reason);
        auto ref = members_.remove(m);
        events_.emit(event_kind::disconnected, m, {}, {}, reason);
        if (ref) graveyard_.push_back(std::move(ref));
    }

    // "* text" (from empty) or "<from> text" to a room, from the host.
    bool inject(std::string_view room_name, std::string_view from, std::string_view text) {
        room* r = rooms_.find(room_name);
        if (!r) return false;
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
        return true;
    }

private:
    void add_chat(member& m, std::string_view text) {
        if (batch_.line_count == 0) {
            batch_.room = m.state.current->name();
            batch_.nick = m.state.nick;
            batch_.origin = m.id();
        }
        batch_.add_line(text);
        events_.emit(event_kind::message, m, batch_.room, text);
        // A large burst goes out in pieces, so the slow-consumer policy can
        // hold its sender before any reader's queue passes the soft mark.
        if (batch_.text.size() >= batch_limit_) end_batch();
    }

    room_event event_of(room_event_kind kind, const member& m) const {
        room_event e;
        e.kind = kind;
        e.room = m.state.current->name();
        e.nick = m.state.nick;
        e.origin = m.id();
        return e;
    }

    void run(member& m, const protocol::command& cmd) {
        using protocol::command_kind;
        switch (cmd.kind) {
        case command_kind::chat: break;
        case command_kind::nick: rename(m, cmd.arg); break;
        case command_kind::join:
            if (!protocol::is_valid_name(cmd.arg)) {
                out_.send(m, replies::bad_room);
            } else if (protocol::fold_case(cmd.arg) == protocol::fold_case(m.state.current->name())) {
                out_.send(m, replies::already_in(m.state.current->name()));
            } else {
                leave_room(m, {});
                enter(m, cmd.arg);
            }
            break;
        case command_kind::who: {
            std::vector<std::string_view> nicks;
            for (member* x : m.state.current->members()) nicks.push_back(x->state.nick);
            std::sort(nicks.begin(), nicks.end(), [](std::string_view a, std::string_view b) {
                return protocol::fold_case(a) < protocol::fold_case(b);
            });
            out_.send(m, replies::who(m.state.current->name(), nicks));
            break;
        }
        case command_kind::rooms: {
            std::vector<replies::room_count> list;
            for (const room* r : rooms_.sorted()) list.push_back({r->name(), r->size()});
            out_.send(m, replies::rooms(list));
            break;
        }
        case command_kind::me: {
            if (cmd.arg.empty()) {
                out_.send(m, replies::usage_me);
                break;
            }
            room_event e = event_of(room_event_kind::action, m);
            e.text = std::string(cmd.arg);
            counters::add(count_.lines_in);
            log_->append(e);
            events_.emit(event_kind::message, m, e.room, "/me " + e.text);
            break;
        }
        case command_kind::msg: {
            if (cmd.arg.empty() || cmd.text.empty()) {
                out_.send(m, replies::usage_msg);
                break;
            }
            if (!members_.find_nick(cmd.arg)) {
                out_.send(m, replies::no_such_nick(cmd.arg));
                break;
            }
            room_event e = event_of(room_event_kind::private_message, m);
            e.room.clear();
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
            std::string text;
            for (std::string_view line : protocol::help_text) m.dialect().append(text, line);
            out_.push(m, message::copy_of(text));
            break;
        }
        case command_kind::unknown: out_.send(m, replies::unknown_command(cmd.name)); break;
        }
    }

    void rename(member& m, std::string_view name) {
        if (!protocol::is_valid_name(name)) {
            out_.send(m, replies::bad_nick);
            return;
        }
        const member* holder = members_.find_nick(name);
        if (holder && holder != &m) {
            out_.send(m, replies::nick_taken(name));
            return;
        }
        if (m.state.nick == name) return;
        std::string old = m.state.nick;
        members_.rename(m, name);
        room_event e = event_of(room_event_kind::renamed, m);
        e.old_nick = old;
        e.origin = 0; // the member reads its own rename too
        log_->append(e);
        events_.emit(event_kind::nick_changed, m, e.room, {}, {}, old);
    }

    // Puts a member in a room, creating the room, and greets it there.
    void enter(member& m, std::string_view name) {
        bool created = false;
        room& r = rooms_.find_or_create(name, created);
        if (created) counters::add(count_.rooms);
        r.add(m);
        if (announces(r.size() - 1)) {
            room_event e = event_of(room_event_kind::joined, m);
            log_->append(e);
        }
        std::string hello;
        m.dialect().append(hello, replies::joined_room(r.name(), r.size()));
        out_.push(m, message::copy_of(hello));
        for (const room_event& past : r.history()) out_.push(m, m.dialect().render(past));
        events_.emit(event_kind::joined, m, r.name());
    }

    void leave_room(member& m, std::string_view reason) {
        room* r = m.state.current;
        if (!r) return;
        room_event e = event_of(room_event_kind::left, m);
        e.reason = std::string(reason);
        r->remove(m);
        if (!r->empty() && !stopping_ && announces(r->size())) log_->append(e);
        events_.emit(event_kind::left, m, r->name(), {}, reason);
        if (r->empty()) {
            rooms_.erase(*r);
            counters::sub(count_.rooms);
        }
    }

    // Joins and leaves are announced in rooms smaller than quiet_room_size
    // (counting the others: each announcement costs a delivery per member).
    bool announces(std::size_t others) const noexcept {
        return opts_.quiet_room_size == 0 || others < opts_.quiet_room_size;
    }

    const server_options& opts_;
    counters& count_;
    registry& members_;
    room_directory& rooms_;
    fanout& out_;
    housekeeping& house_;
    host_events& events_;
    std::vector<std::shared_ptr<member>>& graveyard_;
    room_log* log_ = nullptr;
    room_event batch_;
    std::string scratch_;
    const std::size_t batch_limit_;
    bool stopping_ = false;
};

} // namespace chatroom::detail
