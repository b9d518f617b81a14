// A game server's chat, embedded in the game's own io_context: a private
// room per match (players are moved there by the game, four at most), a
// custom command (/roll), a mirror of every chat line in each room's order
// (what a replay or a moderation log would keep), announcements from the
// game's own thread, and a clean stop: async_stop completes once every
// player is gone and no callback of the server will run again.
//
// Usage: chatroom-game-example [PORT] (default 5000; 0 picks a free port)
// Players: /match N puts you in match N's room, /roll [SIDES] rolls a die.
#include <chatroom.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 5000);
    asio::io_context io(1);
    chatroom::server_options options;
    options.name = "arena";
    options.concurrency = chatroom::threading::single; // only this thread runs io
    chatroom::server server(io, options);

    // One private room per match, made before anyone arrives and kept empty.
    for (int match = 1; match <= 3; ++match) {
        chatroom::room_options room;
        room.topic = "match " + std::to_string(match) + ": good luck";
        room.is_private = true; // entered only when the game moves a player there
        room.max_members = 4;
        room.persistent = true;
        server.create_room("match-" + std::to_string(match), room);
    }

    // The mirror: every chat line and action, per room in the order the
    // players saw them, with the id and time the server gave it.
    auto mirror = server.on_event(
        [](const chatroom::server_event& e) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch()).count();
            std::printf("mirror %s #%s @%lld %s%s: %s\n", e.room.c_str(), e.id.c_str(), static_cast<long long>(ms),
                        e.action ? "* " : "", e.nick.c_str(), e.text.c_str());
            std::fflush(stdout);
        },
        chatroom::mask_of(chatroom::server_event_kind::message));

    // /match N: the game decides who plays where (here: anyone, if there is room).
    server.add_command("match", "/match N: join match N's room", [&server](chatroom::command_call& call) {
        if (call.args() != "1" && call.args() != "2" && call.args() != "3")
            return call.refuse("no match " + call.args() + " (matches 1 to 3)");
        const std::string room = "match-" + call.args();
        if (auto moved = server.move(call.caller().nick, room); !moved)
            call.refuse("cannot join " + room + ": " + moved.error().message());
    });
    // /roll [SIDES]: the result goes to the caller's room as the caller's line.
    std::mt19937 dice(std::random_device{}());
    server.add_command("roll", "/roll [SIDES]: roll a die (6 sides unless given)", [&dice](chatroom::command_call& call) {
        int sides = std::atoi(call.args().c_str());
        if (sides < 2 || sides > 1000) sides = 6;
        const int got = std::uniform_int_distribution<int>(1, sides)(dice);
        call.say("rolls 1d" + std::to_string(sides) + ": " + std::to_string(got));
    });

    const auto where = server.listen_tcp({asio::ip::make_address("127.0.0.1"), port});
    std::fprintf(stderr, "game: listening on 127.0.0.1:%u (tcp)\n", static_cast<unsigned>(where.port()));

    // The game's own thread announces rounds; notice() may be called from any thread.
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::thread announcer([&] {
        std::unique_lock<std::mutex> lock(m);
        for (int round = 1; !cv.wait_for(lock, std::chrono::seconds(2), [&] { return done; }); ++round)
            server.notice("lobby", "round " + std::to_string(round) + " begins in the arena");
    });

    // SIGINT or SIGTERM: stop; run() returns once async_stop has completed.
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code, int) {
        server.async_stop([] { std::fprintf(stderr, "game: chat stopped, no callback will run again\n"); });
    });
    io.run();

    {
        std::lock_guard<std::mutex> lock(m);
        done = true;
    }
    cv.notify_all();
    announcer.join();
    mirror.unsubscribe();
}
