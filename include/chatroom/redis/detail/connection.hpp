#pragma once

// One Redis connection for commands (and pub/sub): what the backplane's
// links, the tests and the benches use. hiredis speaks the protocol; the
// context under it (hiredis_context.hpp) gives it readiness, deadlines and
// an owning reply type.
// - Every handler runs on the connection's strand, so an executor run by
//   many threads is fine; user callbacks run there too, never from inside a
//   hiredis call, so a callback may issue commands, close() or drop the last
//   reference.
// - Each command in flight carries a deadline; when the oldest passes it
//   the connection is declared failed, every pending callback gets the
//   error exactly once, then on_disconnect.
// - There is no reconnection here: a failed connection stays failed and the
//   owner makes a new one (cheap: a strand, a timer, a descriptor).
//
// Outcome of a command: a callback with an error code and an empty reply
// means the command's effect on the server is unknown (it may have been
// applied) unless the error is not_connected or unsupported_command, which
// are given to commands that were never sent. A Redis error reply (-ERR ...)
// is not an error code: it is a reply of kind error (reply.hpp).

#include <chatroom/redis/detail/hiredis_context.hpp>
#include <chatroom/redis/detail/resp.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <asio/any_io_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <atomic>
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

class redis_connection final : public hiredis_context {
    struct private_tag {};

public:
    using disconnect_handler = std::function<void(std::error_code)>;
    using message_handler = std::function<void(std::string channel, std::string payload)>;

    static std::shared_ptr<redis_connection> create(const asio::any_io_executor& ex, redis_connection_options options) {
        return std::make_shared<redis_connection>(private_tag{}, ex, std::move(options));
    }

    redis_connection(private_tag, const asio::any_io_executor& ex, redis_connection_options options)
        : hiredis_context(ex, std::move(options)) {}

    redis_connection(const redis_connection&) = delete;
    redis_connection& operator=(const redis_connection&) = delete;

    // Safe in any state. Commands still pending get operation_aborted (posted
    // to the strand, as nothing of the connection is left to run them);
    // on_disconnect is not called.
    ~redis_connection() override {
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
        asio::dispatch(strand_, [self = self(), h = std::move(handler)]() mutable {
            self->disconnect_handler_ = std::move(h);
        });
    }

    // Starts connecting (once per object); the handler gets {} when the TCP
    // connection is up, or the reason it is not. Commands may be issued at
    // once: hiredis buffers them until the connection is up.
    void connect(connect_handler handler) {
        asio::dispatch(strand_, [self = self(), h = std::move(handler)]() mutable {
            self->start_connect(std::move(h));
        });
    }

    // Sends one command, given as its arguments (each anything a string_view
    // is made from; binary-safe), and calls handler(ec, reply) exactly once
    // (an empty handler: nobody is told). Replies come in the order commands
    // were issued from one thread (or from the strand). timeout overrides the
    // default; a command queued behind another gets at least that one's
    // deadline (so put blocking reads on a connection of their own).
    template <class Args>
    void command(const Args& args, command_handler handler, std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        resp_command cmd(static_cast<std::size_t>(std::distance(std::begin(args), std::end(args))));
        for (const auto& a : args) cmd.arg(std::string_view(a));
        send_command(std::move(cmd), std::move(handler), timeout);
    }

    void command(std::initializer_list<std::string_view> args, command_handler handler,
                 std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        command<std::initializer_list<std::string_view>>(args, std::move(handler), timeout);
    }

    // The same, encoded already (resp.hpp); one with fewer or more arguments
    // than it declared is refused (unsupported_command), never sent.
    void send_command(resp_command cmd, command_handler handler, std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        const std::string_view name = cmd.name();
        if (!cmd.complete() || pushes_replies(name.data(), name.size())) {
            reject(std::move(handler), redis_error::unsupported_command);
            return;
        }
        const auto limit = timeout.value_or(options_.command_timeout);
        asio::dispatch(strand_, [self = self(), cmd = std::move(cmd), h = std::move(handler), limit]() mutable {
            self->submit(cmd.buf().data(), cmd.buf().size(), std::move(h), limit);
        });
    }

    // Several commands sent back to back with nothing between them (a
    // transaction: MULTI ... EXEC); handler(ec, reply) once, after the
    // last, the reply an array of every command's reply, in order.
    void send_commands(std::vector<resp_command> cmds, command_handler handler,
                       std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        const bool refused = cmds.empty() || std::any_of(cmds.begin(), cmds.end(), [](const resp_command& c) {
            return !c.complete() || pushes_replies(c.name().data(), c.name().size());
        });
        if (refused) return reject(std::move(handler), redis_error::unsupported_command);
        const auto limit = timeout.value_or(options_.command_timeout);
        asio::dispatch(strand_, [self = self(), cmds = std::move(cmds), h = std::move(handler), limit]() mutable {
            for (std::size_t i = 0; i + 1 < cmds.size(); ++i)
                self->submit(cmds[i].buf().data(), cmds[i].buf().size(), {}, limit, pending_command::gathered);
            self->submit(cmds.back().buf().data(), cmds.back().buf().size(), std::move(h), limit, pending_command::last);
        });
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
        resp_command cmd(1 + channels.size());
        cmd.arg("SUBSCRIBE");
        for (const std::string& c : channels) cmd.arg(c);
        asio::dispatch(strand_, [self = self(), cmd = std::move(cmd), count = channels.size(), s = std::move(on_subscribed),
                                 m = std::move(on_message)]() mutable {
            self->start_subscribe(cmd.buf().data(), cmd.buf().size(), count, std::move(s), std::move(m));
        });
    }

