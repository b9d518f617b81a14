#pragma once

// Scaffolding for the backplane's tests: servers of a cluster in this
// process (each with its own threads, joined through real redis-server
// processes), raw line clients, numbered lines and their checks.

#include "../support/line_client.hpp"
#include "../support/redis_server.hpp"

#include <chatroom.hpp>
#include <chatroom/redis.hpp>

#include <asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using test::line_client;

namespace cluster_test {

template <class Pred>
inline bool eventually(Pred pred, std::chrono::milliseconds timeout = test::patience) {
    const auto deadline = test::test_clock::now() + timeout;
    while (!pred()) {
        if (test::test_clock::now() > deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

inline chatroom::redis_options cluster_options(std::vector<unsigned short> ports, std::string node) {
    chatroom::redis_options o;
    for (unsigned short p : ports) o.instances.push_back(chatroom::redis_endpoint{"127.0.0.1", p});
    o.node_id = std::move(node);
    o.command_timeout = 700ms;
    o.heartbeat = 200ms;
    o.node_ttl = 1000ms;
    return o;
}

// The events of one kind a node told its host, in order, kept for a test
// to read from its own thread.
class event_recorder {
public:
    explicit event_recorder(chatroom::server_event_kind kind) : kind_(kind) {}
    chatroom::event_handler handler() {
        return [this](const chatroom::server_event& e) {
            if (e.kind != kind_) return;
            std::lock_guard<std::mutex> g(m_);
            seen_.push_back(e);
        };
    }
    std::size_t size() {
        std::lock_guard<std::mutex> g(m_);
        return seen_.size();
    }
    std::vector<chatroom::server_event> all() {
        std::lock_guard<std::mutex> g(m_);
        return seen_;
    }

private:
    const chatroom::server_event_kind kind_;
    std::mutex m_;
    std::vector<chatroom::server_event> seen_;
};

// One server of the cluster, with its own threads. before_listen may set
// what must be set before the first listen (a history store).
class node {
public:
    node(chatroom::redis_options o, chatroom::server_options so = {}, int threads = 2, bool must_connect = true,
         chatroom::event_handler on_event = {}, const std::function<void(chatroom::server&)>& before_listen = {})
        : io_(threads), server_(io_.get_executor(), so) {
        if (on_event) server_.on_event(std::move(on_event));
        else if (std::getenv("CHATROOM_TEST_VERBOSE")) // the backplane's log lines, to stderr
            server_.on_event([id = o.node_id](const chatroom::server_event& e) {
                if (e.kind == chatroom::server_event_kind::error || e.kind == chatroom::server_event_kind::backplane_changed)
                    std::fprintf(stderr, "[%s] %s %s\n", id.c_str(), e.text.c_str(), e.reason.c_str());
            });
        server_.set_room_log(chatroom::redis_backplane_factory(std::move(o)));
        if (before_listen) before_listen(server_);
        server_.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        where_.port = server_.local_endpoint().port();
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
        if (must_connect)
            REQUIRE(eventually([&] { return stats().backplane == chatroom::backplane_state::connected; }));
    }
    node(const node&) = delete;
    node& operator=(const node&) = delete;
    ~node() {
        if (frozen_) {
            io_.restart();
            for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
        }
        stop();
    }

    void stop() {
        if (stopped_) return;
        stopped_ = true;
        server_.stop();
        for (auto& t : threads_) t.join();
    }

    // As if the process died: nothing more runs, nothing is said (until
    // the destructor thaws and stops it, as the rest of the test is done).
    void freeze() {
        if (stopped_ || frozen_) return;
        frozen_ = true;
        io_.stop();
        for (auto& t : threads_) t.join();
        threads_.clear();
    }

    chatroom::server_stats stats() const { return server_.stats(); }
    chatroom::server& server() { return server_; }
    const test::target& where() const { return where_; }

    line_client join_as(const std::string& nick) {
        line_client c;
        c.join(where_);
        c.send_raw("/nick " + nick + "\r\n");
        c.wait_for_prefix("* " + c.nick + " is now known as " + nick);
        c.nick = nick;
        return c;
    }

private:
    asio::io_context io_;
    chatroom::server server_;
    test::target where_;
    std::vector<std::thread> threads_;
    bool stopped_ = false;
    bool frozen_ = false;
};

// Reads until every line of `want` senders' numbered lines has come, or a
// deadline; returns the chat lines in the order they came.
inline std::vector<std::string> read_chat(line_client& c, std::size_t count) {
    std::vector<std::string> got;
    const auto deadline = test::test_clock::now() + 60s;
    while (got.size() < count && test::test_clock::now() < deadline) {
        auto line = c.read_line(5s);
        if (!line) continue;
        if (!line->empty() && line->front() == '<') got.push_back(*line);
    }
    return got;
}

// The members of one room are on every node before anyone speaks: each
// node's first member waits until it sees the others' joins counted.
inline void wait_members(line_client& c, std::size_t members) {
    REQUIRE(eventually([&] {
        c.send_raw("/who\r\n");
        auto line = c.wait_for_prefix("* in lobby:");
        return static_cast<std::size_t>(std::count(line.begin(), line.end(), ',')) + 1 == members;
    }));
}

inline void send_numbered(line_client& c, const std::string& tag, int from, int to) {
    std::string burst;
    for (int i = from; i < to; ++i) burst += tag + " " + std::to_string(i) + "\r\n";
    c.send_raw(burst);
}

// Every sender's lines, once each and in the sender's order.
inline void check_complete(const std::vector<std::string>& got, const std::map<std::string, int>& senders) {
    std::map<std::string, int> next;
    for (const auto& line : got) {
        const auto close = line.find("> ");
        REQUIRE(close != std::string::npos);
        const std::string nick = line.substr(1, close - 1);
        const std::string text = line.substr(close + 2);
        const auto space = text.rfind(' ');
        const int n = std::stoi(text.substr(space + 1));
        INFO(line);
        REQUIRE(n == next[nick]);
        ++next[nick];
    }
    for (const auto& [nick, count] : senders) CHECK(next[nick] == count);
}

inline std::string redis_cli(unsigned short port, const std::string& args) {
    const std::string cmd = "redis-cli -p " + std::to_string(port) + " " + args + " 2>&1";
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

} // namespace cluster_test
