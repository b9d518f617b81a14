// The limits that protect the server and its well-behaved clients: slow
// consumers, floods, connections per address, silent and idle connections.
#include "support/running_server.hpp"

#include <string>
#include <thread>
#include <vector>

using namespace test;

#define LIMIT_CONFIGS tcp4_single, tcp4_threads, unix_pool, tls_single, tls_threads

TEMPLATE_TEST_CASE("a client that never reads is dropped and nobody waits for it", "[limits][slow]",
                   LIMIT_CONFIGS) {
    if (!transport_available<TestType>()) return;
    chatroom::server_options o;
    o.max_queue_bytes = 256 * 1024;
    auto srv = start<TestType>(o);
    line_client sender = srv.join(), reader = srv.join(), victim = srv.join();
    victim.set_receive_buffer(4096);
    reader.wait_for_prefix("* " + victim.nick + " joined");

    // Far more than the victim's queue, socket buffers and TLS records hold,
    // sent in windows the reader keeps up with, so only the victim falls behind.
    const std::string payload(200, 'p');
    constexpr int windows = 200, window = 100;
    for (int w = 0; w < windows; ++w) {
        std::string block;
        for (int i = 0; i < window; ++i) block += std::to_string(w * window + i) + " " + payload + "\n";
        sender.send_raw(block);
        for (int i = 0; i < window; ++i) {
            std::string l = reader.wait_for([](const std::string& x) { return x.rfind("<", 0) == 0; });
            REQUIRE(l == "<" + sender.nick + "> " + std::to_string(w * window + i) + " " + payload);
        }
    }
    CHECK(eventually([&] { return srv.stats().slow_consumer_disconnects == 1; }));
    sender.send("/who");
    CHECK(sender.wait_for_prefix("* in lobby:").find(victim.nick) == std::string::npos);
    // (The victim's own view is not checked: with a receive buffer smaller
    // than loopback's MSS, TCP crawls on zero-window probes.)
}

TEMPLATE_TEST_CASE("the room is told when a slow consumer is dropped", "[limits][slow]", tcp4_single, tcp4_threads) {
    chatroom::server_options o;
    o.max_queue_bytes = 16 * 1024;
    auto srv = start<TestType>(o);
    line_client sender = srv.join(), victim = srv.join();
    sender.wait_for_prefix("* " + victim.nick + " joined");
    const std::string payload(500, 'q');
    std::string left;
    std::thread watching([&] { left = sender.wait_for_prefix("* " + victim.nick + " left"); });
    // Kernel buffers absorb a few MiB first (more once a pause let them grow).
    for (int i = 0; i < 40000 && srv.stats().slow_consumer_disconnects == 0; ++i) sender.send(payload);
    watching.join();
    CHECK(left == "* " + victim.nick + " left (too slow)");
}

TEMPLATE_TEST_CASE("flood control slows a flooder down and drops nothing", "[limits][flood]", tcp4_single,
                   tcp4_threads, tls_single) {
    if (!transport_available<TestType>()) return;
    chatroom::server_options o;
    o.flood_lines_per_second = 100;
    o.flood_burst = 10;
    auto srv = start<TestType>(o);
    line_client flooder = srv.join(), reader = srv.join();
    flooder.wait_for_prefix("* " + reader.nick + " joined");

    constexpr int lines = 200;
    const auto started = test_clock::now();
    std::string burst;
    for (int i = 0; i < lines; ++i) burst += "flood " + std::to_string(i) + "\n";
    flooder.send_raw(burst);
    for (int i = 0; i < lines; ++i) CHECK(reader.expect_line() == "<" + flooder.nick + "> flood " + std::to_string(i));
    // A lower bound only: (200 - 10 burst) lines at 100 per second take at least 1.9 s.
    CHECK(test_clock::now() - started >= 1800ms);
    CHECK(srv.stats().throttled > 0);
}

