#pragma once

#include <mutex>

namespace chatroom::detail {

// A mutex that can be switched off. A server whose executor is run by a
// single thread has nothing to exclude, so it pays one predictable branch
// instead of an atomic read-modify-write on every lock.
class optional_mutex {
public:
    explicit optional_mutex(bool enabled = true) noexcept : enabled_(enabled) {}
    optional_mutex(const optional_mutex&) = delete;
    optional_mutex& operator=(const optional_mutex&) = delete;

    void lock() {
        if (enabled_) mutex_.lock();
    }
    void unlock() {
        if (enabled_) mutex_.unlock();
    }
    bool enabled() const noexcept { return enabled_; }

private:
    std::mutex mutex_;
    bool enabled_;
};

using optional_lock = std::lock_guard<optional_mutex>;

} // namespace chatroom::detail
