// History as members and the host use it (core/history.hpp, issue 21): the
// line protocol's /history with times, the host's async_history with ids
// taken from message events, and a history store behind the server: every
// line handed to it with its id and time, ids continuing after the store's
// last one across a restart, a room that opens replaying the store's lines
// with their original times, and the store stopped when the server stops.
#include "support/running_server.hpp"

#include <chatroom.hpp>

#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace test;
using namespace std::chrono_literals;

namespace {

// A store in memory with a past of its own: what a restarted server's
// SQLite file would hold. Answers "latest" only; counts what it was given.
class recording_store final : public chatroom::history_store {
public:
    explicit recording_store(std::vector<chatroom::room_event> past = {}) : kept_(std::move(past)) {}

    void keep(const chatroom::room_event& e) override {
        std::lock_guard<std::mutex> g(m_);
        kept_.push_back(e);
    }
    void query(const chatroom::history_query& q,
               std::function<void(std::error_code, chatroom::history_page)> done) override {
        chatroom::history_page page;
        {
            std::lock_guard<std::mutex> g(m_);
            for (const auto& e : kept_)
                if (e.room == q.room) page.events.push_back(e);
        }
        if (page.events.size() > q.limit) page.events.erase(page.events.begin(), page.events.end() - static_cast<std::ptrdiff_t>(q.limit));
        std::thread([done = std::move(done), page = std::move(page)] { done({}, page); }).detach(); // another thread, as a real store
    }
    std::uint64_t last_seq() const override {
        std::lock_guard<std::mutex> g(m_);
        return kept_.empty() ? 0 : kept_.back().seq;
    }
    void stop() override { stopped = true; }

    std::vector<chatroom::room_event> kept() const {
        std::lock_guard<std::mutex> g(m_);
        return kept_;
    }
    std::atomic<bool> stopped{false};

private:
    mutable std::mutex m_;
    std::vector<chatroom::room_event> kept_;
};

// A server on its own thread, listening on a free loopback port.
struct server_on_thread {
    explicit server_on_thread(chatroom::server_options o, std::unique_ptr<chatroom::history_store> store = nullptr)
        : server(io.get_executor(), o) {
        if (store) server.set_history_store(std::move(store));
        server.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        where.port = server.local_endpoint().port();
        thread = std::thread([this] { io.run(); });
    }
    ~server_on_thread() {
        server.stop();
        thread.join();
    }
    asio::io_context io;
    chatroom::server server;
    target where;
    std::thread thread;
};

line_client joined(const target& t, const std::string& nick) {
    line_client c;
    c.join(t);
    c.send("/nick " + nick);
    const std::string renamed = " is now known as " + nick;
    c.wait_for([&](const std::string& l) {
        return l.size() > renamed.size() && l.compare(l.size() - renamed.size(), renamed.size(), renamed) == 0;
    });
    return c;
}

const std::regex stamped(R"(\[\d\d:\d\d\] <alice> line \d)");

} // namespace

TEST_CASE("/history prints the room's last lines with their times in UTC", "[history]") {
    chatroom::server_options o;
    o.history_lines = 10;
    server_on_thread s(o);
    line_client alice = joined(s.where, "alice");
    line_client bob = joined(s.where, "bob");
    for (int i = 1; i <= 3; ++i) alice.send("line " + std::to_string(i));
    bob.wait_for([](const std::string& l) { return l == "<alice> line 3"; });
    bob.send("/history 2");
    CHECK(bob.expect_line() == "* history of lobby, last 2 lines (UTC):");
    const std::string first = bob.expect_line(), second = bob.expect_line();
    CHECK(std::regex_match(first, stamped));
    CHECK(first.substr(8) == "<alice> line 2");
    CHECK(second.substr(8) == "<alice> line 3");
    bob.send("/history many");
    CHECK(bob.expect_line() == "! usage: /history [N] (a number of lines)");
    bob.send("/join empty");
    bob.wait_for_prefix("* joined empty");
    bob.send("/history");
    CHECK(bob.expect_line() == "* no history in empty");
}

TEST_CASE("/history on a server that keeps none says so", "[history]") {
    server_on_thread s({});
    line_client bob = joined(s.where, "bob");
    bob.send("/history");
    CHECK(bob.expect_line() == "! this server keeps no history");
}

