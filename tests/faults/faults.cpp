// Fault tests: the real chatroom-server binary, run as a child process, under
// conditions a production server meets: descriptors running out, peers that
// reset mid-write or stop reading, connection churn, a stop with a thousand
// clients, slowloris connections. Every wait has a deadline; the server is
// killed by PID when a test ends, whatever happened.
#include "../support/line_client.hpp"
#include "raw_socket.hpp"
#include "server_process.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using test::proc_clock;
using test::raw_socket;
using test::server_process;

namespace {

constexpr long kib = 1024;
constexpr long mib = 1024 * kib;

double seconds_since(proc_clock::time_point t) {
    return std::chrono::duration<double>(proc_clock::now() - t).count();
}

test::target where(const server_process& srv) {
    test::target t;
    t.family = test::target::kind::tcp4;
    t.port = srv.port();
    return t;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Every client says one line; every other client must get it.
void check_chat(std::vector<test::line_client>& clients, const std::string& tag) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
        const std::string text = tag + " from " + std::to_string(i);
        clients[i].send(text);
        const std::string expected = "<" + clients[i].nick + "> " + text;
        for (std::size_t j = 0; j < clients.size(); ++j)
            if (j != i) clients[j].wait_for([&](const std::string& l) { return l == expected; });
    }
}

// SIGTERM; the server must exit with status 0 within timeout.
void stop_cleanly(server_process& srv, std::chrono::milliseconds timeout = 10s) {
    srv.terminate();
    const bool exited = srv.wait_exit(timeout);
    INFO("server log:\n" << srv.log_tail());
    REQUIRE(exited);
    REQUIRE(srv.exited_cleanly());
}

// After a fault: two new clients still chat, then the server stops cleanly.
void check_still_serves_then_stop(server_process& srv, const std::string& text) {
    test::line_client a, b;
    a.join(where(srv));
    b.join(where(srv));
    a.send(text);
    CHECK(b.wait_for_prefix("<" + a.nick + "> ") == "<" + a.nick + "> " + text);
    stop_cleanly(srv);
}

// Waits until the server holds exactly `fds` descriptors (its connections are gone).
bool wait_fd_count(const server_process& srv, int fds, std::chrono::milliseconds timeout) {
    const auto deadline = proc_clock::now() + timeout;
    for (;;) {
        if (srv.fd_count() == fds) return true;
        if (proc_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms); // polling interval of a deadline loop
    }
}

} // namespace

// ---------------------------------------------------------------------------

TEST_CASE("with descriptors exhausted the server backs off without spinning and logs once per burst and recovers",
          "[faults][descriptors]") {
    // --quiet: only errors are logged, so the log holds exactly the lines counted here.
    test::spawn_options spawn;
    spawn.file_limit = 64;
    server_process srv({"--quiet"}, spawn);
    const int idle_fds = srv.idle_fds(); // listening socket, reactor, timers, signal pipe, stdio
    REQUIRE(idle_fds > 0);
    REQUIRE(idle_fds < 40);

    std::vector<test::line_client> members(5);
    for (auto& m : members) m.join(where(srv));
    check_chat(members, "before");

    // The descriptors left for new connections; a few more than that are
    // opened, so the surplus waits in the backlog, connected at TCP level but
    // never accepted. Few enough that, once they close, the server can take
    // the backlog in one go without running out again.
    const int room_left = 64 - idle_fds - static_cast<int>(members.size());
    const int surplus = 8;

    for (std::size_t burst = 1; burst <= 2; ++burst) {
        INFO("burst " << burst);
        std::vector<raw_socket> extra(static_cast<std::size_t>(room_left + surplus));
        for (auto& s : extra) REQUIRE(s.connect_within(srv.port(), 10s));

        INFO("server log:\n" << srv.log_tail());
        REQUIRE(srv.wait_log("accept failed", burst, 15s));
        REQUIRE(wait_fd_count(srv, 64, 10s)); // every descriptor is in use

        // ~2 s of exhaustion: the server must idle, not spin on accept.
        const double cpu_before = srv.cpu_seconds();
        const auto window_start = proc_clock::now();
        check_chat(members, "during burst " + std::to_string(burst)); // existing clients still chat
        std::vector<bool> welcomed(extra.size(), false);
        const auto window_end = window_start + 2s;
        for (;;) {
            std::vector<pollfd> fds;
            for (auto& s : extra) fds.push_back(pollfd{s.fd(), POLLIN, 0});
            int ready = ::poll(fds.data(), fds.size(), test::ms_until(window_end));
            if (ready > 0) {
                for (std::size_t i = 0; i < extra.size(); ++i) {
                    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                    extra[i].read_available();
                    std::string line;
                    while (extra[i].next_line(line))
                        if (starts_with(line, "* welcome to ")) welcomed[i] = true;
                }
            }
            if (proc_clock::now() >= window_end) break;
        }
        const double window = seconds_since(window_start);
        const double cpu_share = (srv.cpu_seconds() - cpu_before) / window;
        const auto unwelcomed = std::count(welcomed.begin(), welcomed.end(), false);
        std::printf("descriptors exhausted (burst %zu): server CPU %.1f%% of one core over %.2f s; "
                    "%d connections accepted and %ld left in the backlog\n",
                    burst, cpu_share * 100.0, window, static_cast<int>(extra.size() - unwelcomed),
                    static_cast<long>(unwelcomed));
        std::fflush(stdout);
        CHECK(cpu_share < 0.25);
        CHECK(unwelcomed >= 1);
        CHECK(srv.running());
        // One "accept failed" per burst, however many accepts failed in it.
        CHECK(srv.log_count("accept failed") == burst);
        CHECK(srv.log_count("accepting again") == burst - 1);

        // Descriptors free up: the server takes connections again.
        for (auto& s : extra) s.close();
        test::line_client newcomer;
        newcomer.connect(where(srv));
        const std::string hello = newcomer.expect_line(10s);
        CHECK(starts_with(hello, "* welcome to "));
        CHECK(srv.wait_log("accepting again", burst, 10s));
        newcomer.close();
        check_chat(members, "after burst " + std::to_string(burst));
    }
    CHECK(srv.log_count("accept failed") == 2);
    CHECK(srv.log_count("accepting again") == 2);
    stop_cleanly(srv);
}

