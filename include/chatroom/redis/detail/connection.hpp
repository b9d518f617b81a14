#pragma once

// One hiredis asynchronous connection driven by an Asio executor: hiredis
// speaks the protocol, this adapter gives it readiness events, deadlines and
// an owning reply type.
//
// - hiredis' event hooks (addRead/delRead/addWrite/delWrite/cleanup) become
//   async_wait on a posix::stream_descriptor that borrows hiredis' socket: the
//   descriptor is released (never closed) before hiredis closes the socket.
// - Every handler of the connection runs on its own strand, so an executor
//   run by many threads is fine; user callbacks run on that strand too, never
//   from inside a hiredis call (hiredis' callbacks only queue results, which
//   are delivered once hiredis has returned), so a callback may issue
//   commands, close() or drop the last reference.
// - hiredis 0.14 has no timeouts: each command in flight carries a deadline;
//   when the oldest in flight passes it the connection is declared failed,
//   every pending callback gets the error exactly once, then on_disconnect.
// - There is no reconnection here: a failed connection stays failed and the
//   owner makes a new one (cheap: a strand, a timer, a descriptor).
//
// Outcome of a command: a callback with an error code and an empty reply
// means the command's effect on the server is unknown (it may have been
// applied) unless the error is not_connected or unsupported_command, which
// are given to commands that were never sent. A Redis error reply (-ERR ...)
// is not an error code: it is a reply of kind error.

#include <chatroom/redis/detail/error.hpp>
#include <chatroom/redis/detail/reply.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <asio/any_io_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace chatroom::detail {

struct redis_connection_options {
    std::string host = "127.0.0.1"; // resolved by hiredis (blocking getaddrinfo): give an address
    unsigned short port = 6379;
    std::chrono::milliseconds connect_timeout{2000};
    // The default deadline of a command, from when it is issued. Blocking
    // commands (XREAD BLOCK ms) pass a longer one to command().
    std::chrono::milliseconds command_timeout{2000};
};

class redis_connection : public std::enable_shared_from_this<redis_connection> {
    struct private_tag {};

public:
    using executor_type = asio::strand<asio::any_io_executor>;
    using clock = std::chrono::steady_clock;
    using connect_handler = std::function<void(std::error_code)>;
    using disconnect_handler = std::function<void(std::error_code)>;
    using command_handler = std::function<void(std::error_code, redis_reply)>;
    using message_handler = std::function<void(std::string channel, std::string payload)>;

    // closed is final: closed by the owner, failed to connect, or failed after.
    enum class status : unsigned char { idle, connecting, connected, closed };

    static std::shared_ptr<redis_connection> create(const asio::any_io_executor& ex, redis_connection_options options) {
        return std::make_shared<redis_connection>(private_tag{}, ex, std::move(options));
    }

    redis_connection(private_tag, const asio::any_io_executor& ex, redis_connection_options options)
        : options_(std::move(options)), strand_(asio::make_strand(ex)), timer_(strand_), descriptor_(strand_) {}

    redis_connection(const redis_connection&) = delete;
    redis_connection& operator=(const redis_connection&) = delete;

    // Safe in any state. Commands still pending get operation_aborted (posted
    // to the strand, as nothing of the connection is left to run them);
    // on_disconnect is not called.
    ~redis_connection() {
        if (ac_) {
            user_closed_ = true;
            record_failure(asio::error::operation_aborted);
            redisAsyncFree(ac_); // fails every pending command into completions_, then cleanup
        }
        while (!completions_.empty()) {
            if (!is_message(completions_.front()))
                asio::post(strand_, [c = std::move(completions_.front())]() mutable { deliver(c); });
            completions_.pop_front();
        }
    }

    // The strand every handler runs on: the owner may run its own logic on it
    // to share the connection's serialization.
    executor_type get_executor() const noexcept { return strand_; }

    // Called at most once, after the callbacks of the commands pending then,
    // when a connection that was established fails (timeout, server gone,
    // CLIENT KILL, reset). Not called for close() or destruction. Set it
    // before connect().
    void on_disconnect(disconnect_handler handler) {
        asio::dispatch(strand_, [self = shared_from_this(), h = std::move(handler)]() mutable {
            self->disconnect_handler_ = std::move(h);
        });
    }