TEST_CASE("async_history pages a room by the ids message events carry", "[history]") {
    chatroom::server_options o;
    o.history_lines = 50;
    server_on_thread s(o);
    std::mutex m;
    std::vector<chatroom::server_event> messages;
    auto sub = s.server.on_event(
        [&](const chatroom::server_event& e) {
            std::lock_guard<std::mutex> g(m);
            messages.push_back(e);
        },
        chatroom::mask_of(chatroom::server_event_kind::message));
    line_client alice = joined(s.where, "alice");
    // One line at a time: lines read together are one room event, one id.
    for (std::size_t i = 1; i <= 6; ++i) {
        alice.send("line " + std::to_string(i));
        REQUIRE(eventually([&] {
            std::lock_guard<std::mutex> g(m);
            return messages.size() == i;
        }));
    }
    std::vector<chatroom::server_event> seen;
    {
        std::lock_guard<std::mutex> g(m);
        seen = messages;
    }
    chatroom::history_query q;
    q.room = "LOBBY"; // any case
    q.range = chatroom::history_range::after;
    q.id = seen[2].id;
    auto page = s.server.async_history(q, asio::use_future).get();
    REQUIRE(page.events.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(chatroom::id_of(page.events[i]) == seen[3 + i].id);
        CHECK(page.events[i].time == seen[3 + i].time); // the time it was said, not the time asked
        CHECK(page.events[i].text == seen[3 + i].text + "\n");
    }
    q.range = chatroom::history_range::before;
    q.limit = 2;
    page = s.server.async_history(q, asio::use_future).get();
    REQUIRE(page.events.size() == 2);
    CHECK(page.events[1].text == "line 2\n");
    CHECK_FALSE(page.more);
    q.id = "not-an-id";
    auto failed = s.server.async_history(q, asio::use_future);
    try {
        failed.get();
        FAIL("a bad id was answered");
    } catch (const std::system_error& e) {
        CHECK(e.code() == chatroom::history_errc::bad_query);
    }
}

TEST_CASE("a history store is given every line with its id and time, and a restarted server continues its ids and "
          "replays its lines with their original times",
          "[history]") {
    chatroom::server_options o;
    o.history_lines = 5;
    std::vector<chatroom::room_event> before_restart;
    {
        auto store = std::make_unique<recording_store>();
        recording_store& kept = *store;
        server_on_thread s(o, std::move(store));
        line_client alice = joined(s.where, "alice");
        alice.send("/me waves");
        alice.send("first");
        alice.send("/join dev");
        alice.wait_for_prefix("* joined dev");
        alice.send("in dev");
        REQUIRE(eventually([&] { return kept.kept().size() == 3; }));
        before_restart = kept.kept();
        CHECK(before_restart[0].kind == chatroom::room_event_kind::action);
        CHECK(before_restart[2].room == "dev");
        CHECK(before_restart[0].seq < before_restart[1].seq);
        for (const auto& e : before_restart) CHECK(e.time != std::chrono::system_clock::time_point{});
        s.server.stop();
        REQUIRE(eventually([&] { return kept.stopped.load(); }));
    }
    // The same past, as a store file would hold it, said an hour ago.
    for (auto& e : before_restart) e.time -= 1h;
    auto store = std::make_unique<recording_store>(before_restart);
    recording_store& kept = *store;
    server_on_thread s(o, std::move(store));
    line_client carol = joined(s.where, "carol");
    carol.send("/join dev");
    carol.wait_for_prefix("* joined dev");
    // The room opened here: its past comes from the store, as said.
    CHECK(carol.wait_for_prefix("<alice> in dev") == "<alice> in dev");
    carol.send("/history");
    CHECK(carol.expect_line() == "* history of dev, last 1 line (UTC):");
    const std::string line = carol.expect_line();
    CHECK(line.substr(line.find(']') + 2) == "<alice> in dev");
    carol.send("after the restart");
    REQUIRE(eventually([&] { return kept.kept().size() == before_restart.size() + 1; }));
    CHECK(kept.kept().back().seq > before_restart.back().seq); // never an id given before
}
