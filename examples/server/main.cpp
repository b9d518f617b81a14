// chatroom-server: a console chat server. `telnet localhost 5000` and
// `nc localhost 5000` are clients; so is chatroom-client.
#include <chatroom.hpp>
#if __has_include(<chatroom/web.hpp>)
#include <chatroom/web.hpp>
#define CHATROOM_HAS_WEB 1
#else
#define CHATROOM_HAS_WEB 0
#endif

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/signal_set.hpp>

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

struct settings {
    std::string bind = "0.0.0.0";
    unsigned short port = 5000;
    std::string unix_path;
    unsigned unix_mode = 0660;
    std::string tls_cert, tls_key;
    int tls_port = -1; // -1: TLS, if asked for, on --port instead of plain TCP
    int web_port = -1; // -1: no web listener
    std::string web_bind;
    std::vector<std::string> web_origins;
    std::vector<std::string> trusted_proxies;
    bool metrics = false;
    unsigned threads = 1;
    bool quiet = false;
    bool port_given = false;
    chatroom::server_options options;
};

// Many clients need many descriptors; the soft limit is often far below the hard one.
void raise_file_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

void log_line(const std::string& text) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
    std::fprintf(stderr, "%s %s\n", stamp, text.c_str());
}

void log_event(const chatroom::event& e) {
    using chatroom::event_kind;
    std::string reason = e.reason.empty() ? "" : " (" + e.reason + ")";
    switch (e.kind) {
    case event_kind::connected: log_line("connect " + e.nick + (e.address.empty() ? "" : " from " + e.address)); break;
    case event_kind::joined: log_line("join " + e.nick + " " + e.room); break;
    case event_kind::left: log_line("leave " + e.nick + " " + e.room + reason); break;
    case event_kind::nick_changed: log_line("nick " + e.old_nick + " -> " + e.nick); break;
    case event_kind::disconnected: log_line("disconnect " + e.nick + reason); break;
    case event_kind::error: log_line("error: " + e.text); break;
    case event_kind::message: break; // chat is not logged
    }
}

std::string describe(const asio::ip::tcp::endpoint& ep) {
    const auto a = ep.address();
    return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// Tests and scripts read these lines to learn the ports (--port 0).
void announce(const std::string& where, const char* kind) {
    log_line(std::string("chatroom-server ") + chatroom::version_string + " listening on " + where + " (" + kind + ")");
}

asio::ip::tcp::endpoint endpoint_of(const std::string& host, int port, const char* flag = "--bind") {
    std::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) throw std::invalid_argument(std::string("bad ") + flag + " address '" + host + "'");
    return {address, static_cast<unsigned short>(port)};
}

// Every listener the flags ask for, into one set of rooms.
void listen_all(chatroom::server& server, const settings& s) {
    const bool unix_only = !s.unix_path.empty() && !s.port_given;
    const bool tls_on_port = (!s.tls_cert.empty() || !s.tls_key.empty()) && s.tls_port < 0;
#if defined(CHATROOM_USE_OPENSSL)
    chatroom::tls_context tls;
    if (!s.tls_cert.empty() || !s.tls_key.empty()) {
        if (s.tls_cert.empty() || s.tls_key.empty()) throw std::invalid_argument("--tls-cert and --tls-key go together");
        tls = chatroom::make_server_tls_context(s.tls_cert, s.tls_key);
    } else if (s.tls_port >= 0) {
        throw std::invalid_argument("--tls-port needs --tls-cert and --tls-key");
    }
#else
    if (tls_on_port || s.tls_port >= 0) throw std::invalid_argument("built without TLS");
#endif
    if (!unix_only) {
        const auto ep = endpoint_of(s.bind, s.port);
#if defined(CHATROOM_USE_OPENSSL)
        if (tls_on_port) {
            announce(describe(server.listen_tls(ep, tls)), "tls");
        } else
#endif
        {
            server.listen(ep);
            announce(describe(server.local_endpoint()), "tcp");
        }
    }
#if defined(CHATROOM_USE_OPENSSL)
    if (s.tls_port >= 0) announce(describe(server.listen_tls(endpoint_of(s.bind, s.tls_port), tls)), "tls");
#endif
    if (!s.unix_path.empty()) {
        server.listen_unix(s.unix_path);
        announce(s.unix_path, "unix");
    }
    if (s.web_port >= 0) {
#if !CHATROOM_HAS_WEB
        throw std::invalid_argument("built without the web listener");
#else
        chatroom::web_options web;
        web.allowed_origins = s.web_origins;
        web.trusted_proxies = s.trusted_proxies;
        web.metrics = s.metrics;
        const auto ep = s.web_bind.empty() ? endpoint_of(s.bind, s.web_port)
                                            : endpoint_of(s.web_bind, s.web_port, "--web-bind");
#if defined(CHATROOM_USE_OPENSSL)
        if (tls) {
            announce("https://" + describe(server.listen_web_tls(ep, web, tls)), "web");
            return;
        }
#endif
        announce("http://" + describe(server.listen_web(ep, web)), "web");
#endif
    }
}