TEMPLATE_TEST_CASE("connections beyond the per-address limit are refused", "[limits]", tcp4_single, tcp4_threads) {
    chatroom::server_options o;
    o.max_connections_per_address = 2;
    auto srv = start<TestType>(o);
    line_client a = srv.join(), b = srv.join();
    line_client c = srv.connect();
    CHECK(c.expect_line() == "! too many connections from your address");
    CHECK(c.wait_closed());
    a.close();
    CHECK(eventually([&] { return srv.stats().connections == 1; }));
    line_client d = srv.join(); // a freed place can be taken again
    CHECK_FALSE(d.nick.empty());
}

TEMPLATE_TEST_CASE("a silent connection is closed after the first-line timeout", "[limits][timeouts]", tcp4_single,
                   tcp4_threads, tls_single) {
    if (!transport_available<TestType>()) return;
    chatroom::server_options o;
    o.first_line_timeout = std::chrono::seconds(1);
    auto srv = start<TestType>(o);
    line_client talker = srv.join();
    talker.send("/nick talker");
    line_client silent = srv.join();
    CHECK(silent.wait_closed());
    // A TLS session is closed without last words (see docs/reliability.md).
    if (TestType::transport_kind != transport::tls)
        CHECK(silent.pending().find("! disconnected: no line received in time") != std::string::npos);
    CHECK(talker.wait_for_prefix("* " + silent.nick + " left") == "* " + silent.nick + " left (no first line)");
    CHECK(srv.stats().timeouts == 1);
}

TEMPLATE_TEST_CASE("an idle connection is closed after the idle timeout", "[limits][timeouts]", tcp4_single,
                   tcp4_threads) {
    chatroom::server_options o;
    o.idle_timeout = std::chrono::seconds(1);
    auto srv = start<TestType>(o);
    line_client idle = srv.join(), watcher = srv.join();
    // The watcher keeps talking; only the idle client goes quiet.
    bool told = false;
    for (int i = 0; i < 200 && !told; ++i) {
        watcher.send("/who");
        while (auto l = watcher.read_line(100ms)) {
            if (*l == "* " + idle.nick + " left (idle timeout)") told = true;
        }
    }
    CHECK(told);
    CHECK(idle.wait_closed());
    CHECK(idle.pending().find("! disconnected: idle timeout") != std::string::npos);
}

TEMPLATE_TEST_CASE("a peer that resets while output is queued harms nobody", "[limits][faults]", LIMIT_CONFIGS) {
    if (!transport_available<TestType>()) return;
    auto srv = start<TestType>();
    line_client sender = srv.join(), reader = srv.join();
    for (int round = 0; round < 5; ++round) {
        line_client vanisher = srv.join();
        vanisher.set_receive_buffer(2048);
        reader.wait_for_prefix("* " + vanisher.nick + " joined");
        for (int i = 0; i < 300; ++i) sender.send(std::string(300, 'r'));
        vanisher.reset();
        int chat = 0;
        bool left = false;
        reader.wait_for([&](const std::string& l) {
            if (l.rfind("<" + sender.nick + ">", 0) == 0) ++chat;
            if (l.rfind("* " + vanisher.nick + " left", 0) == 0) left = true;
            return chat == 300 && left;
        });
    }
    sender.send("still here");
    CHECK(reader.wait_for_prefix("<" + sender.nick + "> still") == "<" + sender.nick + "> still here");
}

TEMPLATE_TEST_CASE("a slowloris trickling bytes without LF holds bounded memory", "[limits][faults]", tcp4_single,
                   tcp4_threads) {
    chatroom::server_options o;
    o.max_line_bytes = 256;
    auto srv = start<TestType>(o);
    line_client slow = srv.join(), reader = srv.join();
    slow.wait_for_prefix("* " + reader.nick + " joined");
    for (int i = 0; i < 300; ++i) slow.send_raw("abc");
    CHECK(slow.expect_line() == "! line too long (limit 256 bytes)");
    for (int i = 0; i < 300; ++i) slow.send_raw("abc"); // still discarding: no second error
    slow.send_raw("\nok\n");
    CHECK(reader.wait_for_prefix("<" + slow.nick + ">") == "<" + slow.nick + "> ok");
    CHECK(srv.stats().lines_too_long == 1);
}

// The slow-consumer policy tells a burst from a stalled reader: a reader
// that keeps up is never dropped, however large the burst, and one that
// stops reading is, without the others waiting for it past a bound.

