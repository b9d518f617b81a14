// Failover (issue 18, item 5): a server follows Redis Sentinel to the new
// primary, and treats a replica where its primary was (READONLY) as a fault
// that holds lines, never as "connected"; what Redis acknowledged is not
// lost, and what a failover could have lost is told to members as missed.

#include "cluster_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace cluster_test;

namespace {

chatroom::redis_options sentinel_options(unsigned short sentinel, std::string node) {
    chatroom::redis_options o;
    o.sentinels.push_back(chatroom::redis_endpoint{"127.0.0.1", sentinel});
    o.masters.push_back("m");
    o.node_id = std::move(node);
    o.command_timeout = 700ms;
    o.heartbeat = 200ms;
    o.node_ttl = 1000ms;
    o.outage_timeout = 30s; // a failover holds lines; it does not degrade
    return o;
}

test::redis_server_options replica_of(unsigned short primary) {
    test::redis_server_options o;
    o.extra_args = {"--replicaof", "127.0.0.1", std::to_string(primary)};
    return o;
}

test::redis_server_options sentinel_of(unsigned short primary) {
    test::redis_server_options o;
    o.sentinel_config = {"sentinel monitor m 127.0.0.1 " + std::to_string(primary) + " 1",
                         "sentinel down-after-milliseconds m 1000", "sentinel failover-timeout m 5000",
                         "sentinel parallel-syncs m 1"};
    return o;
}

} // namespace

TEST_CASE("backplane: through Sentinel, a failover during traffic loses nothing Redis took, or tells members",
          "[backplane][sentinel]") {
    auto primary = std::make_unique<test::redis_server>();
    test::redis_server replica(replica_of(primary->port()));
    REQUIRE(eventually([&] {
        return redis_cli(replica.port(), "INFO replication").find("master_link_status:up") != std::string::npos;
    }));
    test::redis_server sentinel(sentinel_of(primary->port()));
    REQUIRE(eventually([&] {
        return redis_cli(sentinel.port(), "SENTINEL replicas m").find(std::to_string(replica.port())) != std::string::npos;
    }));
    node a(sentinel_options(sentinel.port(), "a")), b(sentinel_options(sentinel.port(), "b"));
    line_client reader = b.join_as("reader");
    line_client sender = a.join_as("sender");
    wait_members(reader, 2);
    constexpr int lines = 400;
    std::atomic<int> sent{0};
    std::thread paced([&] {
        for (int i = 0; i < lines; i += 10) {
            send_numbered(sender, "x", i, i + 10);
            sent = i + 10;
            std::this_thread::sleep_for(25ms);
        }
    });
    REQUIRE(eventually([&] { return sent.load() >= 100; }));
    primary->kill(); // SIGKILL mid-traffic: Sentinel promotes the replica
    const auto killed = test::test_clock::now();
    paced.join();
    // Every line once, in order; or, where a line is missing, the member
    // was told the room missed events before the next one.
    std::vector<std::string> got;
    bool told = false;
    const auto deadline = test::test_clock::now() + 60s;
    while (test::test_clock::now() < deadline) {
        auto l = reader.read_line(1s);
        if (!l) continue;
        if (l->rfind("* some events of this room were missed", 0) == 0) told = true;
        if (l->rfind("<sender> x ", 0) == 0) got.push_back(*l);
        if (*l == "<sender> x " + std::to_string(lines - 1)) break;
    }
    INFO("the failover took " << std::chrono::duration_cast<std::chrono::milliseconds>(test::test_clock::now() - killed).count()
                              << " ms until the last line");
    REQUIRE(!got.empty());
    CHECK(got.back() == "<sender> x " + std::to_string(lines - 1));
    int next = 0, missing = 0, twice = 0;
    for (const auto& l : got) {
        const int n = std::stoi(l.substr(l.rfind(' ') + 1));
        if (n < next) ++twice;
        else {
            missing += n - next;
            next = n + 1;
        }
    }
    CHECK(twice == 0);
    if (missing > 0) CHECK(told);
    CHECK(eventually([&] { return a.stats().backplane == chatroom::backplane_state::connected; }));
    CHECK(eventually([&] { return b.stats().backplane == chatroom::backplane_state::connected; }));
    CHECK(redis_cli(replica.port(), "ROLE").find("master") != std::string::npos);
}

TEST_CASE("backplane: a Redis that turned replica (READONLY) holds lines, is never connected, and takes them once it "
          "is a primary again",
          "[backplane][sentinel]") {
    test::redis_server redis, other;
    auto o = cluster_options({redis.port()}, "a");
    o.outage_timeout = 60s;
    auto ob = o;
    ob.node_id = "b";
    node a(o), b(ob);
    line_client reader = b.join_as("reader");
    line_client sender = a.join_as("sender");
    wait_members(reader, 2);
    REQUIRE(redis_cli(redis.port(), "REPLICAOF 127.0.0.1 " + std::to_string(other.port())).find("OK") !=
            std::string::npos);
    REQUIRE(eventually([&] { return redis_cli(redis.port(), "ROLE").find("slave") != std::string::npos; }));
    send_numbered(sender, "x", 0, 30);
    bool connected = false;
    const auto until = test::test_clock::now() + 3s;
    while (test::test_clock::now() < until) {
        connected = connected || (a.stats().backplane == chatroom::backplane_state::connected &&
                                  test::test_clock::now() > until - 2s);
        std::this_thread::sleep_for(20ms);
    }
    CHECK_FALSE(connected); // a replica takes no entries: never "connected"
    REQUIRE(redis_cli(redis.port(), "REPLICAOF NO ONE").find("OK") != std::string::npos);
    // Its data is the other's now (none): the reader is told, and reads on.
    std::vector<std::string> got;
    got.push_back(reader.wait_for([](const std::string& l) { return l == "<sender> x 29"; }, &got));
    std::vector<std::string> chat;
    for (const auto& l : got)
        if (l.rfind("<sender>", 0) == 0) chat.push_back(l);
    std::vector<std::string> want;
    for (int i = 0; i < 30; ++i) want.push_back("<sender> x " + std::to_string(i));
    CHECK(chat == want);
}
