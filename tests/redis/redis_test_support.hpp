#pragma once

// Scaffolding for the redis adapter's tests: an io_context run by N threads,
// result collectors that count how often each callback ran, a pump that keeps
// a window of commands in flight, and a loopback listener that never answers
// a connect.

#include <chatroom/redis/detail/connection.hpp>

#include <catch2/catch.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace Catch {
template <>
struct StringMaker<std::error_code> {
    static std::string convert(const std::error_code& ec) {
        return ec ? std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" + ec.message() + ")"
                  : std::string("success");
    }
};
} // namespace Catch

namespace redis_test {

using namespace std::chrono_literals;
using chatroom::detail::redis_connection;
using chatroom::detail::redis_connection_options;
using chatroom::detail::redis_error;
using chatroom::detail::redis_reply;
using test_clock = std::chrono::steady_clock;

// How long a test waits for something that should happen; generous, as the
// machine may be loaded. Tests wait on conditions, never for a fixed time.
inline constexpr std::chrono::milliseconds patience = 20s;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = patience) {
    const auto deadline = test_clock::now() + timeout;
    while (!pred()) {
        if (test_clock::now() > deadline) return false;
        std::this_thread::sleep_for(2ms); // polling interval of a deadline loop
    }
    return true;
}

struct single_thread {
    static constexpr int threads = 1;
};
struct four_threads {
    static constexpr int threads = 4;
};

// An io_context run by its own threads. Connections made on it must be
// dropped before it is.
class event_loop {
public:
    explicit event_loop(int threads) : io_(threads), work_(asio::make_work_guard(io_)) {
        for (int i = 0; i < threads; ++i)
            threads_.emplace_back([this] {
                io_.run();
                ++finished_;
            });
    }
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;
    ~event_loop() {
        if (!run_out(10s)) io_.stop();
        for (auto& t : threads_) t.join();
    }

    asio::any_io_executor executor() { return io_.get_executor(); }

    // Lets run() return once no work is left, and waits for that: true
    // means nothing (a wait, a timer, a handler) was left behind.
    bool run_out(std::chrono::milliseconds timeout) {
        work_.reset();
        return eventually([&] { return finished_.load() == threads_.size(); }, timeout);
    }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> finished_{0};
};

inline std::shared_ptr<redis_connection> make_connection(event_loop& loop, unsigned short port,
                                                         std::chrono::milliseconds command_timeout = 10s,
                                                         std::chrono::milliseconds connect_timeout = 10s) {
    redis_connection_options options;
    options.host = "127.0.0.1";
    options.port = port;
    options.command_timeout = command_timeout;
    options.connect_timeout = connect_timeout;
    return redis_connection::create(loop.executor(), options);
}

struct outcome {
    std::error_code ec;
    redis_reply reply;
};

// The results of n commands, by index, with how many times each callback ran
// and in which order the callbacks came.
class outcomes : public std::enable_shared_from_this<outcomes> {
public:
    explicit outcomes(std::size_t n) : calls_(n, 0), results_(n) {}

    redis_connection::command_handler handler(std::size_t i) {
        return [self = shared_from_this(), i](std::error_code ec, redis_reply reply) {
            std::lock_guard<std::mutex> lock(self->mutex_);
            ++self->calls_[i];
            self->results_[i] = {ec, std::move(reply)};
            self->order_.push_back(i);
            ++self->done_;
            self->changed_.notify_all();
        };
    }

    // Waits until n callbacks ran.
    bool wait_done(std::size_t n, std::chrono::milliseconds timeout = patience) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return done_ >= n; });
    }

    std::size_t done() {
        std::lock_guard<std::mutex> lock(mutex_);
        return done_;
    }
    int calls(std::size_t i) {
        std::lock_guard<std::mutex> lock(mutex_);
        return calls_[i];
    }
    outcome result(std::size_t i) {
        std::lock_guard<std::mutex> lock(mutex_);
        return results_[i];
    }
    std::vector<std::size_t> order() {
        std::lock_guard<std::mutex> lock(mutex_);
        return order_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<int> calls_;
    std::vector<outcome> results_;
    std::vector<std::size_t> order_;
    std::size_t done_ = 0;
};

inline outcome call(redis_connection& conn, const std::vector<std::string>& args,
                    std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    auto o = std::make_shared<outcomes>(1);
    conn.command(args, o->handler(0), timeout);
    REQUIRE(o->wait_done(1));
    REQUIRE(o->calls(0) == 1);
    return o->result(0);
}

inline std::error_code connect_now(redis_connection& conn) {
    auto p = std::make_shared<std::promise<std::error_code>>();
    auto f = p->get_future();
    conn.connect([p](std::error_code ec) { p->set_value(ec); });
    REQUIRE(f.wait_for(patience) == std::future_status::ready);
    return f.get();
}

// Runs an empty handler on the connection's strand and waits for it: what
// the connection had queued on its strand before has run by then.
inline void settle(redis_connection& conn) {
    auto p = std::make_shared<std::promise<void>>();
    auto f = p->get_future();
    asio::post(conn.get_executor(), [p] { p->set_value(); });
    REQUIRE(f.wait_for(patience) == std::future_status::ready);
}

struct disconnect_watch {
    std::atomic<int> count{0};
    std::mutex mutex;
    std::error_code ec;

    std::error_code last() {
        std::lock_guard<std::mutex> lock(mutex);
        return ec;
    }
};

