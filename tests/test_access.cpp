// Who may do what: accounts, operators and moderation, custom commands, the
// host's hooks and controls, over the line protocol.
#include "support/running_server.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace test;

namespace {

// A server built in the test, so the test can set its hooks, run by two
// threads (the hooks and controls must be safe with several).
struct access_server {
    explicit access_server(chatroom::access_hooks hooks = {}, chatroom::server_options o = {}) : server(io, o) {
        server.set_access(std::move(hooks));
        server.on_event([this](const chatroom::event& e) {
            std::lock_guard<std::mutex> g(m);
            events.push_back(e);
        });
    }
    void start() {
        server.listen({asio::ip::make_address("127.0.0.1"), 0});
        where.port = server.local_endpoint().port();
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    ~access_server() {
        server.stop();
        for (auto& t : threads) t.join();
    }
    bool saw(chatroom::event_kind k, const std::string& nick) {
        std::lock_guard<std::mutex> g(m);
        for (const auto& e : events)
            if (e.kind == k && e.nick == nick) return true;
        return false;
    }
    line_client join() {
        line_client c;
        c.join(where);
        return c;
    }

    asio::io_context io{2};
    chatroom::server server;
    std::vector<std::thread> threads;
    target where;
    std::mutex m;
    std::vector<chatroom::event> events;
};

// Accounts in memory; the verifier answers from another thread, as a real
// one hashing passwords on a worker would.
chatroom::access_hooks accounts(std::map<std::string, std::pair<std::string, bool>> users, bool require = false) {
    auto table = std::make_shared<std::map<std::string, std::pair<std::string, bool>>>(std::move(users));
    chatroom::access_hooks h;
    h.require_login = require;
    h.is_registered = [table](std::string_view name) { return table->count(chatroom::protocol::fold_case(name)) > 0; };
    h.verify = [table](chatroom::login_request r, std::function<void(chatroom::login_result)> done) {
        std::thread([table, r = std::move(r), done = std::move(done)] {
            chatroom::login_result res;
            auto it = table->find(chatroom::protocol::fold_case(r.name));
            res.ok = it != table->end() && it->second.first == r.secret;
            res.op = res.ok && it->second.second;
            if (!res.ok) res.reason = "wrong name or secret";
            done(res);
        }).detach();
    };
    return h;
}

} // namespace

TEST_CASE("no guest can pose as a registered user, and a login takes the account's name", "[access][login]") {
    access_server s(accounts({{"alice", {"wonderland", false}}}));
    s.start();
    line_client guest = s.join(), alice = s.join();
    guest.wait_for_prefix("* " + alice.nick + " joined");
    guest.send("/nick alice");
    CHECK(guest.expect_line() == "! nick registered: log in with /login alice SECRET");
    guest.send("/nick ALICE");
    CHECK(guest.expect_line() == "! nick registered: log in with /login ALICE SECRET");
    alice.send("/login alice nope");
    CHECK(alice.expect_line() == "! wrong name or secret");
    CHECK(s.server.stats().failed_logins == 1);
    alice.send("/login alice wonderland");
    CHECK(alice.expect_line() == "* logged in as alice");
    CHECK(alice.expect_line() == "* " + alice.nick + " is now known as alice");
    CHECK(guest.wait_for_prefix("* " + alice.nick + " is now known as alice") != "");
    alice.send("/login alice wonderland");
    CHECK(alice.expect_line() == "! you are logged in already");
    CHECK(eventually([&] { return s.saw(chatroom::event_kind::logged_in, "alice"); }));
    auto who = s.server.members("lobby");
    REQUIRE(who.size() == 2);
    bool found = false;
    for (const auto& m : who) found = found || (m.nick == "alice" && m.account == "alice" && m.transport == "tcp");
    CHECK(found);
}

TEST_CASE("with login required a member is in no room until it logs in", "[access][login]") {
    access_server s(accounts({{"bob", {"builder", false}}}, true));
    s.start();
    line_client c;
    c.connect(s.where);
    CHECK(c.expect_line().rfind("* welcome to chatroom, you are guest-", 0) == 0);
    CHECK(c.expect_line() == "! log in first: /login NAME SECRET");
    c.send("hello?");
    CHECK(c.expect_line() == "! log in first: /login NAME SECRET");
    c.send("/join dev");
    CHECK(c.expect_line() == "! log in first: /login NAME SECRET");
    c.send("/help");
    CHECK(c.expect_line() == "* commands:");
    CHECK(s.server.rooms().empty());
    c.send("/login bob builder");
    CHECK(c.wait_for_prefix("* joined lobby") == "* joined lobby (1 member)");
    c.send("/who");
    CHECK(c.wait_for_prefix("* in lobby:") == "* in lobby: bob");
}

TEST_CASE("failed logins are limited per address and cost no check past the limit", "[access][login]") {
    std::atomic<int> checks{0};
    chatroom::access_hooks h = accounts({{"carol", {"secret", false}}});
    auto verify = h.verify;
    h.verify = [&checks, verify](chatroom::login_request r, std::function<void(chatroom::login_result)> done) {
        ++checks;
        verify(std::move(r), std::move(done));
    };
    h.failed_logins_per_minute = 3;
    access_server s(h);
    s.start();
    line_client c = s.join(), other = s.join();
    c.wait_for_prefix("* " + other.nick + " joined");
    for (int i = 0; i < 3; ++i) {
        c.send("/login carol wrong" + std::to_string(i));
        CHECK(c.expect_line() == "! wrong name or secret");
    }
    c.send("/login carol secret");
    CHECK(c.expect_line() == "! too many failed logins; try again in a minute");
    CHECK(checks == 3);
    // Chat goes on for everyone meanwhile.
    other.send("still here");
    CHECK(c.expect_line() == "<" + other.nick + "> still here");
}

TEST_CASE("operators kick, ban, unban, mute and set the topic; others are not permitted", "[access][moderation]") {
    access_server s(accounts({{"op", {"pw", true}}, {"bob", {"pw2", false}}}));
    s.start();
    line_client op = s.join(), bob = s.join(), carol = s.join();
    op.send("/login op pw");
    op.wait_for_prefix("* logged in as op");
    bob.send("/login bob pw2");
    bob.wait_for_prefix("* logged in as bob");
    op.wait_for_prefix("* " + bob.nick + " is now known as bob");

    carol.send("/kick op");
    CHECK(carol.wait_for_prefix("! ") == "! not permitted");

    op.send("/topic builds are green");
    CHECK(carol.wait_for_prefix("* op set the topic") == "* op set the topic: builds are green");
    carol.send("/rooms");
    CHECK(carol.wait_for_prefix("* rooms:") == "* rooms: lobby (3, topic: builds are green)");

    op.send("/mute " + carol.nick);
    CHECK(carol.wait_for_prefix("* " + carol.nick + " was muted") == "* " + carol.nick + " was muted by op");
    carol.send("can you hear me");
    CHECK(carol.expect_line() == "! you are muted");
    op.send("/unmute " + carol.nick);
    carol.wait_for_prefix("* " + carol.nick + " was unmuted by op");
    carol.send("now you can");
    CHECK(op.wait_for_prefix("<" + carol.nick + ">") == "<" + carol.nick + "> now you can");

    op.send("/ban bob 5");
    CHECK(bob.wait_for_prefix("! banned") == "! banned by op for 5 minutes");
    CHECK(bob.wait_closed());
    CHECK(carol.wait_for_prefix("* bob left") == "* bob left (banned by op (5 minutes))");
    line_client again = s.join();
    again.send("/login bob pw2");
    CHECK(again.wait_for_prefix("! ") == "! you are banned for 5 more minutes");
    op.send("/unban bob");
    CHECK(op.wait_for_prefix("* unbanned") == "* unbanned bob");
    again.send("/login bob pw2");
    CHECK(again.wait_for_prefix("* logged in as") == "* logged in as bob");

    op.send("/kick " + carol.nick + " enough");
    CHECK(carol.wait_for_prefix("! kicked") == "! kicked by op: enough");
    CHECK(again.wait_for_prefix("* " + carol.nick + " left") == "* " + carol.nick + " left (kicked by op: enough)");
    CHECK(eventually([&] { return s.saw(chatroom::event_kind::kicked, carol.nick); }));
    CHECK(s.saw(chatroom::event_kind::banned, "bob"));

    // A guest banned goes by address: the next connection from it is refused.
    line_client guest = s.join();
    op.send("/ban " + guest.nick + " 1");
    guest.wait_closed();
    line_client refused;
    refused.connect(s.where);
    CHECK(refused.expect_line() == "! you are banned for 1 more minute");
    CHECK(refused.wait_closed());
    op.send("/unban 127.0.0.1");
    CHECK(op.wait_for_prefix("* unbanned") == "* unbanned 127.0.0.1");

    // A ban with an end ends by itself.
    line_client brief = s.join();
    op.send("/ban " + brief.nick + " 1s");
    CHECK(brief.wait_for_prefix("! banned") == "! banned by op for 1 second");
    line_client during;
    during.connect(s.where);
    CHECK(during.expect_line() == "! you are banned for 1 more second");
    CHECK(eventually([&] {
        line_client after;
        std::string error;
        if (!after.try_connect(s.where, error)) return false;
        const auto first = after.read_line(2s);
        return first && first->rfind("* welcome", 0) == 0;
    }, 10s));
    op.send("/ban " + brief.nick + " soon");
    CHECK(op.wait_for_prefix("! usage: /ban") != "");
}

TEST_CASE("custom commands run with the caller and show in /help; built-ins are not shadowed by accident",
          "[access][commands]") {
    access_server s;
    CHECK_FALSE(s.server.add_command("who", "my who", [](chatroom::command_call&) {}));
    CHECK_FALSE(s.server.add_command("bad name", "x", [](chatroom::command_call&) {}));
    CHECK(s.server.add_command("roll", "roll a die", [](chatroom::command_call& c) {
        if (c.args().empty()) return c.refuse("usage: /roll SIDES");
        c.reply("you rolled for " + c.caller().nick);
        c.say("rolled a " + c.args());
    }));
    CHECK(s.server.add_command("rooms", "rooms, the host's way", [](chatroom::command_call& c) { c.reply("mine"); },
                               true));
    s.start();
    line_client a = s.join(), b = s.join();
    a.send("/help");
    CHECK(a.wait_for_prefix("*   /roll") == "*   /roll            roll a die");
    a.send("/roll");
    CHECK(a.wait_for_prefix("! ") == "! usage: /roll SIDES");
    a.send("/ROLL 6");
    CHECK(a.wait_for_prefix("* you rolled") == "* you rolled for " + a.nick);
    CHECK(b.wait_for_prefix("<" + a.nick + ">") == "<" + a.nick + "> rolled a 6");
    a.send("/rooms");
    CHECK(a.expect_line() == "* mine");
}

TEST_CASE("the host's authorizer makes rooms private or read-only, and its admission hook refuses at connect",
          "[access][hooks]") {
    chatroom::access_hooks h;
    h.authorize = [](const chatroom::member_info& who, const chatroom::action& a) {
        if (a.kind == chatroom::action_kind::join && a.room == "staff") return chatroom::verdict::refuse("staff only");
        if (a.kind == chatroom::action_kind::say && a.room == "news" && who.account.empty())
            return chatroom::verdict::refuse("news is read-only");
        return chatroom::verdict::allow();
    };
    std::atomic<int> admitted{0};
    h.admit = [&](const chatroom::peer_info& p) {
        if (++admitted == 3) return chatroom::verdict::refuse("third time unlucky (" + p.transport + ")");
        return chatroom::verdict::allow();
    };
    access_server s(h);
    s.start();
    line_client a = s.join(), b = s.join();
    a.wait_for_prefix("* " + b.nick + " joined");
    a.send("/join staff");
    CHECK(a.expect_line() == "! staff only");
    a.send("/join news");
    a.wait_for_prefix("* joined news");
    a.send("breaking");
    CHECK(a.expect_line() == "! news is read-only");
    line_client c;
    c.connect(s.where);
    CHECK(c.expect_line() == "! third time unlucky (tcp)");
    CHECK(c.wait_closed());
}

TEST_CASE("the host's controls work from another thread while members chat", "[access][controls]") {
    access_server s;
    s.start();
    line_client a = s.join(), b = s.join();
    std::atomic<bool> chatting{true};
    std::thread talker([&] {
        for (int i = 0; chatting && i < 2000; ++i) a.send("line " + std::to_string(i));
    });
    CHECK(s.server.set_topic("lobby", "hello from the host"));
    CHECK_FALSE(s.server.set_topic("nowhere", "x"));
    auto rooms = s.server.rooms();
    REQUIRE(rooms.size() == 1);
    CHECK(rooms[0].topic == "hello from the host");
    CHECK(rooms[0].members == 2);
    CHECK(s.server.rename(b.nick, "bee"));
    CHECK_FALSE(s.server.rename("nobody", "x"));
    CHECK(s.server.move("bee", "side"));
    CHECK_FALSE(s.server.move("nobody", "side"));
    chatting = false;
    talker.join();
    CHECK(b.wait_for_prefix("* joined side") == "* joined side (1 member)");
    CHECK(s.server.members("side").at(0).nick == "bee");
    CHECK(s.server.kick("bee", "bye"));
    CHECK(b.wait_for_prefix("! kicked") == "! kicked by the host: bye");
    CHECK_FALSE(s.server.kick("bee"));
}
