// Soak: the real chatroom-server binary, for CHATROOM_SOAK_SECONDS (20 by
// default; scripts/test --long: 600), with well-behaved clients chatting in
// three rooms while misbehaving ones run alongside: garbage senders,
// flooders, stallers, vanishers and reconnecting churners. One thread drives
// every socket from one poll() loop, so the well-behaved clients read
// continuously and are never slow consumers themselves.
//
// At the end: the server never died and exits 0 on SIGTERM; every
// well-behaved client got every line of every other well-behaved member of
// its room, none missing, none reordered, byte for byte; all members of a
// room saw those lines, and the flood lines, in the same relative order; no
// line anyone received holds a control character (but TAB) or invalid UTF-8;
// flood control held each flooder near its rate and dropped none of its
// lines; every staller was dropped as too slow; the server's resident memory
// stayed under a bound computed from its options (see memory_bound below).
#include "../faults/raw_socket.hpp"
#include "../faults/server_process.hpp"

#include <poll.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_view_literals;
using test::proc_clock;
using test::raw_socket;
using test::server_process;

namespace {

// ---- settings ---------------------------------------------------------------

double env_number(const char* name, double fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    const double d = std::strtod(v, &end);
    return end != v && d > 0 ? d : fallback;
}

constexpr std::size_t max_line = 1024;
constexpr std::size_t max_queue = 262144;
constexpr double flood_rate = 200;  // lines per second per connection
constexpr double flood_burst = 400; // lines
constexpr int rooms = 3;                 // r0 r1 r2: where the members chat
constexpr int stall_room = rooms;        // r3: stallers, heavy flooders and a watcher
constexpr int heavy_flooders = 3;        // a staller's queue fills in seconds there
constexpr int flooders = rooms + heavy_flooders;
constexpr int members_per_room = 10;
constexpr int members = rooms * members_per_room;
constexpr auto member_period = 100ms; // each member says a line ten times a second
constexpr int churners = 3;

// The memory bound. Per connection the server holds at most: its session and
// member state and framer (~2 KiB), an unfinished input line (max_line + 1),
// output queued up to max_queue before it is dropped as too slow, and input
// read but held back by flood control (at most one 64 KiB read). Add 8 MiB
// for the process itself (code, libraries, allocator arenas, the read buffer
// of each thread). The bound is that per-connection figure times the peak
// number of connections, plus the 8 MiB.
constexpr long per_connection_bytes = 2 * 1024 + static_cast<long>(max_line) + static_cast<long>(max_queue) + 64 * 1024;
constexpr long base_bytes = 8 * 1024 * 1024;
long memory_bound(long peak_connections) { return base_bytes + peak_connections * per_connection_bytes; }

// ---- what the well-behaved say ----------------------------------------------

std::uint64_t mix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

// The text of member `id`'s line `seq`: printable ASCII, TAB, and valid
// multi-byte UTF-8, which must all arrive unchanged.
std::string member_text(int id, long seq) {
    static const char* const pieces[] = {"\xC3\xA9", "\xD0\xB6", "\xE6\xBC\xA2", "\xF0\x9F\x98\x80", "\xC2\xA0", "\t"};
    std::string text = "W " + std::to_string(id) + " " + std::to_string(seq) + " ";
    std::uint64_t r = mix(static_cast<std::uint64_t>(id) * 1000003ULL + static_cast<std::uint64_t>(seq));
    const std::size_t len = 8 + r % 120;
    for (std::size_t i = 0; i < len; ++i) {
        r = mix(r);
        if (r % 8 == 0) text += pieces[(r >> 8) % 6];
        else text += static_cast<char>(0x20 + (r >> 16) % 95);
    }
    return text;
}

// Flooder k (k < rooms) floods room k; the heavy ones flood the stall room
// with lines near the limit: the kernel buffers a few MB for a peer that does
// not read, so a staller is dropped only once that much went its way.
int flooder_room(int k) { return k < rooms ? k : stall_room; }

std::string flood_text(int id, long seq) {
    std::string text = "F " + std::to_string(id) + " " + std::to_string(seq) + " ";
    text.append(id < rooms ? 300 : 980, static_cast<char>('a' + seq % 26));
    return text;
}

// Garbage: random bytes, invalid UTF-8, controls and escape sequences,
// telnet IAC sequences, lines past the limit, odd commands.
std::string garbage_chunk(std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    // IAC SE first: it ends a subnegotiation that random bytes may have opened.
    std::string g = "\xFF\xF0";
    switch (pick(6)) {
    case 0: { // random bytes, a LF now and then
        const std::size_t n = 1 + pick(400);
        for (std::size_t i = 0; i < n; ++i) g += pick(50) == 0 ? '\n' : static_cast<char>(rng() & 0xFF);
        break;
    }
    case 1: { // invalid UTF-8 amid text
        static const std::string_view bad[] = {"\xC0\x80"sv, "\xED\xA0\x80"sv,     "\xF5\x80\x80\x80"sv, "\xE2\x82"sv,
                                               "\x80"sv,     "\xFE"sv,             "\xF4\x90\x80\x80"sv, "\xE0\x80\xAF"sv,
                                               "\xC3"sv,     "\xBF\xBF"sv};
        for (int i = 0; i < 6; ++i) (g += "bad") += bad[pick(10)];
        break;
    }
    case 2: { // controls: ANSI escapes, NUL, BEL, BS, DEL, CR, C1 CSI
        static const std::string_view ctl[] = {"\x1B[31mred\x1B[0m"sv, "\0"sv,    "\x07"sv,
                                               "\x08"sv,                "\x7F"sv,  "a\rb"sv,
                                               "\xC2\x9B" "2J"sv,        "\x1B]0;title\x07"sv, "\x0C"sv,
                                               "\x1B"sv};
        for (int i = 0; i < 5; ++i) (g += "ctl") += ctl[pick(10)];
        if (pick(3) == 0) g += "nul\0inside"sv;
        break;
    }
    case 3: { // telnet
        static const std::string_view iac[] = {"\xFF\xFB\x01"sv, "\xFF\xFD\x03"sv, "\xFF\xFA\x18\x01\xFF\xF0"sv,
                                               "\xFF\xFF"sv,     "\xFF\xF4"sv,     "\xFF\xFC\x22"sv,
                                               "\xFF\xFA\x1F\x00\x50\x00\x18\xFF\xF0"sv};
        for (int i = 0; i < 5; ++i) (g += "iac") += iac[pick(7)];
        break;
    }
    case 4: { // longer than the limit
        const std::size_t n = max_line + 1 + pick(7000);
        for (std::size_t i = 0; i < n; ++i) g += static_cast<char>(0x21 + pick(94));
        break;
    }
    default: { // odd but valid
        static const std::string_view odd[] = {"//slash"sv, "/me juggles"sv,   "/who"sv,   "/rooms"sv, "/msg wb0 psst"sv,
                                               "/nick !bad!"sv, "/help"sv, "/msg nobody x"sv, "/bogus"sv, "   "sv};
        g += odd[pick(10)];
        break;
    }
    }
    g += '\n';
    return g;
}

// ---- the actors -------------------------------------------------------------

// A line as a telnet client would show it: negotiation (IAC verb option)
// and bare CRs taken out.
std::string without_telnet(const std::string& l) {
    std::string out;
    for (std::size_t i = 0; i < l.size(); ++i) {
        const auto c = static_cast<unsigned char>(l[i]);
        if (c == 0xFF && i + 2 < l.size() && static_cast<unsigned char>(l[i + 1]) >= 0xFB) {
            i += 2;
        } else if (c != '\r' || i + 1 == l.size()) {
            out += l[i];
        }
    }
    return out;
}

enum class role { member, watcher, flooder, garbage, staller, vanisher, churner };

struct actor {
    role kind = role::member;
    int id = 0;
    int room = 0;
    std::string nick;
    raw_socket sock;
    proc_clock::time_point born{};

