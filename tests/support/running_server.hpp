#pragma once

// A chatroom server on loopback, on any transport and any kind of executor,
// run by its own threads and stopped (gracefully, within a deadline) when the
// test ends. Tests written against it run once per combination.

#include "line_client.hpp"
#if defined(CHATROOM_USE_OPENSSL)
#include "tls_certs.hpp"
#endif

#include <chatroom.hpp>

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test {

enum class transport { tcp4, tcp6, unix_socket, tls };
enum class executor { single_thread, four_threads, thread_pool };

template <transport T, executor E>
struct config {
    static constexpr transport transport_kind = T;
    static constexpr executor executor_kind = E;
};

// Named for readable test names: "rule - tcp4_single".
using tcp4_single = config<transport::tcp4, executor::single_thread>;
using tcp4_threads = config<transport::tcp4, executor::four_threads>;
using tcp4_pool = config<transport::tcp4, executor::thread_pool>;
using tcp6_single = config<transport::tcp6, executor::single_thread>;
using tcp6_threads = config<transport::tcp6, executor::four_threads>;
using tcp6_pool = config<transport::tcp6, executor::thread_pool>;
using unix_single = config<transport::unix_socket, executor::single_thread>;
using unix_threads = config<transport::unix_socket, executor::four_threads>;
using unix_pool = config<transport::unix_socket, executor::thread_pool>;
using tls_single = config<transport::tls, executor::single_thread>;
using tls_threads = config<transport::tls, executor::four_threads>;
using tls_pool = config<transport::tls, executor::thread_pool>;

// Polls a condition that becomes true asynchronously (a counter of the
// server's), up to a deadline.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = patience) {
    const auto deadline = test_clock::now() + timeout;
    while (!pred()) {
        if (test_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// True when this machine can listen on ::1 (some containers have no IPv6).
inline bool ipv6_available() {
    static const bool ok = [] {
        int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
        if (fd < 0) return false;
        sockaddr_in6 addr{};
        addr.sin6_family = AF_INET6;
        addr.sin6_addr = in6addr_loopback;
        bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        return bound;
    }();
    return ok;
}

inline std::string temp_dir() {
    char tmpl[] = "/tmp/chatroom-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

class running_server {
public:
    running_server(transport t, executor e, chatroom::server_options options = {},
                   chatroom::event_handler on_event = {})
    {
        options.concurrency = e == executor::single_thread ? chatroom::threading::single : chatroom::threading::multi;
        asio::any_io_executor ex;
        if (e == executor::thread_pool) {
            pool_ = std::make_unique<asio::thread_pool>(4);
            ex = pool_->get_executor();
        } else {
            io_ = std::make_unique<asio::io_context>(e == executor::single_thread ? 1 : 4);
            ex = io_->get_executor();
        }
        switch (t) {
        case transport::tcp4:
        case transport::tcp6: {
            auto h = std::make_unique<holder<chatroom::server>>(ex, options);
            listen(*h, on_event,
                   asio::ip::tcp::endpoint(asio::ip::make_address(t == transport::tcp4 ? "127.0.0.1" : "::1"), 0));
            where_.family = t == transport::tcp4 ? target::kind::tcp4 : target::kind::tcp6;
            where_.port = h->server.local_endpoint().port();
            server_ = std::move(h);
            break;
        }
        case transport::unix_socket: {
            dir_ = temp_dir();
            where_.family = target::kind::unix_socket;
            where_.path = dir_ + "/chat.sock";
            auto h = std::make_unique<holder<chatroom::basic_server<asio::local::stream_protocol>>>(ex, options);
            listen(*h, on_event, asio::local::stream_protocol::endpoint(where_.path));
            server_ = std::move(h);
            break;
        }
        case transport::tls: {
#if defined(CHATROOM_USE_OPENSSL)
            const tls_files& files = test_certificates();
            auto ctx = chatroom::make_server_tls_context(files.cert_chain, files.key);
            auto h = std::make_unique<holder<chatroom::basic_server<chatroom::tls<asio::ip::tcp>>>>(ex, options, ctx);
            listen(*h, on_event, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
            where_.family = target::kind::tcp4;
            where_.port = h->server.local_endpoint().port();
            where_.tls = true;
            where_.ca_file = files.ca;
            server_ = std::move(h);
#else
            FAIL("built without TLS");
#endif
            break;
        }
        }
        start_threads(e);
    }

    running_server(const running_server&) = delete;
    running_server& operator=(const running_server&) = delete;

    ~running_server() {
        stop();
        if (!dir_.empty()) {
            std::remove(where_.path.c_str());
            ::rmdir(dir_.c_str());
        }
    }

    const target& where() const { return where_; }

    line_client connect() const { return line_client(where_); }

    line_client join() const {
        line_client c;
        c.join(where_);
        return c;
    }

    chatroom::server_stats stats() const { return server_->stats(); }
    void notice(const std::string& room, const std::string& text) { server_->notice(room, text); }
    void say(const std::string& room, const std::string& from, const std::string& text) {
        server_->say(room, from, text);
    }

    // Graceful stop; true when every thread running the server returned in time.
    bool stop(std::chrono::milliseconds timeout = 30s) {
        if (stopped_) return clean_stop_;
        stopped_ = true;
        server_->stop();
        auto finished = std::async(std::launch::async, [this] {
            if (pool_) pool_->join();
            for (auto& t : threads_) t.join();
        });
        clean_stop_ = finished.wait_for(timeout) == std::future_status::ready;
        if (!clean_stop_) {
            if (pool_) pool_->stop();
            if (io_) io_->stop();
        }
        finished.wait();
        return clean_stop_;
    }

    std::string socket_path() const { return where_.path; }

private:
    struct base {
        virtual ~base() = default;
        virtual void stop() = 0;
        virtual chatroom::server_stats stats() const = 0;
        virtual void notice(const std::string&, const std::string&) = 0;
        virtual void say(const std::string&, const std::string&, const std::string&) = 0;
    };

    template <class Server>
    struct holder final : base {
        template <class... Args>
        explicit holder(Args&&... args) : server(std::forward<Args>(args)...) {}
        void stop() override { server.stop(); }
        chatroom::server_stats stats() const override { return server.stats(); }
        void notice(const std::string& r, const std::string& t) override { server.notice(r, t); }
        void say(const std::string& r, const std::string& f, const std::string& t) override { server.say(r, f, t); }
        Server server;
    };

    template <class Holder, class Endpoint>
    static void listen(Holder& h, const chatroom::event_handler& on_event, const Endpoint& ep) {
        if (on_event) h.server.on_event(on_event);
        h.server.listen(ep);
    }

    void start_threads(executor e) {
        if (pool_) return;
        const int n = e == executor::single_thread ? 1 : 4;
        for (int i = 0; i < n; ++i) threads_.emplace_back([this] { io_->run(); });
    }

    target where_;
    std::string dir_;
    std::unique_ptr<asio::io_context> io_;
    std::unique_ptr<asio::thread_pool> pool_;
    std::vector<std::thread> threads_;
    std::unique_ptr<base> server_;
    bool stopped_ = false;
    bool clean_stop_ = false;
};

// Runs a test body only where the machine supports the transport.
template <class Config>
bool transport_available() {
    if constexpr (Config::transport_kind == transport::tcp6) return ipv6_available();
#if !defined(CHATROOM_USE_OPENSSL)
    if constexpr (Config::transport_kind == transport::tls) return false;
#endif
    return true;
}

template <class Config>
running_server start(chatroom::server_options options = {}, chatroom::event_handler on_event = {}) {
    return running_server(Config::transport_kind, Config::executor_kind, std::move(options), std::move(on_event));
}

} // namespace test