    // Ends the connection now: commands pending get operation_aborted, a
    // connect in progress gets operation_aborted, on_disconnect is not called.
    // Idempotent.
    void close() {
        asio::dispatch(strand_, [self = self()] { self->do_close(); });
    }

    // Readable from any thread (a snapshot).
    std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

    // hiredis' description of why the connection failed (for logs); read it
    // on the strand, e.g. in the on_disconnect handler.
    const std::string& error_message() const noexcept { return error_message_; }

    const redis_connection_options& options() const noexcept { return options_; }

private:
    std::shared_ptr<redis_connection> self() { return std::static_pointer_cast<redis_connection>(shared_from_this()); }

    std::optional<clock::time_point> next_deadline() const override {
        if (pending_.empty() && !awaiting_subscription_) return std::nullopt;
        auto next = pending_.empty() ? subscribe_deadline_ : pending_.front().deadline;
        if (awaiting_subscription_) next = std::min(next, subscribe_deadline_);
        return next;
    }

    void torn_down(status was, std::error_code ec) override {
        in_flight_.store(0, std::memory_order_relaxed);
        if (awaiting_subscription_) {
            awaiting_subscription_ = false;
            completions_.push_back(completion::notification(std::move(subscribed_handler_), ec));
            subscribed_handler_ = nullptr;
        }
        if (was == status::connected && !user_closed_ && disconnect_handler_) {
            completions_.push_back(completion::notification(std::move(disconnect_handler_), ec));
            disconnect_handler_ = nullptr;
        }
    }

    void message(completion& c) override {
        if (message_handler_) message_handler_(std::move(c.channel), std::move(c.payload));
    }

    struct pending_command {
        enum role : unsigned char { alone, gathered, last }; // send_commands: kept for the last, then all
        command_handler handler;
        clock::time_point deadline;
        role part = alone;
    };

    void reject(command_handler handler, std::error_code ec) {
        asio::post(strand_, [h = std::move(handler), ec]() mutable {
            if (h) h(ec, redis_reply{});
        });
    }

    void submit(const char* formatted, std::size_t length, command_handler handler, std::chrono::milliseconds limit,
                pending_command::role part = pending_command::alone) {
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
        pending_.push_back({std::move(handler), deadline, part});
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
        if (pending_.empty()) reader_state_.hand_back = true;
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

    // A reply, or no reply when hiredis fails the commands pending at teardown.
    static void on_reply(redisAsyncContext* ac, void* reply, void* data) noexcept {
        auto* self = static_cast<redis_connection*>(data);
        if (self->pending_.empty()) return; // cannot happen: one callback per pending command
        command_handler handler = std::move(self->pending_.front().handler);
        const auto part = self->pending_.front().part;
        self->pending_.pop_front();
        self->in_flight_.store(self->pending_.size(), std::memory_order_relaxed);
        // A subscriber's pushes, after these replies, are hiredis' trees.
        if (self->subscriber_ && self->pending_.empty()) self->reader_state_.hand_back = true;
        if (reply && part == pending_command::gathered) {
            self->gathered_.push_back(take_reply(*ac->c.reader, reply));
        } else if (reply && part == pending_command::last) {
            redis_reply all;
            all.type = redis_reply::kind::array;
            all.elements = std::exchange(self->gathered_, {});
            all.elements.push_back(take_reply(*ac->c.reader, reply));
            self->completions_.push_back(completion::command(std::move(handler), {}, std::move(all)));
        } else if (reply) {
            self->completions_.push_back(completion::command(std::move(handler), {}, take_reply(*ac->c.reader, reply)));
        } else {
            self->gathered_.clear();
            if (part == pending_command::gathered) return; // the last one's callback tells
            self->record_hiredis_failure(ac);
            self->completions_.push_back(completion::command(std::move(handler), *self->failure_, {}));
        }
    }

    // Every pub/sub reply of a subscriber: ["subscribe", channel, count] or
    // ["message", channel, payload]; none at teardown (failure is reported
    // through on_disconnect and on_subscribed).
    static void on_push(redisAsyncContext* ac, void* reply, void* data) noexcept {
        auto* self = static_cast<redis_connection*>(data);
        const auto* r = static_cast<const redisReply*>(reply);
        if (!r || !built_by_hiredis(*ac->c.reader) || r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING) return;
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

    // Touched on the strand only, except the atomic.
    std::atomic<std::size_t> in_flight_{0};
    std::deque<pending_command> pending_;
    std::vector<redis_reply> gathered_; // replies of a send_commands not yet complete
    disconnect_handler disconnect_handler_;
    connect_handler subscribed_handler_;
    message_handler message_handler_;
    std::size_t subscriptions_expected_ = 0;
    std::size_t subscriptions_confirmed_ = 0;
    clock::time_point subscribe_deadline_{};
    bool subscriber_ = false;
    bool awaiting_subscription_ = false;
};

} // namespace chatroom::detail
