// A chat bot as a C++20 coroutine: it connects, joins a room, answers
// "!ping" with "pong, <who asked>", and comes back by itself when the
// server restarts. Only the public API: the client reconnects with its
// reconnect_policy, on_connect re-applies the nick and the room on every
// connection, and the coroutine just awaits lines.
//
//   chatroom-coro-bot HOST PORT [ROOM] [NICK]     (defaults: bots, pingbot)
//
// SIGINT or SIGTERM closes the client; the pending receive then fails with
// client_errc::closed, the coroutine ends and so does the program.
#include <chatroom.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>

namespace {

// "<alice> !ping" -> "alice"; anything else -> "".
std::string_view asker(std::string_view line) {
    constexpr std::string_view command = "> !ping";
    if (line.size() <= command.size() + 1 || line.front() != '<' ||
        line.substr(line.size() - command.size()) != command)
        return {};
    return line.substr(1, line.size() - command.size() - 1);
}

asio::awaitable<void> bot(chatroom::client& client, std::string host, std::string port) {
    // With a reconnect policy this completes once a connection is up, however
    // many tries that takes, and fails only if the client is closed first.
    co_await client.async_connect(host, port, asio::use_awaitable);
    for (;;) {
        // Waits across reconnections; fails once the client is closed.
        const std::string line = co_await client.async_receive(asio::use_awaitable);
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
        if (const auto who = asker(line); !who.empty())
            co_await client.async_send("pong, " + std::string(who), asio::use_awaitable);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s HOST PORT [ROOM] [NICK]\n", argv[0]);
        return 2;
    }
    const std::string room = argc > 3 ? argv[3] : "bots";
    const std::string nick = argc > 4 ? argv[4] : "pingbot";

    asio::io_context io(1);
    chatroom::client client(io);
    chatroom::reconnect_policy policy;
    policy.enabled = true;
    policy.initial_delay = std::chrono::milliseconds(100);
    policy.max_delay = std::chrono::milliseconds(2000);
    client.set_reconnect(policy);
    // Sent first on every connection, ahead of anything queued meanwhile.
    client.on_connect([&] {
        client.send("/nick " + nick);
        client.send("/join " + room);
    });
    client.on_state([](chatroom::client_state s, std::error_code ec, std::chrono::milliseconds next) {
        std::fprintf(stderr, "bot: %s%s%s", std::string(chatroom::to_string(s)).c_str(), ec ? ": " : "",
                     ec ? ec.message().c_str() : "");
        if (s == chatroom::client_state::waiting_to_reconnect)
            std::fprintf(stderr, " (%lld ms)", static_cast<long long>(next.count()));
        std::fprintf(stderr, "\n");
    });

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
        if (!ec) client.close();
    });

    int status = 0;
    asio::co_spawn(io, bot(client, argv[1], argv[2]), [&](std::exception_ptr e) {
        signals.cancel();
        try {
            if (e) std::rethrow_exception(e);
        } catch (const std::system_error& error) {
            if (error.code() == chatroom::client_errc::closed) return; // closed by a signal
            std::fprintf(stderr, "bot: %s\n", error.what());
            status = 1;
        } catch (...) {
            std::fprintf(stderr, "bot: failed\n");
            status = 1;
        }
    });
    io.run();
    return status;
}
