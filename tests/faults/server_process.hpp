#pragma once

// The real chatroom-server binary as a child process, for the fault and soak
// tests. The child always dies with the test: the destructor kills it by PID
// (SIGKILL, then waitpid), and PR_SET_PDEATHSIG kills it if the test process
// itself dies. Its stderr goes to a temporary file the test reads; /proc gives
// its CPU time, resident memory and open descriptors.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// Under AddressSanitizer (scripts/test builds the whole suite with it) the
// server's resident memory is dominated by shadow memory and the allocator's
// quarantine, so the memory bounds are reported but not asserted.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHATROOM_TEST_SANITIZED 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#ifndef CHATROOM_TEST_SANITIZED
#define CHATROOM_TEST_SANITIZED 1
#endif
#endif
#endif

namespace test {

#if defined(CHATROOM_TEST_SANITIZED)
inline constexpr bool sanitized_build = true;
#else
inline constexpr bool sanitized_build = false;
#endif

using proc_clock = std::chrono::steady_clock;

// The server to run: $CHATROOM_SERVER_BINARY if set (to try another build),
// else the path CMake compiled in.
inline std::string server_binary() {
    if (const char* env = std::getenv("CHATROOM_SERVER_BINARY"); env && *env) return env;
#if defined(CHATROOM_SERVER_BINARY)
    return CHATROOM_SERVER_BINARY;
#else
    return {};
#endif
}

// Reads a whole small file (a /proc entry or the server's log).
inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A "Key:   123 kB" field of /proc/PID/status, in KiB; -1 when unreadable.
inline long proc_status_kib(pid_t pid, std::string_view key) {
    const std::string text = slurp("/proc/" + std::to_string(pid) + "/status");
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + at, end - at);
        if (line.substr(0, key.size()) == key && line.size() > key.size() && line[key.size()] == ':')
            return std::strtol(std::string(line.substr(key.size() + 1)).c_str(), nullptr, 10);
        at = end + 1;
    }
    return -1;
}

