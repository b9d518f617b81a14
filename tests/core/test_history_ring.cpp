// A room's ring as a history store (core/detail/history_ring.hpp): the four
// queries of history.hpp over the lines kept in memory, their bounds, the
// "more" and "unavailable" flags, ids of both forms, and ids from outside
// that are not ids.
#include <chatroom.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

using chatroom::history_errc;
using chatroom::history_page;
using chatroom::history_query;
using chatroom::history_range;
using chatroom::room_event;
using chatroom::room_event_kind;
using chatroom::detail::history_ring;
using namespace std::chrono_literals;

const std::chrono::system_clock::time_point t0 = std::chrono::system_clock::time_point(1'765'000'000'000ms);

// A ring holding lines 1..n (seq i, said at t0 + i seconds).
history_ring numbered(std::size_t limit, int n) {
    history_ring ring(limit);
    for (int i = 1; i <= n; ++i) {
        room_event e;
        e.kind = room_event_kind::chat;
        e.room = "dev";
        e.nick = "alice";
        e.seq = static_cast<std::uint64_t>(i);
        e.time = t0 + std::chrono::seconds(i);
        e.add_line("line " + std::to_string(i));
        ring.remember(e);
    }
    return ring;
}

std::vector<std::uint64_t> seqs(const history_page& p) {
    std::vector<std::uint64_t> out;
    for (const room_event& e : p.events) out.push_back(e.seq);
    return out;
}

history_page ask(const history_ring& ring, history_query q, std::size_t page = 100) {
    history_page p;
    REQUIRE_FALSE(ring.answer(q, page, p));
    return p;
}

history_query query(history_range range, std::string id = {}, std::size_t limit = 100) {
    history_query q;
    q.room = "dev";
    q.range = range;
    q.id = std::move(id);
    q.limit = limit;
    return q;
}

} // namespace

TEST_CASE("the ring answers latest, before and after an id, oldest first, bounded by the limit and the page",
          "[core][history]") {
    const history_ring ring = numbered(10, 10);
    auto latest = ask(ring, query(history_range::latest, {}, 3));
    CHECK(seqs(latest) == std::vector<std::uint64_t>{8, 9, 10});
    CHECK(latest.more);
    CHECK_FALSE(ask(ring, query(history_range::latest, {}, 50)).more);
    CHECK(seqs(ask(ring, query(history_range::latest, {}, 50), 4)) == std::vector<std::uint64_t>{7, 8, 9, 10});

    auto before = ask(ring, query(history_range::before, "5", 3));
    CHECK(seqs(before) == std::vector<std::uint64_t>{2, 3, 4});
    CHECK(before.more);
    CHECK_FALSE(ask(ring, query(history_range::before, "3", 5)).more);

    auto after = ask(ring, query(history_range::after, "6", 3));
    CHECK(seqs(after) == std::vector<std::uint64_t>{7, 8, 9});
    CHECK(after.more);
    CHECK_FALSE(after.unavailable);
    auto caught_up = ask(ring, query(history_range::after, "10"));
    CHECK(caught_up.events.empty());
    CHECK_FALSE(caught_up.more);
}

TEST_CASE("the ring answers between two ids or two times, both included", "[core][history]") {
    const history_ring ring = numbered(10, 10);
    history_query q = query(history_range::between, "3");
    q.until_id = "6";
    CHECK(seqs(ask(ring, q)) == std::vector<std::uint64_t>{3, 4, 5, 6});
    q.limit = 2;
    auto page = ask(ring, q);
    CHECK(seqs(page) == std::vector<std::uint64_t>{3, 4});
    CHECK(page.more);

    history_query by_time = query(history_range::between);
    by_time.since = t0 + 4s;
    by_time.until = t0 + 7s;
    CHECK(seqs(ask(ring, by_time)) == std::vector<std::uint64_t>{4, 5, 6, 7});
}

TEST_CASE("after an id the ring no longer holds, the latest page comes with 'unavailable'", "[core][history]") {
    const history_ring ring = numbered(4, 10); // keeps 7..10; 1..6 are gone
    auto gone = ask(ring, query(history_range::after, "2", 3));
    CHECK(gone.unavailable);
    CHECK(seqs(gone) == std::vector<std::uint64_t>{8, 9, 10});
    auto edge = ask(ring, query(history_range::after, "6"));
    CHECK_FALSE(edge.unavailable); // 7 follows 6: nothing is missing
    CHECK(seqs(edge) == std::vector<std::uint64_t>{7, 8, 9, 10});
}

TEST_CASE("ids from outside that are not ids are refused as bad queries", "[core][history]") {
    const history_ring ring = numbered(4, 4);
    for (const char* bad : {"", "abc", "-", "12-", "-3", "1-2-3", "99999999999999999999999", "5 ", "+5"}) {
        CAPTURE(bad);
        history_page p;
        CHECK(ring.answer(query(history_range::after, bad), 100, p) == history_errc::bad_query);
    }
    history_query backwards = query(history_range::between, "4");
    backwards.until_id = "2";
    history_page p;
    CHECK(ring.answer(backwards, 100, p) == history_errc::bad_query);
}

TEST_CASE("Redis stream ids compare as (milliseconds, sequence)", "[core][history]") {
    history_ring ring(10);
    for (const char* id : {"1700000000000-0", "1700000000000-1", "1700000000005-0"}) {
        room_event e;
        e.kind = room_event_kind::chat;
        e.nick = "bob";
        e.log_id = id;
        e.add_line(id);
        ring.remember(e);
    }
    auto after = ask(ring, query(history_range::after, "1700000000000-0"));
    REQUIRE(after.events.size() == 2);
    CHECK(after.events[0].log_id == "1700000000000-1");
    CHECK(after.events[1].log_id == "1700000000005-0");
    CHECK(chatroom::id_of(after.events[1]) == "1700000000005-0");
}

TEST_CASE("lines from a store older than the ring go before it, within the bound; newer ones are not taken twice",
          "[core][history]") {
    history_ring ring = numbered(5, 0);
    room_event live;
    live.kind = room_event_kind::chat;
    live.seq = 20;
    live.add_line("live");
    ring.remember(live);
    std::vector<room_event> past;
    for (std::uint64_t s : {15, 16, 17, 18, 19, 20}) {
        room_event e;
        e.kind = room_event_kind::chat;
        e.seq = s;
        e.add_line("old");
        past.push_back(e);
    }
    CHECK(ring.remember_older(past) == 4); // room for 4 of 15..19, the newest of them
    std::vector<std::uint64_t> kept;
    for (const room_event& e : ring.events()) kept.push_back(e.seq);
    CHECK(kept == std::vector<std::uint64_t>{16, 17, 18, 19, 20});
}