// ---------------------------------------------------------------------------

namespace {

// A participant of the reset and stall test.
struct peer {
    enum class role { reader, flooder, staller, resetter } kind;
    raw_socket sock;
    std::string nick;
    // reader and flooder: the next sequence number expected from each flooder
    std::vector<long> next_seq;
    long gaps = 0;
    bool dirty = false; // a line that is not clean text arrived
    std::multiset<std::string> left_seen; // "nick (reason)" of "* nick left (reason)" notices
    bool renamed = false;                 // resetter: saw its own rename
    proc_clock::time_point started{};     // resetter
    proc_clock::time_point stop_reading{}; // resetter: when it stopped reading
    int unread_at_reset = 0;              // resetter: bytes on their way to it when it reset
};

std::string flood_line(int flooder, long seq) {
    // A fixed layout: the receiver checks the filler, so a torn line shows.
    std::string line = "F " + std::to_string(flooder) + " " + std::to_string(seq) + " ";
    line.append(380, static_cast<char>('a' + seq % 26));
    return line;
}

} // namespace

TEST_CASE("peers that reset mid-write and a reader that stalls during a flood harm nobody and memory stays bounded",
          "[faults][slow]") {
    // Memory bound: a connection's queue may hold max_queue (256 KiB); about
    // ten connections live at once (3 readers, 2 flooders, a staller, a few
    // resetters), so queued output is bounded by ~2.5 MiB, plus a 64 KiB
    // read buffer per server thread and allocator slack: 16 MiB over the
    // baseline is generous for that and far below what one unbounded queue
    // would take: each recipient is sent 2 x 40,000 lines of ~390 bytes (31 MB).
    constexpr long max_queue = 262144;
    constexpr long rss_allowance = 16 * mib;
    constexpr int readers = 3, flooders = 2;
    constexpr long lines_per_flooder = 40000;
    constexpr long window_lines = 2000; // flooders run at most this far ahead of the slowest recipient
    constexpr int resetters = 24;

    server_process srv({"--quiet", "--max-queue", std::to_string(max_queue)});
    std::vector<std::unique_ptr<peer>> peers;
    auto add = [&](peer::role kind, const std::string& nick, int rcvbuf) -> peer& {
        auto p = std::make_unique<peer>();
        p->kind = kind;
        p->nick = nick;
        p->next_seq.assign(flooders, 0);
        REQUIRE(p->sock.connect_within(srv.port(), 10s, rcvbuf));
        p->sock.queue("/nick " + nick + "\n");
        peers.push_back(std::move(p));
        return *peers.back();
    };
    for (int i = 0; i < readers; ++i) {
        peer& p = add(peer::role::reader, "rd" + std::to_string(i), 0);
        REQUIRE(test::wait_line(p.sock, [&](const std::string& l) { return ends_with(l, " is now known as " + p.nick); }, 20s));
    }
    for (int i = 0; i < flooders; ++i) {
        peer& p = add(peer::role::flooder, "fl" + std::to_string(i), 0);
        REQUIRE(test::wait_line(p.sock, [&](const std::string& l) { return ends_with(l, " is now known as " + p.nick); }, 20s));
    }
    // The staller: a tiny receive window and it never reads.
    peer& staller = add(peer::role::staller, "staller", 4096);
    staller.sock.flush();

    std::vector<peer*> recipients; // everyone who must receive the flood (flooders get each other's)
    for (auto& p : peers)
        if (p->kind == peer::role::reader || p->kind == peer::role::flooder) recipients.push_back(p.get());

    auto handle_line = [&](peer& p, const std::string& line) {
        if (!test::is_clean_line(line)) p.dirty = true;
        if (starts_with(line, "<fl")) {
            // "<flK> F K SEQ filler"
            const std::size_t close = line.find("> F ");
            if (close == std::string::npos) {
                ++p.gaps;
                return;
            }
            const int k = std::atoi(line.c_str() + 3);
            const char* rest = line.c_str() + close + 4;
            char* after = nullptr;
            const long who = std::strtol(rest, &after, 10);
            const long seq = std::strtol(after, nullptr, 10);
            if (k != who || k < 0 || k >= flooders || line.substr(close + 2) != flood_line(k, seq)) {
                ++p.gaps;
                return;
            }
            if (seq != p.next_seq[static_cast<std::size_t>(k)]) ++p.gaps;
            p.next_seq[static_cast<std::size_t>(k)] = seq + 1;
        } else if (starts_with(line, "* ") && line.find(" left") != std::string::npos) {
            p.left_seen.insert(line.substr(2));
        } else if (p.kind == peer::role::resetter && ends_with(line, " is now known as " + p.nick)) {
            p.renamed = true;
        }
    };

    // Wait until every recipient has seen the staller's rename, so it is in the lobby.
    for (peer* r : recipients)
        REQUIRE(test::wait_line(r->sock, [&](const std::string& l) { return ends_with(l, " is now known as staller"); }, 20s));

    const long baseline_kib = srv.rss_kib();
    long peak_kib = baseline_kib;
    REQUIRE(baseline_kib > 0);

    std::vector<long> sent(flooders, 0);
    int resetters_started = 0, resetters_done = 0;
    auto next_sample = proc_clock::now();
    auto next_resetter = proc_clock::now();
    const auto flood_start = proc_clock::now();
    const auto deadline = flood_start + 60s;
    std::string line;

    auto all_received = [&] {
        for (peer* r : recipients)
            for (int k = 0; k < flooders; ++k)
                if (r->nick != "fl" + std::to_string(k) && r->next_seq[static_cast<std::size_t>(k)] < lines_per_flooder)
                    return false;
        return true;
    };

    while (!(all_received() && resetters_done == resetters)) {
        if (proc_clock::now() > deadline) FAIL("the flood did not complete in time\n" << srv.log_tail());
        if (!srv.running()) FAIL("the server died: " << srv.describe_status() << "\n" << srv.log_tail());

        // Flooders write as fast as the window allows.
        for (int k = 0; k < flooders; ++k) {
            peer& f = *recipients[static_cast<std::size_t>(readers + k)];
            long slowest = lines_per_flooder;
            for (peer* r : recipients)
                if (r != &f) slowest = std::min(slowest, r->next_seq[static_cast<std::size_t>(k)]);
            std::string block;
            while (sent[static_cast<std::size_t>(k)] < lines_per_flooder &&
                   sent[static_cast<std::size_t>(k)] - slowest < window_lines && f.sock.queued() + block.size() < 65536) {
                block += flood_line(k, sent[static_cast<std::size_t>(k)]++);
                block += '\n';
            }
            f.sock.queue(block);
        }

        // A resetter every 20 ms: it gets its welcome and rename, stops
        // reading, and resets a little later while the server writes to it.
        if (resetters_started < resetters && proc_clock::now() >= next_resetter) {
            peer& r = add(peer::role::resetter, "rs" + std::to_string(resetters_started), 4096);
            r.started = proc_clock::now();
            ++resetters_started;
            next_resetter = proc_clock::now() + 20ms;
        }

        std::vector<pollfd> fds;
        std::vector<peer*> owners;
        for (auto& p : peers) {
            if (!p->sock.is_open() || p->kind == peer::role::staller) continue;
            short events = 0;
            if (p->kind != peer::role::resetter || !p->renamed) events |= POLLIN;
            if (p->sock.queued() > 0) events |= POLLOUT;
            if (events == 0) continue;
            fds.push_back(pollfd{p->sock.fd(), events, 0});
            owners.push_back(p.get());
        }
        ::poll(fds.data(), fds.size(), 5);
        for (std::size_t i = 0; i < fds.size(); ++i) {
            peer& p = *owners[i];
            if (fds[i].revents & POLLOUT) p.sock.flush();
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                auto got = p.sock.read_available(p.kind == peer::role::resetter ? 4096 : (1 << 20));
                while (p.sock.next_line(line)) handle_line(p, line);
                if (got == raw_socket::io::eof || got == raw_socket::io::error) {
                    INFO("server log:\n" << srv.log_tail());
                    if (p.kind != peer::role::resetter) FAIL(p.nick << " was disconnected");
                    p.sock.close(); // dropped as too slow before it reset: allowed
                    ++resetters_done;
                }
            }
        }
        for (auto& p : peers) {
            if (p->kind != peer::role::resetter || !p->sock.is_open()) continue;
            const auto now = proc_clock::now();
            if (p->renamed && p->stop_reading == proc_clock::time_point{}) p->stop_reading = now;
            if ((p->renamed && now - p->stop_reading >= 100ms) || now - p->started > 15s) {
                CHECK(p->renamed);
                ::ioctl(p->sock.fd(), FIONREAD, &p->unread_at_reset);
                // Half a line goes out first: the server's framer holds it when the reset comes.
                p->sock.queue("half a li");
                p->sock.flush();
                p->sock.reset();
                ++resetters_done;
            }
        }

        if (proc_clock::now() >= next_sample) {
            peak_kib = std::max(peak_kib, srv.rss_kib());
            next_sample = proc_clock::now() + 50ms;
        }
    }
    const double flood_seconds = seconds_since(flood_start);
    peak_kib = std::max(peak_kib, srv.rss_kib());
    const long hwm_kib = srv.hwm_kib();

    // Everyone else got every flood line in order, clean.
    for (peer* r : recipients) {
        INFO(r->nick);
        CHECK(r->gaps == 0);
        CHECK_FALSE(r->dirty);
        CHECK_FALSE(r->sock.bad_line_ending);
    }
    // Departure notices may trail the flood: read on until one is there.
    auto departures = [&](peer& r, const std::string& nick) {
        auto count = [&] {
            return std::count_if(r.left_seen.begin(), r.left_seen.end(),
                                 [&](const std::string& s) { return starts_with(s, nick + " left"); });
        };
        const auto until = proc_clock::now() + 10s;
        while (count() == 0 && proc_clock::now() < until) {
            pollfd p{r.sock.fd(), POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                r.sock.read_available();
                while (r.sock.next_line(line)) handle_line(r, line);
            }
        }
        return count();
    };
    // The staller was dropped as too slow, and everyone was told, once.
    for (peer* r : recipients) {
        INFO(r->nick);
        CHECK(departures(*r, "staller") == 1);
        CHECK(r->left_seen.count("staller left (too slow)") == 1);
    }
    // The staller's connection is closed: once what sits in its buffers is read, the end.
    CHECK(test::wait_closed(staller.sock, 10s));
    // Every resetter left exactly once, whatever the reason the server saw.
    int reset_mid_write = 0;
    for (auto& p : peers) {
        if (p->kind != peer::role::resetter) continue;
        if (p->unread_at_reset > 0) ++reset_mid_write;
        for (peer* r : recipients) {
            INFO(r->nick << " about " << p->nick);
            CHECK(departures(*r, p->nick) == 1);
        }
    }
    // Most resets came while the server had output on its way to the resetter.
    CHECK(reset_mid_write >= resetters / 2);

    std::printf("resets and a staller during a %ld-line flood: %.2f s, %d of %d resets while output was on its way; "
                "server RSS baseline %.1f MiB, peak %.1f MiB (VmHWM %.1f MiB), allowance %.1f MiB over baseline%s\n",
                flooders * lines_per_flooder, flood_seconds, reset_mid_write, resetters, baseline_kib / 1024.0, peak_kib / 1024.0,
                hwm_kib / 1024.0, rss_allowance / static_cast<double>(mib),
                test::sanitized_build ? " (sanitized build: not asserted)" : "");
    std::fflush(stdout);
    if (!test::sanitized_build) {
        CHECK(peak_kib * kib < baseline_kib * kib + rss_allowance);
        CHECK(hwm_kib * kib < baseline_kib * kib + rss_allowance);
    }

    check_still_serves_then_stop(srv, "after the storm");
}

