// Every rule of docs/protocol.md, proven once for every transport (TCP over
// IPv4 and IPv6, Unix sockets, TLS) and every executor (one thread, an
// io_context run by four threads, a thread_pool).
#include "support/running_server.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace test;

#define ALL_CONFIGS                                                                                              \
    tcp4_single, tcp4_threads, tcp4_pool, tcp6_single, tcp6_threads, tcp6_pool, unix_single, unix_threads,       \
        unix_pool, tls_single, tls_threads, tls_pool

namespace {

// Sends a marker line from `from` and returns what `to` got before it: the
// proof that nothing else arrived in between.
std::vector<std::string> before_marker(line_client& from, line_client& to, const std::string& text = "marker") {
    from.send(text);
    return to.lines_until("<" + from.nick + "> " + text);
}

// n clients in the lobby, each past the join notices of those after it.
std::vector<line_client> join_all(const running_server& srv, int n) {
    std::vector<line_client> c(static_cast<std::size_t>(n));
    for (auto& x : c) x = srv.join();
    for (std::size_t i = 0; i < c.size(); ++i)
        for (std::size_t j = i + 1; j < c.size(); ++j) c[i].wait_for_prefix("* " + c[j].nick + " joined");
    return c;
}

} // namespace

TEMPLATE_TEST_CASE("a new client gets a guest nick and a welcome and the lobby", "[protocol]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client a = srv.connect();
    std::string hello = a.expect_line();
    CHECK(hello.rfind("* welcome to chatroom, you are guest-", 0) == 0);
    a.nick = hello.substr(hello.rfind(' ') + 1);
    CHECK(a.expect_line() == "* joined lobby (1 member)");

    line_client b = srv.join();
    CHECK(b.nick != a.nick);
    CHECK(a.expect_line() == "* " + b.nick + " joined");
    CHECK(a.all_crlf);
    CHECK(b.all_crlf);
}

TEMPLATE_TEST_CASE("chat goes to every other member and never back to the sender", "[protocol]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client a = srv.join(), b = srv.join(), c = srv.join();
    a.wait_for_prefix("* " + c.nick + " joined");
    b.wait_for_prefix("* " + c.nick + " joined");

    a.send("hello, room");
    CHECK(b.expect_line() == "<" + a.nick + "> hello, room");
    CHECK(c.expect_line() == "<" + a.nick + "> hello, room");
    // The sender's next line is the answer to its own command, not its chat.
    a.send("/who");
    CHECK(a.expect_line().rfind("* in lobby:", 0) == 0);
}

TEMPLATE_TEST_CASE("lines end in LF from clients (CR dropped) and CRLF from the server", "[protocol]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client a = srv.join(), b = srv.join();
    a.send_raw("with crlf\r\nwith lf\n");
    CHECK(b.expect_line() == "<" + a.nick + "> with crlf");
    CHECK(b.expect_line() == "<" + a.nick + "> with lf");
    CHECK(b.all_crlf);
}

TEMPLATE_TEST_CASE("received lines are sanitized before any use", "[protocol][sanitize]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client a = srv.join(), b = srv.join();

    a.send_raw("\x1b[31mred\x1b[0m\x07 bell\n");
    CHECK(b.expect_line() == "<" + a.nick + "> [31mred[0m bell");
    a.send_raw("bad \xC3\x28 utf8 \xFF\xFF end\n"); // \xFF\xFF is telnet's escaped 0xFF: one invalid byte
    CHECK(b.expect_line() == "<" + a.nick + "> bad \xEF\xBF\xBD( utf8 \xEF\xBF\xBD end");
    a.send_raw("c1 \xC2\x9B" "x tab\there caf\xC3\xA9\n");
    CHECK(b.expect_line() == "<" + a.nick + "> c1 x tab\there caf\xC3\xA9");
    a.send_raw("tel\xFF\xFB\x01net \xFF\xFA\x18\x01\xFF\xF0iac \xFF\xF1ok\n");
    CHECK(b.expect_line() == "<" + a.nick + "> telnet iac ok");
    // Empty after sanitizing: ignored.
    a.send_raw("\x1b\x07\x01\r\n\n");
    CHECK(before_marker(a, b).empty());
}

