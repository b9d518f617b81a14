// chatroom-server: a console chat server. `telnet localhost 5000` and
// `nc localhost 5000` are clients; so is chatroom-client.
#include "accounts.hpp"
#include "log_limit.hpp"

#include <chatroom.hpp>
#include <chatroom/web.hpp>
#include <chatroom/irc.hpp>
#if defined(CHATROOM_WITH_REDIS)
#include <chatroom/redis.hpp>
#endif
#if defined(CHATROOM_WITH_SQLITE)
#include <chatroom/sqlite.hpp>
#endif

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/signal_set.hpp>

#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
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
    int irc_port = -1; // -1: no IRC listener
    int irc_tls_port = -1; // -1: no IRC listener over TLS
    std::string irc_name = "chatroom.irc";
    unsigned irc_ping = 120, irc_pong = 60; // seconds; 0: no keepalive pings
    std::string web_bind;
    std::vector<std::string> web_origins;
    std::vector<std::string> trusted_proxies;
    std::vector<std::string> web_hosts;
    bool metrics = false;
    unsigned threads = 1;
    bool quiet = false;
    bool port_given = false;
    std::string users_file; // --users: accounts, and /login
    std::string motd_file;  // --motd: the welcome text, reread on SIGHUP
    bool require_login = false;
    std::vector<std::string> redis;  // --redis HOST:PORT, in order: the cluster's instances
    std::vector<std::string> redis_sentinels; // --redis-sentinel HOST:PORT
    std::vector<std::string> redis_masters;   // --redis-master NAME, in order: the instances, through Sentinel
    std::string node_id;
    double redis_outage = 5;
    std::size_t redis_maxlen = 10000;
    std::string redis_prefix = "chatroom:";
    std::string redis_password_file;
    bool no_redis_history = false; // --no-redis-history: /history from the rooms' rings, not the streams
    std::string history_db;         // --history-db FILE: every line kept in SQLite
    std::size_t history_keep = 0;   // --history-keep N: per room, at most N (0: all)
    unsigned history_days = 0;      // --history-days D: none older (0: forever)
    std::string history_sync = "normal"; // --history-sync off|normal|full
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
    std::tm local{};
    localtime_r(&now, &local); // called from the history store's threads too
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
    std::fprintf(stderr, "%s %s\n", stamp, text.c_str());
}

void log_event(const chatroom::server_event& e) {
    using chatroom::server_event_kind;
    std::string reason = e.reason.empty() ? "" : " (" + e.reason + ")";
    switch (e.kind) {
    case server_event_kind::connected: log_line("connect " + e.nick + (e.address.empty() ? "" : " from " + e.address)); break;
    case server_event_kind::joined: log_line("join " + e.nick + " " + e.room); break;
    case server_event_kind::left: log_line("leave " + e.nick + " " + e.room + reason); break;
    case server_event_kind::nick_changed: log_line("nick " + e.old_nick + " -> " + e.nick); break;
    case server_event_kind::disconnected: log_line("disconnect " + e.nick + reason); break;
    case server_event_kind::error: log_line("error: " + e.text); break;
    case server_event_kind::message: break; // chat is not logged
    // Nothing typed after /login reaches the log: a secret typed in the
    // name's place would. A failed login names the connection (its nick and
    // address) and the outcome; a success, the account.
    case server_event_kind::logged_in: log_line("login " + e.nick + (e.address.empty() ? "" : " from " + e.address)); break;
    case server_event_kind::login_failed:
        log_line("login failed: " + e.nick + (e.address.empty() ? "" : " from " + e.address) + reason);
        break;
    case server_event_kind::kicked: log_line("kick " + e.nick + " " + e.room + " by " + e.by + reason); break;
    case server_event_kind::banned: {
        // An account's ban bans the address it is on too (docs/protocol.md).
        const bool account = e.text.rfind("account ", 0) == 0 && !e.address.empty();
        log_line("ban " + e.nick + " (" + e.text + (account ? ", address " + e.address : std::string()) + ") by " +
                 e.by + reason);
        break;
    }
    case server_event_kind::unbanned: log_line("unban " + e.text + " by " + e.by); break;
    case server_event_kind::muted: log_line("mute " + e.nick + " " + e.room + " by " + e.by); break;
    case server_event_kind::unmuted: log_line("unmute " + e.nick + " " + e.room + " by " + e.by); break;
    case server_event_kind::topic_changed:
        log_line("topic " + e.room + " by " + (e.by.empty() ? std::string("the host") : e.by) + ": " + e.text);
        break;
    case server_event_kind::backplane_changed: log_line("backplane " + e.text + (e.reason.empty() ? "" : ": " + e.reason)); break;
    }
}

