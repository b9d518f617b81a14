// A host program: a server and a client in one io_context, one line across.
#include <chatroom.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <cstdio>
#include <string>

int main() {
    asio::io_context io(1);
    chatroom::server_options options;
    options.concurrency = chatroom::threading::single;
    chatroom::server server(io, options);
    server.listen({asio::ip::make_address("127.0.0.1"), 0});

    chatroom::client client(io);
    std::string seen;
    client.on_line([&](std::string_view line) {
        if (line.rfind("* joined lobby", 0) == 0) server.notice("lobby", "hello from the host");
        if (line == "* hello from the host") {
            seen = std::string(line);
            client.close();
            server.stop();
        }
    });
    client.connect(server.local_endpoint());
    asio::steady_timer deadline(io, std::chrono::seconds(20));
    deadline.async_wait([&](std::error_code ec) {
        if (!ec) io.stop();
    });
    server.on_event([&](const chatroom::server_event& e) {
        if (e.kind == chatroom::server_event_kind::disconnected) deadline.cancel();
    });
    io.run();
    std::printf("%s\n", seen.c_str());
    return seen.empty() ? 1 : 0;
}