// ---------------------------------------------------------------------------

TEST_CASE("10000 connect and disconnect cycles leave the server memory where it was", "[faults][churn]") {
    // Growth allowed between the resident size after a warm-up of 500 cycles
    // and after all 10,000, once every connection is gone: 2 MiB. A leak of
    // even 200 bytes per connection would pass it.
    constexpr long growth_allowance = 2 * mib;
    constexpr int total = 10000, warmup = 500, parallel = 8;

    server_process srv({"--quiet"});
    const int idle_fds = srv.idle_fds();
    REQUIRE(idle_fds > 0);

    // Five ways to go: close at once, reset at once, close after the welcome,
    // /quit after the welcome, a line then a reset.
    struct slot {
        raw_socket sock;
        int variant = 0;
        bool active = false;
        proc_clock::time_point started{};
    };
    std::vector<slot> slots(parallel);
    int started = 0, finished = 0;
    int by_variant[5] = {0, 0, 0, 0, 0};

    auto run_until = [&](int target) {
        const auto deadline = proc_clock::now() + 60s;
        std::string line;
        while (finished < target) {
            if (proc_clock::now() > deadline) FAIL("cycles did not finish in time: " << finished << "\n" << srv.log_tail());
            std::vector<pollfd> fds;
            std::vector<slot*> owners;
            for (auto& s : slots) {
                if (!s.active && started < target) {
                    INFO("cycle " << started);
                    REQUIRE(s.sock.start_connect(srv.port()));
                    s.variant = started % 5;
                    s.active = true;
                    s.started = proc_clock::now();
                    ++started;
                }
                if (!s.active) continue;
                if (proc_clock::now() - s.started > 10s) FAIL("a cycle hung (variant " << s.variant << ")\n" << srv.log_tail());
                fds.push_back(pollfd{s.sock.fd(), static_cast<short>(s.sock.is_connecting() ? POLLOUT : POLLIN), 0});
                owners.push_back(&s);
            }
            if (fds.empty()) continue;
            if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
            for (std::size_t i = 0; i < fds.size(); ++i) {
                slot& s = *owners[i];
                if (fds[i].revents == 0) continue;
                auto done = [&] {
                    s.active = false;
                    ++finished;
                    ++by_variant[s.variant];
                };
                if (s.sock.is_connecting()) {
                    if (!s.sock.finish_connect()) FAIL("connect failed: " << std::strerror(s.sock.last_error));
                    if (s.variant == 0) {
                        s.sock.close();
                        done();
                    } else if (s.variant == 1) {
                        s.sock.reset();
                        done();
                    }
                    continue;
                }
                auto got = s.sock.read_available();
                bool welcomed = false;
                while (s.sock.next_line(line))
                    if (starts_with(line, "* welcome to ")) welcomed = true;
                if (welcomed) {
                    if (s.variant == 3) {
                        s.sock.queue("/quit churn\n");
                        s.sock.flush();
                    } else if (s.variant == 4) {
                        s.sock.queue("one line\n");
                        s.sock.flush();
                        s.sock.reset();
                        done();
                        continue;
                    }
                    s.sock.close();
                    done();
                } else if (got == raw_socket::io::eof || got == raw_socket::io::error) {
                    FAIL("the server closed a new connection before its welcome\n" << srv.log_tail());
                }
            }
        }
    };

    run_until(warmup);
    REQUIRE(wait_fd_count(srv, idle_fds, 10s));
    const long warm_kib = srv.rss_kib();
    const auto t0 = proc_clock::now();
    run_until(total);
    const double seconds = seconds_since(t0);
    INFO("server log:\n" << srv.log_tail());
    REQUIRE(wait_fd_count(srv, idle_fds, 10s));
    const long end_kib = srv.rss_kib();
    REQUIRE(srv.running());

    std::printf("%d connect/disconnect cycles (%d more after a warm-up of %d) in %.2f s: %.0f cycles/s; "
                "server RSS %.2f MiB after warm-up, %.2f MiB after all (%+ld KiB)%s\n",
                total, total - warmup, warmup, seconds, (total - warmup) / seconds, warm_kib / 1024.0,
                end_kib / 1024.0, end_kib - warm_kib, test::sanitized_build ? " (sanitized build: not asserted)" : "");
    std::fflush(stdout);
    for (int v = 0; v < 5; ++v) CHECK(by_variant[v] == total / 5);
    if (!test::sanitized_build) CHECK((end_kib - warm_kib) * kib < growth_allowance);

    check_still_serves_then_stop(srv, "still serving");
}

