// The durability test's writer (test_durability.py): opens the store at
// argv[2] and either
//   write: keeps messages 1, 2, 3, ... (room "room<n % 3>", time base + n ms,
//          text "message <n>\n"; n continues after last_seq()) in chunks,
//          printing "kept K" (the last seq kept) before each flush and
//          "committed C" (the last seq committed) after it, until killed;
//   check: prints "last_seq N" and how many of the 3 rooms have a latest
//          message (what the reopened store reads back).
#include <chatroom/sqlite.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <future>
#include <memory>
#include <string>

namespace {

constexpr std::int64_t base_ms = 1'700'000'000'000;
constexpr std::uint64_t chunk = 500;

int write(chatroom::sqlite_history& store) {
    const std::uint64_t start = store.last_seq();
    std::uint64_t n = start;
    while (n < 10'000'000) {
        for (std::uint64_t i = 0; i < chunk; ++i) {
            ++n;
            chatroom::room_event e;
            e.room = "room" + std::to_string(n % 3);
            e.seq = n;
            e.time = std::chrono::system_clock::time_point(
                std::chrono::duration_cast<std::chrono::system_clock::duration>(
                    std::chrono::milliseconds(base_ms + static_cast<std::int64_t>(n))));
            e.nick = "writer";
            e.add_line("message " + std::to_string(n));
            store.keep(e);
        }
        std::printf("kept %llu\n", static_cast<unsigned long long>(n));
        std::fflush(stdout);
        store.flush();
        std::printf("committed %llu\n", static_cast<unsigned long long>(start + store.committed()));
        std::fflush(stdout);
    }
    return 0;
}

int check(chatroom::sqlite_history& store) {
    std::printf("last_seq %llu\n", static_cast<unsigned long long>(store.last_seq()));
    std::uint64_t rows = 0;
    for (int room = 0; room < 3; ++room) {
        chatroom::history_query q;
        q.room = "ROOM" + std::to_string(room);
        q.range = chatroom::history_range::latest;
        q.limit = 1;
        std::promise<std::size_t> got;
        store.query(q, [&](std::error_code ec, chatroom::history_page page) {
            got.set_value(ec ? 0 : page.events.size());
        });
        rows += got.get_future().get();
    }
    std::printf("rooms with a latest message %llu\n", static_cast<unsigned long long>(rows));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3 || (std::strcmp(argv[1], "write") != 0 && std::strcmp(argv[1], "check") != 0)) {
        std::fprintf(stderr, "usage: sqlite-writer write|check FILE\n");
        return 2;
    }
    try {
        chatroom::sqlite_history_options o;
        o.path = argv[2];
        o.on_error = [](std::string line) { std::fprintf(stderr, "%s\n", line.c_str()); };
        chatroom::sqlite_history store(o);
        return std::strcmp(argv[1], "write") == 0 ? write(store) : check(store);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sqlite-writer: %s\n", e.what());
        return 1;
    }
}
