#pragma once

// The hiredis side of redis_connection (connection.hpp): one asynchronous
// hiredis context driven by an Asio strand.
// - Readiness comes from hiredis_events (hiredis_events.hpp).
// - hiredis' callbacks only queue results (completions); they are delivered
//   once hiredis has returned (drain), so a user callback may issue
//   commands, close() or drop the last reference.
// - hiredis 0.14 has no timeouts: one timer serves every deadline (the
//   connect's, and the owner's next_deadline); the first one passed fails
//   the connection, and hiredis fails every pending callback.

#include <chatroom/redis/detail/error.hpp>
#include <chatroom/redis/detail/hiredis_events.hpp>
#include <chatroom/redis/detail/reply_builder.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace chatroom::detail {

struct redis_connection_options {
    std::string host = "127.0.0.1"; // resolved by hiredis (blocking getaddrinfo): give an address
    unsigned short port = 6379;
    std::chrono::milliseconds connect_timeout{2000};
    // A command's deadline from when it is issued (XREAD BLOCK gives its own).
    std::chrono::milliseconds command_timeout{2000};
};

class hiredis_context : public std::enable_shared_from_this<hiredis_context>, private hiredis_events::owner {
public:
    using executor_type = asio::strand<asio::any_io_executor>;
    using clock = std::chrono::steady_clock;
    using connect_handler = std::function<void(std::error_code)>;
    using command_handler = std::function<void(std::error_code, redis_reply)>;

    // closed is final: closed by the owner, failed to connect, or failed after.
    enum class status : unsigned char { idle, connecting, connected, closed };

    hiredis_context(const hiredis_context&) = delete;
    hiredis_context& operator=(const hiredis_context&) = delete;

    // Readable from any thread (a snapshot).
    status state() const noexcept { return state_.load(std::memory_order_relaxed); }

protected:
    hiredis_context(const asio::any_io_executor& ex, redis_connection_options options)
        : options_(std::move(options)), strand_(asio::make_strand(ex)), timer_(strand_), events_(strand_) {}
    virtual ~hiredis_context() = default;

    // The earliest deadline of what is in flight, if any.
    virtual std::optional<clock::time_point> next_deadline() const = 0;
    // The context is gone (was: the status before): what to tell, queued.
    virtual void torn_down(status was, std::error_code ec) = 0;

    // A result to deliver once hiredis has returned: a command's, a
    // notification (connect, subscribed, disconnect), or a pub/sub message.
    struct completion {
        enum class what : unsigned char { command, notify, message } kind;
        command_handler handler;
        std::function<void(std::error_code)> notify;
        std::error_code ec;
        redis_reply reply;
        std::string channel;
        std::string payload;

        static completion command(command_handler h, std::error_code ec, redis_reply reply) {
            return {what::command, std::move(h), {}, ec, std::move(reply), {}, {}};
        }
        static completion notification(std::function<void(std::error_code)> n, std::error_code ec) {
            return {what::notify, {}, std::move(n), ec, {}, {}, {}};
        }
        static completion message(std::string channel, std::string payload) {
            return {what::message, {}, {}, {}, {}, std::move(channel), std::move(payload)};
        }
    };

    // A pub/sub message, delivered.
    virtual void message(completion&) {}

    // Commands and notifications (the destructor may post them).
    static void deliver(completion& c) {
        if (c.kind == completion::what::command && c.handler)
            c.handler(c.ec, std::move(c.reply));
        else if (c.kind == completion::what::notify && c.notify)
            c.notify(c.ec);
    }

    static bool is_message(const completion& c) noexcept { return c.kind == completion::what::message; }
    // Commands after which the server sends replies nobody asked for (pub/sub
    // pushes, MONITOR's feed), which would break one reply per command.
    static bool pushes_replies(const char* name, std::size_t size) {
        static constexpr std::string_view names[] = {"subscribe",   "psubscribe",   "ssubscribe", "unsubscribe",
                                                     "punsubscribe", "sunsubscribe", "monitor"};
        for (std::string_view n : names) {
            if (n.size() != size) continue;
            bool same = true;
            for (std::size_t i = 0; i < size && same; ++i) {
                char c = name[i];
                if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
                same = c == n[i];
            }
            if (same) return true;
        }
        return false;
    }

    void start_connect(connect_handler handler) {
        const status s = state();
        if (s != status::idle) {
            const std::error_code ec =
                s == status::closed ? std::error_code(redis_error::not_connected) : std::error_code(asio::error::already_started);
            asio::post(strand_, [h = std::move(handler), ec] {
                if (h) h(ec);
            });
            return;
        }
        set_state(status::connecting);
        redisAsyncContext* ac = redisAsyncConnect(options_.host.c_str(), options_.port);
        const int connect_errno = errno;
        if (!ac) {
            fail_before_start(std::move(handler), std::make_error_code(std::errc::not_enough_memory), "out of memory");
            return;
        }
        if (ac->err) {
            // Refused or unresolvable at once (loopback refuses synchronously).
            const std::error_code ec = ac->c.err == REDIS_ERR_IO && connect_errno != 0
                                           ? std::error_code(connect_errno, std::system_category())
                                           : std::error_code(redis_error::connection_lost);
            const std::string message = ac->errstr;
            redisAsyncFree(ac); // no hooks yet: just closes the socket
            fail_before_start(std::move(handler), ec, message);
            return;
        }
        if (const std::error_code ec = events_.attach(ac, *this, weak_from_this())) {
            redisAsyncFree(ac);
            fail_before_start(std::move(handler), ec, ec.message());
            return;
        }
        ac_ = ac;
        ac->data = this;
        reply_builder::install(*ac->c.reader, reader_state_); // replies read straight into redis_reply
        connect_handler_ = std::move(handler);
        connect_deadline_ = clock::now() + options_.connect_timeout;
        // hiredis learns the connect is done from the first write readiness,
        // which setting the callback asks for (addWrite).
        redisAsyncSetConnectCallback(ac, &on_connect);
        arm_timer(connect_deadline_);
    }