    // Starts connecting (once per object); the handler gets {} when the TCP
    // connection is up, or the reason it is not. Commands may be issued at
    // once: hiredis buffers them until the connection is up.
    void connect(connect_handler handler) {
        asio::dispatch(strand_, [self = shared_from_this(), h = std::move(handler)]() mutable {
            self->start_connect(std::move(h));
        });
    }

    // Sends one command, given as its arguments (each anything a string_view
    // is made from; binary-safe), and calls handler(ec, reply) exactly once
    // (an empty handler: nobody is told).
    // Replies come in the order commands were issued from one thread (or
    // from the strand). timeout overrides the default command timeout; a
    // command queued behind another is given at least that one's deadline,
    // as its reply cannot come before (so put blocking reads on a connection
    // of their own).
    template <class Args>
    void command(const Args& args, command_handler handler, std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        using std::begin;
        using std::end;
        const auto count = static_cast<std::size_t>(std::distance(begin(args), end(args)));
        if (count <= small_argc) {
            std::array<const char*, small_argc> argv{};
            std::array<std::size_t, small_argc> lengths{};
            fill_argv(args, argv.data(), lengths.data());
            issue(count, argv.data(), lengths.data(), std::move(handler), timeout);
        } else {
            std::vector<const char*> argv(count);
            std::vector<std::size_t> lengths(count);
            fill_argv(args, argv.data(), lengths.data());
            issue(count, argv.data(), lengths.data(), std::move(handler), timeout);
        }
    }

    void command(std::initializer_list<std::string_view> args, command_handler handler,
                 std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        command<std::initializer_list<std::string_view>>(args, std::move(handler), timeout);
    }

    // Makes this a subscriber connection (Redis pub/sub: at-most-once, for
    // comparisons; the backplane itself reads streams). Sends SUBSCRIBE for
    // the channels, then calls on_message(channel, payload) for every message,
    // in order, on the strand; on_subscribed(ec) once, when the server has
    // confirmed every channel (within the command timeout) or the connection
    // failed first. Once per connection; from then on command() refuses
    // everything (unsupported_command), as replies could not be told from
    // pushed messages. A later failure is reported by on_disconnect.
    void subscribe(const std::vector<std::string>& channels, connect_handler on_subscribed, message_handler on_message) {
        if (channels.empty()) {
            asio::post(strand_, [h = std::move(on_subscribed)] {
                if (h) h(redis_error::unsupported_command);
            });
            return;
        }
        std::vector<std::string_view> args{"SUBSCRIBE"};
        args.insert(args.end(), channels.begin(), channels.end());
        std::vector<const char*> argv(args.size());
        std::vector<std::size_t> lengths(args.size());
        fill_argv(args, argv.data(), lengths.data());
        char* raw = nullptr;
        const int length = redisFormatCommandArgv(&raw, static_cast<int>(args.size()), argv.data(), lengths.data());
        formatted_command formatted(raw);
        if (length < 0 || !formatted) {
            asio::post(strand_, [h = std::move(on_subscribed)] {
                if (h) h(std::make_error_code(std::errc::not_enough_memory));
            });
            return;
        }
        asio::dispatch(strand_, [self = shared_from_this(), formatted = std::move(formatted), length,
                                 count = channels.size(), s = std::move(on_subscribed), m = std::move(on_message)]() mutable {
            self->start_subscribe(formatted.get(), static_cast<std::size_t>(length), count, std::move(s), std::move(m));
        });
    }

    // Ends the connection now: commands pending get operation_aborted, a
    // connect in progress gets operation_aborted, on_disconnect is not called.
    // Idempotent.
    void close() {
        asio::dispatch(strand_, [self = shared_from_this()] { self->do_close(); });
    }

    // Readable from any thread (a snapshot).
    status state() const noexcept { return state_.load(std::memory_order_relaxed); }
    std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

