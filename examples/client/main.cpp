// chatroom-client: a console chat client. One thread, one event loop over
// the connection and the keyboard: lines arrive while you type.
//   chatroom-client [HOST] [PORT]          (default localhost 5000)
//   chatroom-client --nick ann --room dev --reconnect --timestamps
//   printf '/nick bot\nhello\n' | chatroom-client
// On a terminal it edits lines with libedit (history in
// $XDG_STATE_HOME/chatroom/history) and colours what arrives; through pipes
// it reads and writes plain lines.
#include "line_editor.hpp"
#include "painter.hpp"

#include <chatroom.hpp>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>

namespace {

struct settings {
    std::string host = "localhost";
    std::string port = "5000";
    std::string unix_path;
    bool tls = false;
    std::string ca_file;
    bool insecure = false;
    std::string nick, room;
    bool reconnect = false;
    bool no_color = false;
    bool timestamps = false;
};

// Reads stdin line by line when it is not a terminal (or stdout is not), and
// feeds each line to on_line, then calls on_end once. A pipe is watched by
// the event loop; a regular file cannot be (epoll refuses it), so it is read
// by a helper thread that posts its lines.
class plain_input {
public:
    plain_input(asio::io_context& io, std::function<void(std::string)> on_line, std::function<void()> on_end)
        : io_(io), stdin_(io), on_line_(std::move(on_line)), on_end_(std::move(on_end)) {}

    ~plain_input() {
        if (reader_.joinable()) reader_.detach();
        // Asio made the shared descriptor non-blocking; whoever reads this
        // terminal or pipe next expects it as it was.
        if (flags_ != -1) ::fcntl(STDIN_FILENO, F_SETFL, flags_);
    }

