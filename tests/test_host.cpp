// The host's side of the server, over the line protocol: hooks handed folded
// names, lines pipelined after /login, controls that say why they failed,
// the host's lines and /me in the event mirror, one connection per account,
// and the rooms the host makes (private, capped, persistent, invitations).
#include "support/running_server.hpp"

#include <asio/use_future.hpp>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace test;

namespace {

// A server built in the test, run by two threads, recording its events.
struct host_server {
    explicit host_server(chatroom::access_hooks hooks = {}) : server(io) {
        server.set_access(std::move(hooks));
        server.on_event([this](const chatroom::server_event& e) {
            std::lock_guard<std::mutex> g(m);
            events.push_back(e);
        });
        server.listen({asio::ip::make_address("127.0.0.1"), 0});
        where.port = server.local_endpoint().port();
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    ~host_server() {
        server.stop();
        for (auto& t : threads) t.join();
    }
    line_client join() {
        line_client c;
        c.join(where);
        return c;
    }
    // The first event of kind k that pred accepts, once it came.
    template <class Pred>
    std::optional<chatroom::server_event> wait_event(chatroom::server_event_kind k, Pred pred) {
        std::optional<chatroom::server_event> found;
        eventually([&] {
            std::lock_guard<std::mutex> g(m);
            for (const auto& e : events)
                if (e.kind == k && pred(e)) {
                    found = e;
                    return true;
                }
            return false;
        });
        return found;
    }
    std::optional<chatroom::host_room_info> details(const std::string& name) {
        for (auto& r : server.room_details())
            if (r.name == name) return r;
        return std::nullopt;
    }

    asio::io_context io{2};
    chatroom::server server;
    std::vector<std::thread> threads;
    target where;
    std::mutex m;
    std::vector<chatroom::server_event> events;
};

// A verifier that answers when the test says so (ok when the secret is
// "secret"), as a slow password hash on a worker would.
struct later_verifier {
    std::mutex m;
    std::vector<std::function<void(chatroom::login_result)>> pending;
    std::vector<chatroom::login_request> requests;

