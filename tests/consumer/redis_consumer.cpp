// A host program that scales out: chatroom::redis found through the package
// or the subdirectory, hiredis linked through it. No Redis listens on the
// port given, so the server holds its members' lines; it must still stop.
#include <chatroom.hpp>
#include <chatroom/redis.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <cstdio>

int main() {
    asio::io_context io(1);
    chatroom::server server(io);
    chatroom::redis_options options;
    options.instances.push_back(*chatroom::parse_redis_endpoint("127.0.0.1:1"));
    options.node_id = "consumer";
    server.set_room_log(chatroom::redis_backplane_factory(options));
    server.listen({asio::ip::make_address("127.0.0.1"), 0});
    chatroom::backplane_state seen = chatroom::backplane_state::none;
    asio::steady_timer check(io, std::chrono::milliseconds(300));
    check.async_wait([&](std::error_code) {
        seen = server.stats().backplane;
        server.stop();
    });
    asio::steady_timer deadline(io, std::chrono::seconds(20));
    deadline.async_wait([&](std::error_code ec) {
        if (!ec) io.stop();
    });
    io.run_for(std::chrono::seconds(20));
    if (seen != chatroom::backplane_state::holding) {
        std::fprintf(stderr, "redis_consumer: backplane %s, expected holding\n", chatroom::to_string(seen));
        return 1;
    }
    std::puts("redis_consumer: held while Redis was unreachable, and stopped");
    return 0;
}