// ---------------------------------------------------------------------------

TEST_CASE("a server with 1000 clients stops on SIGTERM in time and tells every one of them", "[faults][stop]") {
    constexpr int clients = 1000;
    REQUIRE(test::raise_own_file_limit() >= static_cast<rlim_t>(clients + 100));
    server_process srv({"--quiet"});

    struct client {
        raw_socket sock;
        bool welcomed = false, bye = false, after_bye = false, eof = false, reset = false;
    };
    std::vector<client> cs(clients);
    for (auto& c : cs) REQUIRE(c.sock.start_connect(srv.port()));

    auto pump = [&](client& c, short revents) {
        if (c.sock.is_connecting()) {
            if (!c.sock.finish_connect()) c.reset = true;
            return;
        }
        if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
        auto got = c.sock.read_available();
        std::string line;
        while (c.sock.next_line(line)) {
            if (starts_with(line, "* welcome to ")) c.welcomed = true;
            if (c.bye) c.after_bye = true;
            if (line == "* server shutting down") c.bye = true;
        }
        if (got == raw_socket::io::eof) c.eof = true;
        if (got == raw_socket::io::error) c.reset = true;
        if (got == raw_socket::io::eof || got == raw_socket::io::error) c.sock.close();
    };
    auto poll_all = [&](int timeout_ms) {
        std::vector<pollfd> fds;
        std::vector<client*> owners;
        for (auto& c : cs) {
            if (!c.sock.is_open()) continue;
            fds.push_back(pollfd{c.sock.fd(), static_cast<short>(c.sock.is_connecting() ? POLLOUT : POLLIN), 0});
            owners.push_back(&c);
        }
        if (fds.empty()) return;
        if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
        for (std::size_t i = 0; i < fds.size(); ++i)
            if (fds[i].revents) pump(*owners[i], fds[i].revents);
    };

    // Everyone is in: each has its welcome (read lazily, as it comes).
    const auto connect_deadline = proc_clock::now() + 30s;
    for (;;) {
        const auto in = std::count_if(cs.begin(), cs.end(), [](const client& c) { return c.welcomed; });
        if (in == clients) break;
        const auto lost = std::count_if(cs.begin(), cs.end(), [](const client& c) { return c.reset || c.eof; });
        INFO(in << " welcomed, " << lost << " lost\n" << srv.log_tail());
        REQUIRE(lost == 0);
        REQUIRE(proc_clock::now() < connect_deadline);
        poll_all(50);
    }

    const auto t0 = proc_clock::now();
    srv.terminate();
    double stop_seconds = -1;
    const auto deadline = t0 + 15s;
    for (;;) {
        if (stop_seconds < 0 && !srv.running()) stop_seconds = seconds_since(t0);
        const bool all_closed = std::none_of(cs.begin(), cs.end(), [](const client& c) { return c.sock.is_open(); });
        if (stop_seconds >= 0 && all_closed) break;
        if (proc_clock::now() > deadline) break;
        poll_all(20);
    }
    INFO("server log:\n" << srv.log_tail());
    REQUIRE(stop_seconds >= 0);
    const auto told = std::count_if(cs.begin(), cs.end(), [](const client& c) { return c.bye && c.eof && !c.after_bye; });
    std::printf("stop with %d clients: the server exited %.2f s after SIGTERM (%s); %ld clients got "
                "\"* server shutting down\" then EOF\n",
                clients, stop_seconds, srv.describe_status().c_str(), static_cast<long>(told));
    std::fflush(stdout);
    CHECK(srv.exited_cleanly());
    CHECK(stop_seconds < 10.0);
    CHECK(told == clients);
}

