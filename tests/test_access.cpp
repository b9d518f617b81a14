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
// threads (the hooks and controls must be safe with several). It listens on
// 127.0.0.1 (where) and, dual stack, on :: too: where6 reaches that one from
// ::1, and mapped from 127.0.0.1, which the listener sees as
// ::ffff:127.0.0.1. Two addresses, then: 127.0.0.1 and ::1.
struct access_server {
    explicit access_server(chatroom::access_hooks hooks = {}, chatroom::server_options o = {}) : server(io, o) {
        server.set_access(std::move(hooks));
        server.on_event([this](const chatroom::server_event& e) {
            std::lock_guard<std::mutex> g(m);
            events.push_back(e);
        });
    }
    void start() {
        server.listen({asio::ip::make_address("127.0.0.1"), 0});
        where.port = server.local_endpoint().port();
        if (ipv6_available()) {
            const auto ep = server.listen_tcp({asio::ip::make_address("::"), 0});
            where6.family = target::kind::tcp6;
            where6.port = mapped.port = ep.port();
        }
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    ~access_server() {
        server.stop();
        for (auto& t : threads) t.join();
    }
    bool saw(chatroom::server_event_kind k, const std::string& nick) {
        std::lock_guard<std::mutex> g(m);
        for (const auto& e : events)
            if (e.kind == k && e.nick == nick) return true;
        return false;
    }
    // Whether any event's field holds text.
    bool any_event_holds(const std::string& text) {
        std::lock_guard<std::mutex> g(m);
        for (const auto& e : events)
            for (const std::string* f : {&e.nick, &e.room, &e.text, &e.reason, &e.old_nick, &e.address, &e.by})
                if (f->find(text) != std::string::npos) return true;
        return false;
    }
    line_client join(const target& t) {
        line_client c;
        c.join(t);
        return c;
    }
    line_client join() { return join(where); }
    // From ::1, the other address.
    line_client join6() { return join(where6); }
    // The address a member's snapshot shows.
    std::string address_of(const std::string& nick) {
        for (const auto& r : server.rooms())
            for (const auto& mi : server.members(r.name))
                if (mi.nick == nick) return mi.address;
        return "(not a member)";
    }

    asio::io_context io{2};
    chatroom::server server;
    std::vector<std::thread> threads;
    target where, where6, mapped;
    std::mutex m;
    std::vector<chatroom::server_event> events;
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

// A verifier that answers when the test says so: logins stay under way
// meanwhile. Its answers: ok when the secret is "secret" (op when the name
// is "op"), else a refusal with no reason of its own.
struct held_verifier {
    struct call {
        chatroom::login_request request;
        std::function<void(chatroom::login_result)> done;
    };
    std::mutex m;
    std::vector<call> calls;

    chatroom::login_verifier hook() {
        return [this](chatroom::login_request r, std::function<void(chatroom::login_result)> done) {
            std::lock_guard<std::mutex> g(m);
            calls.push_back({std::move(r), std::move(done)});
        };
    }
    std::size_t count() {
        std::lock_guard<std::mutex> g(m);
        return calls.size();
    }
    void answer(std::size_t i) {
        std::function<void(chatroom::login_result)> done;
        chatroom::login_result res;
        {
            std::lock_guard<std::mutex> g(m);
            REQUIRE(i < calls.size());
            done = std::move(calls[i].done);
            res.ok = calls[i].request.secret == "secret";
            res.op = res.ok && calls[i].request.name == "op";
        }
        REQUIRE(done);
        done(res);
    }
    // Unanswered calls hold the server: dropped before it goes.
    void drop() {
        std::lock_guard<std::mutex> g(m);
        calls.clear();
    }
};

struct drop_on_exit {
    held_verifier& v;
    ~drop_on_exit() { v.drop(); }
};

// The first line of a fresh connection to t, once it is not "! too many
// connections from your address" (the previous one's slot is released when
// its session goes, a moment after it closed).
std::string first_line_when_admitted(line_client& c, const target& t) {
    std::string first;
    const bool ok = eventually([&] {
        std::string error;
        if (!c.try_connect(t, error)) return false;
        auto line = c.read_line(5s);
        first = line ? *line : std::string();
        return line && *line != "! too many connections from your address";
    });
    REQUIRE(ok);
    return first;
}

const std::string only_operators_5 =
    "! you are banned for 5 more minutes; only an operator may log in here: /login NAME SECRET";

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
    CHECK(eventually([&] { return s.saw(chatroom::server_event_kind::logged_in, "alice"); }));
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
    if (!ipv6_available()) return;
    access_server s(accounts({{"op", {"pw", true}}, {"bob", {"pw2", false}}}));
    s.start();
    // The operator and carol on ::1, bob on 127.0.0.1: bob's ban bans his address, not theirs.
    line_client op = s.join6(), bob = s.join(), carol = s.join6();
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
    // The account, and the address it was on: from there only an operator may log in.
    line_client again;
    again.connect(s.where);
    CHECK(again.expect_line() == only_operators_5);
    again.send("/login bob pw2");
    CHECK(again.expect_line() == "! you are banned for 5 more minutes");
    op.send("/unban bob");
    CHECK(op.wait_for_prefix("* unbanned") == "* unbanned bob");
    // The address's ban came with the account's and goes with it: welcome now.
    CHECK(again.wait_for_prefix("* welcome to chatroom, you are ") != "");
    again.wait_for_prefix("* joined lobby");
    again.send("/login bob pw2");
    CHECK(again.wait_for_prefix("* logged in as") == "* logged in as bob");

    op.send("/kick " + carol.nick + " enough");
    CHECK(carol.wait_for_prefix("! kicked") == "! kicked by op: enough");
    CHECK(again.wait_for_prefix("* " + carol.nick + " left") == "* " + carol.nick + " left (kicked by op: enough)");
    CHECK(eventually([&] { return s.saw(chatroom::server_event_kind::kicked, carol.nick); }));
    CHECK(s.saw(chatroom::server_event_kind::banned, "bob"));

    // A guest banned goes by address: bob, on it too, goes with it; the next
    // connection from it may only log in as an operator.
    line_client guest = s.join();
    op.send("/ban " + guest.nick + " 1");
    CHECK(guest.wait_for_prefix("! banned") == "! banned by op for 1 minute");
    CHECK(again.wait_for_prefix("! banned") == "! banned by op for 1 minute");
    CHECK(again.wait_closed());
    line_client refused;
    refused.connect(s.where);
    CHECK(refused.expect_line() ==
          "! you are banned for 1 more minute; only an operator may log in here: /login NAME SECRET");
    op.send("/unban 127.0.0.1");
    CHECK(op.wait_for_prefix("* unbanned") == "* unbanned 127.0.0.1");
    CHECK(refused.wait_for_prefix("* welcome to chatroom") != "");

    // A ban with an end ends by itself.
    line_client brief = s.join();
    op.send("/ban " + brief.nick + " 1s");
    CHECK(brief.wait_for_prefix("! banned") == "! banned by op for 1 second");
    line_client during;
    during.connect(s.where);
    CHECK(during.expect_line().rfind("! you are banned for 1 more second;", 0) == 0);
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

TEST_CASE("an IPv4 client is one address on every listener: ::ffff:127.0.0.1 is 127.0.0.1", "[access][address]") {
    if (!ipv6_available()) return;
    chatroom::server_options o;
    o.max_connections_per_address = 1;
    chatroom::access_hooks h = accounts({{"op", {"pw", true}}});
    h.failed_logins_per_minute = 1;
    access_server s(h, o);
    s.start();
    line_client op = s.join6(); // ::1, the other address
    op.send("/login op pw");
    op.wait_for_prefix("* logged in as op");

    // One connection per address, whichever listener it came through.
    line_client first = s.join();
    CHECK(s.address_of(first.nick) == "127.0.0.1");
    line_client second;
    second.connect(s.mapped);
    CHECK(second.expect_line() == "! too many connections from your address");
    CHECK(second.wait_closed());
    first.close();
    line_client via_mapped;
    const std::string hello = first_line_when_admitted(via_mapped, s.mapped);
    REQUIRE(hello.rfind("* welcome to chatroom, you are ", 0) == 0);
    via_mapped.wait_for_prefix("* joined lobby");
    CHECK(s.address_of(hello.substr(hello.rfind(' ') + 1)) == "127.0.0.1");

    // One failed-login budget.
    via_mapped.send("/login op wrong");
    CHECK(via_mapped.wait_for_prefix("! ") == "! wrong name or secret");
    via_mapped.close();
    line_client via_v4;
    const std::string hello4 = first_line_when_admitted(via_v4, s.where);
    REQUIRE(hello4.rfind("* welcome to chatroom, you are ", 0) == 0);
    const std::string v4_nick = hello4.substr(hello4.rfind(' ') + 1);
    via_v4.wait_for_prefix("* joined lobby");
    via_v4.send("/login op pw");
    CHECK(via_v4.wait_for_prefix("! ") == "! too many failed logins; try again in a minute");

    // One ban: made through one listener, it holds on the other, and
    // /unban lifts it typed in either form.
    op.send("/ban " + v4_nick + " 5");
    CHECK(via_v4.wait_for_prefix("! banned") == "! banned by op for 5 minutes");
    CHECK(via_v4.wait_closed());
    CHECK(eventually([&] { return s.saw(chatroom::server_event_kind::banned, v4_nick); }));
    line_client banned;
    CHECK(first_line_when_admitted(banned, s.mapped) == only_operators_5);
    op.send("/unban ::ffff:127.0.0.1");
    CHECK(op.wait_for_prefix("* unbanned") == "* unbanned 127.0.0.1");
    CHECK(banned.wait_for_prefix("* welcome to chatroom") != "");
    CHECK_FALSE(s.any_event_holds("::ffff:"));
}

TEST_CASE("a login counts against its address when it starts, and at most two are checked at once",
          "[access][login]") {
    held_verifier v;
    chatroom::access_hooks h;
    h.verify = v.hook();
    h.failed_logins_per_minute = 3;
    access_server s(h);
    drop_on_exit dropper{v};
    s.start();
    line_client c0 = s.join(), c1 = s.join(), c2 = s.join(), c3 = s.join();
    c0.send("/login carol wrong0");
    REQUIRE(eventually([&] { return v.count() == 1; }));
    c1.send("/login carol secret");
    REQUIRE(eventually([&] { return v.count() == 2; }));
    // A third from the address is refused at once, not queued.
    c2.send("/login carol wrong2");
    CHECK(c2.wait_for_prefix("! ") ==
          "! too many logins under way from your address; try again when they are answered");
    CHECK(v.count() == 2);
    // A refusal with no reason of the verifier's reads as the docs say.
    v.answer(0);
    CHECK(c0.wait_for_prefix("! ") == "! wrong name or secret");
    // c0's failure and c1's check under way: two charges of three.
    c2.send("/login carol wrong2");
    REQUIRE(eventually([&] { return v.count() == 3; }));
    c3.send("/login carol wrong3");
    CHECK(c3.wait_for_prefix("! ") == "! too many failed logins; try again in a minute");
    CHECK(v.count() == 3);
    // A login that succeeds gives its charge back.
    v.answer(1);
    CHECK(c1.wait_for_prefix("* logged in as") == "* logged in as carol");
    c3.send("/login carol wrong3");
    REQUIRE(eventually([&] { return v.count() == 4; }));
    v.answer(2);
    v.answer(3);
    CHECK(c2.wait_for_prefix("! ") == "! wrong name or secret");
    CHECK(c3.wait_for_prefix("! ") == "! wrong name or secret");
    // Three failures now: nothing more from this address for a minute.
    c0.send("/login carol secret");
    CHECK(c0.wait_for_prefix("! ") == "! too many failed logins; try again in a minute");
    CHECK(v.count() == 4);
    CHECK(s.server.stats().failed_logins == 6);
}

TEST_CASE("a failed login's event names the member and its address, never what was typed", "[access][login]") {
    access_server s(accounts({{"alice", {"wonderland", false}}}));
    s.start();
    line_client c = s.join();
    c.send("/login s3cret alice"); // swapped: the secret where the name goes
    CHECK(c.wait_for_prefix("! ") == "! wrong name or secret");
    CHECK(eventually([&] { return s.saw(chatroom::server_event_kind::login_failed, c.nick); }));
    CHECK_FALSE(s.any_event_holds("s3cret"));
    std::lock_guard<std::mutex> g(s.m);
    for (const auto& e : s.events)
        if (e.kind == chatroom::server_event_kind::login_failed) CHECK(e.address == "127.0.0.1");
}

TEST_CASE("a banned address still lets an operator log in to lift the ban; its guests stay refused",
          "[access][moderation]") {
    if (!ipv6_available()) return;
    access_server s(accounts({{"op", {"pw", true}}, {"op2", {"pw", true}}, {"bob", {"pw2", false}}}));
    s.start();
    line_client op = s.join6(), guest = s.join();
    op.send("/login op pw");
    op.wait_for_prefix("* logged in as op");
    op.send("/ban " + guest.nick + " 5");
    CHECK(guest.wait_closed());

    // Let in, told why, in no room: anything but /login, /help and /quit is refused.
    line_client c;
    c.connect(s.where);
    CHECK(c.expect_line() == only_operators_5);
    for (const char* line : {"hello?", "/who", "/nick sneaky", "/join elsewhere", "/msg op hi"}) {
        c.send(line);
        CHECK(c.expect_line() == only_operators_5);
    }
    c.send("/help");
    CHECK(c.expect_line() == "* commands:");
    op.send("/who");
    CHECK(op.wait_for_prefix("* in lobby:") == "* in lobby: op");

    // A login that is not an operator's, or that fails, closes the connection.
    line_client not_op;
    not_op.connect(s.where);
    not_op.expect_line();
    not_op.send("/login bob pw2");
    CHECK(not_op.wait_for_prefix("! ") == "! you are banned for 5 more minutes");
    CHECK(not_op.wait_closed());
    line_client wrong;
    wrong.connect(s.where);
    wrong.expect_line();
    wrong.send("/login op2 nope");
    CHECK(wrong.expect_line() == "! wrong name or secret");
    CHECK(wrong.expect_line() == "! you are banned for 5 more minutes");
    CHECK(wrong.wait_closed());

    // An operator's login gets in, and lifts the ban.
    c.send("/login op2 pw");
    CHECK(c.wait_for_prefix("* logged in as") == "* logged in as op2");
    CHECK(c.wait_for_prefix("* joined lobby") == "* joined lobby (2 members)");
    c.send("/unban 127.0.0.1");
    CHECK(c.wait_for_prefix("* unbanned") == "* unbanned 127.0.0.1");
    line_client welcome;
    welcome.join(s.where);
}

TEST_CASE("an operator bans her own address only when she confirms it", "[access][moderation]") {
    if (!ipv6_available()) return;
    access_server s(accounts({{"op", {"pw", true}}}));
    s.start();
    line_client op = s.join(), guest = s.join(), watcher = s.join6();
    op.send("/login op pw");
    op.wait_for_prefix("* logged in as op");
    op.send("/ban " + guest.nick + " 2");
    CHECK(op.wait_for_prefix("! ") == "! " + guest.nick +
                                          " is on your own address 127.0.0.1: banning it refuses everyone there but "
                                          "operators; to ban it anyway: /ban " + guest.nick + " 2 confirm");
    guest.send("still here");
    CHECK(watcher.wait_for_prefix("<" + guest.nick + ">") == "<" + guest.nick + "> still here");
    op.send("/ban " + guest.nick + " 2 CONFIRM");
    CHECK(guest.wait_for_prefix("! banned") == "! banned by op for 2 minutes");
    CHECK(guest.wait_closed());
    // She stays (an operator), her guests' address is banned.
    op.send("still here too");
    CHECK(watcher.wait_for_prefix("<op>") == "<op> still here too");
    line_client next;
    next.connect(s.where);
    CHECK(next.expect_line().rfind("! you are banned for 2 more minutes;", 0) == 0);
}

TEST_CASE("a ban removes every member on the address but operators", "[access][moderation]") {
    if (!ipv6_available()) return;
    access_server s(accounts({{"op", {"pw", true}}, {"op2", {"pw", true}}, {"bob", {"pw2", false}}}));
    s.start();
    line_client op = s.join6(), g1 = s.join(), g2 = s.join(), bob = s.join(), op2 = s.join();
    op.send("/login op pw");
    op.wait_for_prefix("* logged in as op");
    bob.send("/login bob pw2");
    bob.wait_for_prefix("* logged in as bob");
    op2.send("/login op2 pw");
    op2.wait_for_prefix("* logged in as op2");
    op.send("/ban " + g1.nick + " 2");
    for (line_client* gone : {&g1, &g2, &bob}) {
        CHECK(gone->wait_for_prefix("! banned") == "! banned by op for 2 minutes");
        CHECK(gone->wait_closed());
    }
    CHECK(op.wait_for_prefix("* bob left") == "* bob left (banned by op (2 minutes))");
    op2.send("/who");
    CHECK(op2.wait_for_prefix("* in lobby:") == "* in lobby: op, op2");
}

TEST_CASE("an account's ban bans its address too: the banned cannot come back as a guest", "[access][moderation]") {
    if (!ipv6_available()) return;
    access_server s(accounts({{"op", {"pw", true}}, {"bob", {"pw2", false}}}));
    s.start();
    line_client op = s.join6(), bob = s.join();
    op.send("/login op pw");
    op.wait_for_prefix("* logged in as op");
    bob.send("/login bob pw2");
    bob.wait_for_prefix("* logged in as bob");
    op.send("/ban bob 5");
    CHECK(bob.wait_closed());
    line_client back;
    back.connect(s.where);
    CHECK(back.expect_line() == only_operators_5);
    back.send("it is me again");
    CHECK(back.expect_line() == only_operators_5);
    back.send("/nick b0b");
    CHECK(back.expect_line() == only_operators_5);
    op.send("/who");
    CHECK(op.wait_for_prefix("* in lobby:") == "* in lobby: op");
    // Lifting the account's ban lifts the address's that came with it.
    op.send("/unban bob");
    CHECK(op.wait_for_prefix("* unbanned") == "* unbanned bob");
    CHECK(back.wait_for_prefix("* welcome to chatroom") != "");
    line_client later;
    later.join(s.where);
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