inline std::shared_ptr<disconnect_watch> watch_disconnect(redis_connection& conn) {
    auto w = std::make_shared<disconnect_watch>();
    conn.on_disconnect([w](std::error_code ec) {
        {
            std::lock_guard<std::mutex> lock(w->mutex);
            w->ec = ec;
        }
        ++w->count;
    });
    return w;
}

// Keeps `window` copies of one command in flight on a connection, issuing
// the next one from each successful reply's callback (on the strand), until
// a command fails or `cap` were issued. Records, per command, how often its
// callback ran, whether it succeeded and the integer it returned.
class pump : public std::enable_shared_from_this<pump> {
public:
    pump(std::shared_ptr<redis_connection> conn, std::vector<std::string> args, std::size_t cap, std::size_t window)
        : conn_(std::move(conn)), args_(std::move(args)), cap_(cap), window_(window), calls_(cap, 0), ok_(cap, 0),
          values_(cap, 0) {}

    void start() {
        asio::post(conn_->get_executor(), [self = shared_from_this()] {
            for (std::size_t i = 0; i < self->window_; ++i) self->issue_one();
        });
    }

    std::size_t issued() {
        std::lock_guard<std::mutex> lock(mutex_);
        return issued_;
    }
    std::size_t succeeded() {
        std::lock_guard<std::mutex> lock(mutex_);
        return succeeded_;
    }
    std::size_t failed() {
        std::lock_guard<std::mutex> lock(mutex_);
        return failed_;
    }
    std::size_t error_replies() {
        std::lock_guard<std::mutex> lock(mutex_);
        return error_replies_;
    }
    // Every command issued has had its callback.
    bool settled() {
        std::lock_guard<std::mutex> lock(mutex_);
        return (stopped_ || issued_ == cap_) && succeeded_ + failed_ == issued_;
    }
    std::error_code first_error() {
        std::lock_guard<std::mutex> lock(mutex_);
        return first_error_;
    }

    // Checks every callback ran once, the successes are the first commands
    // issued, in order (counting from first_value when the command is an
    // INCR), and the failures all the rest.
    void check_exactly_once(std::optional<long long> first_value) {
        std::lock_guard<std::mutex> lock(mutex_);
        std::size_t twice = 0, never = 0, out_of_order = 0, wrong_value = 0;
        for (std::size_t i = 0; i < issued_; ++i) {
            if (calls_[i] == 0) ++never;
            if (calls_[i] > 1) ++twice;
            if ((i < succeeded_) != (ok_[i] != 0)) ++out_of_order;
            if (first_value && ok_[i] && values_[i] != *first_value + static_cast<long long>(i)) ++wrong_value;
        }
        for (std::size_t i = issued_; i < cap_; ++i)
            if (calls_[i] != 0) ++twice;
        CHECK(never == 0);
        CHECK(twice == 0);
        CHECK(out_of_order == 0);
        CHECK(wrong_value == 0);
        CHECK(succeeded_ + failed_ == issued_);
    }

private:
    void issue_one() {
        std::size_t i;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopped_ || issued_ == cap_) return;
            i = issued_++;
        }
        conn_->command(args_, [self = shared_from_this(), i](std::error_code ec, redis_reply reply) {
            bool more;
            {
                std::lock_guard<std::mutex> lock(self->mutex_);
                ++self->calls_[i];
                if (ec) {
                    if (!self->first_error_) self->first_error_ = ec;
                    ++self->failed_;
                    self->stopped_ = true;
                } else {
                    ++self->succeeded_;
                    self->ok_[i] = 1;
                    if (reply.is_error()) ++self->error_replies_;
                    self->values_[i] = reply.integer;
                }
                more = !self->stopped_;
            }
            if (more) self->issue_one();
        });
    }

    std::shared_ptr<redis_connection> conn_;
    std::vector<std::string> args_;
    const std::size_t cap_;
    const std::size_t window_;
    std::mutex mutex_;
    std::vector<std::uint8_t> calls_;
    std::vector<std::uint8_t> ok_;
    std::vector<long long> values_;
    std::size_t issued_ = 0;
    std::size_t succeeded_ = 0;
    std::size_t failed_ = 0;
    std::size_t error_replies_ = 0;
    bool stopped_ = false;
    std::error_code first_error_;
};

// A loopback port nothing listens on (bound, then let go).
inline unsigned short unused_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// A loopback listener that never accepts, with its accept queue filled: the
// kernel drops further SYNs, so a connect to it stays in progress (as to a
// host that does not answer) until the client gives up.
class unanswered_listener {
public:
    unanswered_listener() {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listener_, 0) == 0);
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
        // Connect until one does not complete: the queue is full from then on.
        for (int i = 0; i < 16; ++i) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            REQUIRE(fd >= 0);
            fillers_.push_back(fd);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) continue;
            REQUIRE(errno == EINPROGRESS);
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, 300) == 0) return; // this one hangs: full
        }
        FAIL("the accept queue of a listener with backlog 0 never filled");
    }
    unanswered_listener(const unanswered_listener&) = delete;
    unanswered_listener& operator=(const unanswered_listener&) = delete;
    ~unanswered_listener() {
        for (int fd : fillers_) ::close(fd);
        ::close(listener_);
    }
    unsigned short port() const { return port_; }

private:
    int listener_ = -1;
    unsigned short port_ = 0;
    std::vector<int> fillers_;
};

} // namespace redis_test
