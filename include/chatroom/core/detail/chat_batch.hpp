#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/stats.hpp>

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace chatroom::detail {

// Consecutive chat lines of one member to one room, gathered into one event
// so one block is shared by every recipient (the hub ends a batch when the
// member's read is used up). Guarded by the hub's lock.
class chat_batch {
public:
    chat_batch(counters& count, std::size_t soft_limit)
        : count_(count), limit_(std::max<std::size_t>(1024, std::min<std::size_t>(soft_limit / 4, 64 * 1024))) {}

    void set_log(room_log& log) noexcept { log_ = &log; }

    // Adds a line m says in r; the lines gathered for another room (or
    // member) go out first.
    void add(member& m, const room& r, std::string_view text) {
        if (event_.line_count != 0 && (event_.origin != m.id() || in_ != &r)) end();
        if (event_.line_count == 0) {
            in_ = &r;
            event_.room = r.name();
            event_.nick = m.state.nick;
            event_.account = m.state.account;
            event_.origin = m.id();
        }
        event_.add_line(text);
        // A large burst goes out in pieces, so the slow-consumer policy can
        // hold its sender before any reader's queue passes the soft mark.
        if (event_.text.size() >= limit_) end();
    }

    // A line m says in r as a notice (IRC's NOTICE): an event of its own,
    // after the lines gathered so far (a batch holds plain chat only, so
    // the chat lines' path tests no flag).
    // A line with client-only tags (room_event::client_tags; dropped unless
    // is_client_tag_data) is an event of its own too.
    void add_notice(member& m, const room& r, std::string_view text, std::string_view tags = {},
                    bool notice = true) {
        end();
        event_.as_notice = notice;
        event_.set_client_tags(tags);
        add(m, r, text);
        end();
        event_.as_notice = false;
        event_.client_tags.clear();
    }

    // A chat line: gathered, or with client-only tags an event of its own.
    // No text (IRC's TAGMSG): an event of client-only tags alone, or nothing.
    void say(member& m, const room& r, std::string_view text, std::string_view tags) {
        if (tags.empty()) return add(m, r, text);
        if (!text.empty()) return add_notice(m, r, text, tags, false);
        if (!is_client_tag_data(tags)) return;
        end();
        room_event e;
        e.room = r.name();
        e.nick = m.state.nick;
        e.account = m.state.account;
        e.origin = m.id();
        e.set_client_tags(tags);
        log_->append(e);
    }

    // The lines gathered so far go out as one event.
    void end() {
        if (event_.line_count == 0) return;
        counters::add(count_.lines_in, event_.line_count);
        log_->append(event_);
        event_.clear_text();
    }

    // Ends the batch if it holds m's lines (to r, when r is given): m is
    // leaving it, and what it said comes first.
    void end_of(const member& m, const room* r = nullptr) {
        if (event_.line_count != 0 && event_.origin == m.id() && (!r || in_ == r)) end();
    }

private:
    counters& count_;
    const std::size_t limit_;
    room_log* log_ = nullptr;
    room_event event_;
    // The room of the lines gathered (a room outlives a batch of its
    // member's lines: the member's leaving ends the batch first, and so
    // does any request but chat, the only ones that may close a room, for
    // the lines of one who is not in the room: -n).
    const room* in_ = nullptr;
};

} // namespace chatroom::detail