TEMPLATE_TEST_CASE("a too long line is refused and the connection stays", "[protocol][limits]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    chatroom::server_options o;
    o.max_line_bytes = 100;
    auto srv = start<TestType>(o);
    auto c = join_all(srv, 2);
    line_client &a = c[0], &b = c[1];

    a.send(std::string(100, 'x')); // exactly the limit: fine
    CHECK(b.expect_line() == "<" + a.nick + "> " + std::string(100, 'x'));
    a.send_raw(std::string(5000, 'y'));
    CHECK(a.expect_line() == "! line too long (limit 100 bytes)");
    a.send_raw(std::string(5000, 'y') + "\nafter\n"); // the rest up to LF is discarded
    CHECK(b.expect_line() == "<" + a.nick + "> after");
    CHECK(srv.stats().lines_too_long == 1);
}

TEMPLATE_TEST_CASE("/nick renames and tells the room and refuses bad or taken names", "[protocol][commands]",
                   ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client a = srv.join(), b = srv.join();
    a.wait_for_prefix("* " + b.nick + " joined");

    a.send("/nick Alice");
    CHECK(a.expect_line() == "* " + a.nick + " is now known as Alice");
    CHECK(b.expect_line() == "* " + a.nick + " is now known as Alice");
    a.nick = "Alice";

    b.send("/nick alice");
    CHECK(b.expect_line() == "! nick taken: alice");
    b.send("/nick bad name!");
    CHECK(b.expect_line() == "! bad nick: use 1-32 of A-Z a-z 0-9 _ . -");
    b.send("/nick " + std::string(33, 'n'));
    CHECK(b.expect_line() == "! bad nick: use 1-32 of A-Z a-z 0-9 _ . -");
    b.send("/nick " + std::string(32, 'n'));
    CHECK(b.expect_line() == "* " + b.nick + " is now known as " + std::string(32, 'n'));
    b.nick = std::string(32, 'n');

    a.send("/nick ALICE"); // a case change of one's own nick is allowed
    CHECK(b.wait_for_prefix("* Alice is now known as ALICE") == "* Alice is now known as ALICE");
}

TEMPLATE_TEST_CASE("/join moves between rooms that live while they have members", "[protocol][commands]",
                   ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client a = srv.join(), b = srv.join(), c = srv.join();
    a.wait_for_prefix("* " + c.nick + " joined");
    b.wait_for_prefix("* " + c.nick + " joined");

    a.send("/join #dev");
    CHECK(a.expect_line() == "* joined dev (1 member)");
    CHECK(b.expect_line() == "* " + a.nick + " left");
    CHECK(c.expect_line() == "* " + a.nick + " left");

    b.send("/join dev");
    CHECK(a.expect_line() == "* " + b.nick + " joined");
    CHECK(b.expect_line() == "* joined dev (2 members)");

    b.send("in dev");
    CHECK(a.expect_line() == "<" + b.nick + "> in dev");
    c.send("/rooms");
    CHECK(c.wait_for_prefix("* rooms:") == "* rooms: dev (2), lobby (1)");

    a.send("/join bad/room");
    CHECK(a.expect_line() == "! bad room name: use 1-32 of A-Z a-z 0-9 _ . -");
    a.send("/join dev");
    CHECK(a.expect_line() == "* you are already in dev");

    a.send("/join lobby");
    b.send("/join lobby");
    int back = 0; // a and b travel on different connections: either may come first
    c.wait_for([&](const std::string& l) { return l.find(" joined") != std::string::npos && ++back == 2; });
    c.send("/rooms");
    CHECK(c.wait_for_prefix("* rooms:") == "* rooms: lobby (3)");
}

TEMPLATE_TEST_CASE("/who and /rooms list sorted names", "[protocol][commands]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    auto all = join_all(srv, 3);
    line_client &a = all[0], &b = all[1], &c = all[2];
    a.send("/nick zed");
    b.send("/nick Bob");
    c.send("/nick amy");
    int renames = 0;
    c.wait_for([&](const std::string& l) { return l.find(" is now known as ") != std::string::npos && ++renames == 3; });
    c.send("/who");
    CHECK(c.wait_for_prefix("* in lobby:") == "* in lobby: amy, Bob, zed");

    b.send("/join zoo");
    b.wait_for_prefix("* joined zoo");
    a.send("/join alpha");
    a.wait_for_prefix("* joined alpha");
    c.send("/rooms");
    CHECK(c.wait_for_prefix("* rooms:") == "* rooms: alpha (1), lobby (1), zoo (1)");
}

