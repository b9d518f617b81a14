#pragma once

#include <chatroom/client/detail/inbox.hpp>
#include <chatroom/client/detail/pending_op.hpp>
#include <chatroom/client/errors.hpp>

#include <asio/error.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace chatroom::detail {

// The client's pending asynchronous operations and its received lines,
// kept by client_connection on its strand. Lines to send are tracked by
// absolute byte offsets in the output: an async_send completes once the
// output up to the end of its line is written (or discarded, with the
// error that discarded it).
struct client_operations {
    using done_op = pending_op<std::error_code>;
    using line_op = pending_op<std::error_code, std::string>;

    explicit client_operations(std::size_t max_receive_bytes) : received(max_receive_bytes) {}

    // ---- receiving ----------------------------------------------------

    // A line for the receivers: to the oldest one waiting, else queued.
    void deliver(std::string_view line) {
        if (!receivers.empty()) {
            line_op op = std::move(receivers.front().op);
            receivers.pop_front();
            op.complete({}, std::string(line));
            return;
        }
        received.push(line);
    }

    // ended: the client is closed for good, with the error in end_error.
    // id names the receive for cancel_receive.
    void receive(std::uint64_t id, line_op op, bool ended, std::error_code end_error) {
        if (!received.empty()) return op.complete({}, received.pop());
        if (ended) return op.complete(end_error, {});
        receivers.push_back({id, std::move(op)});
    }

    // A receive still waiting fails with operation_aborted and takes no
    // line; one that has completed is left alone.
    void cancel_receive(std::uint64_t id) {
        for (auto it = receivers.begin(); it != receivers.end(); ++it) {
            if (it->id != id) continue;
            line_op op = std::move(it->op);
            receivers.erase(it);
            return op.complete(asio::error::operation_aborted, {});
        }
    }

    // ---- sending ------------------------------------------------------

    // A line whose last byte is at offset end of the output.
    void add_send(std::uint64_t end, done_op op) {
        if (op) sends.push_back({end, std::move(op)});
    }

    // Everything up to offset upto is written (no ec) or discarded (ec).
    void sent_up_to(std::uint64_t upto, std::error_code ec) {
        while (!sends.empty() && sends.front().end <= upto) {
            done_op op = std::move(sends.front().op);
            sends.pop_front();
            op.complete(ec);
        }
    }

    // A line sent from the connect handlers, at offset end of that output.
    void add_front_send(std::uint64_t end, done_op op) {
        if (op) front_sends.push_back({end, std::move(op)});
    }

    // The connect handlers' n bytes went in ahead of the output that waits
    // and starts at offset base: their lines come first now.
    void put_front_first(std::uint64_t base, std::size_t n) {
        for (auto& s : sends) s.end += n;
        for (auto it = front_sends.rbegin(); it != front_sends.rend(); ++it)
            sends.push_front({base + it->end, std::move(it->op)});
        front_sends.clear();
    }

    // ---- the end ------------------------------------------------------

    // The client is closed for good: whatever waits fails with ec (close
    // waiters succeed unless ec), queued lines stay for async_receive.
    void end(std::error_code ec, std::error_code close_result) {
        for (auto& op : connects) op.complete(ec);
        connects.clear();
        for (auto& s : sends) s.op.complete(ec);
        sends.clear();
        for (auto& s : front_sends) s.op.complete(ec);
        front_sends.clear();
        for (auto& r : receivers) r.op.complete(ec, {});
        receivers.clear();
        for (auto& op : closes) op.complete(close_result);
        closes.clear();
    }

    void connected() {
        for (auto& op : connects) op.complete({});
        connects.clear();
    }

    struct receiver {
        std::uint64_t id;
        line_op op;
    };
    inbox received;
    std::deque<receiver> receivers;
    std::vector<done_op> connects, closes;

    struct send_waiter {
        std::uint64_t end;
        done_op op;
    };
    std::deque<send_waiter> sends;        // in output order
    std::vector<send_waiter> front_sends; // ends relative to the front output
};

} // namespace chatroom::detail