namespace {

// sender writes about `bytes` of numbered lines in one go while reader reads
// them all from this thread: every one arrives, in order, and the reader is
// never taken for a slow consumer.
void burst_reaches_reader_in_order(line_client& sender, line_client& reader, std::size_t bytes) {
    const std::string payload(190, 'b');
    const int lines = static_cast<int>(bytes / (payload.size() + 10));
    std::string burst;
    for (int i = 0; i < lines; ++i) burst += std::to_string(i) + " " + payload + "\n";
    std::thread writer([&] { sender.send_raw(burst); });
    int got = 0;
    std::string first_wrong;
    while (got < lines) {
        std::string l = reader.wait_for([](const std::string& x) { return x.rfind("<", 0) == 0; });
        if (l != "<" + sender.nick + "> " + std::to_string(got) + " " + payload && first_wrong.empty())
            first_wrong = l.substr(0, 80);
        ++got;
    }
    writer.join();
    CHECK(first_wrong.empty());
    reader.send("/who");
    CHECK(reader.wait_for_prefix("* in lobby:").find(reader.nick) != std::string::npos);
}

} // namespace

TEMPLATE_TEST_CASE("a reader that keeps up survives a burst of ten times the queue limit, in order",
                   "[limits][slow][burst]", tcp4_single, tcp4_threads, tls_single) {
    if (!transport_available<TestType>()) return;
    chatroom::server_options o;
    o.max_queue_bytes = 64 * 1024;
    auto srv = start<TestType>(o);
    line_client sender = srv.join(), reader = srv.join(), stalled = srv.join();
    stalled.set_receive_buffer(4096);
    reader.wait_for_prefix("* " + stalled.nick + " joined");

    burst_reaches_reader_in_order(sender, reader, 10 * o.max_queue_bytes);
}

// However many members stall, each spends only its own budget: the reader
// that keeps up still holds the sender when its own queue passes the mark.
TEMPLATE_TEST_CASE("a reader that keeps up survives a burst beside fifty members that never read",
                   "[limits][slow][burst]", tcp4_single, tcp4_threads) {
    chatroom::server_options o;
    o.max_queue_bytes = 64 * 1024;
    o.quiet_room_size = 0;
    auto srv = start<TestType>(o);
    line_client sender = srv.join(), reader = srv.join();
    std::vector<line_client> stalled;
    for (int i = 0; i < 50; ++i) {
        stalled.push_back(srv.join());
        stalled.back().set_receive_buffer(4096);
    }
    reader.wait_for_prefix("* " + stalled.back().nick + " joined");

    burst_reaches_reader_in_order(sender, reader, 100 * o.max_queue_bytes);
    // The stalled ones are dropped, as before.
    CHECK(eventually([&] { return srv.stats().slow_consumer_disconnects >= 50; }));
}

TEMPLATE_TEST_CASE("a reader that never reads is dropped within the write deadline once past the soft mark",
                   "[limits][slow][deadline]", tcp4_single, tcp4_threads) {
    chatroom::server_options o;
    o.max_queue_bytes = 64 * 1024 * 1024; // never reached: the deadline drops it
    o.soft_queue_bytes = 16 * 1024;
    o.write_deadline = std::chrono::milliseconds(1000);
    auto srv = start<TestType>(o);
    line_client sender = srv.join(), stalled = srv.join();
    stalled.set_receive_buffer(4096);
    sender.wait_for_prefix("* " + stalled.nick + " joined");
    const std::string payload(500, 'd');
    // Enough to fill the kernel's buffers and pass the soft mark; then quiet.
    std::string left;
    std::thread watching([&] { left = sender.wait_for_prefix("* " + stalled.nick + " left"); });
    for (int i = 0; i < 40000 && srv.stats().slow_consumer_disconnects == 0; ++i) {
        sender.send(payload);
        if (i % 1000 == 999) std::this_thread::yield();
    }
    watching.join();
    CHECK(left == "* " + stalled.nick + " left (too slow)");
    CHECK(srv.stats().slow_consumer_disconnects == 1);
}