    void fail_before_start(connect_handler handler, std::error_code ec, std::string message) {
        set_state(status::closed);
        record_failure(ec);
        error_message_ = std::move(message);
        asio::post(strand_, [h = std::move(handler), ec] {
            if (h) h(ec);
        });
    }

    void do_close() {
        if (!ac_) {
            set_state(status::closed);
            return;
        }
        user_closed_ = true;
        record_failure(asio::error::operation_aborted);
        error_message_ = "closed";
        redisAsyncFree(ac_);
        drain();
    }

    // The adapter's own failures (deadlines): hiredis tears the context down
    // and calls every pending callback with no reply.
    void fail(std::error_code ec) {
        record_failure(ec);
        error_message_ = ec.message();
        redisAsyncFree(ac_);
    }

    void record_failure(std::error_code ec) {
        if (!failure_) failure_ = ec;
    }

    // Why hiredis gave up, from its context (read at once: errno is still the
    // failed call's).
    void record_hiredis_failure(const redisAsyncContext* ac) {
        if (failure_) return;
        const int saved_errno = errno;
        switch (ac->c.err) {
        case REDIS_ERR_EOF: failure_ = asio::error::eof; break;
        case REDIS_ERR_IO:
            failure_ = saved_errno != 0 ? std::error_code(saved_errno, std::system_category())
                                        : std::error_code(redis_error::connection_lost);
            break;
        case REDIS_ERR_PROTOCOL: failure_ = redis_error::protocol_error; break;
        case REDIS_ERR_OOM: failure_ = std::make_error_code(std::errc::not_enough_memory); break;
        default: failure_ = redis_error::connection_lost; break;
        }
        error_message_ = ac->c.errstr;
    }

    void set_state(status s) noexcept { state_.store(s, std::memory_order_relaxed); }

    // Delivers queued results; re-entrant calls (a callback that closes)
    // leave the work to the outer loop.
    void drain() {
        if (draining_) return;
        draining_ = true;
        struct reset {
            bool& flag;
            ~reset() { flag = false; }
        } guard{draining_};
        while (!completions_.empty()) {
            completion c = std::move(completions_.front());
            completions_.pop_front();
            if (!is_message(c)) deliver(c);
            else message(c);
        }
    }

    // One timer for all deadlines: it is armed for the earliest one, and
    // deadlines along the queue never decrease, so on expiry only the oldest
    // command needs checking. Replies do not touch the timer.
    void arm_timer(clock::time_point when) {
        if (timer_armed_ && when >= timer_expiry_) return;
        timer_armed_ = true;
        timer_expiry_ = when;
        const unsigned generation = ++timer_generation_;
        timer_.expires_at(when); // cancels an earlier wait, whose handler sees a stale generation
        timer_.async_wait([weak = weak_from_this(), generation](const std::error_code&) {
            if (auto self = weak.lock()) self->on_timer(generation);
        });
    }

    void on_timer(unsigned generation) {
        if (generation != timer_generation_) return;
        timer_armed_ = false;
        if (!ac_) return;
        const auto now = clock::now();
        if (state() == status::connecting) {
            if (now >= connect_deadline_)
                fail(redis_error::connect_timeout);
            else
                arm_timer(connect_deadline_);
        } else if (const auto next = next_deadline()) {
            if (now >= *next)
                fail(redis_error::command_timeout);
            else
                arm_timer(*next);
        }
        drain();
    }

    void ready(bool write) override { // hiredis_events::owner
        if (!ac_) return;
        if (write) redisAsyncHandleWrite(ac_);
        else redisAsyncHandleRead(ac_);
        drain();
    }
    void failed(std::error_code ec) override {
        if (!ac_) return;
        fail(ec);
        drain();
    }
    // hiredis is freeing the context (after failing every pending callback).
    void cleanup() override {
        record_hiredis_failure(ac_);
        timer_.cancel();
        timer_armed_ = false;
        ac_ = nullptr;
        const status was = state();
        set_state(status::closed);
        const std::error_code ec = *failure_;
        if (was == status::connecting) {
            completions_.push_back(completion::notification(std::move(connect_handler_), ec));
            connect_handler_ = nullptr;
        }
        torn_down(was, ec);
    }

    static void on_connect(const redisAsyncContext* ac, int result) noexcept {
        auto* self = static_cast<hiredis_context*>(ac->data);
        if (result == REDIS_OK) {
            self->set_state(status::connected);
            self->completions_.push_back(completion::notification(std::move(self->connect_handler_), {}));
            self->connect_handler_ = nullptr;
        } else {
            // hiredis frees the context next; cleanup reports this cause.
            self->record_hiredis_failure(ac);
        }
    }

    const redis_connection_options options_;
    executor_type strand_;
    asio::steady_timer timer_;
    hiredis_events events_;

    // Everything below is touched on the strand only, except the atomic.
    redisAsyncContext* ac_ = nullptr;
    reply_reader_state reader_state_; // ac_'s reader's privdata
    std::atomic<status> state_{status::idle};
    std::deque<completion> completions_;
    connect_handler connect_handler_;
    std::optional<std::error_code> failure_;
    std::string error_message_;
    clock::time_point connect_deadline_{};
    clock::time_point timer_expiry_{};
    unsigned timer_generation_ = 0;
    bool timer_armed_ = false;
    bool draining_ = false;
    bool user_closed_ = false;
};

} // namespace chatroom::detail