TEMPLATE_TEST_CASE("/me and /msg and //text and /help and unknown commands", "[protocol][commands]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client a = srv.join(), b = srv.join(), c = srv.join();
    a.wait_for_prefix("* " + c.nick + " joined");
    b.wait_for_prefix("* " + c.nick + " joined");

    a.send("/me waves");
    CHECK(b.expect_line() == "* " + a.nick + " waves");
    CHECK(c.expect_line() == "* " + a.nick + " waves");

    a.send("/msg " + b.nick + " psst, just you");
    CHECK(b.expect_line() == "*" + a.nick + "* psst, just you");
    CHECK(before_marker(a, c).empty()); // c saw no private message
    b.expect_line();                     // b's copy of the marker

    a.send("/msg nobody hello");
    CHECK(a.expect_line() == "! no such nick: nobody");
    a.send("/msg " + b.nick);
    CHECK(a.expect_line() == "! usage: /msg NICK TEXT");

    a.send("//slash at start");
    CHECK(b.expect_line() == "<" + a.nick + "> /slash at start");

    a.send("/help");
    std::string first = a.expect_line();
    CHECK(first == "* commands:");
    a.send("/frobnicate now");
    std::vector<std::string> help;
    std::string err = a.wait_for_prefix("!", &help);
    CHECK(err == "! unknown command: /frobnicate (try /help)");
    CHECK(help.size() >= 9);
    for (const auto& l : help) CHECK(l.rfind("* ", 0) == 0);
}

TEMPLATE_TEST_CASE("/quit tells the room the reason and closes", "[protocol][disconnect]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client a = srv.join(), b = srv.join(), c = srv.join();
    b.wait_for_prefix("* " + c.nick + " joined");

    a.send("/quit gone fishing");
    CHECK(b.wait_for_prefix("* " + a.nick + " left") == "* " + a.nick + " left (quit: gone fishing)");
    CHECK(a.wait_closed());
    c.send("/quit");
    CHECK(b.expect_line() == "* " + c.nick + " left (quit)");
    CHECK(c.wait_closed());
}

TEMPLATE_TEST_CASE("every disconnect removes the member once and tells the room why", "[protocol][disconnect]",
                   ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client watcher = srv.join();
    {
        line_client a = srv.join();
        watcher.wait_for_prefix("* " + a.nick + " joined");
        std::string nick = a.nick;
        a.close(); // clean close: EOF
        CHECK(watcher.expect_line() == "* " + nick + " left");
    }
    {
        line_client r = srv.join();
        watcher.wait_for_prefix("* " + r.nick + " joined");
        std::string nick = r.nick;
        r.reset(); // RST: the connection is lost, not closed
        std::string line = watcher.expect_line();
        if (TestType::transport_kind == transport::tls || TestType::transport_kind == transport::unix_socket)
            CHECK(line.rfind("* " + nick + " left", 0) == 0); // no RST on Unix sockets; TLS sees a truncation
        else
            CHECK(line == "* " + nick + " left (connection lost)");
    }
    watcher.send("/who");
    CHECK(watcher.expect_line() == "* in lobby: " + watcher.nick);
    CHECK(eventually([&] { return srv.stats().connections == 1; }));
}

TEMPLATE_TEST_CASE("joiners get the room's history when it is enabled", "[protocol][history]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    chatroom::server_options o;
    o.history_lines = 2;
    auto srv = start<TestType>(o);
    line_client a = srv.join(), b = srv.join();
    a.send("one");
    a.send("two");
    a.send("/me three");
    b.wait_for_prefix("* " + a.nick + " three");

    line_client c;
    c.connect(srv.where());
    c.expect_line(); // welcome
    CHECK(c.expect_line() == "* joined lobby (3 members)");
    CHECK(c.expect_line() == "<" + a.nick + "> two");
    CHECK(c.expect_line() == "* " + a.nick + " three");

    a.send("/join dev");
    a.wait_for_prefix("* joined dev");
    a.send("dev line");
    b.send("/join dev");
    CHECK(b.wait_for_prefix("* joined dev") == "* joined dev (2 members)");
    CHECK(b.expect_line() == "<" + a.nick + "> dev line");
}

