// Many clients on a server run by several threads: joining, leaving,
// chatting, renaming, while the host injects notices from another thread.
// Nothing may be lost or reordered, and every member of a room must see the
// room's lines in one order. Run under ThreadSanitizer by scripts/test.
#include "support/running_server.hpp"

#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace test;

namespace {

struct seen_line {
    int sender; // -1: an injected notice
    int seq;
    bool operator==(const seen_line& o) const { return sender == o.sender && seq == o.seq; }
};

// Reads one member's lines until it has every chat line it should get and
// every notice; checks per-sender order on the way.
std::vector<seen_line> collect(line_client& c, int chat_lines, int notices) {
    std::vector<seen_line> seen;
    std::map<int, int> next;
    int chats = 0, got_notices = 0;
    while (chats < chat_lines || got_notices < notices) {
        std::string l = c.expect_line();
        if (l.rfind("* notice ", 0) == 0) {
            int k = std::stoi(l.substr(9));
            CHECK(k == got_notices); // injected in order, delivered in order
            ++got_notices;
            seen.push_back({-1, k});
            continue;
        }
        if (l.rfind("<", 0) != 0) continue; // joins, leaves, renames
        auto text = l.substr(l.find("> ") + 2);
        REQUIRE(text[0] == 'c');
        auto space = text.find(' ');
        int sender = std::stoi(text.substr(1, space - 1));
        int seq = std::stoi(text.substr(space + 1));
        CHECK(seq == next[sender]); // nothing lost, nothing reordered
        next[sender] = seq + 1;
        ++chats;
        seen.push_back({sender, seq});
    }
    return seen;
}

// The lines of v sent by neither a nor b, in v's order.
std::vector<seen_line> without(const std::vector<seen_line>& v, int a, int b) {
    std::vector<seen_line> out;
    for (const auto& s : v)
        if (s.sender != a && s.sender != b) out.push_back(s);
    return out;
}

} // namespace

TEMPLATE_TEST_CASE("many clients over many threads lose and reorder nothing", "[threads]", tcp4_threads, tcp4_pool,
                   unix_threads, tls_pool) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    constexpr int clients = 50, in_dev = 10, rounds = 60, notices = 40, churn = 20;
    constexpr int in_lobby = clients - in_dev;

    std::vector<line_client> c(clients);
    for (auto& x : c) x = srv.join();
    for (int i = in_lobby; i < clients; ++i) {
        c[i].send("/join dev");
        c[i].wait_for_prefix("* joined dev");
    }

    std::thread host([&] {
        for (int k = 0; k < notices; ++k) srv.notice("lobby", "notice " + std::to_string(k));
    });
    std::thread churner([&] {
        for (int k = 0; k < churn; ++k) {
            line_client t = srv.join();
            t.send("/nick churn" + std::to_string(k));
            t.send("/quit bye");
            CHECK(t.wait_closed());
        }
    });
    for (int r = 0; r < rounds; ++r) {
        for (int i = 0; i < clients; ++i) {
            if (r == rounds / 2 && i % 7 == 0) c[i].send("/nick renamed" + std::to_string(i));
            c[i].send("c" + std::to_string(i) + " " + std::to_string(r));
        }
    }
    host.join();
    churner.join();

    std::vector<std::vector<seen_line>> seen(clients);
    for (int i = 0; i < clients; ++i) {
        const bool lobby = i < in_lobby;
        seen[i] = collect(c[i], ((lobby ? in_lobby : in_dev) - 1) * rounds, lobby ? notices : 0);
    }
    for (int i = 0; i < clients; ++i)
        for (int j = i + 1; j < clients; ++j)
            if ((i < in_lobby) == (j < in_lobby)) CHECK(without(seen[i], i, j) == without(seen[j], i, j));

    const auto st = srv.stats();
    CHECK(st.lines_in == static_cast<std::uint64_t>(clients * rounds));
    CHECK(st.slow_consumer_disconnects == 0);
}