// ---- accounts ----------------------------------------------------------------

// Reads one line of stdin into a buffer that is wiped; on a terminal the
// prompt goes to stderr and the typing is not echoed.
bool read_secret(const char* prompt, accounts::secret& out, std::string& why) {
    const bool tty = isatty(STDIN_FILENO) == 1;
    termios saved{};
    bool echo_off = false;
    if (tty) {
        // Echo goes off before the prompt, so nothing typed after it shows.
        if (tcgetattr(STDIN_FILENO, &saved) == 0) {
            echo_off = true;
            termios quiet = saved;
            quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        }
        std::fputs(prompt, stderr);
        std::fflush(stderr);
    }
    char buf[1024];
    std::size_t n = 0;
    bool too_long = false, ended = false;
    for (;;) {
        char c = 0;
        const ssize_t got = ::read(STDIN_FILENO, &c, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (c == '\n') {
            ended = true;
            break;
        }
        if (n < sizeof buf) buf[n++] = c;
        else too_long = true;
    }
    if (echo_off) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    if (tty) std::fputc('\n', stderr);
    if (n > 0 && buf[n - 1] == '\r') --n;
    const std::string_view text(buf, n);
    bool control = false;
    for (char c : text) control = control || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    if (too_long) why = "the secret is longer than " + std::to_string(sizeof buf) + " bytes";
    else if (text.empty()) why = ended || n ? "the secret is empty" : "no secret on standard input";
    else if (control) why = "the secret has control characters, which a chat line cannot carry";
    else if (text.front() == ' ' || text.front() == '\t' || text.back() == ' ' || text.back() == '\t')
        why = "the secret begins or ends with a blank, which /login NAME SECRET cannot carry";
    else out = accounts::secret(text);
    sodium_memzero(buf, sizeof buf);
    return why.empty();
}

// --hash-password: the secret from stdin (never from the command line, where
// ps and shell history would see it), its Argon2id string on stdout.
int hash_password() {
    accounts::init_sodium();
    accounts::secret first, again;
    std::string why;
    if (!read_secret("secret: ", first, why)) {
        std::fprintf(stderr, "chatroom-server: %s\n", why.c_str());
        return 1;
    }
    if (isatty(STDIN_FILENO) == 1) {
        if (!read_secret("again: ", again, why)) {
            std::fprintf(stderr, "chatroom-server: %s\n", why.c_str());
            return 1;
        }
        if (again.size() != first.size() || sodium_memcmp(again.data(), first.data(), first.size()) != 0) {
            std::fprintf(stderr, "chatroom-server: the two secrets differ\n");
            return 1;
        }
    }
    std::printf("%s\n", accounts::hash_secret(first.data(), first.size()).c_str());
    return std::fflush(stdout) == 0 ? 0 : 1;
}

// The users file, read at start (where a failure stops the server) and on
// SIGHUP (where it keeps the accounts in force).
class users_file {
public:
    explicit users_file(std::string path) : path_(std::move(path)) {}

    const std::shared_ptr<accounts::store>& store() const noexcept { return store_; }

    // False (and why) when the file cannot be used; bad lines are logged and skipped.
    bool load(std::string& why) {
        auto r = accounts::load_users(path_);
        for (const auto& p : r.parsed.problems) log_line("users file " + path_ + " " + p + " (line skipped)");
        for (const auto& w : r.parsed.warnings) log_line("users file " + path_ + " " + w);
        if (!r.ok) {
            why = r.why;
            return false;
        }
        count_ = store_->replace(std::move(r.parsed.accounts));
        return true;
    }

    void reload() {
        std::string why;
        if (load(why)) log_line("reloaded " + std::to_string(count_) + (count_ == 1 ? " user" : " users"));
        else log_line("users file not reloaded: " + why + "; keeping " + std::to_string(count_) +
                      (count_ == 1 ? " user" : " users"));
    }

    std::size_t size() const noexcept { return count_; }
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    std::shared_ptr<accounts::store> store_ = std::make_shared<accounts::store>();
    std::size_t count_ = 0;
};

// The message of the day: the file's text, its last line end dropped.
bool read_motd(const std::string& path, std::string& text, std::string& why) {
    if (!accounts::read_text_file(path, text, why, 64 * 1024)) return false;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return true;
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
    } else if (s.irc_tls_port >= 0) {
        throw std::invalid_argument("--irc-tls-port needs --tls-cert and --tls-key");
    }
#else
    if (tls_on_port || s.tls_port >= 0 || s.irc_tls_port >= 0) throw std::invalid_argument("built without TLS");
#endif
    if (!unix_only) {
        const auto ep = endpoint_of(s.bind, s.port);
#if defined(CHATROOM_USE_OPENSSL)
        if (tls_on_port) {
            announce(describe(chatroom::listen_tls(server, ep, tls)), "tls");
        } else
#endif
        {
            server.listen(ep);
            announce(describe(server.local_endpoint()), "tcp");
        }
    }
#if defined(CHATROOM_USE_OPENSSL)
    if (s.tls_port >= 0) announce(describe(chatroom::listen_tls(server, endpoint_of(s.bind, s.tls_port), tls)), "tls");
#endif
    if (!s.unix_path.empty()) {
        server.listen_unix(s.unix_path);
        announce(s.unix_path, "unix");
    }
    chatroom::irc_options irc;
    irc.server_name = s.irc_name;
    irc.ping_interval = std::chrono::seconds(s.irc_ping);
    irc.pong_timeout = std::chrono::seconds(s.irc_pong);
    if (s.irc_port >= 0) announce(describe(chatroom::listen_irc(server, endpoint_of(s.bind, s.irc_port), irc)), "irc");
#if defined(CHATROOM_USE_OPENSSL)
    if (s.irc_tls_port >= 0)
        announce(describe(chatroom::listen_irc_tls(server, endpoint_of(s.bind, s.irc_tls_port), irc, tls)), "ircs");
#endif
    if (s.web_port >= 0) {
        chatroom::web_options web;
        web.allowed_origins = s.web_origins;
        web.trusted_proxies = s.trusted_proxies;
        web.allowed_hosts = s.web_hosts;
        web.metrics = s.metrics;
        const auto ep = s.web_bind.empty() ? endpoint_of(s.bind, s.web_port)
                                            : endpoint_of(s.web_bind, s.web_port, "--web-bind");
#if defined(CHATROOM_USE_OPENSSL)
        if (tls) {
            announce("https://" + describe(chatroom::listen_web_tls(server, ep, web, tls)), "web");
            return;
        }
#endif
        announce("http://" + describe(chatroom::listen_web(server, ep, web)), "web");
    }
}