// ---------------------------------------------------------------------------

TEST_CASE("slowloris connections are closed at the first-line timeout and well-behaved clients are unaffected",
          "[faults][timeouts]") {
    constexpr int slow_count = 200;
    server_process srv({"--quiet", "--first-line-timeout", "1"});
    const int idle_fds = srv.idle_fds();

    // Well-behaved: the first line goes out at once, before reading anything.
    std::vector<test::line_client> members(2);
    for (std::size_t i = 0; i < members.size(); ++i) {
        members[i].connect(where(srv));
        members[i].nick = "member" + std::to_string(i);
        members[i].send("/nick " + members[i].nick);
        members[i].wait_for([&](const std::string& l) { return ends_with(l, " is now known as " + members[i].nick); });
    }

    struct loris {
        raw_socket sock;
        proc_clock::time_point opened{};
        double lifetime = -1;
        bool last_words = false;
    };
    std::vector<loris> slow(slow_count);
    for (auto& s : slow) {
        REQUIRE(s.sock.connect_within(srv.port(), 10s));
        s.opened = proc_clock::now();
    }
    const auto all_open = proc_clock::now();

    // They trickle a byte each every 50 ms and never send a LF; meanwhile
    // the members chat and must see one another's lines.
    std::vector<std::string> seen_by_1;
    int ticks = 0, open = slow_count;
    auto next_trickle = proc_clock::now();
    std::string line;
    while (open > 0) {
        INFO("server log:\n" << srv.log_tail());
        REQUIRE(proc_clock::now() - all_open < 10s);
        if (proc_clock::now() >= next_trickle) {
            for (auto& s : slow) {
                if (!s.sock.is_open()) continue;
                s.sock.queue("x");
                s.sock.flush(); // a reset here shows up on the next read
            }
            next_trickle = proc_clock::now() + 50ms;
        }
        std::vector<pollfd> fds;
        std::vector<loris*> owners;
        for (auto& s : slow) {
            if (!s.sock.is_open()) continue;
            fds.push_back(pollfd{s.sock.fd(), POLLIN, 0});
            owners.push_back(&s);
        }
        if (::poll(fds.data(), fds.size(), test::ms_until(next_trickle)) > 0) {
            for (std::size_t i = 0; i < fds.size(); ++i) {
                if (!fds[i].revents) continue;
                loris& s = *owners[i];
                auto got = s.sock.read_available();
                while (s.sock.next_line(line))
                    if (line == "! disconnected: no line received in time") s.last_words = true;
                if (got == raw_socket::io::eof || got == raw_socket::io::error) {
                    s.lifetime = std::chrono::duration<double>(proc_clock::now() - s.opened).count();
                    s.sock.close();
                    --open;
                }
            }
        }
        if (++ticks % 10 == 0) {
            const std::string text = "still here " + std::to_string(ticks);
            members[0].send(text);
            members[1].wait_for([&](const std::string& l) { return l == "<member0> " + text; }, &seen_by_1, 10s);
        }
    }
    double longest = 0;
    int told = 0;
    for (auto& s : slow) {
        longest = std::max(longest, s.lifetime);
        if (s.last_words) ++told;
    }

    // The members are still there and were told of every departure.
    members[1].send("and you?");
    CHECK(members[0].wait_for_prefix("<member1> ") == "<member1> and you?");
    members[0].send("fine");
    std::string fine = members[1].wait_for([](const std::string& l) { return l == "<member0> fine"; }, &seen_by_1);
    const auto departures = std::count_if(seen_by_1.begin(), seen_by_1.end(), [](const std::string& l) {
        return starts_with(l, "* guest-") && ends_with(l, " left (no first line)");
    });
    std::printf("slowloris: %d connections trickling without LF, all closed; the longest lived %.2f s; "
                "%d of them read their last words\n",
                slow_count, longest, told);
    std::fflush(stdout);
    CHECK(departures == slow_count);
    CHECK(longest < 5.0); // 1 s timeout, checked once a second, plus a loaded machine's delays
    CHECK(wait_fd_count(srv, idle_fds + static_cast<int>(members.size()), 10s));
    for (auto& l : seen_by_1) CHECK(l.find("! disconnected") == std::string::npos);
    stop_cleanly(srv);
}

