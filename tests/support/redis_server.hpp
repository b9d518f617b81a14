#pragma once

// A real redis-server for tests, as a child process on a free loopback port
// with its own temporary directory. Without persistence by default (--save ''
// --appendonly no); with appendonly it keeps an AOF (fsync always) in that
// directory, so a restart on the same port and directory finds its data.
// Ready means PING answers +PONG (not -LOADING), waited for with a deadline.
// The child is stopped by its PID (SIGKILL and waitpid in the destructor) and
// dies with the test thread that started it (PR_SET_PDEATHSIG), so start it
// from the test's own thread. It can be paused (SIGSTOP) and resumed
// (SIGCONT). Errors throw std::runtime_error carrying the server's log.
//
// With sentinel_config it is a Sentinel instead (redis-server --sentinel).
//
// The binary: $CHATROOM_REDIS_SERVER, else the CHATROOM_REDIS_SERVER path
// compiled in, else redis-server on PATH.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace test {

struct redis_server_options {
    // Not empty: a Sentinel (redis-server --sentinel) with these lines in its
    // configuration file ("sentinel monitor NAME 127.0.0.1 PORT 1", ...).
    std::vector<std::string> sentinel_config;
    bool appendonly = false;
    std::vector<std::string> extra_args; // appended to the command line
    std::chrono::milliseconds startup_timeout{20000};
};

class redis_server {
public:
    using clock = std::chrono::steady_clock;

    explicit redis_server(redis_server_options options = {}) : options_(std::move(options)) {
        binary_ = find_binary();
        char tmpl[] = "/tmp/chatroom-redis-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("redis_server: mkdtemp failed");
        dir_ = tmpl;
        // Another process may take the free port before redis binds it: try a few.
        for (int attempt = 0;; ++attempt) {
            port_ = free_port();
            try {
                start();
                return;
            } catch (const std::exception&) {
                kill();
                if (attempt >= 4) {
                    remove_dir();
                    throw;
                }
            }
        }
    }

    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    ~redis_server() {
        kill();
        if (!std::getenv("CHATROOM_TEST_KEEP_LOGS")) remove_dir();
    }

    unsigned short port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string& dir() const { return dir_; }
    std::string log_path() const { return dir_ + "/redis.log"; }

    std::string log_tail(std::size_t bytes = 3000) const {
        std::ifstream in(log_path(), std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        std::string text = s.str();
        return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
    }

    // True while the child has not exited (reaps it when it has).
    bool running() {
        if (pid_ <= 0) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }

    // Starts the server (again) on the same port and directory and waits until
    // it answers PING (unless wait is false: then wait_ready() does, e.g.
    // once a test has acted while the server loads its data). The previous
    // process must be gone (kill() or stop()).
    void start(bool wait = true) {
        if (pid_ > 0) throw std::runtime_error("redis_server: already running");
        spawn();
        if (wait) wait_ready();
    }

    void pause() { signal(SIGSTOP); }
    void resume() { signal(SIGCONT); }

    // SIGKILL: the server dies at once, as in a crash. Safe when stopped or paused.
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        reap();
    }

    // SIGTERM: the server flushes its AOF and exits; SIGKILL after timeout.
    void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGCONT); // a paused server cannot handle SIGTERM
        ::kill(pid_, SIGTERM);
        const auto deadline = clock::now() + timeout;
        while (running()) {
            if (clock::now() > deadline) {
                kill();
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5)); // polling interval of a deadline loop
        }
    }

    void restart() {
        stop();
        start();
    }

    // Sends one inline command (space-separated words, no quoting) on a new
    // connection and returns the first line of the reply without its CRLF:
    // meant for replies of one line (+OK, :N, -ERR ...).
    std::string command(const std::string& inline_command,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) const {
        const auto deadline = clock::now() + timeout;
        int fd = connect_loopback(deadline);
        if (fd < 0) throw std::runtime_error("redis_server: cannot connect to port " + std::to_string(port_));
        std::string line;
        const bool ok = exchange(fd, inline_command + "\r\n", deadline, line);
        ::close(fd);
        if (!ok) throw std::runtime_error("redis_server: no reply to " + inline_command);
        return line;
    }

