// A host program built from single_include/ alone (no include/ on its path):
// browsers come from <chatroom/web.hpp>, which brings <chatroom.hpp> with it.
// It serves the web listener and reads its own /healthz.
#include <chatroom/web.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <cstdio>
#include <string>
#include <thread>

int main() {
    asio::io_context io(1);
    chatroom::server server(io);
    const auto ep = chatroom::listen_web(server, {asio::ip::make_address("127.0.0.1"), 0}, chatroom::web_options{});
    std::thread runner([&] { io.run(); });

    std::string answer;
    try {
        asio::io_context client_io;
        asio::ip::tcp::socket s(client_io);
        s.connect(ep);
        const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(ep.port()) +
                                    "\r\nConnection: close\r\n\r\n";
        asio::write(s, asio::buffer(request));
        std::error_code ec;
        char chunk[1024];
        for (std::size_t n; (n = s.read_some(asio::buffer(chunk), ec)) > 0 || !ec;) answer.append(chunk, n);
    } catch (const std::exception& e) {
        std::printf("single_web: %s\n", e.what());
    }
    server.stop();
    runner.join();
    const bool ok = answer.rfind("HTTP/1.1 200", 0) == 0 && answer.size() >= 2 && answer.find("\r\n\r\nok") != std::string::npos;
    std::printf("single_web: %s\n", ok ? "ok" : answer.c_str());
    return ok ? 0 : 1;
}
