#pragma once

#include <chatroom/core/events.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

namespace chatroom {

namespace detail {

// One handler on_event added, with the kinds it asked for. Its lock is held
// while the handler runs, so unsubscribing waits for a call under way.
struct event_subscriber {
    event_subscriber(event_handler f, event_mask m) : fn(std::move(f)), mask(m) {}

    // Calls the handler with e unless it was unsubscribed.
    void call(const server_event& e) {
        std::lock_guard<std::recursive_mutex> g(running);
        if (active.load(std::memory_order_relaxed)) fn(e);
    }

    const event_handler fn;
    const event_mask mask;
    std::atomic<bool> active{true};
    std::recursive_mutex running;
};

} // namespace detail

/// What basic_server::on_event returns: a handle on the subscription it made.
/// Copyable and cheap. Destroying it changes nothing (the handler stays
/// subscribed until unsubscribe() or the server's end), so a program that
/// never unsubscribes may ignore it.
class event_subscription {
public:
    /// A handle on no subscription (active() is false).
    event_subscription() = default;
    /// Made by basic_server::on_event.
    explicit event_subscription(std::weak_ptr<detail::event_subscriber> s) noexcept : sub_(std::move(s)) {}

    /// Ends the subscription, from any thread. Once it has returned the
    /// handler is not running and is never called again; called from inside
    /// the handler itself, the call under way is the last. Not from inside an
    /// access hook (those run with the server's lock held). Idempotent.
    void unsubscribe() noexcept {
        if (auto s = sub_.lock()) {
            std::lock_guard<std::recursive_mutex> g(s->running);
            s->active.store(false, std::memory_order_relaxed);
        }
    }

    /// Whether the handler is still subscribed (false for a default-made one,
    /// and once the server is gone).
    bool active() const noexcept {
        const auto s = sub_.lock();
        return s && s->active.load(std::memory_order_relaxed);
    }

private:
    std::weak_ptr<detail::event_subscriber> sub_;
};

} // namespace chatroom