private:
    static std::string find_binary() {
        if (const char* env = std::getenv("CHATROOM_REDIS_SERVER"); env && *env) return env;
#if defined(CHATROOM_REDIS_SERVER)
        if (::access(CHATROOM_REDIS_SERVER, X_OK) == 0) return CHATROOM_REDIS_SERVER;
#endif
        const char* path = std::getenv("PATH");
        std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
        for (std::string d; std::getline(dirs, d, ':');) {
            const std::string candidate = d + "/redis-server";
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
        throw std::runtime_error("redis_server: redis-server not found (apt-get install redis-server)");
    }

    static unsigned short free_port() {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw std::runtime_error("redis_server: socket failed");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            ::close(fd);
            throw std::runtime_error("redis_server: no free port");
        }
        ::close(fd);
        return ntohs(addr.sin_port);
    }

    void remove_dir() {
        std::error_code ignored;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    }

    void signal(int sig) {
        if (pid_ <= 0) throw std::runtime_error("redis_server: not running");
        ::kill(pid_, sig);
    }

    void reap() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

    void spawn() {
        std::vector<std::string> args{binary_,   "--port",       std::to_string(port_), "--bind",     "127.0.0.1",
                                      "--dir",   dir_,           "--save",              "",           "--daemonize",
                                      "no",      "--logfile",    "",                    "--databases", "16"};
        if (!options_.sentinel_config.empty()) {
            // Sentinel rewrites its configuration file: one of its own.
            const std::string conf = dir_ + "/sentinel.conf";
            std::ofstream out(conf, std::ios::trunc);
            out << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\ndaemonize no\nlogfile \"\"\n";
            for (const auto& line : options_.sentinel_config) out << line << '\n';
            out.close();
            if (!out) throw std::runtime_error("redis_server: cannot write " + conf);
            args = {binary_, conf, "--sentinel"};
        } else if (options_.appendonly) {
            args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
        } else {
            args.insert(args.end(), {"--appendonly", "no"});
        }
        args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);

        int log_fd = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0) throw std::runtime_error("redis_server: cannot open " + log_path());
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) {
            ::close(log_fd);
            throw std::runtime_error("redis_server: fork failed");
        }
        if (pid_ == 0) {
            // The child: only async-signal-safe calls until exec.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(126);
            int null_fd = ::open("/dev/null", O_RDWR);
            if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) ::_exit(126);
#if defined(SYS_close_range)
            ::syscall(SYS_close_range, 3U, ~0U, 0U);
#endif
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(log_fd);
    }

public:
    void wait_ready() {
        const auto deadline = clock::now() + options_.startup_timeout;
        for (;;) {
            if (!running()) throw std::runtime_error("redis-server exited at startup:\n" + log_tail());
            const auto attempt_deadline = std::min(deadline, clock::now() + std::chrono::milliseconds(1000));
            int fd = connect_loopback(attempt_deadline);
            if (fd >= 0) {
                std::string line;
                const bool answered = exchange(fd, "PING\r\n", attempt_deadline, line);
                ::close(fd);
                if (answered && line == "+PONG") return; // -LOADING while an AOF is read back
            }
            if (clock::now() > deadline) throw std::runtime_error("redis-server did not answer PING in time:\n" + log_tail());
            std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polling interval of a deadline loop
        }
    }

private:
    static int remaining_ms(clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
        return left > 0 ? static_cast<int>(left) : 0;
    }

    // A connected non-blocking socket, or -1 (refused, or not by the deadline).
    int connect_loopback(clock::time_point deadline) const {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) return -1;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port_);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            if (errno != EINPROGRESS) {
                ::close(fd);
                return -1;
            }
            pollfd p{fd, POLLOUT, 0};
            int error = 0;
            socklen_t len = sizeof error;
            if (::poll(&p, 1, remaining_ms(deadline)) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 ||
                error != 0) {
                ::close(fd);
                return -1;
            }
        }
        return fd;
    }

    // Writes request and reads the first reply line, by the deadline.
    static bool exchange(int fd, const std::string& request, clock::time_point deadline, std::string& line) {
        std::size_t sent = 0;
        while (sent < request.size()) {
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, remaining_ms(deadline)) != 1) return false;
            const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
            if (n > 0) sent += static_cast<std::size_t>(n);
        }
        std::string got;
        for (;;) {
            const std::size_t end = got.find("\r\n");
            if (end != std::string::npos) {
                line = got.substr(0, end);
                return true;
            }
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, remaining_ms(deadline)) != 1) return false;
            char chunk[512];
            const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n == 0) return false;
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                return false;
            }
            got.append(chunk, static_cast<std::size_t>(n));
        }
    }

    redis_server_options options_;
    std::string binary_;
    std::string dir_;
    unsigned short port_ = 0;
    pid_t pid_ = -1;
};

} // namespace test
