#pragma once

#include <chatroom/core/detail/host_gate.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/event_subscription.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/room_event.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

// The events the host program asked for, collected under the hub's lock in
// the order the hub makes them, and handed to the host's handlers after the
// lock is released by one thread at a time (the first that finds events and
// nobody delivering them; the others leave theirs to it), which is what
// keeps the handlers serialized and in order (events.hpp states the
// contract). Kinds no handler asked for cost one test of a bit. Every call
// into host code, here and for hooks and commands, goes through gate().
class host_events {
    using subscriber_list = std::vector<std::shared_ptr<event_subscriber>>;
    struct queued {
        server_event e;
        const event_subscriber* skip; // the handler whose exception it reports
    };

public:
    // Adds a handler (under the hub's lock).
    event_subscription subscribe(event_handler h, event_mask wanted) {
        auto s = std::make_shared<event_subscriber>(std::move(h), wanted);
        auto list = std::make_shared<subscriber_list>();
        for (const auto& x : *subs_)
            if (x->active.load(std::memory_order_relaxed)) list->push_back(x);
        list->push_back(s);
        install(std::move(list));
        return event_subscription(s);
    }

    host_gate& gate() noexcept { return gate_; }

    bool wants(server_event_kind kind) const noexcept { return (wanted_ & mask_of(kind)) != 0; }

    void emit(server_event_kind kind, const member& m, std::string_view room, std::string_view text = {},
              std::string_view reason = {}, std::string_view old_nick = {}) {
        last_wanted_ = wants(kind);
        if (!last_wanted_) return;
        queue(server_event{kind, m.state.nick, std::string(room), std::string(text), std::string(reason),
                    std::string(old_nick), m.address(), {}, {}, {}, {}});
    }

    // An event built by the caller (moderation, which names who did it).
    void push(server_event e) {
        if (wants(e.kind)) queue(std::move(e));
    }

    // The message events of a room event as it is delivered (chat: one per
    // line; /me: its text, with action set), in the room's order, whoever
    // made it (a member, a command's say, the host's say). The caller checks
    // wants(server_event_kind::message) first, so nobody asking costs nothing.
    void messages(const room_event& re) {
        std::string id = re.log_id.empty() ? std::to_string(re.seq) : re.log_id;
        const auto at = re.time == std::chrono::system_clock::time_point{} ? now() : re.time;
        const bool action = re.kind == room_event_kind::action;
        auto one = [&](std::string_view text) {
            pending_.push_back({server_event{server_event_kind::message, re.nick, re.room, std::string(text), {}, {}, {}, {}, action,
                                      id, at},
                                nullptr});
        };
        if (action) return one(re.text);
        re.for_each_line(one);
    }

    // The event emit() just made, to add to it; a scratch one when it was not wanted.
    server_event& pending_back() {
        if (pending_.empty() || !last_wanted_) return scratch_;
        return pending_.back().e;
    }

    void error(std::string text, std::string nick = {}, const event_subscriber* skip = nullptr) {
        if (!wants(server_event_kind::error)) return;
        queue(server_event{server_event_kind::error, std::move(nick), {}, std::move(text), {}, {}, {}, {}, {}, {}, {}}, skip);
    }

    // Runs host code f through the gate: false when the gate is closed;
    // what it throws is described in threw ("WHAT threw: ...").
    template <class F>
    bool run(F&& f, std::string& threw, std::string_view what) {
        try {
            return gate_.call(std::forward<F>(f));
        } catch (...) {
            threw = std::string(what) + " threw: " + describe_exception();
            return true;
        }
    }

    // A hook of the host's, called with the hub's lock held: its answer, or
    // fallback when the gate is closed or it threw (an error event then).
    template <class R, class F>
    R hook(std::string_view name, const member& m, R fallback, F&& f) {
        std::optional<R> r;
        std::string threw;
        run([&] { r.emplace(f()); }, threw, "access hook " + std::string(name));
        if (!threw.empty()) error(std::move(threw), m.state.nick);
        return r ? std::move(*r) : std::move(fallback);
    }

    // Under the hub's lock: whether the caller is to deliver (then it holds
    // what it is to deliver), or someone else delivers or nothing is pending.
    struct batch {
        std::vector<queued> events;
        std::shared_ptr<const subscriber_list> to;
    };
    bool take(batch& b) {
        if (delivering_ || pending_.empty()) return false;
        delivering_ = true;
        b.events.swap(pending_);
        b.to = subs_;
        return true;
    }

    // Unlocked, after take() said so: hands the batch to the handlers, then
    // the events made meanwhile (which their makers left to this thread),
    // until none is pending. lock is the hub's.
    template <class Lock>
    void hand_over(batch& b, Lock& lock) {
        std::vector<std::function<void()>> idle;
        for (bool more = true; more;) {
            deliver(b, [&](std::string text, const event_subscriber* s) {
                std::lock_guard<Lock> g(lock);
                error(std::move(text), {}, s);
            });
            std::lock_guard<Lock> g(lock);
            more = next(b, idle);
        }
        for (auto& f : idle) f();
    }

private:
    // What a handler throws becomes an error event (reported through
    // report, which takes the lock), delivered after the batch.
    template <class Report>
    void deliver(batch& b, Report&& report) {
        for (const queued& q : b.events) {
            const event_mask bit = mask_of(q.e.kind);
            for (const auto& s : *b.to) {
                if (!(s->mask & bit) || s.get() == q.skip) continue;
                try {
                    gate_.call([&] { s->call(q.e); });
                } catch (...) {
                    // Reported once: not what a handler throws at an error event.
                    if (q.e.kind != server_event_kind::error || !q.skip)
                        report("event handler threw: " + describe_exception(), s.get());
                }
            }
        }
        b.events.clear();
    }

public:
    // Under the hub's lock, after deliver: the next batch, or false when the
    // caller is done delivering (then the idle waiters are its to run).
    bool next(batch& b, std::vector<std::function<void()>>& idle) {
        delivering_ = false;
        prune();
        if (take(b)) return true;
        idle.swap(idle_);
        return false;
    }

    // Runs f once no events are pending or being delivered (now, returning
    // true, or from the thread that delivers the last).
    bool when_idle(std::function<void()> f) {
        if (!delivering_ && pending_.empty()) return true;
        idle_.push_back(std::move(f));
        return false;
    }

private:
    static std::chrono::system_clock::time_point now() {
        return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    }

    void queue(server_event e, const event_subscriber* skip = nullptr) {
        e.time = now();
        pending_.push_back({std::move(e), skip});
    }

    // Drops unsubscribed handlers, so the kinds only they wanted cost nothing again.
    void prune() {
        for (const auto& s : *subs_) {
            if (s->active.load(std::memory_order_relaxed)) continue;
            auto list = std::make_shared<subscriber_list>();
            for (const auto& x : *subs_)
                if (x->active.load(std::memory_order_relaxed)) list->push_back(x);
            return install(std::move(list));
        }
    }

    void install(std::shared_ptr<subscriber_list> list) {
        wanted_ = 0;
        for (const auto& x : *list) wanted_ |= x->mask;
        subs_ = std::move(list);
    }

    host_gate gate_;
    std::shared_ptr<const subscriber_list> subs_ = std::make_shared<subscriber_list>();
    event_mask wanted_ = 0;
    std::vector<queued> pending_;
    std::vector<std::function<void()>> idle_;
    server_event scratch_{};
    bool last_wanted_ = false;
    bool delivering_ = false;
};

} // namespace chatroom::detail
