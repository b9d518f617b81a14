#pragma once

// The reader of one instance: one XREAD BLOCK at a time over every stream
// this server reads there (stream_catalog), each from the last ID
// delivered. After every (re)connect it first checks the ends of those
// streams for what it cannot vouch for (a gap), then reads on.
//
// An error reply (to XREAD or to the check) is a fault, never an empty or
// missing stream: nothing moves, and the same read is asked again after
// backoff. The owner hears what each read brought (on_read), with mu held.

#include <chatroom/redis/detail/link.hpp>
#include <chatroom/redis/detail/resp.hpp>
#include <chatroom/redis/detail/streams.hpp>

#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

class stream_reader {
public:
    static constexpr std::chrono::milliseconds block{1000};

    stream_reader(backplane_context& ctx, std::size_t instance, stream_catalog& streams)
        : link(ctx, instance, "reader"), ctx_(ctx), streams_(streams), retry_(ctx.ex) {
        link.on_up = [this] { started(); };
        link.on_down = [this] {
            reading_ = checking_ = waiting_ = false;
            retry_.cancel();
            id_ = -1;
        };
    }

    redis_link link;
    std::function<void(read_result&)> on_read;

    // With mu held.
    void read_soon() { read(); }
    // The CLIENT ID of a connection blocked in XREAD (to unblock it when a
    // stream is added), or -1.
    long long blocked_id() const noexcept { return reading_ ? id_ : -1; }
    void stop() { retry_.cancel(); }

private:
    void started() {
        link.conn()->command({"CLIENT", "ID"}, link.handler([this](std::error_code ec, const redis_reply& r) {
            if (!ec && r.is_integer()) id_ = r.integer;
        }));
        check_gaps();
    }

    // The ends of every stream read here, before reading on.
    void check_gaps() {
        auto targets = std::make_shared<std::vector<stream_catalog::target>>(streams_.readable_on(link.instance()));
        if (targets->empty()) return read();
        checking_ = true;
        struct answers {
            std::vector<redis_reply> oldest, newest;
            std::size_t left = 0;
            std::string refused;
        };
        auto got = std::make_shared<answers>();
        got->oldest.resize(targets->size());
        got->newest.resize(targets->size());
        got->left = 2 * targets->size();
        auto one = [this, got, targets](std::size_t i, bool newest) {
            return link.handler([this, got, targets, i, newest](std::error_code ec, redis_reply r) {
                if (ec) return; // lost: checked again on the next connection
                if (r.is_error()) got->refused = r.text;
                (newest ? got->newest : got->oldest)[i] = std::move(r);
                if (--got->left == 0) checked(*targets, *got);
            });
        };
        for (std::size_t i = 0; i < targets->size(); ++i) {
            const std::string& key = (*targets)[i].key;
            link.conn()->command({"XRANGE", key, "-", "+", "COUNT", "1"}, one(i, false));
            link.conn()->command({"XREVRANGE", key, "+", "-", "COUNT", "1"}, one(i, true));
        }
    }

    template <class Answers>
    void checked(const std::vector<stream_catalog::target>& targets, const Answers& got) {
        checking_ = false;
        if (!got.refused.empty()) return refused(got.refused, true);
        link.ok();
        read_result result;
        for (std::size_t i = 0; i < targets.size(); ++i) streams_.check_gap(targets[i], got.oldest[i], got.newest[i], result);
        if (on_read) on_read(result);
        read();
    }

    void read() {
        if (!link.up() || reading_ || checking_ || waiting_) return;
        const auto targets = streams_.readable_on(link.instance());
        if (targets.empty()) return; // a stream added calls again
        resp_command args(6 + 2 * targets.size());
        args.arg("XREAD").arg("COUNT").arg(ctx_.opts.read_count).arg("BLOCK");
        args.arg(static_cast<std::size_t>(block.count())).arg("STREAMS");
        for (const auto& t : targets) args.arg(t.key);
        for (const auto& t : targets) args.arg(t.cursor);
        reading_ = true;
        link.conn()->send_command(std::move(args), link.handler([this, targets](std::error_code ec, redis_reply r) {
            reading_ = false;
            if (ec) return; // lost: the link reconnects
            if (r.is_error()) return refused(r.text, false);
            link.ok();
            read_result result;
            if (r.is_array())
                for (redis_reply& stream : r.elements) streams_.take(stream, targets, result); // entries' text moved out
            if (on_read) on_read(result);
            read();
        }), block + ctx_.opts.command_timeout);
    }

    // An error reply: nothing read moves; the same is asked again after
    // backoff (or once a restarted link is back).
    void refused(const std::string& text, bool check) {
        link.failed();
        link.fault(classify_error(text), (check ? "XRANGE: " : "XREAD: ") + text);
        if (!link.up()) return;
        waiting_ = true;
        retry_.expires_after(ctx_.backoff(link.failures()));
        retry_.async_wait(ctx_.guarded([this, check](std::error_code ec) {
            waiting_ = false;
            if (ec) return;
            if (check) check_gaps();
            else read();
        }));
    }

    backplane_context& ctx_;
    stream_catalog& streams_;
    asio::steady_timer retry_;
    long long id_ = -1;
    bool reading_ = false;
    bool checking_ = false;
    bool waiting_ = false;
};

} // namespace chatroom::detail