    void start() {
        flags_ = ::fcntl(STDIN_FILENO, F_GETFL);
        std::error_code ec;
        stdin_.assign(::dup(STDIN_FILENO), ec);
        if (!ec) {
            read();
            return;
        }
        reader_ = std::thread([this] {
            std::string line;
            while (std::getline(std::cin, line)) {
                if (!line.empty() && line.back() == '\r') line.pop_back(); // CRLF input, as below
                asio::post(io_, [this, line] { on_line_(line); });
            }
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
    int flags_ = -1;
};

bool is_quit(std::string_view line) {
    return line.substr(0, 5) == "/quit" && (line.size() == 5 || line[5] == ' ');
}

std::string seconds(std::chrono::milliseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

// One chat session over any kind of client; returns the exit status.
template <class Client>
int chat(asio::io_context& io, Client& client, const settings& s, bool terminal, bool colour,
         const std::function<void()>& connect) {
    int status = 0;
    bool leaving = false;
    bool ever_connected = false;
    console::painter paint(colour, s.timestamps);
    // Re-applied on every connection: what --nick and --room asked for, then
    // whatever the user changed them to since.
    std::string want_nick = s.nick, want_room = s.room;

    std::unique_ptr<console::line_editor> editor;
    std::unique_ptr<plain_input> plain;
    auto show = [&](std::string_view text) {
        if (editor) {
            editor->print(text);
        } else {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fputc('\n', stdout);
            std::fflush(stdout);
        }
    };
    // The client's own notices; on a terminal only, so that a script reading
    // stdout sees nothing but the server's lines.
    auto say = [&](const std::string& text) {
        if (terminal) show(paint.render("* " + text));
        else std::fprintf(stderr, "chatroom-client: %s\n", text.c_str());
    };
    auto finish = [&](int code) {
        status = code;
        if (editor) editor->stop();
        io.stop();
    };

    client.on_line([&](std::string_view line) {
        const bool was_me = paint.observe(line);
        if (was_me) want_nick = paint.own_nick();
        if (line.substr(0, 9) == "* joined ") want_room = paint.room();
        show(paint.render(line));
    });
    client.on_connect([&] {
        if (!want_nick.empty()) client.send("/nick " + want_nick);
        if (!want_room.empty()) client.send("/join " + want_room);
    });
    client.on_state([&](chatroom::client_state state, std::error_code ec, std::chrono::milliseconds next) {
        using chatroom::client_state;
        if (state == client_state::connected) {
            if (ever_connected) say("reconnected");
            ever_connected = true;
        } else if (state == client_state::waiting_to_reconnect) {
            if (ec) say((ever_connected ? "connection lost (" : "cannot connect (") + ec.message() +
                        "); reconnecting in " + seconds(next));
            else say("connection lost; reconnecting in " + seconds(next));
        }
    });
    client.on_disconnect([&](std::error_code ec, const std::string& reason) {
        if (leaving && !ec) return finish(0);
        if (editor) editor->stop();
        std::fprintf(stderr, "chatroom-client: %s\n", reason.c_str());
        finish(1);
    });
    if (s.reconnect) {
        chatroom::reconnect_policy policy;
        policy.enabled = true;
        policy.initial_delay = std::chrono::milliseconds(1000);
        policy.max_delay = std::chrono::milliseconds(30000);
        client.set_reconnect(policy);
    }

    auto on_input = [&](std::string line) {
        if (leaving) return;
        std::error_code refused;
        client.send(line, refused); // a CR inside the line: one send is one line, so it is not sent
        if (refused) return say("not sent: " + refused.message());
        if (is_quit(line)) {
            leaving = true;
            client.close();
        }
    };
    auto on_end = [&] {
        if (leaving) return;
        leaving = true;
        client.close();
    };

    // Signals end the program through the loop, so the terminal is restored
    // on the way out whatever the reason.
    asio::signal_set stop_signals(io, SIGTERM, SIGHUP);
    asio::signal_set keys(io);
    if (terminal) {
        keys.add(SIGINT);
        keys.add(SIGWINCH);
        keys.add(SIGTSTP);
    }
    std::function<void()> watch_stop = [&] {
        stop_signals.async_wait([&](std::error_code ec, int sig) {
            if (ec) return;
            if (editor) editor->stop();
            client.abort();
            finish(128 + sig);
        });
    };
    std::function<void()> watch_keys = [&] {
        keys.async_wait([&](std::error_code ec, int sig) {
            if (ec || !editor) return;
            if (sig == SIGINT) editor->clear_line();
            else if (sig == SIGWINCH) editor->resize();
            else if (sig == SIGTSTP) editor->suspend();
            watch_keys();
        });
    };
    watch_stop();
    if (terminal) watch_keys();

    if (terminal) {
        editor = std::make_unique<console::line_editor>(io, "> ", on_input, on_end);
        editor->start();
    } else {
        plain = std::make_unique<plain_input>(io, on_input, on_end);
    }
    connect();
    if (plain) plain->start();
    io.run();
    if (editor) editor->stop();
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
    app.add_option("--nick", s.nick, "Take this nick on connecting (and on every reconnect)");
    app.add_option("--room", s.room, "Join this room on connecting (and on every reconnect)");
    app.add_flag("--reconnect", s.reconnect, "When the connection is lost, connect again, with backoff");
    app.add_flag("--no-color", s.no_color, "No colours (also with NO_COLOR set, or when stdout is not a terminal)");
    app.add_flag("--timestamps", s.timestamps, "Prefix each line with the time, [HH:MM]");
    CLI11_PARSE(app, argc, argv);

    const bool terminal = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
    const bool colour = ::isatty(STDOUT_FILENO) && !s.no_color && !std::getenv("NO_COLOR");
    // libedit edits and measures UTF-8 text in the user's locale.
    if (terminal) std::setlocale(LC_CTYPE, "");

    std::signal(SIGPIPE, SIG_IGN);
    asio::io_context io(1);
    try {
        if (!s.unix_path.empty()) {
            chatroom::basic_client<asio::local::stream_protocol> client(io);
            return chat(io, client, s, terminal, colour,
                        [&] { client.connect(asio::local::stream_protocol::endpoint(s.unix_path)); });
        }
#if defined(CHATROOM_USE_OPENSSL)
        if (s.tls || !s.ca_file.empty() || s.insecure) {
            auto ctx = chatroom::make_client_tls_context(s.ca_file, !s.insecure);
            chatroom::basic_client<chatroom::tls<asio::ip::tcp>> client(io, {}, ctx);
            return chat(io, client, s, terminal, colour, [&] { client.connect(s.host, s.port); });
        }
#endif
        chatroom::client client(io);
        return chat(io, client, s, terminal, colour, [&] { client.connect(s.host, s.port); });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chatroom-client: %s\n", e.what());
        return 1;
    }
}
