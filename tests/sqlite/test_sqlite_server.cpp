// sqlite_history behind a real chatroom::server (set_history_store): what
// members say is committed with its id and time, and a server restarted on
// the same file replays it to a joiner with the original times, answers
// /history from it and numbers new lines after it.

#include "support/running_server.hpp"

#include <chatroom.hpp>
#include <chatroom/sqlite.hpp>

#include <asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

using namespace test;
using namespace std::chrono_literals;

namespace {

struct server_dir {
    std::filesystem::path path;
    server_dir() {
        std::string name = (std::filesystem::temp_directory_path() / "chatroom-sqlite-server-XXXXXX").string();
        if (!mkdtemp(name.data())) throw std::runtime_error("mkdtemp failed");
        path = name;
    }
    server_dir(const server_dir&) = delete;
    server_dir& operator=(const server_dir&) = delete;
    ~server_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// A server on its own thread with a SQLite store, on a free loopback port.
struct server_with_store {
    server_with_store(chatroom::server_options o, const std::string& db) : server(io.get_executor(), o) {
        chatroom::sqlite_history_options so;
        so.path = db;
        auto owned = std::make_unique<chatroom::sqlite_history>(so);
        store = owned.get();
        server.set_history_store(std::move(owned));
        server.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        where.port = server.local_endpoint().port();
        thread = std::thread([this] { io.run(); });
    }
    server_with_store(const server_with_store&) = delete;
    server_with_store& operator=(const server_with_store&) = delete;
    ~server_with_store() {
        server.stop();
        thread.join();
    }
    asio::io_context io;
    chatroom::server server;
    chatroom::sqlite_history* store = nullptr; // owned by the server
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

chatroom::history_page latest(chatroom::sqlite_history& store, const std::string& room) {
    std::promise<chatroom::history_page> got;
    auto page = got.get_future();
    chatroom::history_query q;
    q.room = room;
    store.query(q, [&](std::error_code, chatroom::history_page p) { got.set_value(std::move(p)); });
    if (page.wait_for(20s) != std::future_status::ready) throw std::runtime_error("no answer within 20 s");
    return page.get();
}

} // namespace

TEST_CASE("sqlite history behind a server: a restart keeps the lines, their times, and the ids go on", "[sqlite]") {
    server_dir dir;
    const std::string db = (dir.path / "chat.db").string();
    chatroom::server_options o;
    o.history_lines = 5;
    chatroom::room_event said;
    {
        server_with_store s(o, db);
        line_client alice = joined(s.where, "alice");
        alice.send("/me waves");
        alice.send("first");
        alice.send("/join dev");
        alice.wait_for_prefix("* joined dev");
        alice.send("in dev");
        REQUIRE(eventually([&] { return s.store->committed() == 3; }));
        const auto page = latest(*s.store, "dev");
        REQUIRE(page.events.size() == 1);
        said = page.events.front();
        CHECK(said.text == "in dev\n");
        CHECK(said.nick == "alice");
        CHECK(said.time != std::chrono::system_clock::time_point{});
        CHECK(latest(*s.store, "lobby").events.size() == 2);
    }
    server_with_store s(o, db);
    CHECK(s.store->last_seq() >= said.seq);
    line_client carol = joined(s.where, "carol");
    carol.send("/join dev");
    carol.wait_for_prefix("* joined dev");
    CHECK(carol.wait_for_prefix("<alice> in dev") == "<alice> in dev"); // replayed from the file
    carol.send("/history");
    CHECK(carol.expect_line() == "* history of dev, last 1 line (UTC):");
    const std::string line = carol.expect_line();
    CHECK(line.substr(line.find(']') + 2) == "<alice> in dev");
    carol.send("after the restart");
    REQUIRE(eventually([&] { return s.store->committed() == 1; }));
    const auto page = latest(*s.store, "dev");
    REQUIRE(page.events.size() == 2);
    CHECK(page.events[0].seq == said.seq);
    CHECK(page.events[0].time == said.time); // never restamped
    CHECK(page.events[1].seq > said.seq);     // never an id given before
    CHECK(page.events[1].text == "after the restart\n");
}