int serve(asio::io_context& io, const settings& s) {
    chatroom::server server(io, s.options);
    // Chat itself is not logged, so message events are not asked for.
    if (s.quiet) server.on_event(log_event, chatroom::mask_of(chatroom::event_kind::error));
    else server.on_event(log_event, chatroom::all_events & ~chatroom::mask_of(chatroom::event_kind::message));
    try {
        listen_all(server, s);
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "chatroom-server: cannot listen: %s\n", e.code().message().c_str());
        return 1;
    }
    log_line("serving with " + std::to_string(s.threads) + (s.threads == 1 ? " thread" : " threads"));

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code error, int signo) {
        if (error) return;
        log_line(std::string("received ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
        server.stop();
    });

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < s.threads; ++i) pool.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
    auto st = server.stats();
    log_line("stopped: " + std::to_string(st.accepted) + " connections, " + std::to_string(st.lines_in) +
             " lines in, " + std::to_string(st.lines_delivered) + " delivered");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    auto& o = s.options;
    CLI::App app{"chatroom-server: a chat server for telnet, nc and chatroom-client"};
    app.set_version_flag("--version", std::string("chatroom-server ") + chatroom::version_string);
    app.add_option("--bind", s.bind, "Address to listen on (:: for IPv6 and IPv4)")->capture_default_str();
    auto* port = app.add_option("--port", s.port, "TCP port (0: any free port)")->capture_default_str();
    app.add_option("--unix", s.unix_path, "Also listen on this Unix socket path (alone: instead of TCP)");
    app.add_option("--unix-mode", s.unix_mode, "Permissions of the Unix socket file (octal, e.g. 0660)")
        ->capture_default_str();
#if defined(CHATROOM_USE_OPENSSL)
    app.add_option("--tls-cert", s.tls_cert, "Certificate chain file (PEM): serve TLS (on --port unless --tls-port)");
    app.add_option("--tls-key", s.tls_key, "Private key file (PEM)");
    app.add_option("--tls-port", s.tls_port, "Serve TLS on this port too, beside plain TCP on --port")
        ->check(CLI::Range(0, 65535));
#endif
    app.add_option("--web-port", s.web_port, "Serve browsers (chat page, WebSocket) on this port")
        ->check(CLI::Range(0, 65535));
    app.add_option("--web-bind", s.web_bind, "Address of the web listener (default: --bind)");
    app.add_option("--web-origin", s.web_origins,
                   "Origin allowed to open a WebSocket (scheme://host:port; repeatable; default: the server's own)");
    app.add_option("--trusted-proxy", s.trusted_proxies,
                   "Address whose X-Forwarded-For header is believed (repeatable)");
    app.add_flag("--metrics", s.metrics, "Serve GET /metrics (Prometheus text) on the web listener");
    app.add_option("--threads", s.threads, "Threads running the server")->capture_default_str()->check(
        CLI::Range(1u, 256u));
    app.add_option("--name", o.name, "Server name shown in the welcome")->capture_default_str();
    app.add_option("--welcome", o.welcome, "Extra welcome text");
    app.add_option("--quiet-room-size", o.quiet_room_size,
                   "Rooms this large announce no joins and leaves (0: always announce)")
        ->capture_default_str();
    app.add_option("--history", o.history_lines, "Lines of history replayed to joiners")->capture_default_str();
    app.add_option("--max-line", o.max_line_bytes, "Longest line in bytes")->capture_default_str();
    app.add_option("--max-queue", o.max_queue_bytes, "Output bytes queued per client before it is dropped as too slow")
        ->capture_default_str();
    app.add_option("--soft-queue", o.soft_queue_bytes,
                   "Output queued per client past which its room's senders pause (0: a quarter of --max-queue)")
        ->capture_default_str();
    double write_deadline = std::chrono::duration<double>(o.write_deadline).count();
    app.add_option("--write-deadline", write_deadline,
                   "Seconds a client may stay past the soft mark before it is dropped as too slow")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--max-clients", o.max_connections, "Most connections at once")->capture_default_str();
    app.add_option("--max-per-ip", o.max_connections_per_address, "Most connections from one address (0: no limit)")
        ->capture_default_str();
    app.add_option("--flood-rate", o.flood_lines_per_second, "Lines per second per client (0: no flood control)")
        ->capture_default_str();
    app.add_option("--flood-burst", o.flood_burst, "Lines a client may send at once before flood control")
        ->capture_default_str();
    long idle = 0, first_line = 0;
    app.add_option("--idle-timeout", idle, "Seconds of silence before a client is dropped (0: never)")
        ->capture_default_str();
    app.add_option("--first-line-timeout", first_line,
                   "Seconds a new client has to send its first line (0: no limit)")
        ->capture_default_str();
    app.add_flag("--quiet", s.quiet, "Log only errors, not connects, joins and leaves");
    CLI11_PARSE(app, argc, argv);
    s.port_given = port->count() > 0;

    o.write_deadline = std::chrono::milliseconds(static_cast<long long>(write_deadline * 1000));
    o.idle_timeout = std::chrono::seconds(idle);
    o.first_line_timeout = std::chrono::seconds(first_line);
    o.unix_socket_mode = s.unix_mode;
    o.concurrency = s.threads == 1 ? chatroom::threading::single : chatroom::threading::multi;

    std::signal(SIGPIPE, SIG_IGN);
    raise_file_limit();
    asio::io_context io(static_cast<int>(s.threads));

    try {
        return serve(io, s);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "chatroom-server: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chatroom-server: %s\n", e.what());
        return 1;
    }
}