// ---------------------------------------------------------------------------

namespace {

// A peer that sends one telnet command over and over as fast as the server
// takes it and never reads; returns how it ended. The server's resident
// memory is sampled meanwhile, and two members chat throughout.
struct negotiation_flood {
    bool dropped = false;     // the server closed the flooder's connection
    double seconds = 0;       // until then
    long peak_growth_kib = 0; // most resident memory above the start
    std::size_t bytes_sent = 0;
};

negotiation_flood flood_negotiation(server_process& srv, std::vector<test::line_client>& members,
                                    std::string_view command, std::chrono::seconds limit) {
    negotiation_flood r;
    const long rss_start = srv.rss_kib();
    raw_socket flooder;
    REQUIRE(flooder.connect_within(srv.port(), 10s, 4096));
    std::string block;
    while (block.size() < 64 * 1024) block.append(command.data(), command.size());
    const auto start = proc_clock::now();
    auto next_chat = start;
    int said = 0;
    while (proc_clock::now() - start < limit) {
        r.peak_growth_kib = std::max(r.peak_growth_kib, srv.rss_kib() - rss_start);
        if (r.peak_growth_kib > 256 * 1024) break; // unbounded: no need to watch it take the machine
        // Sends whatever the socket takes; the flooder never reads.
        if (flooder.queued() == 0) flooder.queue(block);
        const auto sent_before = flooder.bytes_out;
        const auto io = flooder.flush(block.size());
        r.bytes_sent += flooder.bytes_out - sent_before;
        pollfd p{flooder.fd(), POLLOUT, 0};
        if (io == raw_socket::io::error || io == raw_socket::io::eof ||
            (::poll(&p, 1, 20) > 0 && (p.revents & (POLLERR | POLLHUP)))) {
            r.dropped = true;
            break;
        }
        if (proc_clock::now() >= next_chat) { // the others are not harmed meanwhile
            const std::string text = "during the flood " + std::to_string(++said);
            members[0].send(text);
            members[1].wait_for([&](const std::string& l) { return l == "<" + members[0].nick + "> " + text; });
            next_chat = proc_clock::now() + 200ms;
        }
    }
    r.seconds = seconds_since(start);
    r.peak_growth_kib = std::max(r.peak_growth_kib, srv.rss_kib() - rss_start);
    return r;
}

} // namespace

