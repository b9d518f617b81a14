// The package's smoke test: a server and a client in one io_context; the
// first line the server sends the client ends the run.
#include <chatroom.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main() {
    asio::io_context io(1);
    chatroom::server_options options;
    options.concurrency = chatroom::threading::single;
    chatroom::server server(io, options);
    server.listen({asio::ip::make_address("127.0.0.1"), 0});
    chatroom::client client(io);
    std::string first;
    client.on_line([&](std::string_view line) {
        if (!first.empty()) return;
        first = std::string(line);
        client.close();
        server.stop();
    });
    client.connect(server.local_endpoint());
    io.run_for(std::chrono::seconds(20));
    std::printf("chatroom %s: %s\n", chatroom::version_string, first.c_str());
    return first.empty() ? 1 : 0;
}