    // hiredis' description of why the connection failed (for logs); read it
    // on the strand, e.g. in the on_disconnect handler.
    const std::string& error_message() const noexcept { return error_message_; }

    const redis_connection_options& options() const noexcept { return options_; }

private:
    static constexpr std::size_t small_argc = 16;

    struct pending_command {
        command_handler handler;
        clock::time_point deadline;
    };

    // A result waiting to be delivered once hiredis has returned: a command's,
    // a connect/subscribed/disconnect notification, or a pub/sub message (for
    // message_handler_).
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

    struct formatted_deleter {
        void operator()(char* p) const noexcept { redisFreeCommand(p); }
    };
    using formatted_command = std::unique_ptr<char, formatted_deleter>;

    // Commands and notifications only: what needs nothing of the connection,
    // so that the destructor can post it.
    static void deliver(completion& c) {
        if (c.kind == completion::what::command && c.handler)
            c.handler(c.ec, std::move(c.reply));
        else if (c.kind == completion::what::notify && c.notify)
            c.notify(c.ec);
    }

    static bool is_message(const completion& c) noexcept { return c.kind == completion::what::message; }

    template <class Args>
    static void fill_argv(const Args& args, const char** argv, std::size_t* lengths) {
        std::size_t i = 0;
        for (const auto& a : args) {
            const std::string_view v(a);
            // An empty view may have a null data(); hiredis memcpy()s from it.
            argv[i] = v.empty() ? "" : v.data();
            lengths[i] = v.size();
            ++i;
        }
    }

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

    // Formats the command in the calling thread (so the arguments may be
    // views of the caller's memory), then queues it on the strand.
    void issue(std::size_t argc, const char** argv, const std::size_t* lengths, command_handler handler,
               std::optional<std::chrono::milliseconds> timeout) {
        if (argc == 0 || pushes_replies(argv[0], lengths[0])) {
            reject(std::move(handler), redis_error::unsupported_command);
            return;
        }
        char* raw = nullptr;
        const int length = redisFormatCommandArgv(&raw, static_cast<int>(argc), argv, lengths);
        formatted_command formatted(raw);
        if (length < 0 || !formatted) {
            reject(std::move(handler), std::make_error_code(std::errc::not_enough_memory));
            return;
        }
        const auto limit = timeout.value_or(options_.command_timeout);
        asio::dispatch(strand_, [self = shared_from_this(), formatted = std::move(formatted), length,
                                 h = std::move(handler), limit]() mutable {
            self->submit(formatted.get(), static_cast<std::size_t>(length), std::move(h), limit);
        });
    }

    void reject(command_handler handler, std::error_code ec) {
        asio::post(strand_, [h = std::move(handler), ec]() mutable {
            if (h) h(ec, redis_reply{});
        });
    }

    void submit(const char* formatted, std::size_t length, command_handler handler, std::chrono::milliseconds limit) {
        const status s = state();
        if (subscriber_ && ac_) {
            reject(std::move(handler), redis_error::unsupported_command);
            return;
        }
        if (!ac_ || (s != status::connecting && s != status::connected) ||
            redisAsyncFormattedCommand(ac_, &on_reply, this, formatted, length) != REDIS_OK) {
            reject(std::move(handler), redis_error::not_connected);
            return;
        }
        auto deadline = clock::now() + limit;
        if (s == status::connecting) deadline = std::max(deadline, connect_deadline_);
        if (!pending_.empty()) deadline = std::max(deadline, pending_.back().deadline);
        pending_.push_back({std::move(handler), deadline});
        in_flight_.store(pending_.size(), std::memory_order_relaxed);
        arm_timer(deadline);
    }