TEMPLATE_TEST_CASE("a full server answers new connections and closes them", "[protocol][limits]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    chatroom::server_options o;
    o.max_connections = 2;
    auto srv = start<TestType>(o);
    line_client a = srv.join(), b = srv.join();
    line_client c;
    std::string error;
    if (TestType::transport_kind == transport::tls) {
        // The refusal is sent before any handshake, so a TLS client just fails.
        CHECK_FALSE(c.try_connect(srv.where(), error));
    } else {
        c.connect(srv.where());
        CHECK(c.expect_line() == "! server full");
        CHECK(c.wait_closed());
    }
    CHECK(srv.stats().rejected == 1);
    a.send("still fine");
    CHECK(b.expect_line() == "<" + a.nick + "> still fine");
}

TEMPLATE_TEST_CASE("within a room every member sees the same order", "[protocol][order]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    constexpr int members = 5, lines = 40;
    auto c = join_all(srv, members);
    for (int l = 0; l < lines; ++l)
        for (int i = 0; i < members; ++i) c[i].send("line " + std::to_string(l));

    // Each member sees the others' lines; merged with its own sends in order,
    // everyone's view must be one global order: compare relative orders.
    std::vector<std::vector<std::string>> seen(members);
    for (int i = 0; i < members; ++i) {
        int expected = (members - 1) * lines;
        while (static_cast<int>(seen[i].size()) < expected) {
            std::string l = c[i].expect_line();
            if (l.rfind("<", 0) == 0) seen[i].push_back(l);
        }
    }
    for (int i = 0; i < members; ++i)
        for (int j = i + 1; j < members; ++j) {
            // Lines neither i nor j sent appear in both views in the same order.
            auto common = [&](const std::vector<std::string>& v) {
                std::vector<std::string> out;
                for (const auto& l : v)
                    if (l.rfind("<" + c[i].nick + ">", 0) != 0 && l.rfind("<" + c[j].nick + ">", 0) != 0)
                        out.push_back(l);
                return out;
            };
            CHECK(common(seen[i]) == common(seen[j]));
        }
}

TEMPLATE_TEST_CASE("stop() tells everyone then flushes and closes and the threads return", "[protocol][stop]",
                   ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    std::vector<line_client> c(5);
    for (auto& x : c) x = srv.join();
    CHECK(srv.stop());
    for (auto& x : c) {
        CHECK(x.wait_for_prefix("* server shutting down") == "* server shutting down");
        CHECK(x.wait_closed());
    }
    line_client late;
    std::string error;
    CHECK_FALSE(late.try_connect(srv.where(), error));
}

TEMPLATE_TEST_CASE("the host program injects notices and messages", "[protocol][embedding]", ALL_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client a = srv.join(), b = srv.join();
    a.wait_for_prefix("* " + b.nick + " joined");
    std::thread other([&] {
        srv.notice("lobby", "maintenance at noon \x1b[2J");
        srv.say("lobby", "bot", "beep");
    });
    other.join();
    for (auto* x : {&a, &b}) {
        CHECK(x->expect_line() == "* maintenance at noon [2J");
        CHECK(x->expect_line() == "<bot> beep");
    }
}

TEMPLATE_TEST_CASE("large rooms do not announce joins and leaves", "[protocol][limits]", tcp4_single, tcp4_threads) {
    chatroom::server_options o;
    o.quiet_room_size = 3;
    auto srv = start<TestType>(o);
    auto c = join_all(srv, 3); // the third joined a room of 2: announced
    line_client fourth = srv.join();
    CHECK(fourth.nick != c[2].nick);
    fourth.close(); // leaving a room of 4 (3 after): not announced
    CHECK(eventually([&] { return srv.stats().connections == 3; }));
    c[2].close();   // leaving a room of 3 (2 after): announced
    CHECK(c[0].expect_line() == "* " + c[2].nick + " left");
    CHECK(c[1].expect_line() == "* " + c[2].nick + " left");
    c[0].send("/who");
    CHECK(c[0].expect_line() == "* in lobby: " + (c[0].nick < c[1].nick ? c[0].nick + ", " + c[1].nick
                                                                         : c[1].nick + ", " + c[0].nick));
}