// SIGHUP: the users file and the motd, each kept as it was if it cannot be read.
void reload(users_file* users, const std::string& motd_file, chatroom::server& server) {
    log_line("received SIGHUP, reloading");
    if (users) users->reload();
    if (motd_file.empty()) return;
    std::string text, why;
    if (read_motd(motd_file, text, why)) {
        server.set_motd(std::move(text));
        log_line("reloaded the motd from " + motd_file);
    } else {
        log_line("motd not reloaded: " + why);
    }
}

int serve(asio::io_context& io, settings& s) {
    // The accounts and their verifier outlive the server, whose hooks call them.
    std::unique_ptr<users_file> users;
    std::unique_ptr<accounts::verifier> verifier;
    if (!s.users_file.empty()) {
        users = std::make_unique<users_file>(s.users_file);
        std::string why;
        if (!users->load(why)) throw std::invalid_argument("--users: " + why);
        log_line("loaded " + std::to_string(users->size()) + (users->size() == 1 ? " user" : " users") + " from " +
                 users->path());
        verifier = std::make_unique<accounts::verifier>(users->store());
    }
    if (!s.motd_file.empty()) {
        std::string why;
        if (!read_motd(s.motd_file, s.options.welcome, why)) throw std::invalid_argument("--motd: " + why);
    }

    chatroom::server server(io, s.options);
    if (!s.redis.empty() || !s.redis_masters.empty()) {
#if defined(CHATROOM_WITH_REDIS)
        chatroom::redis_options r;
        for (const auto& text : s.redis) {
            auto ep = chatroom::parse_redis_endpoint(text);
            if (!ep) throw std::invalid_argument("bad --redis '" + text + "' (HOST:PORT)");
            r.instances.push_back(*ep);
        }
        for (const auto& text : s.redis_sentinels) {
            auto ep = chatroom::parse_redis_endpoint(text);
            if (!ep) throw std::invalid_argument("bad --redis-sentinel '" + text + "' (HOST:PORT)");
            r.sentinels.push_back(*ep);
        }
        r.masters = s.redis_masters;
        if (!r.masters.empty() && (r.sentinels.empty() || !r.instances.empty()))
            throw std::invalid_argument("--redis-master needs --redis-sentinel, and no --redis");
        r.node_id = s.node_id;
        r.outage_timeout = std::chrono::milliseconds(static_cast<long long>(s.redis_outage * 1000));
        r.stream_length = s.redis_maxlen;
        r.key_prefix = s.redis_prefix;
        if (!s.redis_password_file.empty()) {
            std::string why;
            if (!accounts::read_text_file(s.redis_password_file, r.password, why, 4096))
                throw std::invalid_argument("--redis-password-file: " + why);
            while (!r.password.empty() && (r.password.back() == '\n' || r.password.back() == '\r')) r.password.pop_back();
        }
        server.set_room_log(chatroom::redis_backplane_factory(r));
        // /history and async_history read the rooms' streams: one answer on every node.
        if (!s.no_redis_history) {
            chatroom::redis_history_options h;
            h.max_line_bytes = s.options.max_line_bytes;
            h.on_error = [](std::string text) { log_line("error: " + text); };
            server.set_history_store(std::make_unique<chatroom::redis_history>(r, std::move(h)));
        }
        log_line("cluster through Redis at " + [&] {
            std::string list;
            for (const auto& text : s.redis) list += (list.empty() ? "" : ", ") + text;
            for (const auto& name : s.redis_masters) list += (list.empty() ? "master " : ", master ") + name;
            return list;
        }() + (s.node_id.empty() ? std::string() : " as node " + s.node_id));
#else
        throw std::invalid_argument("--redis: built without hiredis");
#endif
    }
    if (!s.history_db.empty()) {
#if defined(CHATROOM_WITH_SQLITE)
        if (!s.redis.empty() || !s.redis_masters.empty())
            throw std::invalid_argument("--history-db: not with --redis (the rooms' Redis streams are the history)");
        chatroom::sqlite_history_options h;
        h.path = s.history_db;
        h.page_size = s.options.history_page;
        h.keep_count = s.history_keep;
        h.keep_age = std::chrono::hours(24LL * s.history_days);
        h.sync = s.history_sync == "off"    ? chatroom::sqlite_history_options::sync_mode::off
                 : s.history_sync == "full" ? chatroom::sqlite_history_options::sync_mode::full
                                            : chatroom::sqlite_history_options::sync_mode::normal;
        h.on_error = [](std::string text) { log_line("error: history: " + text); };
        auto store = std::make_unique<chatroom::sqlite_history>(std::move(h)); // throws: the file cannot be used
        log_line("history kept in " + s.history_db + " (last id " + std::to_string(store->last_seq()) + ")");
        server.set_history_store(std::move(store));
#else
        throw std::invalid_argument("--history-db: built without SQLite");
#endif
    }
    if (users) {
        chatroom::access_hooks hooks;
        hooks.verify = [v = verifier.get()](chatroom::login_request request,
                                            std::function<void(chatroom::login_result)> done) {
            v->verify(std::move(request), std::move(done));
        };
        hooks.is_registered = [st = users->store()](std::string_view name) { return st->is_registered(name); };
        hooks.require_login = s.require_login;
        server.set_access(std::move(hooks));
    }
    // Chat itself is not logged, so message events are not asked for. Quiet
    // still logs what an administrator answers for: logins and moderation.
    using chatroom::server_event_kind;
    constexpr chatroom::event_mask accountable =
        chatroom::mask_of(server_event_kind::error) | chatroom::mask_of(server_event_kind::logged_in) |
        chatroom::mask_of(server_event_kind::login_failed) | chatroom::mask_of(server_event_kind::kicked) |
        chatroom::mask_of(server_event_kind::banned) | chatroom::mask_of(server_event_kind::unbanned) |
        chatroom::mask_of(server_event_kind::muted) | chatroom::mask_of(server_event_kind::unmuted) |
        chatroom::mask_of(server_event_kind::topic_changed) | chatroom::mask_of(server_event_kind::backplane_changed);
    // What members do by the thousand (connect, join, leave, rename, log
    // in) is logged at most 20 lines a second per address, with a count of
    // what was held back; what the host and operators do is always logged.
    auto limiter = std::make_shared<log_limit::per_address>(20.0, 100.0);
    auto log_limited = [limiter](const chatroom::server_event& e) {
        switch (e.kind) {
        case server_event_kind::connected: case server_event_kind::joined: case server_event_kind::left:
        case server_event_kind::nick_changed: case server_event_kind::disconnected: case server_event_kind::logged_in:
        case server_event_kind::login_failed: {
            std::size_t held_back = 0;
            if (!limiter->allow(e.address, held_back)) return;
            if (held_back > 0)
                log_line(std::to_string(held_back) + " log lines about " + e.address +
                         " held back (more than 20 a second)");
            break;
        }
        default: break;
        }
        log_event(e);
    };
    if (s.quiet) server.on_event(log_limited, accountable);
    else server.on_event(log_limited, chatroom::all_events & ~chatroom::mask_of(chatroom::server_event_kind::message));
    try {
        listen_all(server, s);
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "chatroom-server: cannot listen: %s\n", e.code().message().c_str());
        return 1;
    }
    log_line("serving with " + std::to_string(s.threads) + (s.threads == 1 ? " thread" : " threads"));

    // SIGHUP rereads the users file and the motd; without either it keeps
    // its default meaning (the terminal went away: stop). One signal_set and
    // one wait at a time, so no two handlers race on it.
    asio::signal_set signals(io, SIGINT, SIGTERM);
    if (users || !s.motd_file.empty()) signals.add(SIGHUP);
    std::function<void()> await_signal = [&] {
        signals.async_wait([&](std::error_code error, int signo) {
            if (error) return;
            if (signo == SIGHUP) {
                reload(users.get(), s.motd_file, server);
                await_signal();
                return;
            }
            log_line(std::string("received ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
            server.stop();
        });
    };
    await_signal();

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < s.threads; ++i) pool.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
    auto st = server.stats();
    log_line("stopped: " + std::to_string(st.accepted) + " connections, " + std::to_string(st.lines_in) +
             " lines in, " + std::to_string(st.lines_delivered) + " delivered" +
             (users ? ", " + std::to_string(st.failed_logins) + " failed logins" : std::string()));
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
    app.add_option("--irc-port", s.irc_port, "Serve IRC clients (irssi, WeeChat, HexChat) on this port: room dev is #dev")
        ->check(CLI::Range(0, 65535));
#if defined(CHATROOM_USE_OPENSSL)
    app.add_option("--irc-tls-port", s.irc_tls_port,
                   "Serve IRC clients over TLS on this port (with --tls-cert and --tls-key; 6697 by convention)")
        ->check(CLI::Range(0, 65535));
#endif
    app.add_option("--irc-name", s.irc_name, "The IRC listener's server name (numerics, notices, users' hosts)")
        ->capture_default_str();
    app.add_option("--irc-ping-interval", s.irc_ping,
                   "Seconds of silence after which an IRC client is sent a PING (0: never)")
        ->capture_default_str();
    app.add_option("--irc-pong-timeout", s.irc_pong,
                   "Seconds after that PING within which the client must send something, or be dropped")
        ->capture_default_str();
    app.add_option("--web-port", s.web_port, "Serve browsers (chat page, WebSocket) on this port")
        ->check(CLI::Range(0, 65535));
    app.add_option("--web-bind", s.web_bind, "Address of the web listener (default: --bind)");
    app.add_option("--web-origin", s.web_origins,
                   "Origin allowed to open a WebSocket (scheme://host:port; repeatable; default: the server's own)");
    app.add_option("--web-host", s.web_hosts,
                   "Host header the web listener answers to, e.g. chat.example.org or chat.example.org:8080 "
                   "(repeatable; default: its own address, localhost and this machine's name)");
    app.add_option("--trusted-proxy", s.trusted_proxies,
                   "Address whose X-Forwarded-For header is believed (repeatable)");
    app.add_flag("--metrics", s.metrics, "Serve GET /metrics (Prometheus text) on the web listener");
    app.add_option("--redis", s.redis,
                   "Join a cluster through this Redis (HOST:PORT; repeat for more instances, same order on every server)");
    app.add_option("--node-id", s.node_id, "This server's name in the cluster (default: made up, unique per process)");
    app.add_option("--redis-sentinel", s.redis_sentinels,
                   "Ask this Redis Sentinel (HOST:PORT; repeatable) where each --redis-master is, and follow failovers");
    app.add_option("--redis-master", s.redis_masters,
                   "Join a cluster through the Redis primary of this name, found through --redis-sentinel (repeat for "
                   "more instances, same order on every server; instead of --redis)");
    app.add_option("--redis-outage", s.redis_outage,
                   "Seconds lines are held while Redis is unreachable before this server chats alone")
        ->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--redis-maxlen", s.redis_maxlen, "Entries each room's stream keeps (XADD MAXLEN ~)")
        ->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--redis-prefix", s.redis_prefix, "Prefix of every Redis key")->capture_default_str();
    app.add_option("--redis-password-file", s.redis_password_file,
                   "Read the Redis password (requirepass, or \"USER PASSWORD\") from this file");
    app.add_flag("--no-redis-history", s.no_redis_history,
                 "With --redis: /history is not read from the rooms' Redis streams (it is by default)");
    app.add_option("--threads", s.threads, "Threads running the server")->capture_default_str()->check(
        CLI::Range(1u, 256u));
    app.add_option("--name", o.name, "Server name shown in the welcome")->capture_default_str();
    auto* welcome = app.add_option("--welcome", o.welcome, "Extra welcome text");
    app.add_option("--motd", s.motd_file, "Welcome text from this file (reread on SIGHUP)")
        ->check(CLI::ExistingFile)
        ->excludes(welcome);
    auto* users = app.add_option("--users", s.users_file,
                                 "Accounts file, one name:hash[:op] a line (reread on SIGHUP): /login, "
                                 "registered nicks, operators")
                      ->check(CLI::ExistingFile);
    app.add_flag("--require-login", s.require_login, "Members must /login before they join or speak")
        ->needs(users);
    bool hash_only = false;
    app.add_flag("--hash-password", hash_only,
                 "Read a secret from standard input, print its Argon2id hash for --users, exit");
    app.add_option("--quiet-room-size", o.quiet_room_size,
                   "Rooms this large announce no joins and leaves (0: always announce)")
        ->capture_default_str();
    app.add_option("--history", o.history_lines, "Lines of history replayed to joiners")->capture_default_str();
    app.add_option("--history-page", o.history_page, "Most lines one history query answers (/history N)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{10000}));
    app.add_option("--history-db", s.history_db,
                   "Keep every chat line in this SQLite file: /history, and joiners after a restart, see them");
    app.add_option("--history-keep", s.history_keep, "With --history-db: per room, keep at most N lines (0: all)")
        ->capture_default_str();
    app.add_option("--history-days", s.history_days, "With --history-db: delete lines older than D days (0: never)")
        ->capture_default_str();
    app.add_option("--history-sync", s.history_sync,
                   "With --history-db: off, normal (a power loss may lose the last commits) or full (syncs every "
                   "commit)")
        ->capture_default_str()
        ->check(CLI::IsMember({"off", "normal", "full"}));
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
    app.add_option("--max-rooms-per-member", o.max_rooms_per_member,
                   "Most rooms one member may be in at once (IRC and browsers join several; 0: no limit)")
        ->capture_default_str();
    app.add_option("--max-rooms", o.max_rooms, "Most rooms open on this server at once (0: no limit)")
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
    app.add_flag("--quiet", s.quiet, "Log only errors, logins and moderation, not connects, joins and leaves");
    CLI11_PARSE(app, argc, argv);
    if (hash_only) {
        try {
            return hash_password();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "chatroom-server: %s\n", e.what());
            return 1;
        }
    }
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