    void start_subscribe(const char* formatted, std::size_t length, std::size_t channels, connect_handler on_subscribed,
                         message_handler on_message) {
        const status s = state();
        std::error_code refused;
        if (subscriber_)
            refused = asio::error::already_started;
        else if (!ac_ || (s != status::connecting && s != status::connected) ||
                 redisAsyncFormattedCommand(ac_, &on_push, this, formatted, length) != REDIS_OK)
            refused = redis_error::not_connected;
        if (refused) {
            asio::post(strand_, [h = std::move(on_subscribed), refused] {
                if (h) h(refused);
            });
            return;
        }
        subscriber_ = true;
        subscriptions_expected_ = channels;
        subscribed_handler_ = std::move(on_subscribed);
        message_handler_ = std::move(on_message);
        auto deadline = clock::now() + options_.command_timeout;
        if (s == status::connecting) deadline = std::max(deadline, connect_deadline_);
        if (!pending_.empty()) deadline = std::max(deadline, pending_.back().deadline);
        subscribe_deadline_ = deadline;
        awaiting_subscription_ = true;
        arm_timer(deadline);
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
        std::error_code ec;
        descriptor_.assign(ac->c.fd, ec);
        if (ec) {
            redisAsyncFree(ac);
            fail_before_start(std::move(handler), ec, ec.message());
            return;
        }
        ac_ = ac;
        ac->data = this;
        ac->ev.data = this;
        ac->ev.addRead = &hook_add_read;
        ac->ev.delRead = &hook_del_read;
        ac->ev.addWrite = &hook_add_write;
        ac->ev.delWrite = &hook_del_write;
        ac->ev.cleanup = &hook_cleanup;
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
            if (!is_message(c))
                deliver(c);
            else if (message_handler_)
                message_handler_(std::move(c.channel), std::move(c.payload));
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
        } else if (!pending_.empty() || awaiting_subscription_) {
            auto next = pending_.empty() ? subscribe_deadline_ : pending_.front().deadline;
            if (awaiting_subscription_) next = std::min(next, subscribe_deadline_);
            if (now >= next)
                fail(redis_error::command_timeout);
            else
                arm_timer(next);
        }
        drain();
    }

    void start_wait(bool write) {
        (write ? write_waiting_ : read_waiting_) = true;
        descriptor_.async_wait(write ? asio::posix::descriptor_base::wait_write : asio::posix::descriptor_base::wait_read,
                               [weak = weak_from_this(), write](const std::error_code& ec) {
                                   if (auto self = weak.lock()) self->on_ready(write, ec);
                               });
    }

    void on_ready(bool write, const std::error_code& ec) {
        (write ? write_waiting_ : read_waiting_) = false;
        if (!ac_ || ec == asio::error::operation_aborted) return; // released at teardown
        if (ec) {
            fail(ec);
        } else if (write ? want_write_ : want_read_) {
            if (write)
                redisAsyncHandleWrite(ac_);
            else
                redisAsyncHandleRead(ac_);
        }
        drain();
    }

    // The hiredis hooks. They must be idempotent; none calls back into hiredis.
    static void hook_add_read(void* data) noexcept {
        auto* self = static_cast<redis_connection*>(data);
        self->want_read_ = true;
        if (!self->read_waiting_) self->start_wait(false);
    }
    static void hook_del_read(void* data) noexcept { static_cast<redis_connection*>(data)->want_read_ = false; }
    static void hook_add_write(void* data) noexcept {
        auto* self = static_cast<redis_connection*>(data);
        self->want_write_ = true;
        if (!self->write_waiting_) self->start_wait(true);
    }
    static void hook_del_write(void* data) noexcept { static_cast<redis_connection*>(data)->want_write_ = false; }

    // hiredis is freeing the context (after failing every pending callback)
    // and will close the socket next: let go of it first.
    static void hook_cleanup(void* data) noexcept {
        auto* self = static_cast<redis_connection*>(data);
        self->record_hiredis_failure(self->ac_);
        self->descriptor_.release();
        self->timer_.cancel();
        self->timer_armed_ = false;
        self->ac_ = nullptr;
        self->in_flight_.store(0, std::memory_order_relaxed);
        const status was = self->state();
        self->set_state(status::closed);
        const std::error_code ec = *self->failure_;
        if (was == status::connecting) {
            self->completions_.push_back(completion::notification(std::move(self->connect_handler_), ec));
            self->connect_handler_ = nullptr;
        }
        if (self->awaiting_subscription_) {
            self->awaiting_subscription_ = false;
            self->completions_.push_back(completion::notification(std::move(self->subscribed_handler_), ec));
            self->subscribed_handler_ = nullptr;
        }
        if (was == status::connected && !self->user_closed_ && self->disconnect_handler_) {
            self->completions_.push_back(completion::notification(std::move(self->disconnect_handler_), ec));
            self->disconnect_handler_ = nullptr;
        }
    }

    static void on_connect(const redisAsyncContext* ac, int result) noexcept {
        auto* self = static_cast<redis_connection*>(ac->data);
        if (result == REDIS_OK) {
            self->set_state(status::connected);
            self->completions_.push_back(completion::notification(std::move(self->connect_handler_), {}));
            self->connect_handler_ = nullptr;
        } else {
            // hiredis frees the context next; cleanup reports this cause.
            self->record_hiredis_failure(ac);
        }
    }

    // A reply, or no reply when hiredis fails the commands pending at teardown.
    static void on_reply(redisAsyncContext* ac, void* reply, void* data) noexcept {
        auto* self = static_cast<redis_connection*>(data);
        if (self->pending_.empty()) return; // cannot happen: one callback per pending command
        command_handler handler = std::move(self->pending_.front().handler);
        self->pending_.pop_front();
        self->in_flight_.store(self->pending_.size(), std::memory_order_relaxed);
        if (reply) {
            self->completions_.push_back(completion::command(
                std::move(handler), {}, redis_reply::from_hiredis(*static_cast<const redisReply*>(reply))));
        } else {
            self->record_hiredis_failure(ac);
            self->completions_.push_back(completion::command(std::move(handler), *self->failure_, {}));
        }
    }

    // Every pub/sub reply of a subscriber: ["subscribe", channel, count] or
    // ["message", channel, payload]; none at teardown (failure is reported
    // through on_disconnect and on_subscribed).
    static void on_push(redisAsyncContext*, void* reply, void* data) noexcept {
        auto* self = static_cast<redis_connection*>(data);
        const auto* r = static_cast<const redisReply*>(reply);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING) return;
        const std::string_view kind(r->element[0]->str, r->element[0]->len);
        const redisReply* channel = r->element[1];
        const redisReply* payload = r->element[2];
        if (kind == "message" && channel->type == REDIS_REPLY_STRING && payload->type == REDIS_REPLY_STRING) {
            self->completions_.push_back(completion::message(std::string(channel->str, channel->len),
                                                             std::string(payload->str, payload->len)));
        } else if (kind == "subscribe" && self->awaiting_subscription_ &&
                   ++self->subscriptions_confirmed_ == self->subscriptions_expected_) {
            self->awaiting_subscription_ = false;
            self->completions_.push_back(completion::notification(std::move(self->subscribed_handler_), {}));
            self->subscribed_handler_ = nullptr;
        }
    }

    const redis_connection_options options_;
    executor_type strand_;
    asio::steady_timer timer_;
    asio::posix::stream_descriptor descriptor_;

    // Everything below is touched on the strand only, except the atomics.
    redisAsyncContext* ac_ = nullptr;
    std::atomic<status> state_{status::idle};
    std::atomic<std::size_t> in_flight_{0};
    std::deque<pending_command> pending_;
    std::deque<completion> completions_;
    connect_handler connect_handler_;
    disconnect_handler disconnect_handler_;
    connect_handler subscribed_handler_;
    message_handler message_handler_;
    std::size_t subscriptions_expected_ = 0;
    std::size_t subscriptions_confirmed_ = 0;
    clock::time_point subscribe_deadline_{};
    std::optional<std::error_code> failure_;
    std::string error_message_;
    clock::time_point connect_deadline_{};
    clock::time_point timer_expiry_{};
    unsigned timer_generation_ = 0;
    bool timer_armed_ = false;
    bool want_read_ = false;
    bool want_write_ = false;
    bool read_waiting_ = false;
    bool write_waiting_ = false;
    bool draining_ = false;
    bool user_closed_ = false;
    bool subscriber_ = false;
    bool awaiting_subscription_ = false;
};

} // namespace chatroom::detail