    // Every reader: what it received.
    long lines = 0;
    std::string last_lines[3]; // the most recent lines, for failure messages
    bool saw_bye = false, after_bye = false, ended = false;

    // member
    long sent = 0;
    proc_clock::time_point next_send{};
    std::vector<long> next_member;   // next sequence number expected from each member
    std::vector<long> next_flood;    // ... and from each flooder
    std::vector<proc_clock::time_point> last_flood_at;
    std::vector<std::uint64_t> order; // the well-behaved and flood lines, in arrival order
    long gaps = 0;
    std::string first_gap;
    long delivered = 0;

    // flooder
    long flood_sent = 0;

    // vanisher and churner
    int variant = 0;
    int stage = 0;
    int generation = 0;
    proc_clock::time_point wake{};
};

std::uint64_t order_key(bool flood, int sender, long seq) {
    return (static_cast<std::uint64_t>(flood) << 62) | (static_cast<std::uint64_t>(sender) << 40) |
           static_cast<std::uint64_t>(seq);
}
bool key_is_flood(std::uint64_t k) { return (k >> 62) != 0; }
int key_sender(std::uint64_t k) { return static_cast<int>((k >> 40) & 0x3FFFFF); }
long key_seq(std::uint64_t k) { return static_cast<long>(k & 0xFFFFFFFFFFULL); }

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

} // namespace

