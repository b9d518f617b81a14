// chatroom-client: a console chat client. One thread, one event loop over
// the connection and stdin: lines arrive while you type.
//   chatroom-client [HOST] [PORT]          (default localhost 5000)
//   printf '/nick bot\nhello\n' | chatroom-client
#include <chatroom.hpp>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <istream>
#include <memory>
#include <string>
#include <thread>

namespace {

struct settings {
    std::string host = "localhost";
    std::string port = "5000";
    std::string unix_path;
    bool tls = false;
    std::string ca_file;
    bool insecure = false;
};

// Reads stdin and feeds each line to on_line, then calls on_end once. A
// pipe or terminal is watched by the event loop; a regular file cannot be
// (epoll refuses it), so it is read by a helper thread that posts its lines.
class console_input {
public:
    console_input(asio::io_context& io, std::function<void(std::string)> on_line, std::function<void()> on_end)
        : io_(io), stdin_(io), on_line_(std::move(on_line)), on_end_(std::move(on_end)) {}

    ~console_input() {
        if (reader_.joinable()) reader_.detach();
    }

    void start() {
        std::error_code ec;
        stdin_.assign(::dup(STDIN_FILENO), ec);
        if (!ec) {
            read();
            return;
        }
        reader_ = std::thread([this] {
            std::string line;
            while (std::getline(std::cin, line)) asio::post(io_, [this, line] { on_line_(line); });
            asio::post(io_, [this] { on_end_(); });
        });
    }

private:
    void read() {
        stdin_.async_read_some(asio::buffer(chunk_), [this](std::error_code ec, std::size_t n) {
            for (std::size_t i = 0; i < n; ++i) {
                if (chunk_[i] != '\n') {
                    pending_ += chunk_[i];
                    continue;
                }
                if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
                on_line_(std::exchange(pending_, {}));
            }
            if (ec) { // end of input; a last line without LF still counts
                if (!pending_.empty()) on_line_(std::exchange(pending_, {}));
                on_end_();
                return;
            }
            read();
        });
    }

    asio::io_context& io_;
    asio::posix::stream_descriptor stdin_;
    std::array<char, 4096> chunk_{};
    std::string pending_;
    std::function<void(std::string)> on_line_;
    std::function<void()> on_end_;
    std::thread reader_;
};

template <class Client>
int chat(asio::io_context& io, Client& client, const std::function<void()>& connect) {
    int status = 0;
    bool leaving = false;
    client.on_line([](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
    });
    client.on_disconnect([&](std::error_code ec, const std::string& reason) {
        if (leaving && !ec) {
            status = 0;
        } else {
            std::fprintf(stderr, "chatroom-client: %s\n", reason.c_str());
            status = 1;
        }
        io.stop();
    });
    console_input input(
        io,
        [&](std::string line) {
            if (leaving) return;
            client.send(line);
            std::string_view word(line);
            if (word.substr(0, 5) == "/quit" && (word.size() == 5 || word[5] == ' ')) {
                leaving = true;
                client.close();
            }
        },
        [&] {
            if (leaving) return;
            leaving = true;
            client.close();
        });
    connect();
    input.start();
    io.run();
    return status;
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    CLI::App app{"chatroom-client: chat with a chatroom server"};
    app.set_version_flag("--version", std::string("chatroom-client ") + chatroom::version_string);
    app.add_option("host", s.host, "Server host")->capture_default_str();
    app.add_option("port", s.port, "Server port")->capture_default_str();
    app.add_option("--unix", s.unix_path, "Connect to this Unix socket path instead");
#if defined(CHATROOM_USE_OPENSSL)
    app.add_flag("--tls", s.tls, "Use TLS; the server's certificate and host name are verified");
    app.add_option("--ca", s.ca_file, "Trust this CA file (PEM) instead of the system store");
    app.add_flag("--insecure", s.insecure, "Skip certificate verification (testing only)");
#endif
    CLI11_PARSE(app, argc, argv);

    std::signal(SIGPIPE, SIG_IGN);
    asio::io_context io(1);
    try {
        if (!s.unix_path.empty()) {
            chatroom::basic_client<asio::local::stream_protocol> client(io);
            return chat(io, client, [&] { client.connect(asio::local::stream_protocol::endpoint(s.unix_path)); });
        }
#if defined(CHATROOM_USE_OPENSSL)
        if (s.tls || !s.ca_file.empty() || s.insecure) {
            auto ctx = chatroom::make_client_tls_context(s.ca_file, !s.insecure);
            chatroom::basic_client<chatroom::tls<asio::ip::tcp>> client(io, {}, ctx);
            return chat(io, client, [&] { client.connect(s.host, s.port); });
        }
#endif
        chatroom::client client(io);
        return chat(io, client, [&] { client.connect(s.host, s.port); });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chatroom-client: %s\n", e.what());
        return 1;
    }
}
