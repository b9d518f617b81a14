#include <chatroom.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    asio::io_context io(1);
    chatroom::server_options options;
    options.name = "lab";
    options.history_lines = 20;
    options.concurrency = chatroom::threading::single; // only this thread runs io
    chatroom::server server(io, options);
    server.on_event([](const chatroom::server_event& e) {
        if (e.kind == chatroom::server_event_kind::joined) std::printf("%s joined %s\n", e.nick.c_str(), e.room.c_str());
    });
    const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 5000); // 0: any free port
    server.listen({asio::ip::make_address("127.0.0.1"), port});
    std::fprintf(stderr, "listening on 127.0.0.1:%u (tcp)\n", unsigned{server.local_endpoint().port()});
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code, int) { server.stop(); }); // io.run() returns once all is closed
    io.run();
}