// User plus system CPU time of a process, in seconds; -1 when unreadable.
inline double proc_cpu_seconds(pid_t pid) {
    const std::string text = slurp("/proc/" + std::to_string(pid) + "/stat");
    // The command name (field 2) may hold spaces; the fields after it are
    // counted from its closing parenthesis: state is field 3, utime 14, stime 15.
    std::size_t paren = text.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream fields(text.substr(paren + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int number = 3; number <= 15 && (fields >> field); ++number) {
        if (number == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
        if (number == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    const long ticks = ::sysconf(_SC_CLK_TCK);
    return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

// Open descriptors of a process; -1 when unreadable.
inline int proc_fd_count(pid_t pid) {
    DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (!dir) return -1;
    int count = 0;
    while (const dirent* e = ::readdir(dir))
        if (e->d_name[0] != '.') ++count;
    ::closedir(dir);
    return count;
}

// Counts the lines of text that contain needle.
inline std::size_t count_lines_with(const std::string& text, std::string_view needle) {
    std::size_t count = 0, at = 0;
    while (at < text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        if (std::string_view(text.data() + at, end - at).find(needle) != std::string_view::npos) ++count;
        at = end + 1;
    }
    return count;
}

// Raises this process's open-file soft limit to its hard limit (for tests
// that hold a thousand sockets).
inline rlim_t raise_own_file_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
        ::getrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur;
}

struct spawn_options {
    // RLIMIT_NOFILE (soft and hard) set in the child before exec; 0: inherited.
    rlim_t file_limit = 0;
    // How long the server may take to print its "listening on" line.
    std::chrono::milliseconds startup_timeout{20000};
};

class server_process {
public:
    // Starts chatroom-server --bind 127.0.0.1 --port 0 ARGS... and waits for
    // the line that names its port.
    explicit server_process(const std::vector<std::string>& args, spawn_options options = {}) {
        const std::string binary = server_binary();
        REQUIRE_FALSE(binary.empty());
        REQUIRE(::access(binary.c_str(), X_OK) == 0);

        char log_template[] = "/tmp/chatroom-server-log-XXXXXX";
        int log_fd = ::mkstemp(log_template);
        REQUIRE(log_fd >= 0);
        log_path_ = log_template;

        std::vector<std::string> argv_storage{binary, "--bind", "127.0.0.1", "--port", "0"};
        argv_storage.insert(argv_storage.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_storage) argv.push_back(a.data());
        argv.push_back(nullptr);
        command_line_ = "";
        for (auto& a : argv_storage) command_line_ += (command_line_.empty() ? "" : " ") + a;

        rlimit inherited{};
        ::getrlimit(RLIMIT_NOFILE, &inherited);
        const pid_t parent = ::getpid();

        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            // The child: only async-signal-safe calls until exec.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(126);
            int null_fd = ::open("/dev/null", O_RDWR);
            if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(null_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) ::_exit(126);
            // Nothing of the test's (sockets of other tests, the log's own
            // descriptor) may leak into the server and count against its limit.
            bool closed = false;
#if defined(SYS_close_range)
            closed = ::syscall(SYS_close_range, 3U, ~0U, 0U) == 0;
#endif
            if (!closed) {
                const rlim_t top = inherited.rlim_cur == RLIM_INFINITY ? 65536 : inherited.rlim_cur;
                for (rlim_t fd = 3; fd < top; ++fd) ::close(static_cast<int>(fd));
            }
            if (options.file_limit != 0) {
                rlimit lim{options.file_limit, options.file_limit};
                if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(126);
            }
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(log_fd);
        try {
            wait_for_port(options.startup_timeout);
            count_idle_descriptors(options.startup_timeout);
        } catch (...) {
            kill_now(); // the destructor of a half-made object does not run
            if (!std::getenv("CHATROOM_TEST_KEEP_LOGS")) ::unlink(log_path_.c_str());
            throw;
        }
    }

    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    ~server_process() {
        kill_now();
        if (!log_path_.empty() && !std::getenv("CHATROOM_TEST_KEEP_LOGS")) ::unlink(log_path_.c_str());
    }


    pid_t pid() const { return pid_; }
    // Descriptors the server holds with no connection open (listening
    // socket, reactor, timers, signal pipe, stdio).
    int idle_fds() const { return idle_fds_; }
    unsigned short port() const { return port_; }
    const std::string& command_line() const { return command_line_; }
    const std::string& log_path() const { return log_path_; }

    // Everything the server wrote to stderr so far.
    std::string log() const { return slurp(log_path_); }
    std::size_t log_count(std::string_view needle) const { return count_lines_with(log(), needle); }
    // The last lines of the log, for failure messages.
    std::string log_tail(std::size_t bytes = 3000) const {
        std::string text = log();
        return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
    }

    // Waits until at least count lines of the log contain needle.
    bool wait_log(std::string_view needle, std::size_t count, std::chrono::milliseconds timeout) const {
        const auto deadline = proc_clock::now() + timeout;
        for (;;) {
            if (log_count(needle) >= count) return true;
            if (proc_clock::now() > deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polling interval of a deadline loop
        }
    }

    // True while the child has not exited (reaps it when it has).
    bool running() {
        if (reaped_) return false;
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            status_ = status;
            return false;
        }
        return r == 0;
    }

    // The raw wait status once the child has exited.
    std::optional<int> wait_status() const { return reaped_ ? std::optional<int>(status_) : std::nullopt; }

    // Sends SIGTERM (once) without waiting.
    void terminate() {
        if (!reaped_ && !terminated_) {
            ::kill(pid_, SIGTERM);
            terminated_ = true;
        }
    }

    // Waits up to timeout for the child to exit; true when it has.
    bool wait_exit(std::chrono::milliseconds timeout) {
        const auto deadline = proc_clock::now() + timeout;
        for (;;) {
            if (!running()) return true;
            if (proc_clock::now() > deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(2)); // polling interval of a deadline loop
        }
    }

    // True when the child exited normally with status 0.
    bool exited_cleanly() const { return reaped_ && WIFEXITED(status_) && WEXITSTATUS(status_) == 0; }

    std::string describe_status() const {
        if (!reaped_) return "still running";
        if (WIFEXITED(status_)) return "exit status " + std::to_string(WEXITSTATUS(status_));
        if (WIFSIGNALED(status_)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status_));
        return "status " + std::to_string(status_);
    }

    // Kills the child by PID and reaps it (safe to call repeatedly).
    void kill_now() {
        if (pid_ <= 0 || reaped_) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
        status_ = status;
    }

    long rss_kib() const { return proc_status_kib(pid_, "VmRSS"); }
    long hwm_kib() const { return proc_status_kib(pid_, "VmHWM"); }
    double cpu_seconds() const { return proc_cpu_seconds(pid_); }
    int fd_count() const { return proc_fd_count(pid_); }

private:
    // The port, from "... listening on 127.0.0.1:PORT (...)".
    void wait_for_port(std::chrono::milliseconds timeout) {
        const auto deadline = proc_clock::now() + timeout;
        const std::string marker = "listening on 127.0.0.1:";
        for (;;) {
            const std::string text = log();
            std::size_t at = text.find(marker);
            if (at != std::string::npos) {
                std::size_t digits = at + marker.size(), end = digits;
                while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
                if (end > digits && end < text.size()) {
                    port_ = static_cast<unsigned short>(std::stoul(text.substr(digits, end - digits)));
                    break;
                }
            }
            if (!running()) FAIL("chatroom-server exited at startup: " << command_line_ << "\n" << text);
            if (proc_clock::now() > deadline) FAIL("chatroom-server did not report its port in time\n" << text);
            std::this_thread::sleep_for(std::chrono::milliseconds(5)); // polling interval of a deadline loop
        }
    }

    // The "listening" line comes before the server has made everything it
    // runs with (the signal pipe, for one). Once a probe connection has its
    // welcome the server is running; its descriptors then, minus the probe's,
    // are the idle count.
    void count_idle_descriptors(std::chrono::milliseconds timeout) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port_);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        std::string got;
        const auto deadline = proc_clock::now() + timeout;
        while (connected && got.find('\n') == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - proc_clock::now()).count();
            pollfd p{fd, POLLIN, 0};
            if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
            char chunk[512];
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) break;
            got.append(chunk, static_cast<std::size_t>(n));
        }
        const int with_probe = fd_count();
        ::close(fd);
        if (got.rfind("* welcome to ", 0) != 0) FAIL("the server did not welcome a first connection\n" << log());
        idle_fds_ = with_probe - 1;
        // The probe's connection must be gone before the test starts.
        while (fd_count() > idle_fds_) {
            if (proc_clock::now() > deadline) FAIL("the server did not close the probe connection\n" << log());
            std::this_thread::sleep_for(std::chrono::milliseconds(2)); // polling interval of a deadline loop
        }
    }

    pid_t pid_ = -1;
    int idle_fds_ = 0;
    unsigned short port_ = 0;
    bool reaped_ = false;
    bool terminated_ = false;
    int status_ = 0;
    std::string log_path_;
    std::string command_line_;
};

} // namespace test
