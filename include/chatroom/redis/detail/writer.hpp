#pragma once

// The writer of one instance: what this server appends there, in order,
// through one connection.
//
// Operations wait in a queue and go as one batch at a time, a transaction
// (MULTI, an XADD per entry, EXEC), so Redis runs all of them or none: a
// command refused before it runs (LOADING, READONLY, NOAUTH, OOM, MISCONF,
// BUSY) discards the whole batch. An operation leaves the queue only when
// Redis ran it. An error reply is a fault: what did not run stays queued,
// in order, and is sent again after backoff (or once the link is back, for
// faults that restart it). The one error a transaction's command meets
// while running is a key of the wrong type: every operation on that key
// fails, the others run, and only the failed ones wait. A lost connection,
// or an answer that does not say what ran, leaves the outcome unknown:
// everything unconfirmed is sent again, and readers drop what they have
// seen. So what is held is written once the fault clears, in order, never
// twice for anyone.
//
// (Not a Lua script, as before: Redis interns every argument of a script
// in Lua, hashing each byte of the text, then copies it back for XADD; a
// transaction costs it about a third as much per entry (bench/RESULTS.md).)

#include <chatroom/redis/detail/link.hpp>
#include <chatroom/redis/detail/resp.hpp>
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
    // the fields beside the one into its command. Its commands go to the
    // connection together (send_commands), so nothing comes between them.
    void pump() {
        if (!link.up() || sent_ > 0 || waiting_ || queue_.empty()) return;
        std::size_t ops = 0, bytes = 0;
        for (const write_op& op : queue_) {
            if (ops == max_batch_ops || (bytes > 0 && bytes + op.bytes > max_batch_bytes)) break;
            ++ops;
            bytes += op.bytes;
        }
        // One entry is atomic alone: a transaction only around several.
        const bool transaction = ops > 1 || queue_.front().what == write_op::kind::canary;
        std::vector<resp_command> commands;
        commands.reserve(ops + 3);
        if (transaction) commands.emplace_back(1).arg("MULTI");
        const std::size_t replay = std::max<std::size_t>(1, ctx_.opts.replay_entries);
        for (std::size_t i = 0; i < ops; ++i) {
            const write_op& op = queue_[i];
            if (op.what == write_op::kind::marker) {
                commands.emplace_back(6).arg("XREVRANGE").arg(op.key).arg("+").arg("-").arg("COUNT").arg(replay);
                continue;
            }
            const bool canary = op.what == write_op::kind::canary;
            commands.emplace_back(6 + op.field_count, op.bytes + 16 * op.field_count)
                .arg("XADD").arg(op.key).arg("MAXLEN").arg("~").arg(canary ? 16 : ctx_.opts.stream_length).arg("*")
                .encoded(op.fields, op.field_count);
            if (canary) commands.emplace_back(3).arg("PEXPIRE").arg(op.key).arg(static_cast<std::size_t>(canary_ttl_ms));
        }
        if (transaction) commands.emplace_back(1).arg("EXEC");
        sent_ = ops;
        // One reply per command, as an array (send_commands).
        link.conn()->send_commands(std::move(commands), link.handler([this, transaction](std::error_code ec, redis_reply all) {
            if (ec) return void(sent_ = 0); // lost: everything unconfirmed goes again
            if (transaction) answered(all.elements);
            else ran(all.elements.data(), all.elements.size());
        }));
    }

    // With mu held: the batch's answers, MULTI's first and EXEC's last.
    void answered(std::vector<redis_reply>& replies) {
        const redis_reply& multi = replies.front();
        redis_reply& exec = replies.back();
        std::string refusal; // why a command was not queued, or EXEC not run
        for (const redis_reply& r : replies)
            if (r.is_error()) {
                refusal = r.text;
                break;
            }
        const bool nothing_queued = std::all_of(replies.begin() + 1, replies.end() - 1, [](const redis_reply& r) { return r.is_error(); });
        if (multi.is_error() && !nothing_queued) {
            // Outside a transaction (or inside one left open): what ran is
            // not known. A new connection, and everything sent again.
            sent_ = 0;
            return link.restart("MULTI refused: " + multi.text);
        }
        if (!exec.is_array() || exec.elements.size() != replies.size() - 2) {
            sent_ = 0;
            // Refused as a whole: nothing ran. An EXEC refused while a script
            // runs leaves the transaction open: it is discarded first.
            if (exec.is_error() && !multi.is_error()) link.conn()->command({"DISCARD"}, {});
            if (refusal.empty()) refusal = "ERR unexpected reply to EXEC";
            return refused(refusal);
        }
        ran(exec.elements.data(), exec.elements.size());
    }

    // With mu held: each operation's result, an error for those that did
    // not run (their key of the wrong type); the others are done.
    void ran(redis_reply* results, std::size_t n) {
        std::vector<write_op> failed;
        std::string fault;
        std::size_t at = 0;
        for (std::size_t i = 0; i < sent_ && !queue_.empty(); ++i) {
            write_op op = std::move(queue_.front());
            queue_.pop_front();
            redis_reply& result = results[std::min(at, n - 1)];
            at += op.what == write_op::kind::canary ? 2 : 1;
            if (result.is_error()) {
                if (fault.empty()) fault = result.text;
                failed.push_back(std::move(op));
                continue;
            }
            held_ -= std::min(held_, op.bytes);
            if (on_done) on_done(op, result);
        }
        sent_ = 0;
        for (auto op = failed.rbegin(); op != failed.rend(); ++op) queue_.push_front(std::move(*op));
        if (!fault.empty()) return refused(fault);
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
    std::size_t sent_ = 0; // operations of the batch in flight or being answered (the queue's first ones)
    std::size_t held_ = 0; // bytes queued
    bool waiting_ = false; // backing off after a fault
};

} // namespace chatroom::detail