    chatroom::login_verifier hook() {
        return [this](chatroom::login_request r, std::function<void(chatroom::login_result)> done) {
            std::lock_guard<std::mutex> g(m);
            requests.push_back(std::move(r));
            pending.push_back(std::move(done));
        };
    }
    std::size_t count() {
        std::lock_guard<std::mutex> g(m);
        return pending.size();
    }
    // Answers call i from another thread.
    void answer(std::size_t i) {
        std::function<void(chatroom::login_result)> done;
        chatroom::login_result res;
        {
            std::lock_guard<std::mutex> g(m);
            REQUIRE(i < pending.size());
            done = std::move(pending[i]);
            res.ok = requests[i].secret == "secret";
        }
        std::thread([done = std::move(done), res] { done(res); }).join();
    }
    ~later_verifier() {
        std::lock_guard<std::mutex> g(m);
        pending.clear();
    }
};

} // namespace

TEST_CASE("hooks are handed folded names: a std::map of lower-case accounts refuses ALICE and Alice",
          "[host][access]") {
    const std::map<std::string, std::string> accounts{{"alice", "secret"}, {"bob", "secret"}};
    std::vector<std::string> shown;
    std::mutex shown_mutex;
    chatroom::access_hooks h;
    h.is_registered = [&](const chatroom::name_ref& name) {
        std::lock_guard<std::mutex> g(shown_mutex);
        shown.emplace_back(name.shown);
        return accounts.count(std::string(name.folded)) != 0;
    };
    h.verify = [&](chatroom::login_request r, std::function<void(chatroom::login_result)> done) {
        auto it = accounts.find(r.folded_name);
        chatroom::login_result res;
        res.ok = it != accounts.end() && it->second == r.secret;
        res.account = res.ok ? it->first : std::string();
        done(res);
    };
    h.authorize = [](const chatroom::member_info&, const chatroom::action& a) {
        if (a.kind == chatroom::action_kind::join && a.folded_room == "staff") return chatroom::verdict::refuse("staff only");
        return chatroom::verdict::allow();
    };
    host_server s(h);
    line_client guest = s.join();
    for (const std::string nick : {"alice", "ALICE", "Alice"}) {
        guest.send("/nick " + nick);
        CHECK(guest.expect_line() == "! nick registered: log in with /login " + nick + " SECRET");
    }
    {
        std::lock_guard<std::mutex> g(shown_mutex);
        CHECK(shown == std::vector<std::string>{"alice", "ALICE", "Alice"});
    }
    guest.send("/join STAFF");
    CHECK(guest.expect_line() == "! staff only");
    guest.send("/login ALICE secret");
    CHECK(guest.expect_line() == "* logged in as alice");

    // A 2.x hook taking a std::string_view compiles, and is handed the folded name.
    chatroom::access_hooks old;
    old.is_registered = [&](std::string_view name) { return accounts.count(std::string(name)) != 0; };
    s.server.set_access(old);
    line_client other = s.join();
    other.send("/nick bOB");
    CHECK(other.expect_line() == "! nick registered: log in with /login bOB SECRET");
}

TEST_CASE("lines written with /login wait for its verdict, then run in order", "[host][login]") {
    later_verifier v;
    chatroom::access_hooks h;
    h.verify = v.hook();
    host_server s(h);
    line_client c = s.join();
    const std::string guest = c.nick;
    c.send_raw("/login bob secret\n/join staff\n/who\n");
    REQUIRE(eventually([&] { return v.count() == 1; }));
    v.answer(0);
    CHECK(c.expect_line() == "* logged in as bob");
    CHECK(c.expect_line() == "* " + guest + " is now known as bob");
    CHECK(c.expect_line() == "* joined staff (1 member)");
    CHECK(c.expect_line() == "* in staff: bob");

    // A refusal lets the lines run too, as the guest.
    line_client d = s.join();
    d.send_raw("/login bob wrong\n/who\n");
    REQUIRE(eventually([&] { return v.count() == 2; }));
    v.answer(1);
    CHECK(d.expect_line() == "! wrong name or secret");
    CHECK(d.expect_line() == "* in lobby: " + d.nick);
}

TEST_CASE("the host's controls say why they failed", "[host][controls]") {
    host_server s;
    line_client a = s.join(), b = s.join();
    a.wait_for_prefix("* " + b.nick + " joined");
    using chatroom::host_errc;

    CHECK(s.server.kick("nobody") == host_errc::no_such_member);
    CHECK(s.server.move("nobody", "side") == host_errc::no_such_member);
    CHECK(s.server.move(a.nick, "no room!") == host_errc::bad_name);
    CHECK(s.server.rename("nobody", "x") == host_errc::no_such_member);
    CHECK(s.server.rename(a.nick, "bad nick") == host_errc::bad_name);
    CHECK(s.server.rename(a.nick, b.nick) == host_errc::name_taken);
    CHECK(s.server.set_topic("nowhere", "x") == host_errc::no_such_room);
    const chatroom::control_result r = s.server.set_topic("nowhere", "x");
    CHECK_FALSE(r);
    CHECK(r.error().category().name() == std::string("chatroom.host"));
    CHECK(r.message() == "no such room");
    CHECK(s.server.set_topic("lobby", "fine"));

    // asio::use_future: the error comes back as a std::system_error.
    auto missing = s.server.async_notice("nowhere", "hello", asio::use_future);
    REQUIRE(missing.wait_for(patience) == std::future_status::ready);
    std::error_code thrown;
    try {
        missing.get();
    } catch (const std::system_error& e) {
        thrown = e.code();
    }
    CHECK(thrown == make_error_code(host_errc::no_such_room));
    auto sent = s.server.async_say("lobby", "host", "hi", asio::use_future);
    REQUIRE(sent.wait_for(patience) == std::future_status::ready);
    CHECK_NOTHROW(sent.get());
    CHECK(a.wait_for_prefix("<host>") == "<host> hi");
    std::promise<std::error_code> called;
    s.server.async_notice("lobby", "by callback", [&](std::error_code ec) { called.set_value(ec); });
    auto f = called.get_future();
    REQUIRE(f.wait_for(patience) == std::future_status::ready);
    CHECK_FALSE(f.get());
    CHECK(a.expect_line() == "* by callback");
}

TEST_CASE("the host's say() and members' /me reach the event mirror as messages", "[host][events]") {
    host_server s;
    line_client a = s.join(), b = s.join();
    a.wait_for_prefix("* " + b.nick + " joined");
    s.server.say("lobby", "referee", "round two");
    CHECK(a.expect_line() == "<referee> round two");
    auto said = s.wait_event(chatroom::server_event_kind::message, [](const chatroom::server_event& e) { return e.nick == "referee"; });
    REQUIRE(said);
    CHECK(said->room == "lobby");
    CHECK(said->text == "round two");
    CHECK_FALSE(said->action);

    a.send("/me waves");
    CHECK(b.wait_for_prefix("* " + a.nick) == "* " + a.nick + " waves");
    a.send("plain words");
    CHECK(b.expect_line() == "<" + a.nick + "> plain words");
    auto waved = s.wait_event(chatroom::server_event_kind::message, [&](const chatroom::server_event& e) { return e.nick == a.nick && e.action; });
    REQUIRE(waved);
    CHECK(waved->text == "waves");
    auto plain = s.wait_event(chatroom::server_event_kind::message, [&](const chatroom::server_event& e) { return e.nick == a.nick && !e.action; });
    REQUIRE(plain);
    CHECK(plain->text == "plain words");
}

TEST_CASE("one connection per account on a single server: a second login is refused, the first keeps it",
          "[host][login]") {
    chatroom::access_hooks h;
    h.verify = [](chatroom::login_request r, std::function<void(chatroom::login_result)> done) {
        chatroom::login_result res;
        res.ok = r.secret == "secret";
        done(res);
    };
    host_server s(h);
    line_client first = s.join(), second = s.join();
    first.send("/login alice secret");
    CHECK(first.wait_for_prefix("* logged in") == "* logged in as alice");
    second.send("/login alice secret");
    CHECK(second.wait_for_prefix("! ") == "! alice is logged in elsewhere");
    second.send("/who");
    CHECK(second.wait_for_prefix("* in lobby:").find(second.nick) != std::string::npos);
    const auto members = s.server.members("lobby");
    int accounts = 0;
    for (const auto& m : members)
        if (m.account == "alice") {
            ++accounts;
            CHECK(m.nick == "alice");
        }
    CHECK(accounts == 1);
}

TEST_CASE("the host makes a private, capped room; members join it by invitation or by the host's move",
          "[host][rooms]") {
    host_server s;
    line_client a = s.join(), b = s.join(), c = s.join();
    using chatroom::host_errc;
    chatroom::room_options o;
    o.topic = "round 1";
    o.is_private = true;
    o.max_members = 2;
    REQUIRE(s.server.create_room("match-1", o));
    CHECK(s.server.create_room("MATCH-1") == host_errc::name_taken);
    CHECK(s.server.create_room("lobby") == host_errc::lobby_is_fixed);
    CHECK(s.server.create_room("no room!") == host_errc::bad_name);

    auto d = s.details("match-1");
    REQUIRE(d);
    CHECK(d->members == 0);
    CHECK(d->made_by_host);
    CHECK(d->options.is_private);
    CHECK(d->options.max_members == 2);
    CHECK(d->topic == "round 1");

    // Not listed, not joinable.
    a.send("/rooms");
    CHECK(a.wait_for_prefix("* rooms:") == "* rooms: lobby (3)");
    a.send("/join match-1");
    CHECK(a.expect_line() == "! match-1 is private: ask for an invitation");

    CHECK(s.server.invite("match-1", "nobody") == host_errc::no_such_member);
    CHECK(s.server.invite("nowhere", a.nick) == host_errc::no_such_room);
    REQUIRE(s.server.invite("MATCH-1", a.nick));
    CHECK(a.expect_line() == "* you are invited to match-1: /join match-1");
    a.send("/rooms");
    CHECK(a.expect_line() == "* rooms: lobby (3), match-1 (0, topic: round 1)");
    a.send("/join match-1");
    CHECK(a.wait_for_prefix("* joined") == "* joined match-1 (1 member)");
    CHECK(a.expect_line() == "* topic: round 1");

    REQUIRE(s.server.move(b.nick, "match-1"));
    CHECK(b.wait_for_prefix("* joined match-1") == "* joined match-1 (2 members)");
    // Full: for an invited member and for the host's move alike.
    REQUIRE(s.server.invite("match-1", c.nick));
    c.wait_for_prefix("* you are invited to match-1");
    c.send("/join match-1");
    CHECK(c.wait_for_prefix("! ") == "! match-1 is full (2 members)");
    CHECK(s.server.move(c.nick, "match-1") == host_errc::room_full);
    c.send("/rooms");
    CHECK(c.wait_for_prefix("* rooms:") == "* rooms: lobby (1), match-1 (2, topic: round 1)");

    CHECK(s.server.close_room("lobby") == host_errc::lobby_is_fixed);
    CHECK(s.server.close_room("nowhere") == host_errc::no_such_room);
    REQUIRE(s.server.close_room("match-1", "game over"));
    for (line_client* x : {&a, &b}) {
        CHECK(x->wait_for_prefix("* match-1 was closed") == "* match-1 was closed by the host: game over");
        CHECK(x->wait_for_prefix("* joined") == "* joined lobby (" + std::string(x == &a ? "2" : "3") + " members)");
    }
    CHECK_FALSE(s.details("match-1"));
    auto left = s.wait_event(chatroom::server_event_kind::left,
                             [&](const chatroom::server_event& e) { return e.nick == a.nick && e.room == "match-1"; });
    REQUIRE(left);
    CHECK(left->reason == "room closed: game over");
}

TEST_CASE("a persistent room outlives its last member; a host room without it goes with its last member",
          "[host][rooms]") {
    host_server s;
    line_client a = s.join();
    chatroom::room_options keep;
    keep.persistent = true;
    REQUIRE(s.server.create_room("staff", keep));
    REQUIRE(s.server.create_room("temp"));
    // Both exist, empty, until used.
    CHECK(s.details("staff"));
    CHECK(s.details("temp"));
    for (const std::string room : {"staff", "temp"}) {
        a.send("/join " + room);
        CHECK(a.wait_for_prefix("* joined " + room) == "* joined " + room + " (1 member)");
    }
    a.send("/join lobby");
    a.wait_for_prefix("* joined lobby");
    CHECK(s.details("staff"));
    CHECK_FALSE(s.details("temp"));
    a.send("/rooms");
    CHECK(a.wait_for_prefix("* rooms:") == "* rooms: lobby (1), staff (0)");
    // Closing an empty persistent room removes it.
    REQUIRE(s.server.close_room("staff"));
    CHECK_FALSE(s.details("staff"));
}

TEST_CASE("an invitation lasts while its member is connected", "[host][rooms]") {
    host_server s;
    chatroom::room_options o;
    o.is_private = true;
    o.persistent = true;
    REQUIRE(s.server.create_room("vip", o));
    line_client a = s.join();
    REQUIRE(s.server.invite("vip", a.nick));
    a.wait_for_prefix("* you are invited to vip");
    a.send("/nick renamed");
    a.wait_for_prefix("* " + a.nick + " is now known as renamed");
    a.send("/join vip");
    CHECK(a.wait_for_prefix("* joined") == "* joined vip (1 member)");
    a.send("/quit");
    REQUIRE(a.wait_closed());
    line_client b = s.join();
    b.send("/nick renamed");
    b.wait_for_prefix("* " + b.nick + " is now known as renamed");
    b.send("/join vip");
    CHECK(b.expect_line() == "! vip is private: ask for an invitation");
}

TEST_CASE("a stopping server makes no more rooms", "[host][rooms]") {
    host_server s;
    line_client a = s.join();
    s.server.stop();
    int n = 0;
    CHECK(eventually([&] {
        return s.server.create_room("late-" + std::to_string(++n)) == chatroom::host_errc::stopping;
    }));
    CHECK(a.wait_closed());
}
