#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/optional_mutex.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/options.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/stats.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

// Delivery: queues rendered blocks to members, writes them in one pass per
// loop turn, and applies the slow-consumer policy (options.hpp,
// docs/reliability.md):
// - a push that would pass the hard limit makes the member a casualty, which
//   the hub drops at the end of the operation; nobody waits for it;
// - a push past the soft mark puts the member under pressure; for the first
//   max_sender_pause of it, the sender whose line did it is held (its socket
//   is not read, so TCP pushes back), giving a reader that keeps up time to
//   drain a burst; a member still past the soft mark after write_deadline is
//   dropped by housekeeping.
// Guarded by the hub's lock, except flush_all, which takes it.
class fanout {
public:
    fanout(const server_options& opts, optional_mutex& hub_mutex, asio::any_io_executor ex)
        : opts_(opts), hub_mutex_(hub_mutex), ex_(std::move(ex)), hard_(opts.max_queue_bytes),
          soft_(opts.soft_limit()) {}

    // The hub, kept alive by posted flush passes.
    void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

    std::size_t soft_limit() const noexcept { return soft_; }

    // An empty block (a dialect that says nothing of an event or a reply to
    // this member) is not queued: nothing is written for it.
    void push(member& r, const shared_bytes& msg) {
        if (msg.empty()) return;
        switch (r.output.push(msg, hard_, soft_)) {
        case output_queue::pushed::already_slow: return;
        case output_queue::pushed::overflow: casualties_.push_back(r.shared_from_this()); return;
        case output_queue::pushed::over_soft: pressure(r); break;
        case output_queue::pushed::below_soft: break;
        }
        schedule(r);
    }

    // A reply to one member, in its dialect's words.
    void send(member& r, const reply& answer) { push(r, r.dialect().word(answer)); }

    // An event to every member of a room but the one it came from, rendered
    // once per renderer that members share (renderer::shared_for). Returns
    // the number of recipients.
    std::size_t deliver(const room& r, const room_event& e) {
        // Eight: IRC alone words chat lines in up to eight ways (its
        // capability sets), beside the line protocol's and the web's.
        std::array<std::pair<const renderer*, shared_bytes>, 8> rendered{};
        std::size_t kinds = 0, recipients = 0, last_slot = 0;
        const renderer* last_own = nullptr;
        // A chat line or action reads alike to every member whose renderer
        // keeps its share at hand (chat_share): no virtual call for those.
        const bool chat = e.kind == room_event_kind::chat || e.kind == room_event_kind::action;
        // A rename is appended to each room of the one renamed: a member
        // sharing several of them is sent it once.
        const std::size_t rename = e.kind == room_event_kind::renamed ? rename_key(e) : 0;
        for (member* m : r.members()) {
            if (m->id() == e.origin) {
                // A member's own events reach it only as its dialect's echo
                // of what it said (IRC's echo-message, the JSON dialect's
                // echo): never its own join.
                if (!m->state.echo || (e.kind != room_event_kind::chat && e.kind != room_event_kind::action)) continue;
                // In its dialect's words for the sender when it has some
                // (rendered for this one member).
                shared_bytes mine;
                if (m->dialect().render_own(e, mine)) {
                    if (mine.empty()) continue;
                    ++recipients;
                    push(*m, mine);
                    continue;
                }
            }
            if (rename && m->state.seats.size() > 1 && std::exchange(m->state.last_rename, rename) == rename) continue;
            ++recipients;
            // Members of one dialect come in runs: the slot of the last
            // member's renderer is reused without asking it again.
            const renderer* own = &m->dialect();
            std::size_t i = last_slot;
            if (own != last_own) {
                const renderer* share = chat ? own->chat_share() : nullptr;
                const renderer* d = share ? share : &own->shared_for(e);
                i = 0;
                while (i < kinds && rendered[i].first != d) ++i;
                if (i == kinds) {
                    if (kinds == rendered.size()) { // more dialects than slots: render for this one alone
                        push(*m, d->render(e));
                        continue;
                    }
                    rendered[kinds++] = {d, d->render(e)};
                }
                last_own = own;
                last_slot = i;
            }
            push(*m, rendered[i].second);
        }
        return recipients;
    }

    // Names one rename (never 0), so a member in several of its rooms tells
    // the copies apart from the next rename.
    static std::size_t rename_key(const room_event& e) {
        const std::size_t h = std::hash<std::string>{}(e.old_nick) * 31 + std::hash<std::string>{}(e.nick) +
                              std::hash<std::string>{}(e.node);
        return h ? h : 1;
    }