TEST_CASE("a peer that floods telnet negotiation and never reads is dropped and memory stays bounded",
          "[faults][telnet]") {
    // The default limits: a 4 MiB output queue, no flood control.
    server_process srv({"--quiet"});
    std::vector<test::line_client> members(2);
    for (auto& m : members) m.join(where(srv));
    // The members chat in a room of their own: nothing but its answers is
    // ever queued for the flooder, which stays in the lobby.
    for (auto& m : members) {
        m.send("/join elsewhere");
        m.wait_for_prefix("* joined elsewhere");
    }

    // IAC AYT (answered with a notice line), IAC DO TIMING-MARK, IAC WILL NAWS.
    for (std::string_view command : {std::string_view("\xff\xf6"), std::string_view("\xff\xfd\x06"),
                                     std::string_view("\xff\xfb\x1f")}) {
        const negotiation_flood r = flood_negotiation(srv, members, command, 30s);
        std::printf("telnet answer flood (command %02x %02x): %s after %.2f s and %zu bytes sent; "
                    "server RSS grew at most %.1f MiB\n",
                    static_cast<unsigned char>(command[0]), static_cast<unsigned char>(command[1]),
                    r.dropped ? "dropped" : "NOT dropped", r.seconds, r.bytes_sent,
                    static_cast<double>(r.peak_growth_kib) / 1024.0);
        std::fflush(stdout);
        INFO("server log:\n" << srv.log_tail());
        CHECK(r.dropped);
        // The queue limit (4 MiB) and one read's answers, with room for the allocator.
        CHECK(r.peak_growth_kib < 24 * 1024);
    }
    check_still_serves_then_stop(srv, "after the floods");
}

