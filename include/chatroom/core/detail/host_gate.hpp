#pragma once

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace chatroom::detail {

// The door every call into the host program's code goes through: event
// handlers, command handlers, the access hooks. Once it is detached
// (~basic_server, or async_stop finishing) no call starts any more, and
// detach() returns only when the calls under way on other threads have
// returned. A call under way on the detaching thread itself (the server
// destroyed from inside one of its handlers) is not waited for: it is the
// last one. Its own lock is held only to count calls, never while one runs,
// so host code may call anything of the server's, and calls on several
// threads run at once.
class host_gate {
public:
    // Runs f() unless detached; returns whether it ran. What f throws passes
    // through (the caller reports it, see describe_exception).
    template <class F>
    bool call(F&& f) {
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (detached_) return false;
            running_.push_back(std::this_thread::get_id());
        }
        struct leaving {
            host_gate& gate;
            ~leaving() { gate.leave(); }
        } guard{*this};
        std::forward<F>(f)();
        return true;
    }

    bool detached() const {
        std::lock_guard<std::mutex> g(mutex_);
        return detached_;
    }

    // No call starts from now on; waits for those under way on other threads.
    void detach() {
        std::unique_lock<std::mutex> g(mutex_);
        detached_ = true;
        const auto me = std::this_thread::get_id();
        idle_.wait(g, [&] { return std::all_of(running_.begin(), running_.end(), [&](auto id) { return id == me; }); });
    }

    // No call starts from now on; then() runs once none is under way (now,
    // or on the thread whose call returns last). Never waits.
    void detach_then(std::function<void()> then) {
        {
            std::lock_guard<std::mutex> g(mutex_);
            detached_ = true;
            if (!running_.empty()) {
                waiters_.push_back(std::move(then));
                return;
            }
        }
        then();
    }

private:
    void leave() noexcept {
        std::vector<std::function<void()>> done;
        {
            std::lock_guard<std::mutex> g(mutex_);
            running_.erase(std::find(running_.begin(), running_.end(), std::this_thread::get_id()));
            if (!detached_) return;
            if (running_.empty()) done.swap(waiters_);
        }
        idle_.notify_all();
        for (auto& f : done) f();
    }

    mutable std::mutex mutex_;
    std::condition_variable idle_;
    std::vector<std::thread::id> running_; // one entry per call under way
    std::vector<std::function<void()>> waiters_;
    bool detached_ = false;
};

// What the exception being handled says, for an error event.
inline std::string describe_exception() {
    try {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "an exception not derived from std::exception";
    }
}

} // namespace chatroom::detail