    // ---- the slow-consumer policy ------------------------------------------

    // Whether a push since the last call asked for its sender to be held.
    bool take_hold_request() noexcept { return std::exchange(hold_wanted_, false); }

    // A member's queue went back under the soft mark.
    void relieved(member& r) {
        member_state& s = r.state;
        if (!s.pressured) return;
        s.pressured = false;
        const auto now = clock::now();
        s.hold_spent += r.output.blocked_time(now) - s.blocked_mark;
        s.hold_accounted = now;
        auto it = std::find_if(pressured_.begin(), pressured_.end(),
                               [&](const std::shared_ptr<member>& p) { return p.get() == &r; });
        if (it != pressured_.end()) {
            *it = std::move(pressured_.back());
            pressured_.pop_back();
        }
    }

    // True while some member under pressure may still hold senders.
    bool holding(clock::time_point now) const {
        for (const auto& p : pressured_)
            if (may_hold(*p, now)) return true;
        return false;
    }

    bool under_pressure() const noexcept { return !pressured_.empty(); }

    // Members past the soft mark for longer than write_deadline become
    // casualties; members already closed are forgotten.
    void expire_pressure(clock::time_point now) {
        for (std::size_t i = 0; i < pressured_.size();) {
            member& m = *pressured_[i];
            const bool overdue = now - m.state.pressured_since >= opts_.write_deadline;
            if (overdue || m.is_closed()) {
                if (overdue && !m.is_closed()) casualties_.push_back(pressured_[i]);
                m.state.pressured = false;
                pressured_[i] = std::move(pressured_.back());
                pressured_.pop_back();
            } else {
                ++i;
            }
        }
    }

    // Members that overflowed, to be dropped by the caller.
    bool has_casualties() const noexcept { return !casualties_.empty(); }
    std::vector<std::shared_ptr<member>> take_casualties() { return std::exchange(casualties_, {}); }

    // ---- writing -----------------------------------------------------------

    // Writes are deferred to one posted pass, so every delivery made by the
    // handlers that ran before it leaves in one gather write per member.
    void flush_all() {
        std::vector<std::shared_ptr<member>> batch;
        {
            optional_lock g(hub_mutex_);
            batch.swap(to_flush_);
            for (auto& m : batch) m->state.queued_for_flush = false;
            flush_posted_ = false;
        }
        for (auto& m : batch) m->flush();
    }

private:
    // Within its budget: the time its connection refused bytes since it
    // passed the mark, added to what earlier episodes spent.
    bool may_hold(member& m, clock::time_point now) const {
        const member_state& s = m.state;
        return s.hold_spent + (m.output.blocked_time(now) - s.blocked_mark) < opts_.max_sender_pause;
    }

    void pressure(member& r) {
        const auto now = clock::now();
        member_state& s = r.state;
        if (!s.pressured) {
            s.pressured = true;
            s.pressured_since = now;
            // The budget drains back while the member is not holding anyone.
            const auto idle = now - s.hold_accounted;
            const auto refund = opts_.write_deadline.count() > 0
                                    ? idle * opts_.max_sender_pause.count() / opts_.write_deadline.count()
                                    : idle;
            s.hold_spent = refund >= s.hold_spent ? clock::duration::zero() : s.hold_spent - refund;
            s.hold_accounted = now;
            s.blocked_mark = r.output.blocked_time(now);
            pressured_.push_back(r.shared_from_this());
        }
        if (may_hold(r, now)) hold_wanted_ = true;
    }

    void schedule(member& r) {
        if (r.state.queued_for_flush) return;
        r.state.queued_for_flush = true;
        to_flush_.push_back(r.shared_from_this());
        if (flush_posted_) return;
        flush_posted_ = true;
        asio::post(ex_, [this, keep = owner_.lock()] {
            if (keep) flush_all();
        });
    }

    const server_options& opts_;
    optional_mutex& hub_mutex_;
    asio::any_io_executor ex_;
    std::weak_ptr<void> owner_;
    const std::size_t hard_;
    const std::size_t soft_;
    std::vector<std::shared_ptr<member>> to_flush_;
    std::vector<std::shared_ptr<member>> casualties_;
    std::vector<std::shared_ptr<member>> pressured_;
    bool flush_posted_ = false;
    bool hold_wanted_ = false;
};

} // namespace chatroom::detail