TEST_CASE("flood control counts telnet negotiation from a peer that sends no lines", "[faults][telnet]") {
    server_process srv({"--quiet", "--flood-rate", "10", "--flood-burst", "10"});
    raw_socket flooder;
    REQUIRE(flooder.connect_within(srv.port(), 10s));
    // The flooder reads every answer, so no queue limit stops it: only flood
    // control can. It sends IAC AYT in blocks of 100 for 3 s.
    std::string block;
    for (int i = 0; i < 100; ++i) block += "\xff\xf6";
    std::size_t answers = 0;
    const auto start = proc_clock::now();
    std::string line;
    while (proc_clock::now() - start < 3s) {
        if (flooder.queued() == 0) flooder.queue(block);
        if (flooder.flush() == raw_socket::io::error) break;
        pollfd p{flooder.fd(), POLLIN, 0};
        if (::poll(&p, 1, 5) > 0) flooder.read_available();
        while (flooder.next_line(line))
            if (line.find("* yes, still here") != std::string::npos) ++answers;
    }
    std::printf("negotiation flood under flood control (10 lines/s, burst 10): %zu answers in 3 s\n", answers);
    std::fflush(stdout);
    INFO("server log:\n" << srv.log_tail());
    // Answers cost a line's worth of tokens per 64 bytes: the bucket (10 + 10/s
    // for 3 s) pays for about 100 answers; one read's worth (at most 64 KiB of
    // input, 32,768 commands) may pass before the bucket is checked.
    CHECK(answers <= 33000);
    CHECK(answers >= 1);
    check_still_serves_then_stop(srv, "after the negotiation flood");
}

TEST_CASE("a client churning through joins cannot flood the server's log", "[faults][log]") {
    // Not --quiet: joins and leaves are logged, at most 20 lines a second
    // (and a burst of 100) per address.
    server_process srv({});
    test::line_client churner, other;
    churner.join(where(srv));
    other.join(where(srv));
    const std::size_t log_before = test::count_lines_with(srv.log(), "");
    std::string burst;
    constexpr int joins = 20000;
    for (int i = 0; i < joins; ++i) burst += "/join r" + std::to_string(i % 2) + "\n";
    const auto start = proc_clock::now();
    churner.send_raw(burst);
    churner.send("/who");
    churner.wait_for([](const std::string& l) { return starts_with(l, "* in r1:"); }, nullptr, 60s);
    const double took = seconds_since(start);
    // One more line from the churner's address after a pause: the count of
    // what was held back comes with it.
    std::this_thread::sleep_for(200ms); // the bucket refills a few tokens
    churner.send("/join lobby");
    REQUIRE(srv.wait_log("held back", 1, 10s));
    const std::size_t logged = test::count_lines_with(srv.log(), "") - log_before;
    std::printf("log flood: %d joins in %.2f s made %zu log lines\n", joins, took, logged);
    std::fflush(stdout);
    INFO("server log:\n" << srv.log_tail());
    // 40,000 joins and leaves without the limit; the bucket lets through its
    // burst and 20 a second, plus the counts.
    CHECK(logged < 100 + 20 * (took + 1) + 20);
    check_still_serves_then_stop(srv, "after the churn");
}