TEST_CASE("a long run with misbehaving clients loses and reorders nothing for the well-behaved and stays bounded",
          "[soak]") {
    const double soak_seconds = env_number("CHATROOM_SOAK_SECONDS", 20);
    const int server_threads = static_cast<int>(env_number("CHATROOM_SOAK_THREADS", 2));
    const auto seed = static_cast<std::uint64_t>(env_number("CHATROOM_SOAK_SEED", 20240601));
    std::mt19937_64 rng(seed);
    INFO("CHATROOM_SOAK_SECONDS=" << soak_seconds << " CHATROOM_SOAK_THREADS=" << server_threads
                                  << " CHATROOM_SOAK_SEED=" << seed);
    REQUIRE(test::raise_own_file_limit() >= 512);

    server_process srv({"--quiet", "--threads", std::to_string(server_threads), "--max-queue",
                        std::to_string(max_queue), "--max-line", std::to_string(max_line), "--flood-rate",
                        std::to_string(static_cast<int>(flood_rate)), "--flood-burst",
                        std::to_string(static_cast<int>(flood_burst))});
    const int idle_fds = srv.idle_fds();
    REQUIRE(idle_fds > 0);

    std::vector<std::unique_ptr<actor>> actors;
    long connections_made = 0;
    auto connect = [&](role kind, int id, int room, int rcvbuf = 0) -> actor& {
        auto a = std::make_unique<actor>();
        a->kind = kind;
        a->id = id;
        a->room = room;
        a->born = proc_clock::now();
        if (!a->sock.start_connect(srv.port(), rcvbuf))
            FAIL("connect failed: " << std::strerror(a->sock.last_error));
        ++connections_made;
        actors.push_back(std::move(a));
        return *actors.back();
    };
    auto room_name = [](int room) { return "r" + std::to_string(room); };
    auto wait_joined = [&](actor& a) {
        INFO(a.nick << "\n" << srv.log_tail());
        REQUIRE(test::wait_prefix(a.sock, "* joined " + room_name(a.room) + " (", 20s));
    };

    // ---- setup: members, flooders and garbage senders join their rooms -----
    std::vector<actor*> member_list, flooder_list, garbage_list;
    for (int i = 0; i < members; ++i) {
        actor& a = connect(role::member, i, i % rooms);
        a.nick = "wb" + std::to_string(i);
        a.next_member.assign(members, 0);
        a.next_flood.assign(flooders, 0);
        a.last_flood_at.assign(flooders, proc_clock::time_point{});
        a.sock.queue("/nick " + a.nick + "\n/join " + room_name(a.room) + "\n");
        wait_joined(a);
        member_list.push_back(&a);
    }
    for (int k = 0; k < flooders; ++k) {
        actor& f = connect(role::flooder, k, flooder_room(k));
        f.nick = "fl" + std::to_string(k);
        f.sock.queue("/nick " + f.nick + "\n/join " + room_name(f.room) + "\n");
        wait_joined(f);
        flooder_list.push_back(&f);
    }
    // The watcher: a well-behaved reader in the stall room.
    actor& watcher = connect(role::watcher, members, stall_room);
    watcher.nick = "watcher";
    watcher.next_member.assign(members, 0);
    watcher.next_flood.assign(flooders, 0);
    watcher.last_flood_at.assign(flooders, proc_clock::time_point{});
    watcher.sock.queue("/nick watcher\n/join " + room_name(stall_room) + "\n");
    wait_joined(watcher);
    for (int k = 0; k < rooms; ++k) {
        actor& g = connect(role::garbage, k, k);
        g.nick = "gb" + std::to_string(k);
        g.sock.queue("/nick " + g.nick + "\n/join " + room_name(k) + "\n");
        wait_joined(g);
        garbage_list.push_back(&g);
    }

    // ---- the run ------------------------------------------------------------
    enum class phase { main, settle, quiesce, done } now_phase = phase::main;
    const auto start = proc_clock::now();
    const auto main_end = start + std::chrono::duration_cast<proc_clock::duration>(std::chrono::duration<double>(soak_seconds));
    // Stallers are started until 8 s before the end (at least one), so each
    // has time to fill its queue; the settle phase waits for the last drops.
    const auto stall_until = std::max(start + 1500ms, main_end - 8s);
    proc_clock::time_point settle_deadline{}, quiesce_deadline{}, settle_start{}, quiesce_start{};
    const proc_clock::time_point flood_start = start;
    for (auto* m : member_list) m->next_send = start + (member_period * m->id) / members;

    auto next_staller = start + 1s, next_vanisher = start + 200ms, next_garbage = start, next_sample = start;
    std::vector<proc_clock::time_point> churner_wake(churners, start + 300ms);
    std::vector<actor*> churner_actor(churners, nullptr);
    std::vector<int> churner_generation(churners, 0);
    std::vector<std::string> stallers; // nicks
    std::vector<bool> staller_dropped;
    std::vector<proc_clock::time_point> staller_born;
    double slowest_drop = 0;
    int staller_count = 0, vanisher_count = 0;
    long peak_rss_kib = srv.rss_kib(), peak_server_connections = 0, peak_client_connections = 0;
    long garbage_bytes = 0, churn_cycles = 0;
    std::string line;

    // Every line any reader gets: clean text, CR LF, bounded length; members
    // check the well-behaved and flood lines of their room.
    long lines_read = 0, dirty_lines = 0, bad_endings = 0;
    std::string first_dirty;
    auto on_line = [&](actor& a, const std::string& raw) {
        // Garbage senders speak telnet by accident, and the server answers
        // them as telnet clients (negotiation, a bare CR after each line):
        // what they read is checked once that is taken out.
        const std::string l = a.kind == role::garbage ? without_telnet(raw) : raw;
        a.last_lines[a.lines % 3] = l.substr(0, 200);
        ++a.lines;
        ++lines_read;
        if (a.saw_bye) a.after_bye = true;
        if (l == "* server shutting down") a.saw_bye = true;
        // (A U+FFFD stands for at least one byte: a line grows at most threefold.)
        if (!test::is_clean_line(l) || l.size() > 3 * max_line + 64) {
            if (dirty_lines++ == 0) first_dirty = a.nick + ": " + l;
        }
        if (a.kind == role::watcher) {
            // A staller's drop, as told to its room.
            if (starts_with(l, "* st"))
                for (std::size_t i = 0; i < stallers.size(); ++i)
                    if (!staller_dropped[i] && l == "* " + stallers[i] + " left (too slow)") {
                        staller_dropped[i] = true;
                        const double took = std::chrono::duration<double>(proc_clock::now() - staller_born[i]).count();
                        slowest_drop = std::max(slowest_drop, took);
                    }
        }
        if ((a.kind != role::member && a.kind != role::watcher) || l.empty() || l[0] != '<') return;
        const std::size_t close = l.find("> ");
        if (close == std::string::npos) return;
        const std::string nick = l.substr(1, close - 1);
        const std::string text = l.substr(close + 2);
        auto gap = [&](const std::string& why) {
            if (a.gaps++ == 0) a.first_gap = why + ": " + l;
        };
        if (starts_with(nick, "wb") && starts_with(text, "W ")) {
            const int sender = std::atoi(nick.c_str() + 2);
            const long seq = std::strtol(text.c_str() + 2 + std::to_string(sender).size() + 1, nullptr, 10);
            if (sender < 0 || sender >= members || sender == a.id || sender % rooms != a.room)
                return gap("a line from outside the room");
            if (text != member_text(sender, seq)) return gap("altered");
            long& next = a.next_member[static_cast<std::size_t>(sender)];
            if (seq != next) gap("expected " + std::to_string(next));
            next = seq + 1;
            a.order.push_back(order_key(false, sender, seq));
            ++a.delivered;
        } else if (starts_with(nick, "fl") && starts_with(text, "F ")) {
            const int sender = std::atoi(nick.c_str() + 2);
            const long seq = std::strtol(text.c_str() + 2 + std::to_string(sender).size() + 1, nullptr, 10);
            if (sender < 0 || sender >= flooders || flooder_room(sender) != a.room)
                return gap("a flood line from outside the room");
            if (text != flood_text(sender, seq)) return gap("altered flood line");
            long& next = a.next_flood[static_cast<std::size_t>(sender)];
            if (seq != next) gap("flood expected " + std::to_string(next));
            next = seq + 1;
            a.last_flood_at[static_cast<std::size_t>(sender)] = proc_clock::now();
            a.order.push_back(order_key(true, sender, seq));
            ++a.delivered;
        }
    };

    auto members_complete = [&] {
        for (auto* r : member_list)
            for (auto* s : member_list)
                if (s != r && s->room == r->room && r->next_member[static_cast<std::size_t>(s->id)] != s->sent)
                    return false;
        return true;
    };

    const auto hard_deadline = main_end + 120s;
    while (now_phase != phase::done) {
        const auto now = proc_clock::now();
        if (now > hard_deadline) FAIL("the soak did not finish in time\n" << srv.log_tail());

        // ---- phases -----------------------------------------------------------
        if (now_phase == phase::main && now >= main_end) {
            now_phase = phase::settle;
            settle_deadline = now + 60s;
            settle_start = now;
        }
        if (now_phase == phase::settle) {
            const bool stallers_gone = std::all_of(staller_dropped.begin(), staller_dropped.end(), [](bool b) { return b; });
            const bool churn_idle = std::none_of(actors.begin(), actors.end(), [](const std::unique_ptr<actor>& a) {
                return (a->kind == role::churner || a->kind == role::vanisher) && a->sock.is_open();
            });
            if (stallers_gone && churn_idle) {
                now_phase = phase::quiesce;
                quiesce_deadline = now + 30s;
                quiesce_start = now;
            } else if (now > settle_deadline) {
                std::string missing;
                for (std::size_t i = 0; i < stallers.size(); ++i)
                    if (!staller_dropped[i]) missing += " " + stallers[i];
                FAIL("after the run: stallers never dropped:" << missing << "; churners or vanishers still busy: "
                                                              << !churn_idle << "\n" << srv.log_tail());
            }
        }
        if (now_phase == phase::quiesce) {
            if (members_complete()) now_phase = phase::done;
            else if (now > quiesce_deadline) break; // reported below, line by line
        }
        const bool talking = now_phase == phase::main || now_phase == phase::settle;
        const bool spawning = now_phase == phase::main;

        // ---- what each actor does now -----------------------------------------
        if (talking) {
            for (auto* m : member_list) {
                if (now < m->next_send) continue;
                m->sock.queue(member_text(m->id, m->sent++) + "\n");
                m->next_send += member_period;
                if (m->next_send < now - 1s) m->next_send = now; // after a stall, no catch-up burst
            }
            // The flooders of the chat rooms send as fast as TCP takes it.
            // The heavy ones run at 1.5 times the flood rate from the start:
            // three of them bursting flood_burst lines of ~1 KB at once would
            // put 1.2 MB on the watcher's queue (limit 256 KiB) before anyone
            // could read it, which drops the watcher, not the flooders.
            const double elapsed = std::chrono::duration<double>(now - start).count();
            for (auto* f : flooder_list) {
                if (f->sock.queued() > 16384) continue;
                const long allowed = f->id < rooms ? std::numeric_limits<long>::max()
                                                   : 100 + static_cast<long>(1.5 * flood_rate * elapsed);
                std::string block;
                while (block.size() < 32768 && f->flood_sent < allowed)
                    (block += flood_text(f->id, f->flood_sent++)) += '\n';
                f->sock.queue(block);
            }
            if (now >= next_garbage) {
                for (auto* g : garbage_list)
                    if (g->sock.queued() < 65536) g->sock.queue(garbage_chunk(rng));
                next_garbage = now + 50ms;
            }
        }
        if (spawning && now >= next_staller && now <= stall_until) {
            // Joins a room with a tiny receive window and never reads.
            const int room = stall_room;
            actor& s = connect(role::staller, staller_count, room, 4096);
            s.nick = "st" + std::to_string(staller_count);
            s.sock.queue("/nick " + s.nick + "\n/join " + room_name(room) + "\n");
            stallers.push_back(s.nick);
            staller_dropped.push_back(false);
            staller_born.push_back(now);
            ++staller_count;
            next_staller = now + 2s;
        }
        if (spawning && now >= next_vanisher) {
            actor& v = connect(role::vanisher, vanisher_count, vanisher_count % rooms);
            v.variant = vanisher_count % 5;
            ++vanisher_count;
            next_vanisher = now + 150ms;
        }
        for (int c = 0; c < churners; ++c) {
            if (churner_actor[c] || !spawning || now < churner_wake[c]) continue;
            actor& ch = connect(role::churner, c, static_cast<int>(rng() % rooms));
            ch.generation = churner_generation[c]++;
            ch.nick = "ch" + std::to_string(c) + "g" + std::to_string(ch.generation);
            churner_actor[c] = &ch;
        }

        // ---- poll -------------------------------------------------------------
        std::vector<pollfd> fds;
        std::vector<actor*> owners;
        long open_now = 0;
        for (auto& a : actors) {
            if (!a->sock.is_open()) continue;
            if (a->kind != role::staller || !staller_dropped[static_cast<std::size_t>(a->id)]) ++open_now;
            short events = 0;
            if (a->sock.is_connecting() || a->sock.queued() > 0) events |= POLLOUT;
            if (a->kind != role::staller && !a->sock.is_connecting()) events |= POLLIN;
            if (events == 0) continue;
            fds.push_back(pollfd{a->sock.fd(), events, 0});
            owners.push_back(a.get());
        }
        peak_client_connections = std::max(peak_client_connections, open_now);
        ::poll(fds.data(), fds.size(), 2);

        for (std::size_t i = 0; i < fds.size(); ++i) {
            actor& a = *owners[i];
            const short ev = fds[i].revents;
            if (!ev) continue;
            if (a.sock.is_connecting()) {
                if (!a.sock.finish_connect()) FAIL("connect failed: " << std::strerror(a.sock.last_error));
                if (a.kind == role::vanisher) {
                    if (a.variant == 0) {
                        a.sock.queue("/join " + room_name(a.room) + "\nhalf a li");
                        a.sock.flush();
                        a.sock.reset();
                        continue;
                    }
                    if (a.variant == 1) {
                        a.sock.queue("vanishing mid-li");
                        a.sock.flush();
                        a.sock.close();
                        continue;
                    }
                    if (a.variant == 3) {
                        a.sock.reset();
                        continue;
                    }
                }
                continue;
            }
            if (ev & POLLOUT) {
                const std::size_t before = a.sock.bytes_out;
                if (a.sock.flush() == raw_socket::io::error && a.kind != role::vanisher && a.kind != role::churner &&
                    a.kind != role::staller)
                    FAIL(a.nick << " could not write: " << std::strerror(a.sock.last_error) << " "
                                << std::chrono::duration<double>(proc_clock::now() - start).count() << " s into the run\n"
                                << srv.log_tail());
                if (a.kind == role::garbage) garbage_bytes += static_cast<long>(a.sock.bytes_out - before);
            }
            if (!(ev & (POLLIN | POLLHUP | POLLERR)) || !a.sock.is_open()) continue;
            const auto got = a.sock.read_available();
            bool welcomed = false;
            while (a.sock.next_line(line)) {
                on_line(a, line);
                if (starts_with(line, "* welcome to ")) welcomed = true;
                if (a.kind == role::churner && a.stage == 1 && starts_with(line, "* joined " + room_name(a.room) + " (")) {
                    // In the room: a line, then /quit, a close or a reset.
                    a.sock.queue("churn " + a.nick + " was here\n");
                    a.variant = a.generation % 3;
                    if (a.variant == 0) a.sock.queue("/quit churning\n");
                    a.sock.flush();
                    a.stage = 2;
                    if (a.variant == 1) a.sock.close();
                    if (a.variant == 2) a.sock.reset();
                }
            }
            if (!a.sock.is_open()) continue;
            if (welcomed && a.kind == role::vanisher) {
                if (a.variant == 2) {
                    a.sock.queue("/join " + room_name(a.room) + "\nsaid something\nand then mid");
                    a.sock.flush();
                    a.sock.reset();
                } else {
                    a.sock.queue("/join " + room_name(a.room) + "\n");
                    a.sock.flush();
                    a.sock.close();
                }
                continue;
            }
            if (welcomed && a.kind == role::churner && a.stage == 0) {
                a.sock.queue("/nick " + a.nick + "\n/join " + room_name(a.room) + "\n");
                a.sock.flush();
                a.stage = 1;
            }
            if (got == raw_socket::io::eof || got == raw_socket::io::error) {
                a.ended = true;
                a.sock.close();
                if (a.kind == role::member || a.kind == role::watcher || a.kind == role::flooder ||
                    a.kind == role::garbage) {
                    FAIL(a.nick << " was disconnected ("
                                << (got == raw_socket::io::eof ? "EOF" : std::strerror(a.sock.last_error)) << ") "
                                << std::chrono::duration<double>(proc_clock::now() - start).count()
                                << " s into the run, after " << a.lines << " lines; the last ones:\n"
                                << a.last_lines[(a.lines + 0) % 3] << "\n" << a.last_lines[(a.lines + 1) % 3] << "\n"
                                << a.last_lines[(a.lines + 2) % 3] << "\n"
                                << srv.log_tail());
                }
            }
        }

        // Churners that are done wait a little and come back; actors that are
        // gone are forgotten (stallers stay to the end: their sockets are open).
        for (int c = 0; c < churners; ++c)
            if (churner_actor[c] && !churner_actor[c]->sock.is_open()) {
                churner_actor[c] = nullptr;
                ++churn_cycles;
                churner_wake[c] = proc_clock::now() + std::chrono::milliseconds(100 + rng() % 300);
            }
        for (auto& a : actors) {
            if (!a->sock.is_open()) continue;
            if ((a->kind == role::vanisher || a->kind == role::churner) && proc_clock::now() - a->born > 20s)
                FAIL("a " << (a->kind == role::vanisher ? "vanisher" : "churner") << " got stuck at stage " << a->stage
                          << "\n" << srv.log_tail());
        }
        actors.erase(std::remove_if(actors.begin(), actors.end(),
                                    [&](const std::unique_ptr<actor>& a) {
                                        if (a->sock.is_open() || (a->kind != role::vanisher && a->kind != role::churner))
                                            return false;
                                        if (a->sock.bad_line_ending) ++bad_endings;
                                        return true;
                                    }),
                     actors.end());

        // ---- the server: alive, and its memory ---------------------------------
        if (proc_clock::now() >= next_sample) {
            next_sample = proc_clock::now() + 100ms;
            if (!srv.running()) FAIL("the server died: " << srv.describe_status() << "\n" << srv.log_tail());
            peak_rss_kib = std::max(peak_rss_kib, srv.rss_kib());
            const int fds_now = srv.fd_count();
            if (fds_now > 0) peak_server_connections = std::max(peak_server_connections, static_cast<long>(fds_now - idle_fds));
        }
    }
    const double run_seconds = std::chrono::duration<double>(proc_clock::now() - start).count();
    std::printf("soak phases: settle %.2f s, quiesce %.2f s; the slowest staller was dropped %.2f s after it joined\n",
                std::chrono::duration<double>(quiesce_start - settle_start).count(),
                std::chrono::duration<double>(proc_clock::now() - quiesce_start).count(), slowest_drop);

    // ---- every line, in order, for every member --------------------------------
    long delivered = watcher.delivered;
    {
        INFO("watcher: first gap: " << watcher.first_gap);
        CHECK(watcher.gaps == 0);
    }
    for (auto* r : member_list) {
        INFO("member " << r->nick << " in " << room_name(r->room) << ": first gap: " << r->first_gap);
        delivered += r->delivered;
        CHECK(r->gaps == 0);
        for (auto* s : member_list)
            if (s != r && s->room == r->room) {
                INFO("from " << s->nick);
                CHECK(r->next_member[static_cast<std::size_t>(s->id)] == s->sent);
            }
    }
    // All members of a room saw the same relative order: drop the lines of
    // the two compared members (a member does not get its own), and flood
    // lines past what both got; what is left must be the same sequence.
    for (int room = 0; room < rooms; ++room) {
        std::vector<actor*> in_room;
        for (auto* m : member_list)
            if (m->room == room) in_room.push_back(m);
        long mismatches = 0;
        for (std::size_t i = 0; i < in_room.size(); ++i)
            for (std::size_t j = i + 1; j < in_room.size(); ++j) {
                actor& a = *in_room[i];
                actor& b = *in_room[j];
                const long flood_limit = std::min(a.next_flood[static_cast<std::size_t>(room)], b.next_flood[static_cast<std::size_t>(room)]);
                auto view = [&](const actor& who) {
                    std::vector<std::uint64_t> v;
                    v.reserve(who.order.size());
                    for (auto k : who.order) {
                        if (key_is_flood(k) ? key_seq(k) >= flood_limit : (key_sender(k) == a.id || key_sender(k) == b.id))
                            continue;
                        v.push_back(k);
                    }
                    return v;
                };
                if (view(a) != view(b)) ++mismatches;
            }
        INFO("room " << room_name(room));
        CHECK(mismatches == 0);
    }
    // Clean text only, to everyone who read, every line ending in CR LF.
    for (auto& a : actors)
        if (a->sock.bad_line_ending) ++bad_endings;
    {
        INFO(lines_read << " lines read; the first dirty one: " << first_dirty);
        CHECK(dirty_lines == 0);
        CHECK(bad_endings == 0);
    }
    // Flood control: each member (and the watcher) got at most burst + rate
    // x time lines from each flooder of its room, and (above) every one of
    // them in order: the flooders were slowed down, not cut.
    double slowest_flood = 1e9, fastest_flood = 0;
    std::vector<actor*> flood_receivers = member_list;
    flood_receivers.push_back(&watcher);
    for (auto* r : flood_receivers)
        for (int k = 0; k < flooders; ++k) {
            if (flooder_room(k) != r->room) continue;
            const long got = r->next_flood[static_cast<std::size_t>(k)];
            const double span =
                std::chrono::duration<double>(r->last_flood_at[static_cast<std::size_t>(k)] - flood_start).count();
            INFO(r->nick << " got " << got << " lines from fl" << k << " over " << span << " s");
            CHECK(static_cast<double>(got) <= flood_burst + 1 + flood_rate * span * 1.05 + 20);
            CHECK(static_cast<double>(got) >= flood_rate * (soak_seconds * 0.25));
            if (span > 0) {
                slowest_flood = std::min(slowest_flood, got / span);
                fastest_flood = std::max(fastest_flood, got / span);
            }
        }
    std::size_t dropped = static_cast<std::size_t>(std::count(staller_dropped.begin(), staller_dropped.end(), true));
    CHECK(dropped == stallers.size());
    CHECK(staller_count >= 1);

    // ---- memory ----------------------------------------------------------------
    const long hwm_kib = srv.hwm_kib();
    peak_rss_kib = std::max(peak_rss_kib, srv.rss_kib());
    const long peak_connections = std::max(peak_server_connections, peak_client_connections);
    const long bound = memory_bound(peak_connections);

    // ---- stop ------------------------------------------------------------------
    srv.terminate();
    const auto stop_deadline = proc_clock::now() + 15s;
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<actor*> owners;
        for (auto& a : actors) {
            if (!a->sock.is_open() || a->kind == role::staller) continue;
            fds.push_back(pollfd{a->sock.fd(), POLLIN, 0});
            owners.push_back(a.get());
        }
        if ((fds.empty() && !srv.running()) || proc_clock::now() > stop_deadline) break;
        ::poll(fds.data(), fds.size(), 10);
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!fds[i].revents) continue;
            actor& a = *owners[i];
            const auto got = a.sock.read_available();
            while (a.sock.next_line(line)) on_line(a, line);
            if (got == raw_socket::io::eof || got == raw_socket::io::error) {
                a.ended = true;
                a.sock.close();
            }
        }
    }
    INFO("server log:\n" << srv.log_tail());
    CHECK_FALSE(srv.running());
    CHECK(srv.exited_cleanly());
    for (auto* m : member_list) {
        INFO(m->nick);
        CHECK(m->saw_bye);
        CHECK_FALSE(m->after_bye);
        CHECK(m->ended);
    }

    std::printf("soak: %.1f s (%.1f s asked), %d server threads: %ld well-behaved and flood lines delivered "
                "(%d members in 3 rooms), %ld garbage bytes sent, %ld connections made (peak %ld at once), %d "
                "stallers dropped as too slow, %d vanishers, %ld churn cycles, flood %.0f-%.0f lines/s per flooder "
                "(limit %.0f), peak RSS %.1f MiB (VmHWM %.1f MiB, bound %.1f MiB%s)\n",
                run_seconds, soak_seconds, server_threads, delivered, members, garbage_bytes, connections_made,
                peak_connections, static_cast<int>(dropped), vanisher_count, churn_cycles,
                slowest_flood == 1e9 ? 0.0 : slowest_flood, fastest_flood, flood_rate, peak_rss_kib / 1024.0,
                hwm_kib / 1024.0, bound / 1048576.0, test::sanitized_build ? ", sanitized build: not asserted" : "");
    std::fflush(stdout);
    if (!test::sanitized_build) {
        CHECK(peak_rss_kib * 1024 < bound);
        CHECK(hwm_kib * 1024 < bound);
    }
}
