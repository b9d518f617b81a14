// The SQLite history store's speed (include/chatroom/sqlite.hpp):
//
//   1. durable messages/s: 1,000,000 keep() calls from one thread into 10
//      rooms, as fast as they come, until all are committed (group commit),
//      with synchronous=NORMAL and FULL; the delay from keep() to commit
//      (p50, p99) then, and at a steady 20,000 messages/s;
//   2. a page of 100 from a room of 1,000,000 messages, warm: latest, and
//      before an id in the middle, p50/p99 over 1,000 queries each (the
//      round trip through query() and the query thread).
//
// Usage: chatroom-history-bench [DIR]   (files go to DIR, default /tmp; removed after)
#include <chatroom/sqlite.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

chatroom::room_event message(std::uint64_t seq, const std::string& room) {
    chatroom::room_event e;
    e.room = room;
    e.seq = seq;
    e.time = std::chrono::system_clock::now();
    e.nick = "bench";
    e.add_line("a message of about the length people type, " + std::to_string(seq));
    return e;
}

void remove_db(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

/// Keeps `count` messages into 10 rooms, at `rate` per second (0: as fast
/// as possible); prints the durable rate and the keep-to-commit delays.
void durable(const std::string& path, chatroom::sqlite_history_options::sync_mode sync, const char* name,
             std::uint64_t count, double rate) {
    remove_db(path);
    chatroom::sqlite_history_options o;
    o.path = path;
    o.sync = sync;
    o.queue_limit = count + 1; // measure the writer, not the drops
    chatroom::sqlite_history store(o);
    std::vector<std::string> rooms;
    for (int r = 0; r < 10; ++r) rooms.push_back("room" + std::to_string(r));

    std::vector<clock_type::time_point> kept(count);
    std::vector<std::pair<clock_type::time_point, std::uint64_t>> commits; // when committed() reached n
    commits.reserve(1 << 20);
    std::atomic<bool> done{false};
    std::thread poller([&] {
        std::uint64_t last = 0;
        while (!done.load(std::memory_order_relaxed)) {
            const std::uint64_t now = store.committed();
            if (now != last) {
                commits.emplace_back(clock_type::now(), now);
                last = now;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    });
    const auto start = clock_type::now();
    for (std::uint64_t i = 0; i < count; ++i) {
        if (rate > 0) {
            const auto due = start + std::chrono::duration_cast<clock_type::duration>(
                                         std::chrono::duration<double>(static_cast<double>(i) / rate));
            while (clock_type::now() < due) std::this_thread::yield();
        }
        kept[i] = clock_type::now();
        store.keep(message(i + 1, rooms[i % rooms.size()]));
    }
    const auto all_kept = clock_type::now();
    store.flush();
    const auto all_committed = clock_type::now();
    done = true;
    poller.join();
    commits.emplace_back(all_committed, store.committed());

    std::vector<double> delays;
    delays.reserve(count);
    std::size_t c = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        while (c < commits.size() && commits[c].second <= i) ++c;
        if (c < commits.size()) delays.push_back(ms(commits[c].first - kept[i]));
    }
    const double seconds = std::chrono::duration<double>(all_committed - start).count();
    std::printf("%-7s %s: %llu messages, keep() %.0f/s, durable %.0f/s, dropped %llu; "
                "keep->commit p50 %.2f ms, p99 %.2f ms (poll 0.1 ms)\n",
                name, rate > 0 ? "steady" : "flood", static_cast<unsigned long long>(count),
                static_cast<double>(count) / std::chrono::duration<double>(all_kept - start).count(),
                static_cast<double>(store.committed()) / seconds, static_cast<unsigned long long>(store.dropped()),
                percentile(delays, 0.5), percentile(delays, 0.99));
    store.stop();
    remove_db(path);
}

/// One query's round trip, in ms.
double timed(chatroom::sqlite_history& store, const chatroom::history_query& q, std::size_t expect) {
    std::promise<std::size_t> got;
    auto result = got.get_future();
    const auto t0 = clock_type::now();
    store.query(q, [&](std::error_code ec, chatroom::history_page page) { got.set_value(ec ? 0 : page.events.size()); });
    const std::size_t n = result.get();
    const double took = ms(clock_type::now() - t0);
    if (n != expect) std::printf("  unexpected page of %zu events (wanted %zu)\n", n, expect);
    return took;
}

void pages(const std::string& path) {
    remove_db(path);
    constexpr std::uint64_t count = 1'000'000;
    {
        chatroom::sqlite_history_options o;
        o.path = path;
        o.sync = chatroom::sqlite_history_options::sync_mode::off;
        o.queue_limit = count + 1;
        chatroom::sqlite_history store(o);
        const auto t0 = clock_type::now();
        for (std::uint64_t i = 1; i <= count; ++i) store.keep(message(i, "big"));
        store.flush();
        std::printf("filled a room of %llu messages in %.1f s\n", static_cast<unsigned long long>(count),
                    std::chrono::duration<double>(clock_type::now() - t0).count());
    }
    chatroom::sqlite_history_options o;
    o.path = path;
    chatroom::sqlite_history store(o); // reopened: what a restarted server reads
    chatroom::history_query latest;
    latest.room = "big";
    latest.limit = 100;
    chatroom::history_query before = latest;
    before.range = chatroom::history_range::before;
    std::mt19937_64 random(42);
    std::uniform_int_distribution<std::uint64_t> middle(400'000, 600'000);
    for (int i = 0; i < 100; ++i) timed(store, latest, 100); // warm
    std::vector<double> a, b;
    for (int i = 0; i < 1000; ++i) a.push_back(timed(store, latest, 100));
    for (int i = 0; i < 1000; ++i) {
        before.id = std::to_string(middle(random));
        b.push_back(timed(store, before, 100));
    }
    std::printf("page of 100 from 1,000,000, warm: latest p50 %.3f ms p99 %.3f ms; "
                "before a middle id p50 %.3f ms p99 %.3f ms\n",
                percentile(a, 0.5), percentile(a, 0.99), percentile(b, 0.5), percentile(b, 0.99));
    store.stop();
    remove_db(path);
}

} // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "/tmp";
    const std::string path = dir + "/chatroom-history-bench.db";
    using sync = chatroom::sqlite_history_options::sync_mode;
    durable(path, sync::normal, "normal", 1'000'000, 0);
    durable(path, sync::full, "full", 1'000'000, 0);
    durable(path, sync::normal, "normal", 100'000, 20'000);
    durable(path, sync::full, "full", 100'000, 20'000);
    pages(path);
}
