#pragma once

// One read of a member's bytes into the hub, with the hub's lock held: the
// member's decoder splits it, each line goes to the member's interpreter,
// and the read stops early when the member must wait: its flood bucket is
// empty, a recipient passed the soft mark (the sender is held), a /login
// waits for its verdict, or a shared log holds all it may. What was not
// read is kept in the member's stash, under the lock, so the tick that
// resumes the reader can never run before it is saved.

#include <chatroom/core/decoder.hpp>
#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/housekeeping.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/stats.hpp>

#include <cstddef>
#include <string_view>

namespace chatroom::detail {

// What a session's decoder hands the hub while it is fed: lines (call), with
// what the decoder made of them when it read them further (decoded_line),
// and the bytes it answers the peer with (reply).
template <class OnLine, class OnReply>
struct decoder_output {
    OnLine& on_line;
    OnReply& on_reply;
    bool operator()(frame_event ev, std::string_view line) { return on_line(ev, line, nullptr); }
    bool operator()(frame_event ev, std::string_view line, const decoded_line& d) { return on_line(ev, line, &d); }
    void reply(std::string_view bytes) { on_reply(bytes); }
};

class line_intake {
public:
    line_intake(counters& count, fanout& out, housekeeping& house, commands& cmds)
        : count_(count), out_(out), house_(house), commands_(cmds) {}

    // The log lines go to; only a shared one ever refuses them, so the
    // in-process log costs no call per read.
    void set_log(room_log& log) {
        log_ = log.shared() ? &log : nullptr;
    }

    // feed(on) calls on(frame_event, line[, decoded]) for each line and on.reply(bytes)
    // for what the decoder answers the peer, and returns how many bytes it
    // used (on returning false stops it early). True: read on; false: the
    // member left or waits, its unread rest in its stash.
    template <class Feed>
    bool take(member& m, const char* data, std::size_t size, Feed& feed) {
        member_state& s = m.state;
        if (!s.attached) return false;
        const auto now = clock::now();
        // A shared log holding all it may: the read waits, whole (checked
        // per read, not per line, so a read may overshoot the bound once).
        if (log_ && !log_->accepting()) {
            s.backlogged = true;
            s.stash.assign(data, size);
            house_.pause(m);
            return false;
        }
        const bool flood = house_.flood_control();
        if (flood) house_.refill(m, now);
        out_.take_hold_request();
        auto on_line = [&](frame_event ev, std::string_view line, const decoded_line* d) {
            // Lines keep a member from timing out; negotiation and pongs do not.
            s.last_active = now;
            if (ev == frame_event::too_long) commands_.line_too_long(m);
            else if (d) m.interpreter().decoded(commands_, m, line, *d);
            else m.interpreter().line(commands_, m, line);
            if (!s.attached) return false;
            if (flood && (s.tokens -= 1.0) < 1.0) {
                s.throttled = true;
                counters::add(count_.throttled);
                commands_.end_batch();
            }
            if (out_.take_hold_request()) {
                s.held = true;
                s.held_since = now;
            }
            // Lines after a /login wait for its verdict, as a pipelining client expects.
            if (s.login_pending) s.awaiting_login = true;
            if (!s.held && !s.throttled && !s.awaiting_login) return true;
            commands_.end_batch();
            house_.pause(m);
            return false;
        };
        // Answers go through the member's bounded queue like everything
        // else (a peer that negotiates and never reads is dropped as too
        // slow), and cost flood tokens by their size: a line's worth per 64
        // bytes, so a telnet client's bare CR after each line costs next to
        // nothing and a negotiation flood empties the bucket.
        auto on_reply = [&](std::string_view bytes) {
            commands_.end_batch();
            out_.push(m, shared_bytes::copy_of(bytes));
            if (flood) s.tokens -= static_cast<double>(bytes.size()) / 64.0;
        };
        const std::size_t used = feed(decoder_output<decltype(on_line), decltype(on_reply)>{on_line, on_reply});
        commands_.end_batch();
        if (!s.attached) return false;
        if (s.held || s.throttled || s.awaiting_login) {
            s.stash.assign(data + used, size - used);
            return false;
        }
        if (out_.take_hold_request() || (flood && s.tokens < 1.0)) {
            // The last batch of the read passed someone's soft mark, or the
            // read's answers emptied the flood bucket.
            if (flood && s.tokens < 1.0) {
                s.throttled = true;
                counters::add(count_.throttled);
            } else {
                s.held = true;
                s.held_since = now;
            }
            s.stash.assign(data + used, size - used);
            house_.pause(m);
            return false;
        }
        return true;
    }

private:
    counters& count_;
    fanout& out_;
    housekeeping& house_;
    commands& commands_;
    room_log* log_ = nullptr;
};

} // namespace chatroom::detail
