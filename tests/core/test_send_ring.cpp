// A member's output: the gather ring (core/detail/send_ring.hpp) and the
// bounded queue around it with the marks of the slow-consumer policy
// (output_queue in core/detail/member.hpp; docs/reliability.md "Slow
// consumers").
#include <chatroom.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>

namespace {

using namespace std::chrono_literals;
using chatroom::shared_bytes;
using chatroom::detail::clock;
using chatroom::detail::send_ring;
using chatroom::detail::output_queue;
using pushed = output_queue::pushed;

shared_bytes bytes(std::size_t n, char c = 'x') { return shared_bytes::copy_of(std::string(n, c)); }

// Everything the send_ring would write, consumed in writes of at most step bytes.
std::string write_all(send_ring& box, std::size_t step) {
    std::string out;
    send_ring::gather g;
    while (!box.empty()) {
        box.fill(g);
        std::size_t n = 0;
        for (const auto& b : g) {
            const std::size_t part = std::min(b.size(), step - n);
            out.append(static_cast<const char*>(b.data()), part);
            n += part;
            if (n == step) break;
        }
        box.consume(n);
    }
    return out;
}

} // namespace

TEST_CASE("the send ring writes what it was given in order, across its ring's growth and partial writes", "[core][send_ring]") {
    send_ring box;
    std::string expected;
    // Interleave pushes and writes, so the ring wraps and grows while not empty.
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 7 * round + 1; ++i) {
            std::string piece = std::to_string(round) + "." + std::to_string(i) + ";";
            expected += piece;
            box.push(shared_bytes::copy_of(piece));
        }
        // Take roughly half, in odd-sized writes that stop inside messages.
        std::string half;
        send_ring::gather g;
        std::size_t target = box.bytes() / 2;
        while (target > 0) {
            box.fill(g);
            const std::size_t first = g.buffers[0].size();
            const std::size_t n = std::min({target, first, std::size_t{5}});
            half.append(static_cast<const char*>(g.buffers[0].data()), n);
            box.consume(n);
            target -= n;
        }
        CHECK(expected.compare(0, half.size(), half) == 0);
        expected.erase(0, half.size());
        CHECK(box.bytes() == expected.size());
    }
    CHECK(write_all(box, 13) == expected);
    CHECK(box.empty());
    CHECK(box.bytes() == 0);
}

TEST_CASE("the send ring hands at most max_gather buffers to one write", "[core][send_ring]") {
    send_ring box;
    for (std::size_t i = 0; i < send_ring::max_gather * 3; ++i) box.push(bytes(2));
    send_ring::gather g;
    box.fill(g);
    CHECK(g.count == send_ring::max_gather);
    box.consume(send_ring::max_gather * 2);
    CHECK(box.size() == send_ring::max_gather * 2);
    CHECK(write_all(box, 1000).size() == send_ring::max_gather * 4);
}

TEST_CASE("a queue past the soft mark says so, and says when it drains back under it once", "[core][send_ring][slow]") {
    output_queue q(false);
    const std::size_t soft = 100, hard = 400;
    CHECK(q.push(bytes(60), hard, soft) == pushed::below_soft);
    CHECK(q.push(bytes(40), hard, soft) == pushed::below_soft); // exactly at the mark is under it
    CHECK(q.push(bytes(1), hard, soft) == pushed::over_soft);
    CHECK(q.push(bytes(50), hard, soft) == pushed::over_soft);
    CHECK(q.bytes() == 151);
    CHECK_FALSE(q.consume(50, soft)); // 101 left: still past it
    CHECK(q.consume(1, soft));        // 100: back under, reported once
    CHECK_FALSE(q.consume(10, soft));
    CHECK(q.bytes() == 90);
}

TEST_CASE("a push that would pass the hard limit is refused and the queue then takes nothing", "[core][send_ring][slow]") {
    output_queue q(false);
    const std::size_t soft = 100, hard = 300;
    CHECK(q.push(bytes(300), hard, soft) == pushed::over_soft); // exactly the hard limit fits
    CHECK(q.push(bytes(1), hard, soft) == pushed::overflow);
    CHECK(q.bytes() == 300); // the refused bytes were not queued
    // The member is being dropped: whatever comes next is refused quietly,
    // even what would now fit, and so are the server's own pings.
    q.consume(300, soft);
    CHECK(q.push(bytes(1), hard, soft) == pushed::already_slow);
    q.push_own(bytes(1));
    CHECK(q.empty());
}

TEST_CASE("the server's own pings are queued outside the limits", "[core][send_ring][slow]") {
    output_queue q(false);
    const std::size_t soft = 10, hard = 20;
    REQUIRE(q.push(bytes(20), hard, soft) == pushed::over_soft);
    q.push_own(bytes(5, 'p'));
    CHECK(q.bytes() == 25);
}

TEST_CASE("a queue counts only the time its connection refused bytes", "[core][send_ring][slow]") {
    output_queue q(false);
    const auto t0 = clock::now();
    CHECK(q.blocked_time(t0 + 1s) == clock::duration::zero());
    q.blocked(t0);
    CHECK(q.blocked_time(t0 + 30ms) == 30ms); // the present stretch counts
    q.blocked(t0 + 10ms);                     // still the same stretch
    q.unblocked(t0 + 50ms);
    CHECK(q.blocked_time(t0 + 5s) == 50ms); // time unblocked is not charged
    q.unblocked(t0 + 60ms);                 // not blocked: nothing to end
    q.blocked(t0 + 100ms);
    q.unblocked(t0 + 120ms);
    CHECK(q.blocked_time(t0 + 5s) == 70ms);
}

TEST_CASE("clearing a queue drops what it held", "[core][send_ring]") {
    output_queue q(true);
    q.push(bytes(10), 100, 50);
    q.push(bytes(10), 100, 50);
    q.consume(5, 50);
    CHECK(q.mid_message());
    q.clear();
    CHECK(q.empty());
    CHECK(q.bytes() == 0);
    CHECK_FALSE(q.mid_message());
}
