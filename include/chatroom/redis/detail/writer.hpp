#pragma once

// The writer of one instance: what this server appends there, in order,
// through one connection.
//
// Operations wait in a queue and go as one batch at a time (the append
// script), so Redis takes a prefix of them or nothing: an operation leaves
// the queue only when Redis ran it. An error reply (the whole batch, or one
// operation of it) is a fault: the rest stays queued and is sent again,
// from the first operation that did not run, after backoff (or once the
// link is back, for faults that restart it). A lost connection leaves the
// outcome unknown: everything unconfirmed is sent again, and readers drop
// what they have seen. So what is held is written once the fault clears,
// in order, never twice for anyone.

#include <chatroom/redis/detail/link.hpp>
#include <chatroom/redis/detail/resp.hpp>
#include <chatroom/redis/detail/scripts.hpp>
#include <chatroom/redis/detail/write_op.hpp>

#include <asio/steady_timer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

class stream_writer {
public:
    static constexpr std::size_t max_batch_ops = 512;
    static constexpr std::size_t max_batch_bytes = 512 * 1024;
    static constexpr long long canary_ttl_ms = 60000;

    stream_writer(backplane_context& ctx, std::size_t instance)
        : link(ctx, instance, "writer"), ctx_(ctx), retry_(ctx.ex) {
        link.on_up = [this] { pump(); };
        link.on_down = [this] {
            sent_ = 0;
            waiting_ = false;
            retry_.cancel();
        };
    }

    redis_link link;
    // With mu held, for each operation Redis ran (its result).
    std::function<void(write_op&, redis_reply&)> on_done;

    // With mu held.
    void push(write_op op) {
        held_ += op.bytes;
        queue_.push_back(std::move(op));
        pump();
    }
    std::size_t held_bytes() const noexcept { return held_; }
    bool idle() const noexcept { return queue_.empty(); }
    const std::deque<write_op>& queue() const noexcept { return queue_; }
    void stop() { retry_.cancel(); }

    // The entries of rooms queued under this process's name, as a reader
    // would get them (what fails here fails there too): what the members
    // here hear at once when the server degrades.
    std::vector<stream_entry> own_entries(const std::string& node, const std::string& epoch, std::size_t max_line) const {
        std::vector<stream_entry> out;
        for (const write_op& op : queue_)
            if (auto entry = own_room_entry(op, node, epoch, max_line)) out.push_back(std::move(*entry));
        return out;
    }

    // A command beside the batches (CLIENT UNBLOCK): fire and forget.
    void aside(std::initializer_list<std::string_view> args) {
        if (link.up()) link.conn()->command(args, {});
    }

private:
    // The batch is encoded straight from the queue (resp.hpp): no copy of
    // the fields beside the one into the command.
    void pump() {
        if (!link.up() || sent_ > 0 || waiting_ || queue_.empty()) return;
        std::size_t ops = 0, argc = 3, bytes = 0;
        for (const write_op& op : queue_) {
            if (ops == max_batch_ops || (bytes > 0 && bytes + op.bytes > max_batch_bytes)) break;
            ++ops;
            bytes += op.bytes;
            argc += 1 + (op.what == write_op::kind::marker ? 2 : op.what == write_op::kind::canary ? 4 : 3) +
                    (op.what == write_op::kind::marker ? 0 : op.field_count);
        }
        resp_command cmd(argc, bytes + redis_scripts::append.size());
        cmd.arg("EVAL").arg(redis_scripts::append).arg(ops);
        for (std::size_t i = 0; i < ops; ++i) cmd.arg(queue_[i].key);
        const std::size_t replay = std::max<std::size_t>(1, ctx_.opts.replay_entries);
        for (std::size_t i = 0; i < ops; ++i) {
            const write_op& op = queue_[i];
            if (op.what == write_op::kind::marker) {
                cmd.arg("r").arg(replay);
                continue;
            }
            if (op.what == write_op::kind::canary) cmd.arg("c").arg("16").arg(static_cast<std::size_t>(canary_ttl_ms));
            else cmd.arg("x").arg(ctx_.opts.stream_length);
            cmd.arg(op.field_count).encoded(op.fields, op.field_count);
        }
        sent_ = ops;
        link.conn()->send_command(std::move(cmd), link.handler([this](std::error_code ec, redis_reply r) { answered(ec, r); }));
    }

    // With mu held: the batch's answer.
    void answered(std::error_code ec, redis_reply& r) {
        const std::size_t sent = std::exchange(sent_, 0);
        if (ec) return; // lost: the link goes down and everything unconfirmed is sent again
        if (r.is_error()) return refused(r.text);
        if (!r.is_array() || r.elements.size() < 2 || !r.elements[0].is_integer() || !r.elements[1].is_array())
            return refused("ERR unexpected reply to the append script");
        const auto done = static_cast<std::size_t>(std::clamp<long long>(r.elements[0].integer, 0, static_cast<long long>(sent)));
        auto& results = r.elements[1].elements;
        for (std::size_t i = 0; i < done && !queue_.empty(); ++i) {
            write_op op = std::move(queue_.front());
            queue_.pop_front();
            held_ -= std::min(held_, op.bytes);
            redis_reply none;
            if (on_done) on_done(op, i < results.size() ? results[i] : none);
        }
        if (r.elements.size() > 2) return refused(r.elements[2].text);
        link.ok();
        pump();
    }

    // An error reply: the operations not run wait, and go again after
    // backoff (a fault that restarts the link sends them once it is back).
    void refused(const std::string& text) {
        const reply_fault f = classify_error(text);
        link.failed();
        link.fault(f, text);
        if (!link.up()) return;
        waiting_ = true;
        retry_.expires_after(ctx_.backoff(link.failures()));
        retry_.async_wait(ctx_.guarded([this](std::error_code ec) {
            waiting_ = false;
            if (!ec) pump();
        }));
    }

    backplane_context& ctx_;
    asio::steady_timer retry_;
    std::deque<write_op> queue_;
    std::size_t sent_ = 0; // operations of the batch in flight (the queue's first ones)
    std::size_t held_ = 0; // bytes queued
    bool waiting_ = false; // backing off after a fault
};

} // namespace chatroom::detail
