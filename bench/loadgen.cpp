// chatroom-loadgen: a single-threaded, epoll-driven load generator for
// line-oriented chat servers (the chatroom line protocol, the same protocol
// over WebSocket, Redis pub/sub over RESP3, NATS, and a raw byte relay).
//
// Load mode: N clients (split into R rooms) each send M payload lines of S
// bytes and receive every other member's lines. Every payload carries the
// sender id, a per-sender sequence number and the CLOCK_MONOTONIC send time,
// so the receiver checks completeness and order and measures latency.
// Flow control: a sender keeps at most W lines that one designated receiver
// (the next member of its room) has not seen yet.
//
// Stalled readers (--stalled K): K extra members join the first room and,
// once joined, never read again, like a client whose user walked away. The
// other members' deliveries/s against a run without them shows what one
// stalled reader costs everyone else (the server's slow-consumer policy).
// Their receive buffer is small (--stalled-rcvbuf), so what they do not read
// piles up in the server rather than in the kernel.
//
// WebSocket (--proto ws): each client upgrades GET /ws, then sends every line
// as one masked text frame and reads one text frame per line; the lines are
// the chat protocol's, so the chat adapter's parsing and flow control apply
// unchanged and the figures compare with --proto chat on the same server.
//
// WebSocket JSON (--proto wsjson): the JSON dialect a browser speaks, chosen
// by offering the subprotocol chatroom.v1 on GET /ws (docs/web-protocol.md).
// Each line goes out as one {"type":"say","room":R,"text":PAYLOAD} frame;
// each chat event's text (several lines joined by \n when the server gathered
// them) is split back into payloads and counted as the other protocols count
// lines. A client is ready at its joined_room (a room other than the lobby:
// join it, then part the lobby).
//
// Several servers (--port P1,P2,...): client i connects to the (i mod n)-th
// port, so a room spans servers that share it through a backplane (bench/run
// S7: two chatroom-server --redis nodes). Deliveries between clients of
// different ports are also counted apart (cross_deliveries). --server-pid
// may be given once per process (NAME=PID): the CPU time of each over the
// measured phase is reported, and their sum is the server CPU.
// --sync waits, before measuring, until a probe line from the first client
// of every port has reached every client (a backplane's subscriptions are
// asynchronous: a member may be joined before its server reads the room).
// --exact tracks every line of every sender at every receiver, so lost,
// duplicated and reordered lines are counted apart; --drain ends a run that
// lost lines that long after the last delivery instead of failing it as
// stalled, so what was lost is counted; --window-timeout keeps a sender
// whose whole window was lost from waiting for its acks forever.
//
// Idle mode (--idle C): C connections sit idle; the server's RSS growth per
// connection is reported, then one line is broadcast and the time until every
// other connection received it is measured.
//
// Results: one JSON line on stdout, one human-readable line on stderr.
// Exit status: 0 for a valid run, 1 for an invalid or failed run, 2 for
// usage errors.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using u32 = std::uint32_t;
using u64 = std::uint64_t;

u64 now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<u64>(ts.tv_sec) * 1000000000ULL + static_cast<u64>(ts.tv_nsec);
}

// ---------------------------------------------------------------------------
// Payload header: "m" + sender id (8 digits) + "." + sequence number
// (8 digits) + "." + send time (the low 16 decimal digits of CLOCK_MONOTONIC
// in ns) + ".", then letters up to the payload size. Fixed width, so the
// receiver parses it with a few word operations.
constexpr std::size_t kHeaderLen = 36;
constexpr u64 kTsModulus = 10000000000000000ULL;  // 10^16 ns, about 115 days
constexpr u32 kMaxField = 99999999;

void put_digits(char* out, u64 v, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
}

void write_header(char* out, u32 id, u32 seq, u64 ts) {
    out[0] = 'm';
    put_digits(out + 1, id, 8);
    out[9] = '.';
    put_digits(out + 10, seq, 8);
    out[18] = '.';
    put_digits(out + 19, ts % kTsModulus, 16);
    out[35] = '.';
}

// Eight ASCII decimal digits to their value; false if any byte is not a digit.
bool parse8(const char* p, u32& out) {
    u64 x = 0;
    std::memcpy(&x, p, 8);
    const u64 hi = x & 0xF0F0F0F0F0F0F0F0ULL;
    const u64 over = ((x + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4;
    if ((hi | over) != 0x3333333333333333ULL) return false;
    x -= 0x3030303030303030ULL;
    // The first character is the most significant digit and sits in the
    // lowest byte (little endian): fold neighbours into 2, then 8 digits.
    x = x * 10 + (x >> 8);
    x = (((x & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
         (((x >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
        32;
    out = static_cast<u32>(x);
    return true;
}

bool parse_header(const char* p, std::size_t n, u32& id, u32& seq, u64& ts) {
    if (n < kHeaderLen || p[0] != 'm' || p[9] != '.' || p[18] != '.' || p[35] != '.') return false;
    u32 hi = 0, lo = 0;
    if (!parse8(p + 1, id) || !parse8(p + 10, seq) || !parse8(p + 19, hi) || !parse8(p + 27, lo))
        return false;
    ts = static_cast<u64>(hi) * 100000000ULL + lo;
    return true;
}

// ---------------------------------------------------------------------------
// Latency histogram: exact below 256 ns, then 128 sub-buckets per power of
// two (relative error below 0.8 %).
class Histogram {
public:
    Histogram() : buckets_(index(~u64{0}) + 1, 0) {}

    void add(u64 v) {
        ++buckets_[index(v)];
        ++count_;
        if (v > max_) max_ = v;
    }
    u64 count() const { return count_; }
    u64 max() const { return max_; }

    // Value at quantile q (0 < q <= 1): midpoint of the bucket holding it.
    u64 quantile(double q) const {
        if (count_ == 0) return 0;
        u64 target = static_cast<u64>(std::ceil(q * static_cast<double>(count_)));
        if (target < 1) target = 1;
        u64 seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= target) return std::min(max_, low(i) + width(i) / 2);
        }
        return max_;
    }

private:
    static constexpr int kSubBits = 7;
    static constexpr u64 kSub = u64{1} << kSubBits;

    static std::size_t index(u64 v) {
        if (v < 2 * kSub) return static_cast<std::size_t>(v);
        const int msb = 63 - __builtin_clzll(v);
        const int shift = msb - kSubBits;  // (v >> shift) is in [kSub, 2*kSub)
        return static_cast<std::size_t>(2 * kSub + static_cast<u64>(shift - 1) * kSub +
                                        ((v >> shift) - kSub));
    }
    static int shift_of(std::size_t i) {
        return static_cast<int>((static_cast<u64>(i) - 2 * kSub) / kSub) + 1;
    }
    static u64 low(std::size_t i) {
        if (i < 2 * kSub) return static_cast<u64>(i);
        const u64 sub = (static_cast<u64>(i) - 2 * kSub) % kSub + kSub;
        return sub << shift_of(i);
    }
    static u64 width(std::size_t i) {
        if (i < 2 * kSub) return 1;
        return u64{1} << shift_of(i);
    }

    std::vector<u64> buckets_;
    u64 count_ = 0;
    u64 max_ = 0;
};

// ---------------------------------------------------------------------------
// /proc readers for the server under test.

struct ProcCpu {
    bool ok = false;
    double seconds = 0;
};

// CPU time of all threads of PID in ns from /proc/PID/task/*/schedstat
// (precise, unlike the 10 ms ticks of /proc/PID/stat); -1 when unavailable.
long long read_schedstat_ns(int pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR* dir = opendir(path);
    if (!dir) return -1;
    long long total = 0;
    bool any = false;
    while (const dirent* e = readdir(dir)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        const std::string file =
            std::string(path) + "/" + e->d_name + "/schedstat";
        FILE* f = std::fopen(file.c_str(), "r");
        if (!f) continue;
        unsigned long long ns = 0;
        if (std::fscanf(f, "%llu", &ns) == 1) {
            total += static_cast<long long>(ns);
            any = true;
        }
        std::fclose(f);
    }
    closedir(dir);
    return any ? total : -1;
}

ProcCpu read_proc_cpu_ticks(int pid) {
    ProcCpu r;
    if (pid <= 0) return r;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE* f = std::fopen(path, "r");
    if (!f) return r;
    char buf[4096];
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // The command name may contain spaces: fields restart after the last ')'.
    const char* p = std::strrchr(buf, ')');
    if (!p) return r;
    ++p;
    // After ')': field 3 (state) is token 0, utime (14) token 11, stime (15) token 12.
    unsigned long long utime = 0, stime = 0;
    int tok = -1;
    while (*p && tok < 12) {
        while (*p == ' ') ++p;
        if (!*p) break;
        ++tok;
        char* end = nullptr;
        if (tok == 11) utime = std::strtoull(p, &end, 10);
        if (tok == 12) stime = std::strtoull(p, &end, 10);
        while (*p && *p != ' ') ++p;
    }
    if (tok < 12) return r;
    const long hz = sysconf(_SC_CLK_TCK);
    r.ok = true;
    r.seconds = static_cast<double>(utime + stime) / static_cast<double>(hz > 0 ? hz : 100);
    return r;
}

// Reads a "Key:   123 kB" line of /proc/PID/status; -1 when unavailable.
long long read_proc_status_kib(int pid, const char* key) {
    if (pid <= 0) return -1;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE* f = std::fopen(path, "r");
    if (!f) return -1;
    char line[512];
    const std::size_t klen = std::strlen(key);
    long long v = -1;
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = std::strtoll(line + klen + 1, nullptr, 10);
            break;
        }
    }
    std::fclose(f);
    return v;
}

// Server CPU seconds: schedstat when available, else utime+stime ticks.
struct CpuSample {
    ProcCpu ticks;
    long long sched_ns = -1;
};

CpuSample read_proc_cpu(int pid) {
    CpuSample c;
    if (pid <= 0) return c;
    c.sched_ns = read_schedstat_ns(pid);
    c.ticks = read_proc_cpu_ticks(pid);
    return c;
}

// CPU seconds between two samples; false when neither source is usable.
bool cpu_between(const CpuSample& a, const CpuSample& b, double& seconds, const char*& source) {
    if (a.sched_ns >= 0 && b.sched_ns >= a.sched_ns) {
        seconds = static_cast<double>(b.sched_ns - a.sched_ns) / 1e9;
        source = "schedstat";
        return true;
    }
    if (a.ticks.ok && b.ticks.ok) {
        seconds = b.ticks.seconds - a.ticks.seconds;
        source = "stat";
        return true;
    }
    return false;
}

std::string seconds_text(double s) {
    char b[32];
    std::snprintf(b, sizeof b, "%g s", s);
    return b;
}

double self_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------------------
// One JSON object on one line.
class JsonLine {
public:
    void str(const char* k, std::string_view v) {
        key(k);
        out_ += '"';
        for (char c : v) {
            if (c == '"' || c == '\\') {
                out_ += '\\';
                out_ += c;
            } else if (static_cast<unsigned char>(c) < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(c));
                out_ += b;
            } else {
                out_ += c;
            }
        }
        out_ += '"';
    }
    void num(const char* k, u64 v) {
        key(k);
        out_ += std::to_string(v);
    }
    void real(const char* k, double v, int decimals = 3) {
        key(k);
        if (!std::isfinite(v)) {
            out_ += "null";
            return;
        }
        char b[64];
        std::snprintf(b, sizeof b, "%.*f", decimals, v);
        out_ += b;
    }
    void boolean(const char* k, bool v) {
        key(k);
        out_ += v ? "true" : "false";
    }
    void null(const char* k) {
        key(k);
        out_ += "null";
    }
    std::string finish() const { return "{" + out_ + "}"; }

private:
    void key(const char* k) {
        if (!out_.empty()) out_ += ',';
        out_ += '"';
        out_ += k;
        out_ += "\":";
    }
    std::string out_;
};

// ---------------------------------------------------------------------------
// Options.

enum class Proto { chat, ws, wsjson, redis, nats, raw, irc };

const char* proto_name(Proto p) {
    switch (p) {
        case Proto::chat: return "chat";
        case Proto::ws: return "ws";
        case Proto::wsjson: return "wsjson";
        case Proto::redis: return "redis";
        case Proto::nats: return "nats";
        case Proto::raw: return "raw";
        case Proto::irc: return "irc";
    }
    return "?";
}

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    Proto proto = Proto::chat;
    u32 clients = 10;
    u32 lines = 1000;
    u32 size = 64;
    u32 window = 64;
    bool window_given = false;
    u32 rooms = 1;
    double timeout_s = 120;
    double stall_s = 30;
    int server_pid = 0;  // the first --server-pid: also the one whose memory is read
    std::vector<int> ports;  // --port: one or more, clients spread round-robin
    std::vector<std::pair<std::string, int>> server_pids;  // --server-pid [NAME=]PID
    bool sync = false;
    bool exact = false;
    double drain_s = 0;  // 0: none (a missing line fails the run as stalled)
    double window_timeout_s = 0;  // 0: a sender waits for its acks forever
    double fault_at = 0;          // --fault-at: fraction of the expected deliveries
    std::string fault_cmd;        // --fault-cmd: run by /bin/sh then, not waited for
    u32 idle = 0;
    u32 stalled = 0;
    u32 stalled_rcvbuf = 16384;
    u32 batch = 200;
    u32 max_retries = 50;
    double settle_max_s = 30;
    std::vector<std::pair<std::string, std::string>> meta;
};

void usage(FILE* to) {
    std::fprintf(to,
        "usage: chatroom-loadgen --port P [options]\n"
        "  --host ADDR        IPv4 address of the server (default 127.0.0.1)\n"
        "  --port P[,P2,...]  server port (required); with several, client i connects\n"
        "                     to the (i mod n)-th (servers sharing rooms through a backplane)\n"
        "  --proto NAME       chat | ws | wsjson | redis | nats | raw | irc (default chat); ws: the\n"
        "                     chat protocol over WebSocket, --port being the web listener's;\n"
        "                     wsjson: the JSON dialect (subprotocol chatroom.v1) there;\n"
        "                     irc: NICK/USER, JOIN #lobby (or #roomK), PRIVMSG to it\n"
        "  --clients N        number of clients (default 10)\n"
        "  --lines M          lines sent per client (default 1000)\n"
        "  --size S           payload bytes per line (default 64)\n"
        "  --window W         lines in flight per sender, unseen by its designated\n"
        "                     receiver (default 64; raw: capped so W*(S+1) < 4 KiB)\n"
        "  --rooms R          split the clients into R rooms of N/R (default 1)\n"
        "  --idle C           idle mode: C idle connections, RSS/conn and fan-out time\n"
        "  --stalled K        K extra members of the first room that never read once joined\n"
        "  --stalled-rcvbuf B SO_RCVBUF of a stalled member (default 16384; 0: the kernel's)\n"
        "  --server-pid [NAME=]PID  sample the server's CPU time and memory from /proc;\n"
        "                     repeatable (each process reported by NAME, CPU summed)\n"
        "  --sync             before measuring, wait until a probe from the first client\n"
        "                     of every port reached every client (always on for raw)\n"
        "  --exact            track each line at each receiver: lost, duplicated and\n"
        "                     reordered lines apart (one bit per line and receiver)\n"
        "  --drain SEC        once every line is sent, end the run SEC after the last\n"
        "                     delivery, counting what is missing, instead of stalling\n"
        "  --window-timeout SEC  a sender whose window stayed full that long takes its\n"
        "                     lines in flight for lost and sends on (for lossy servers)\n"
        "  --fault-cmd CMD    run CMD (/bin/sh -c, stdout to stderr) once, when --fault-at\n"
        "  --fault-at F       of the expected deliveries have arrived (default 0.3)\n"
        "  --timeout SEC      give up (and fail) after SEC seconds (default 120)\n"
        "  --stall SEC        fail when no line arrives for SEC seconds (default 30)\n"
        "  --batch B          connections being set up at once (default 200)\n"
        "  --meta KEY=VALUE   extra string field copied into the JSON line (repeatable)\n");
}

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "chatroom-loadgen: %s\n", msg.c_str());
    usage(stderr);
    std::exit(2);
}

u64 parse_uint(const std::string& name, const std::string& v, u64 lo, u64 hi) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || v[0] == '-' || errno != 0 || end == nullptr || *end != '\0' || x < lo ||
        x > hi)
        usage_error("bad value for " + name + ": '" + v + "'");
    return x;
}

double parse_seconds(const std::string& name, const std::string& v) {
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || end == nullptr || *end != '\0' || !(x > 0) || x > 1e6)
        usage_error("bad value for " + name + ": '" + v + "'");
    return x;
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string val;
        bool has_val = false;
        if (arg == "-h" || arg == "--help") {
            usage(stdout);
            std::exit(0);
        }
        const std::size_t eq = arg.find('=');
        if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            val = arg.substr(eq + 1);
            arg.resize(eq);
            has_val = true;
        }
        auto value = [&]() -> std::string {
            if (has_val) return val;
            if (i + 1 >= argc) usage_error("missing value for " + arg);
            return argv[++i];
        };
        if (arg == "--host") {
            o.host = value();
        } else if (arg == "--port") {
            const std::string list = value();
            o.ports.clear();
            for (std::size_t from = 0; from <= list.size();) {
                std::size_t comma = list.find(',', from);
                if (comma == std::string::npos) comma = list.size();
                o.ports.push_back(static_cast<int>(parse_uint(arg, list.substr(from, comma - from), 1, 65535)));
                from = comma + 1;
            }
            o.port = o.ports.front();
        } else if (arg == "--proto") {
            const std::string p = value();
            if (p == "chat") o.proto = Proto::chat;
            else if (p == "ws" || p == "web") o.proto = Proto::ws;
            else if (p == "wsjson") o.proto = Proto::wsjson;
            else if (p == "redis") o.proto = Proto::redis;
            else if (p == "nats") o.proto = Proto::nats;
            else if (p == "raw") o.proto = Proto::raw;
            else if (p == "irc") o.proto = Proto::irc;
            else usage_error("unknown protocol '" + p + "'");
        } else if (arg == "--clients") {
            o.clients = static_cast<u32>(parse_uint(arg, value(), 2, 1000000));
        } else if (arg == "--lines") {
            o.lines = static_cast<u32>(parse_uint(arg, value(), 1, 1000000000));
        } else if (arg == "--size") {
            o.size = static_cast<u32>(parse_uint(arg, value(), 1, 1 << 20));
        } else if (arg == "--window") {
            o.window = static_cast<u32>(parse_uint(arg, value(), 1, 1000000));
            o.window_given = true;
        } else if (arg == "--rooms") {
            o.rooms = static_cast<u32>(parse_uint(arg, value(), 1, 1000000));
        } else if (arg == "--idle") {
            o.idle = static_cast<u32>(parse_uint(arg, value(), 2, 1000000));
        } else if (arg == "--stalled") {
            o.stalled = static_cast<u32>(parse_uint(arg, value(), 0, 100000));
        } else if (arg == "--stalled-rcvbuf") {
            o.stalled_rcvbuf = static_cast<u32>(parse_uint(arg, value(), 0, 1u << 30));
        } else if (arg == "--server-pid") {
            const std::string v = value();
            const std::size_t e = v.find('=');
            std::string name = e == std::string::npos ? std::string() : v.substr(0, e);
            const int pid = static_cast<int>(
                parse_uint(arg, e == std::string::npos ? v : v.substr(e + 1), 1, 1u << 30));
            if (e != std::string::npos) {
                if (name.empty()) usage_error("--server-pid wants PID or NAME=PID");
                for (char ch : name)
                    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                          ch == '_'))
                        usage_error("--server-pid NAME takes [A-Za-z0-9_] only");
            }
            if (name.empty()) name = o.server_pids.empty() ? "server" : "server" + std::to_string(o.server_pids.size());
            for (const auto& np : o.server_pids)
                if (np.first == name) usage_error("--server-pid name '" + name + "' given twice");
            o.server_pids.emplace_back(std::move(name), pid);
            o.server_pid = o.server_pids.front().second;
        } else if (arg == "--sync") {
            o.sync = true;
        } else if (arg == "--exact") {
            o.exact = true;
        } else if (arg == "--drain") {
            o.drain_s = parse_seconds(arg, value());
        } else if (arg == "--window-timeout") {
            o.window_timeout_s = parse_seconds(arg, value());
        } else if (arg == "--fault-at") {
            o.fault_at = parse_seconds(arg, value());
            if (o.fault_at >= 1) usage_error("--fault-at takes a fraction below 1");
        } else if (arg == "--fault-cmd") {
            o.fault_cmd = value();
        } else if (arg == "--timeout") {
            o.timeout_s = parse_seconds(arg, value());
        } else if (arg == "--stall") {
            o.stall_s = parse_seconds(arg, value());
        } else if (arg == "--batch") {
            o.batch = static_cast<u32>(parse_uint(arg, value(), 1, 1000000));
        } else if (arg == "--meta") {
            const std::string kv = value();
            const std::size_t e = kv.find('=');
            if (e == std::string::npos || e == 0) usage_error("--meta wants KEY=VALUE");
            o.meta.emplace_back(kv.substr(0, e), kv.substr(e + 1));
        } else {
            usage_error("unknown option '" + arg + "'");
        }
    }
    if (o.port == 0) usage_error("--port is required");
    if (o.ports.size() > 64) usage_error("at most 64 ports");

    if (o.idle > 0) {
        o.clients = o.idle;
        o.rooms = 1;
        if (o.stalled > 0) usage_error("--stalled is for load mode, not --idle");
    }
    if (o.rooms > 1 && o.proto == Proto::raw) usage_error("--proto raw supports one room only");
    if (o.proto == Proto::raw) o.sync = true;
    if (o.sync && o.rooms > 1) usage_error("--sync supports one room only");
    if (o.sync && (o.proto == Proto::redis || o.proto == Proto::nats))
        usage_error("--sync is for the chat, ws and raw protocols");
    if (o.exact && o.idle > 0) usage_error("--exact is for load mode, not --idle");
    if (o.proto == Proto::irc && (o.idle > 0 || o.sync || o.stalled > 0))
        usage_error("--proto irc is for load mode, without --sync and --stalled");
    if (!o.fault_cmd.empty() && o.idle > 0) usage_error("--fault-cmd is for load mode, not --idle");
    if (o.fault_at == 0) o.fault_at = 0.3;
    if (o.clients % o.rooms != 0) usage_error("--clients must be a multiple of --rooms");
    if (o.clients / o.rooms < 2) usage_error("every room needs at least 2 clients");
    if (o.proto == Proto::raw) {
        // The raw relay forwards whatever one recv(4096) returned; keeping a
        // sender's unread bytes below 4 KiB keeps its lines from being split
        // and interleaved with another sender's bytes.
        const u32 cap = std::max<u32>(1, (4096 - 64) / (o.size + 1));
        if (!o.window_given) o.window = std::min(o.window, cap);
        else if (o.window > cap)
            std::fprintf(stderr,
                         "chatroom-loadgen: warning: --window %u over %u may let a raw relay "
                         "interleave partial lines\n",
                         o.window, cap);
    }
    return o;
}

// ---------------------------------------------------------------------------
// Load generator.

enum class State : std::uint8_t { fresh, connecting, retry_wait, handshake, joining, ready, closed };
enum class Phase : std::uint8_t { connect, sync, run, settle, fanout, done };

struct Client {
    int fd = -1;
    u32 id = 0;
    u32 room = 0;
    u32 pos = 0;  // position inside the room
    u32 receiver = 0;  // designated receiver: the next member of the room
    u32 node = 0;      // which of the --port servers it is connected to
    u64 sync_seen = 0; // --sync: bit K set once a probe of client K arrived
    State state = State::fresh;
    bool dirty = false;       // queued for fill_and_send
    bool synced = false;      // --sync: saw the probe of every prober (but itself)
    bool got_fanout = false;  // idle mode: received the broadcast line
    bool stalled = false;     // --stalled: never reads once joined
    bool upgraded = false;    // ws: the 101 response has been read
    bool fragmented = false;  // ws: inside a message sent in several frames
    u32 retries = 0;
    u64 retry_at = 0;
    u32 sent = 0;   // lines generated so far
    u32 acked = 0;  // lines seen by the designated receiver
    u64 acked_at = 0;  // when acked last advanced (--window-timeout)
    // Per sender position in the room: {next expected sequence, lines received}.
    u32* track = nullptr;
    std::string prefix;    // protocol framing before a payload
    std::string in;        // unparsed input tail
    std::string frag;      // ws: the fragments of a message so far
    std::string out;       // unsent output
    std::size_t out_off = 0;
};

class LoadGen {
public:
    explicit LoadGen(Options o) : opt_(std::move(o)) {}
    int run();

private:
    // setup and connections
    bool setup();
    void start_connect(Client& c);
    bool finish_connect(Client& c);
    void schedule_retry(Client& c, int err);
    void on_connected(Client& c);
    void mark_ready(Client& c);
    void close_client(Client& c);
    // I/O
    void handle_event(u32 id, u32 events);
    void on_readable(Client& c);
    void on_writable(Client& c);
    void flush(Client& c);
    void send_text(Client& c, std::string_view s);
    void send_line(Client& c, std::string_view line);
    void append_ws_frame(std::string& out, unsigned opcode, std::string_view a,
                         std::string_view b = {}, std::string_view c = {}, std::string_view d = {});
    void fill_and_send(Client& c);
    void append_line(Client& c, u32 seq, u64 ts);
    void process_dirty();
    // parsing
    std::size_t parse(Client& c, const char* p, std::size_t n, u64 t);
    std::size_t parse_lines(Client& c, const char* p, std::size_t n, u64 t);
    std::size_t parse_nats(Client& c, const char* p, std::size_t n, u64 t);
    std::size_t parse_redis(Client& c, const char* p, std::size_t n, u64 t);
    std::size_t parse_ws(Client& c, const char* p, std::size_t n, u64 t);
    void on_ws_text(Client& c, const char* p, std::size_t n, u64 t);
    void on_json_event(Client& c, const char* p, std::size_t n, u64 t);
    void on_chat_line(Client& c, const char* p, std::size_t n, u64 t);
    void on_irc_line(Client& c, const char* p, std::size_t n, u64 t);
    void on_payload(Client& r, const char* p, std::size_t n, u64 t);
    // phases
    void tick(u64 now);
    void after_all_ready(u64 now);
    void start_run(u64 now);
    void start_fanout(u64 now);
    void finish(u64 now);
    void fail(const std::string& why);
    void note_error(u64& counter, const char* what, const char* p, std::size_t n);
    int report();

    std::string room_name(u32 room) const {
        if (opt_.proto == Proto::irc) return opt_.rooms == 1 ? "#lobby" : "#room" + std::to_string(room);
        if ((opt_.proto == Proto::chat || opt_.proto == Proto::ws || opt_.proto == Proto::wsjson) &&
            opt_.rooms == 1)
            return "lobby";
        return "room" + std::to_string(room);
    }
    bool idle_mode() const { return opt_.idle > 0; }
    u32 total_clients() const { return opt_.clients + opt_.stalled; }
    void probe_stalled();

    Options opt_;
    int ep_ = -1;
    std::vector<sockaddr_in> addrs_;  // one per --port
    std::vector<Client> clients_;
    struct Sender {  // compact copy of what every delivery looks up
        u32 room, pos, receiver, node;
    };
    // --sync: the probers are clients 0..n-1, one per port (client K is on port K).
    u32 probers() const {
        return static_cast<u32>(std::min<std::size_t>(opt_.ports.size(), opt_.clients));
    }
    u64 sync_needed(const Client& c) const {
        const u64 all = probers() >= 64 ? ~u64{0} : (u64{1} << probers()) - 1;
        return c.id < probers() ? all & ~(u64{1} << c.id) : all;
    }
    void note_probe(Client& r, const char* p, std::size_t n);
    std::vector<Sender> senders_;
    std::vector<u32> pairs_;
    std::vector<u32> dirty_;
    std::vector<u32> retry_list_;
    std::vector<char> rbuf_;
    std::string pad_;
    u64 rng_ = 0;  // xorshift64 state: WebSocket keys and masks
    u64 next_random();
    Histogram hist_;
    Phase phase_ = Phase::connect;
    bool failed_ = false;
    std::string failure_;

    u32 started_ = 0;  // connects begun (fresh clients consumed)
    u32 ready_ = 0;
    u32 synced_ = 0;
    u64 next_probe_ = 0;

    u64 deadline_ = 0;
    u64 t_begin_ = 0;
    u64 t_ready_ = 0;
    u64 t_run_ = 0;
    u64 t_end_ = 0;
    u64 last_progress_ = 0;
    u64 last_rx_ = 0;
    u64 rx_mod_ = 0;  // receive time modulo kTsModulus, as in payload headers
    u64 settle_begin_ = 0;

    // counters
    u64 expected_ = 0;
    u64 deliveries_ = 0;
    u64 out_of_order_ = 0;
    u64 self_ = 0;
    u64 json_chats_ = 0;  // wsjson: chat events received (deliveries / this: lines an event carries)
    u64 bad_lines_ = 0;
    u64 server_errors_ = 0;
    u64 disconnects_ = 0;
    u64 connect_failures_ = 0;
    u64 fanout_received_ = 0;
    u64 cross_ = 0;       // deliveries between clients of different ports
    u64 duplicates_ = 0;  // --exact: lines a receiver got again
    bool drained_ = false;  // --drain ended the run with lines missing
    u64 window_timeouts_ = 0;  // --window-timeout: windows given up on
    // --fault-cmd: started once deliveries_ reaches fault_threshold_.
    u64 fault_threshold_ = ~u64{0};
    pid_t fault_pid_ = -1;
    u64 fault_t_ = 0;
    void start_fault(u64 t);
    // --exact: bit (receiver, sender position, seq), set on arrival.
    std::vector<u64> seen_;
    u64 fanout_t0_ = 0;
    u64 fanout_last_ = 0;

    // server and self resources
    CpuSample cpu_before_, cpu_after_;
    std::vector<CpuSample> procs_before_, procs_after_;  // one per --server-pid
    std::vector<long long> procs_hwm_;
    double self_cpu_before_ = 0, self_cpu_after_ = 0;
    long long rss_before_ = -1, rss_after_ = -1, hwm_ = -1;
    int printed_errors_ = 0;
    // --stalled: how many the server had closed by the end of the run, and
    // the bytes each had waiting in its socket then (read after measuring).
    u32 stalled_dropped_ = 0;
    u64 stalled_unread_ = 0;
};

bool LoadGen::setup() {
    // File descriptors: raise the soft limit to the hard limit.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < static_cast<rlim_t>(total_clients()) + 16) {
        std::fprintf(stderr,
                     "chatroom-loadgen: warning: file descriptor limit %llu is below %u "
                     "connections\n",
                     static_cast<unsigned long long>(rl.rlim_cur), total_clients());
    }

    for (const int port : opt_.ports) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        if (inet_pton(AF_INET, opt_.host.c_str(), &a.sin_addr) != 1) {
            std::fprintf(stderr, "chatroom-loadgen: --host must be an IPv4 address: %s\n",
                         opt_.host.c_str());
            return false;
        }
        addrs_.push_back(a);
    }

    if (opt_.size < kHeaderLen) {
        std::fprintf(stderr, "chatroom-loadgen: --size must be at least %zu\n", kHeaderLen);
        return false;
    }
    if (opt_.clients > kMaxField + 1 || opt_.lines > kMaxField + 1) {
        std::fprintf(stderr, "chatroom-loadgen: at most %u clients and lines\n", kMaxField + 1);
        return false;
    }
    // Masks need only be unpredictable to the server, not cryptographic.
    rng_ = (static_cast<u64>(std::random_device{}()) << 32) ^ now_ns() ^ 0x9E3779B97F4A7C15ULL;
    if (rng_ == 0) rng_ = 1;
    pad_.resize(opt_.size);
    for (u32 i = 0; i < opt_.size; ++i) pad_[i] = static_cast<char>('a' + i % 26);

    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
        std::perror("epoll_create1");
        return false;
    }
    rbuf_.resize(std::max<std::size_t>(256 * 1024, 4 * static_cast<std::size_t>(opt_.size) + 65536));

    const u32 n = opt_.clients;
    const u32 k = n / opt_.rooms;
    clients_.resize(total_clients());
    if (!idle_mode()) pairs_.assign(static_cast<std::size_t>(n) * k * 2, 0);
    for (u32 i = 0; i < n; ++i) {
        Client& c = clients_[i];
        c.id = i;
        c.room = i / k;
        c.pos = i % k;
        c.receiver = c.room * k + (c.pos + 1) % k;
        c.node = i % static_cast<u32>(addrs_.size());
        senders_.push_back(Sender{c.room, c.pos, c.receiver, c.node});
        if (!idle_mode()) {
            c.track = &pairs_[static_cast<std::size_t>(i) * k * 2];
        }
        const std::string room = room_name(c.room);
        switch (opt_.proto) {
            case Proto::chat:
            case Proto::ws:
            case Proto::raw:
                break;
            case Proto::wsjson:
                c.prefix = "{\"type\":\"say\",\"room\":\"" + room + "\",\"text\":\"";
                break;
            case Proto::redis:
                c.prefix = "*3\r\n$7\r\nPUBLISH\r\n$" + std::to_string(room.size()) + "\r\n" + room +
                           "\r\n$" + std::to_string(opt_.size) + "\r\n";
                break;
            case Proto::nats:
                c.prefix = "PUB " + room + " " + std::to_string(opt_.size) + "\r\n";
                break;
            case Proto::irc:
                c.prefix = "PRIVMSG " + room + " :";
                break;
        }
    }
    for (u32 j = 0; j < opt_.stalled; ++j) {
        // Members of room 0 past its senders: nobody's designated receiver.
        Client& c = clients_[n + j];
        c.id = n + j;
        c.room = 0;
        c.pos = k + j;
        c.receiver = c.id;
        c.node = c.id % static_cast<u32>(addrs_.size());
        c.stalled = true;
    }
    if (opt_.exact) seen_.assign((static_cast<std::size_t>(n) * k * opt_.lines + 63) / 64, 0);
    if (!idle_mode()) expected_ = static_cast<u64>(opt_.rooms) * k * (k - 1) * opt_.lines;
    else expected_ = n - 1;
    if (!opt_.fault_cmd.empty())
        fault_threshold_ = std::max<u64>(1, static_cast<u64>(opt_.fault_at * static_cast<double>(expected_)));
    return true;
}

void LoadGen::start_connect(Client& c) {
    c.in.clear();
    c.out.clear();
    c.out_off = 0;
    c.upgraded = false;
    c.fragmented = false;
    c.frag.clear();
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        const int err = errno;
        if (err == EMFILE || err == ENFILE) {
            fail(std::string("socket: ") + std::strerror(err));
            return;
        }
        schedule_retry(c, err);
        return;
    }
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c.stalled && opt_.stalled_rcvbuf > 0) {
        // Before connect, so the window is sized by it: without this, loopback
        // autotuning lets the kernel absorb megabytes for a reader that never
        // reads, and the server's own queue (its slow-consumer policy) is
        // never exercised.
        const int rcv = static_cast<int>(opt_.stalled_rcvbuf);
        setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u32 = c.id;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
        fail(std::string("epoll_ctl: ") + std::strerror(errno));
        return;
    }
    const sockaddr_in& addr = addrs_[c.node];
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
        on_connected(c);
        return;
    }
    if (errno == EINPROGRESS) {
        c.state = State::connecting;
        return;
    }
    const int err = errno;
    ::close(c.fd);
    c.fd = -1;
    schedule_retry(c, err);
}

void LoadGen::schedule_retry(Client& c, int err) {
    const bool retryable = err == ECONNREFUSED || err == EAGAIN || err == ECONNRESET ||
                           err == ETIMEDOUT || err == EADDRNOTAVAIL || err == EINTR ||
                           err == ECONNABORTED || err == ENOBUFS;
    if (!retryable || c.retries >= opt_.max_retries) {
        ++connect_failures_;
        fail(std::string("connect: ") + std::strerror(err) + " after " +
             std::to_string(c.retries) + " retries");
        return;
    }
    ++c.retries;
    c.state = State::retry_wait;
    c.retry_at = now_ns() + 50'000'000ULL * std::min<u32>(c.retries, 20);
    retry_list_.push_back(c.id);
}

bool LoadGen::finish_connect(Client& c) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) {
        on_connected(c);
        return c.state != State::closed;
    }
    ::close(c.fd);
    c.fd = -1;
    schedule_retry(c, err);
    return false;
}

void LoadGen::on_connected(Client& c) {
    c.state = State::handshake;
    const std::string room = room_name(c.room);
    switch (opt_.proto) {
        case Proto::chat:
            break;  // wait for "* joined lobby"
        case Proto::ws:
        case Proto::wsjson: {
            // Sec-WebSocket-Key: 16 random bytes in base64 (RFC 6455 4.1).
            static constexpr char kB64[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            unsigned char raw[16];
            for (std::size_t i = 0; i < sizeof raw; i += 8) {
                const u64 r = next_random();
                std::memcpy(raw + i, &r, 8);
            }
            std::string key;
            for (std::size_t i = 0; i < sizeof raw; i += 3) {
                const u32 v = static_cast<u32>(raw[i]) << 16 |
                              (i + 1 < sizeof raw ? static_cast<u32>(raw[i + 1]) << 8 : 0) |
                              (i + 2 < sizeof raw ? static_cast<u32>(raw[i + 2]) : 0);
                key += kB64[v >> 18 & 63];
                key += kB64[v >> 12 & 63];
                key += i + 1 < sizeof raw ? kB64[v >> 6 & 63] : '=';
                key += i + 2 < sizeof raw ? kB64[v & 63] : '=';
            }
            send_text(c, "GET /ws HTTP/1.1\r\nHost: " + opt_.host + ":" + std::to_string(opt_.ports[c.node]) +
                             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: " + key +
                             (opt_.proto == Proto::wsjson ? "\r\nSec-WebSocket-Protocol: chatroom.v1" : "") +
                             "\r\nSec-WebSocket-Version: 13\r\n\r\n");
            break;  // then the 101 response, then "* joined lobby"
        }
        case Proto::raw:
            mark_ready(c);
            break;
        case Proto::redis:
            send_text(c, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$" +
                             std::to_string(room.size()) + "\r\n" + room + "\r\n");
            break;
        case Proto::nats:
            send_text(c,
                      "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false}\r\nSUB " +
                          room + " 1\r\nPING\r\n");
            break;
        case Proto::irc:
            // Then 001 (JOIN), then 366 for the channel (ready).
            send_text(c, "NICK lg" + std::to_string(c.id) + "\r\nUSER lg" + std::to_string(c.id) +
                             " 0 * :chatroom-loadgen\r\n");
            break;
    }
}

void LoadGen::mark_ready(Client& c) {
    if (c.state == State::ready) return;
    c.state = State::ready;
    ++ready_;
    // A stalled reader stops reading here: out of the epoll set, its socket
    // buffer fills and the server's queue for it grows.
    if (c.stalled) epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
}

void LoadGen::close_client(Client& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.state = State::closed;
}

void LoadGen::fail(const std::string& why) {
    if (!failed_) failure_ = why;
    failed_ = true;
    if (phase_ != Phase::done) {
        if (t_end_ == 0) t_end_ = now_ns();
        phase_ = Phase::done;
    }
}

void LoadGen::note_error(u64& counter, const char* what, const char* p, std::size_t n) {
    ++counter;
    if (printed_errors_ < 5) {
        ++printed_errors_;
        std::fprintf(stderr, "chatroom-loadgen: %s: '%.*s'\n", what,
                     static_cast<int>(std::min<std::size_t>(n, 160)), p);
    }
}

// --- output ----------------------------------------------------------------

void LoadGen::send_text(Client& c, std::string_view s) {
    c.out.append(s.data(), s.size());
    flush(c);
}

u64 LoadGen::next_random() {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return rng_;
}

// One client frame: FIN, OPCODE, the masked length form of RFC 6455 5.2, a
// fresh mask, then A, B, C and D (one payload in up to four pieces) masked.
void LoadGen::append_ws_frame(std::string& out, unsigned opcode, std::string_view a,
                              std::string_view b, std::string_view c, std::string_view d) {
    const u64 len = a.size() + b.size() + c.size() + d.size();
    out += static_cast<char>(0x80 | opcode);
    if (len < 126) {
        out += static_cast<char>(0x80 | len);
    } else if (len < 65536) {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(len >> 8);
        out += static_cast<char>(len & 0xFF);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>(len >> shift & 0xFF);
    }
    char mask[4];
    const u64 r = next_random();
    std::memcpy(mask, &r, sizeof mask);
    out.append(mask, sizeof mask);
    const std::size_t start = out.size();
    out.append(a.data(), a.size());
    out.append(b.data(), b.size());
    out.append(c.data(), c.size());
    out.append(d.data(), d.size());
    for (std::size_t i = 0; i < len; ++i) out[start + i] ^= mask[i & 3];
}

// A command line of the chat protocol, framed as the transport wants it
// (wsjson: a text to say, as a say command; the probes are all it sends so).
void LoadGen::send_line(Client& c, std::string_view line) {
    if (opt_.proto == Proto::ws) {
        append_ws_frame(c.out, 0x1, line);
    } else if (opt_.proto == Proto::wsjson) {
        append_ws_frame(c.out, 0x1, c.prefix, line, "\"}");
    } else {
        c.out.append(line.data(), line.size());
        c.out += '\n';
    }
    flush(c);
}

void LoadGen::flush(Client& c) {
    while (c.fd >= 0 && c.out_off < c.out.size()) {
        const ssize_t n =
            ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c.out_off += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;  // EPOLLOUT will call us again
        } else {
            ++disconnects_;
            const int err = errno;
            close_client(c);
            fail(std::string("send failed on client ") + std::to_string(c.id) + ": " +
                 std::strerror(err));
            return;
        }
    }
    c.out.clear();
    c.out_off = 0;
}

void LoadGen::append_line(Client& c, u32 seq, u64 ts) {
    char hdr[kHeaderLen];
    write_header(hdr, c.id, seq, ts);
    if (opt_.proto == Proto::ws) {
        append_ws_frame(c.out, 0x1, std::string_view(hdr, kHeaderLen),
                        std::string_view(pad_).substr(kHeaderLen));
        return;
    }
    if (opt_.proto == Proto::wsjson) {
        // The payload is letters, digits and dots: nothing to escape in JSON.
        append_ws_frame(c.out, 0x1, c.prefix, std::string_view(hdr, kHeaderLen),
                        std::string_view(pad_).substr(kHeaderLen), "\"}");
        return;
    }
    c.out += c.prefix;
    c.out.append(hdr, kHeaderLen);
    c.out.append(pad_, kHeaderLen, std::string::npos);
    switch (opt_.proto) {
        case Proto::chat:
        case Proto::raw:
            c.out += '\n';
            break;
        case Proto::redis:
        case Proto::nats:
        case Proto::irc:
            c.out += "\r\n";
            break;
        case Proto::ws:
        case Proto::wsjson:
            break;
    }
}

void LoadGen::fill_and_send(Client& c) {
    if (phase_ != Phase::run || c.state != State::ready || c.stalled) return;
    if (c.out_off < c.out.size()) return;  // still draining: keep timestamps fresh
    const u64 ts = now_ns();
    while (c.sent < opt_.lines && c.sent - c.acked < opt_.window) {
        append_line(c, c.sent, ts);
        ++c.sent;
    }
    flush(c);
}

void LoadGen::process_dirty() {
    for (std::size_t i = 0; i < dirty_.size(); ++i) {
        Client& c = clients_[dirty_[i]];
        c.dirty = false;
        fill_and_send(c);
    }
    dirty_.clear();
}

void LoadGen::on_writable(Client& c) {
    if (c.out_off < c.out.size()) {
        flush(c);
        if (c.out_off >= c.out.size() && phase_ == Phase::run && !c.dirty &&
            c.sent < opt_.lines) {
            c.dirty = true;
            dirty_.push_back(c.id);
        }
    }
}

// --- input -----------------------------------------------------------------

void LoadGen::on_readable(Client& c) {
    char* const buf = rbuf_.data();
    const std::size_t cap = rbuf_.size();
    for (;;) {
        if (c.fd < 0 || (c.stalled && c.state == State::ready)) return;
        std::size_t have = c.in.size();
        if (have >= cap / 2) {
            // A single frame larger than half the buffer: grow.
            rbuf_.resize(rbuf_.size() * 2);
            on_readable(c);
            return;
        }
        if (have) std::memcpy(buf, c.in.data(), have);
        const ssize_t n = ::recv(c.fd, buf + have, cap - have, 0);
        if (n > 0) {
            const u64 t = now_ns();
            last_rx_ = t;
            rx_mod_ = t % kTsModulus;
            const std::size_t total = have + static_cast<std::size_t>(n);
            const std::size_t used = parse(c, buf, total, t);
            c.in.assign(buf + used, total - used);
            // A short read drained the socket; edge-triggered epoll reports new data.
            if (static_cast<std::size_t>(n) < cap - have) return;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        const int err = n < 0 ? errno : 0;
        ++disconnects_;
        close_client(c);
        if (phase_ != Phase::done)
            fail("server closed client " + std::to_string(c.id) +
                 (err ? std::string(": ") + std::strerror(err) : std::string()));
        return;
    }
}

std::size_t LoadGen::parse(Client& c, const char* p, std::size_t n, u64 t) {
    switch (opt_.proto) {
        case Proto::chat:
        case Proto::raw:
        case Proto::irc:
            return parse_lines(c, p, n, t);
        case Proto::nats:
            return parse_nats(c, p, n, t);
        case Proto::redis:
            return parse_redis(c, p, n, t);
        case Proto::ws:
        case Proto::wsjson:
            return parse_ws(c, p, n, t);
    }
    return n;
}

std::size_t LoadGen::parse_lines(Client& c, const char* p, std::size_t n, u64 t) {
    std::size_t off = 0;
    while (off < n) {
        const char* s = p + off;
        const char* nl = static_cast<const char*>(std::memchr(s, '\n', n - off));
        if (!nl) break;
        std::size_t len = static_cast<std::size_t>(nl - s);
        off += len + 1;
        if (len && s[len - 1] == '\r') --len;
        if (len == 0) continue;
        if (opt_.proto == Proto::raw) on_payload(c, s, len, t);
        else if (opt_.proto == Proto::irc) on_irc_line(c, s, len, t);
        else on_chat_line(c, s, len, t);
    }
    return off;
}

// "* joined NAME" followed by end of line or a space.
bool joined_line(const char* p, std::size_t n, const std::string& room) {
    static constexpr char kJoined[] = "* joined ";
    constexpr std::size_t kj = sizeof kJoined - 1;
    if (n < kj + room.size() || std::memcmp(p, kJoined, kj) != 0) return false;
    if (std::memcmp(p + kj, room.data(), room.size()) != 0) return false;
    return n == kj + room.size() || p[kj + room.size()] == ' ';
}

void LoadGen::on_chat_line(Client& c, const char* p, std::size_t n, u64 t) {
    if (n >= 2 && p[0] == '*' && p[1] == ' ') {
        if (c.state == State::handshake && joined_line(p, n, "lobby")) {
            if (opt_.rooms == 1) {
                mark_ready(c);
            } else {
                c.state = State::joining;
                send_line(c, "/join " + room_name(c.room));
            }
        } else if (c.state == State::joining && joined_line(p, n, room_name(c.room))) {
            mark_ready(c);
        }
        return;
    }
    if (n >= 2 && p[0] == '!' && p[1] == ' ') {
        note_error(server_errors_, "server error", p, n);
        return;
    }
    if (p[0] == '<') {
        const char* gt = static_cast<const char*>(std::memchr(p, '>', n));
        if (gt && static_cast<std::size_t>(gt - p) + 2 <= n && gt[1] == ' ') {
            const std::size_t skip = static_cast<std::size_t>(gt - p) + 2;
            on_payload(c, p + skip, n - skip, t);
            return;
        }
    }
    note_error(bad_lines_, "unexpected line", p, n);
}

// An IRC server's line (RFC 1459 framing, CRLF removed): PING answered,
// 001 sends the JOIN, 366 for the client's channel makes it ready, a
// PRIVMSG's trailing parameter is a payload, error numerics (4xx, 5xx) count
// as server errors; everything else (MOTD, NOTICE, JOIN, 353, ...) is skipped.
void LoadGen::on_irc_line(Client& c, const char* p, std::size_t n, u64 t) {
    std::string_view v(p, n);
    if (v.substr(0, 5) == "PING ") {
        send_text(c, "PONG " + std::string(v.substr(5)) + "\r\n");
        return;
    }
    if (v.empty() || v[0] != ':') {
        if (v.substr(0, 6) != "ERROR ") return;
        note_error(server_errors_, "irc ERROR", p, n);
        return;
    }
    const std::size_t sp = v.find(' ');
    if (sp == std::string_view::npos) return;
    v.remove_prefix(sp + 1);
    const std::size_t sp2 = v.find(' ');
    const std::string_view cmd = v.substr(0, sp2);
    const std::string_view rest = sp2 == std::string_view::npos ? std::string_view() : v.substr(sp2 + 1);
    if (cmd == "PRIVMSG") {
        const std::size_t colon = rest.find(" :");
        if (colon == std::string_view::npos) {
            note_error(bad_lines_, "PRIVMSG without text", p, n);
            return;
        }
        const std::string_view text = rest.substr(colon + 2);
        on_payload(c, text.data(), text.size(), t);
        return;
    }
    if (cmd.size() != 3 || cmd[0] < '0' || cmd[0] > '9') return;
    if (cmd == "001" && c.state == State::handshake) {
        c.state = State::joining;
        send_text(c, "JOIN " + room_name(c.room) + "\r\n");
    } else if (cmd == "366" && c.state == State::joining) {
        // "<nick> <channel> :End of /NAMES list."
        const std::size_t a = rest.find(' ');
        const std::string_view chan = a == std::string_view::npos ? std::string_view() : rest.substr(a + 1);
        const std::string room = room_name(c.room);
        if (chan.size() > room.size() && chan.substr(0, room.size()) == room && chan[room.size()] == ' ')
            mark_ready(c);
    } else if ((cmd[0] == '4' || cmd[0] == '5') && cmd != "422") {  // 422: no MOTD
        note_error(server_errors_, "irc error numeric", p, n);
    }
}

// --- WebSocket ------------------------------------------------------------------

// The 101 response, then server frames (RFC 6455 5.2): never masked, text
// frames carry chat lines, pings are answered, a close ends the client.
std::size_t LoadGen::parse_ws(Client& c, const char* p, std::size_t n, u64 t) {
    std::size_t off = 0;
    if (!c.upgraded) {
        const std::string_view v(p, n);
        const std::size_t end = v.find("\r\n\r\n");
        if (end == std::string_view::npos) {
            if (n > 16384) {
                note_error(bad_lines_, "ws: handshake response too long", p, 80);
                fail("ws: no end to the handshake response of client " + std::to_string(c.id));
                return n;
            }
            return 0;
        }
        static constexpr std::string_view kSwitching = "HTTP/1.1 101";
        if (v.substr(0, kSwitching.size()) != kSwitching ||
            (end > kSwitching.size() && v[kSwitching.size()] != ' ' &&
             v[kSwitching.size()] != '\r')) {
            const std::size_t eol = v.find('\r');
            note_error(bad_lines_, "ws: upgrade refused", p, eol);
            fail("ws: upgrade refused: " + std::string(v.substr(0, std::min<std::size_t>(eol, 120))));
            return n;
        }
        if (opt_.proto == Proto::wsjson && v.substr(0, end).find("chatroom.v1") == std::string_view::npos) {
            note_error(bad_lines_, "ws: no subprotocol chatroom.v1 in the 101", p, end);
            fail("ws: the server did not choose the JSON dialect (chatroom.v1)");
            return n;
        }
        c.upgraded = true;
        off = end + 4;
    }
    const auto byte = [p](std::size_t i) { return static_cast<unsigned char>(p[i]); };
    while (n - off >= 2) {
        const unsigned b0 = byte(off), b1 = byte(off + 1);
        std::size_t hdr = 2;
        u64 len = b1 & 0x7F;
        if (len == 126) {
            if (n - off < 4) break;
            len = static_cast<u64>(byte(off + 2)) << 8 | byte(off + 3);
            hdr = 4;
        } else if (len == 127) {
            if (n - off < 10) break;
            len = 0;
            for (std::size_t i = 2; i < 10; ++i) len = len << 8 | byte(off + i);
            hdr = 10;
        }
        const unsigned op = b0 & 0x0F;
        const bool fin = (b0 & 0x80) != 0;
        const char* why = nullptr;
        if (b1 & 0x80) why = "masked server frame";
        else if (b0 & 0x70) why = "RSV bits set";
        else if (len > (u64{1} << 26)) why = "frame over 64 MiB";
        else if (op >= 0x8 && (!fin || len > 125)) why = "bad control frame";
        if (why) {
            note_error(bad_lines_, "ws: protocol error", p + off, std::min<std::size_t>(n - off, 16));
            fail(std::string("ws: ") + why + " to client " + std::to_string(c.id));
            return n;
        }
        if (n - off - hdr < len) break;  // payload incomplete
        const char* payload = p + off + hdr;
        const std::size_t plen = static_cast<std::size_t>(len);
        off += hdr + plen;
        switch (op) {
            case 0x1:  // text
            case 0x0:  // continuation
                if ((op == 0x0) != c.fragmented) {
                    note_error(bad_lines_, "ws: bad continuation", payload, plen);
                    fail("ws: frames out of order to client " + std::to_string(c.id));
                    return n;
                }
                if (fin && !c.fragmented) {
                    on_ws_text(c, payload, plen, t);
                } else {
                    c.frag.append(payload, plen);
                    c.fragmented = !fin;
                    if (fin) {
                        const std::string msg = std::move(c.frag);
                        c.frag.clear();
                        on_ws_text(c, msg.data(), msg.size(), t);
                    }
                }
                break;
            case 0x8: {  // close: the server ended this client
                const unsigned code = plen >= 2 ? static_cast<unsigned>(byte(off - plen)) << 8 |
                                                      byte(off - plen + 1)
                                                : 0;
                ++disconnects_;
                close_client(c);
                if (phase_ != Phase::done)
                    fail("server closed client " + std::to_string(c.id) + " (WebSocket close " +
                         std::to_string(code) + ")");
                return n;
            }
            case 0x9:  // ping: the same payload back, masked
                append_ws_frame(c.out, 0xA, std::string_view(payload, plen));
                flush(c);
                break;
            case 0xA:  // pong to a ping we never send: ignored
                break;
            default:
                note_error(bad_lines_, "ws: unknown opcode", payload, plen);
                fail("ws: unknown opcode " + std::to_string(op) + " to client " +
                     std::to_string(c.id));
                return n;
        }
        if (c.fd < 0 || phase_ == Phase::done) return n;
    }
    return off;
}

// One text message is one chat line, without its end of line: the length
// comes from the frame, so no search for a newline (a message holding one
// fails the payload check, as the protocol allows no such message).
void LoadGen::on_ws_text(Client& c, const char* p, std::size_t n, u64 t) {
    if (n == 0) return;
    if (opt_.proto == Proto::wsjson) on_json_event(c, p, n, t);
    else on_chat_line(c, p, n, t);
}

// The string value of "KEY":"..." in a JSON object as the server writes it
// (no spaces), raw (escapes kept); empty when absent. Stops at the first
// unescaped quote.
std::string_view json_field(std::string_view v, std::string_view key) {
    std::size_t at = 0;
    for (;;) {
        at = v.find(key, at);
        if (at == std::string_view::npos) return {};
        const std::size_t q = at + key.size();
        // "key":" exactly: the key quoted, then a colon and a quote.
        if (at > 0 && v[at - 1] == '"' && q + 2 < v.size() && v[q] == '"' && v[q + 1] == ':' &&
            v[q + 2] == '"')
            break;
        at = q;
    }
    const std::size_t start = at + key.size() + 3;
    std::size_t i = start;
    while (i < v.size() && v[i] != '"') i += v[i] == '\\' ? 2 : 1;
    return i < v.size() ? v.substr(start, i - start) : std::string_view();
}

// One event of the JSON dialect: a chat event's text is one payload, or
// several joined by \n (two characters in the JSON); joined_room makes the
// client ready; an error counts as the server's; the rest is skipped.
void LoadGen::on_json_event(Client& c, const char* p, std::size_t n, u64 t) {
    const std::string_view v(p, n);
    static constexpr std::string_view kChat = "{\"type\":\"chat\",";
    if (v.substr(0, kChat.size()) == kChat) {
        ++json_chats_;
        std::string_view text = json_field(v, "text");
        if (text.empty()) {
            note_error(bad_lines_, "chat event without text", p, n);
            return;
        }
        for (;;) {
            const std::size_t nl = text.find("\\n");
            on_payload(c, text.data(), std::min(nl, text.size()), t);
            if (nl == std::string_view::npos || c.fd < 0 || phase_ == Phase::done) return;
            text.remove_prefix(nl + 2);
        }
    }
    const std::string_view type = json_field(v, "type");
    if (type == "joined_room") {
        const std::string_view room = json_field(v, "room");
        const std::string mine = room_name(c.room);
        if (c.state == State::handshake && room == "lobby") {
            if (opt_.rooms == 1) {
                mark_ready(c);
            } else {
                c.state = State::joining;
                append_ws_frame(c.out, 0x1, "{\"type\":\"join\",\"room\":\"", mine, "\"}");
                append_ws_frame(c.out, 0x1, "{\"type\":\"part\",\"room\":\"lobby\"}");
                flush(c);
            }
        } else if (c.state == State::joining && room == mine) {
            mark_ready(c);
        }
    } else if (type == "error" || type == "bye") {
        note_error(server_errors_, "server error", p, n);
    }
}

std::size_t LoadGen::parse_nats(Client& c, const char* p, std::size_t n, u64 t) {
    std::size_t off = 0;
    while (off < n) {
        const char* s = p + off;
        const std::size_t avail = n - off;
        const char* cr = static_cast<const char*>(std::memchr(s, '\n', avail));
        if (!cr) {
            if (avail > 4096) {
                note_error(bad_lines_, "nats: line too long", s, 80);
                fail("nats protocol error");
                return n;
            }
            break;
        }
        std::size_t len = static_cast<std::size_t>(cr - s);
        const std::size_t line_total = len + 1;
        if (len && s[len - 1] == '\r') --len;
        if (len >= 4 && std::memcmp(s, "MSG ", 4) == 0) {
            // MSG <subject> <sid> [reply-to] <#bytes>
            std::size_t i = len;
            while (i > 0 && s[i - 1] != ' ') --i;
            u64 bytes = 0;
            bool okn = i < len;
            for (std::size_t j = i; j < len; ++j) {
                if (s[j] < '0' || s[j] > '9') {
                    okn = false;
                    break;
                }
                bytes = bytes * 10 + static_cast<u64>(s[j] - '0');
            }
            if (!okn) {
                note_error(bad_lines_, "nats: bad MSG", s, len);
                fail("nats protocol error");
                return n;
            }
            if (avail < line_total + bytes + 2) break;  // payload incomplete
            on_payload(c, s + line_total, static_cast<std::size_t>(bytes), t);
            off += line_total + static_cast<std::size_t>(bytes) + 2;
            continue;
        }
        off += line_total;
        if (len == 4 && std::memcmp(s, "PING", 4) == 0) {
            send_text(c, "PONG\r\n");
        } else if (len == 4 && std::memcmp(s, "PONG", 4) == 0) {
            if (c.state == State::handshake) mark_ready(c);
        } else if (len >= 3 && std::memcmp(s, "+OK", 3) == 0) {
        } else if (len >= 5 && std::memcmp(s, "INFO ", 5) == 0) {
        } else if (len >= 4 && std::memcmp(s, "-ERR", 4) == 0) {
            note_error(server_errors_, "nats error", s, len);
        } else if (len > 0) {
            note_error(bad_lines_, "nats: unexpected line", s, len);
        }
    }
    return off;
}

// --- RESP3 ------------------------------------------------------------------

namespace resp {

// Position of the CRLF ending the header line that starts at p, or nullptr.
const char* line_end(const char* p, const char* end) {
    const char* q = p;
    while (q < end) {
        const char* nl = static_cast<const char*>(std::memchr(q, '\n', static_cast<std::size_t>(end - q)));
        if (!nl) return nullptr;
        if (nl > p && nl[-1] == '\r') return nl - 1;
        q = nl + 1;
    }
    return nullptr;
}

bool parse_int(const char* p, const char* e, long long& v) {
    bool neg = false;
    if (p < e && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        ++p;
    }
    if (p == e) return false;
    long long x = 0;
    for (; p < e; ++p) {
        if (*p < '0' || *p > '9') return false;
        x = x * 10 + (*p - '0');
    }
    v = neg ? -x : x;
    return true;
}

enum class Status { ok, incomplete, error };

// Skips one value starting at p. On ok, *after points past it.
Status skip(const char* p, const char* end, const char** after, int depth = 0) {
    if (p >= end) return Status::incomplete;
    if (depth > 32) return Status::error;
    const char* e = line_end(p + 1, end);
    if (!e) return Status::incomplete;
    const char type = *p;
    long long n = 0;
    switch (type) {
        case '+': case '-': case ':': case '_': case '#': case ',': case '(':
            *after = e + 2;
            return Status::ok;
        case '$': case '!': case '=': {
            if (!parse_int(p + 1, e, n)) return Status::error;
            if (n < 0) {
                *after = e + 2;
                return Status::ok;
            }
            const char* q = e + 2;
            if (end - q < n + 2) return Status::incomplete;
            *after = q + n + 2;
            return Status::ok;
        }
        case '*': case '~': case '>': case '%': case '|': {
            if (!parse_int(p + 1, e, n)) return Status::error;
            if (n < 0) {
                *after = e + 2;
                return Status::ok;
            }
            if (type == '%' || type == '|') n *= 2;
            const char* q = e + 2;
            for (long long i = 0; i < n; ++i) {
                const Status st = skip(q, end, &q, depth + 1);
                if (st != Status::ok) return st;
            }
            if (type == '|') return skip(q, end, after, depth + 1);  // attribute precedes a value
            *after = q;
            return Status::ok;
        }
        default:
            return Status::error;
    }
}

// Reads a string value ($ or +); other types are skipped and yield an empty view.
Status string_value(const char* p, const char* end, const char** after, std::string_view& out) {
    out = {};
    if (p >= end) return Status::incomplete;
    if (*p == '$') {
        const char* e = line_end(p + 1, end);
        if (!e) return Status::incomplete;
        long long n = 0;
        if (!parse_int(p + 1, e, n)) return Status::error;
        if (n < 0) {
            *after = e + 2;
            return Status::ok;
        }
        const char* q = e + 2;
        if (end - q < n + 2) return Status::incomplete;
        out = std::string_view(q, static_cast<std::size_t>(n));
        *after = q + n + 2;
        return Status::ok;
    }
    if (*p == '+') {
        const char* e = line_end(p + 1, end);
        if (!e) return Status::incomplete;
        out = std::string_view(p + 1, static_cast<std::size_t>(e - p - 1));
        *after = e + 2;
        return Status::ok;
    }
    return skip(p, end, after);
}

}  // namespace resp

std::size_t LoadGen::parse_redis(Client& c, const char* p, std::size_t n, u64 t) {
    const char* const end = p + n;
    const char* cur = p;
    while (cur < end) {
        const char* after = nullptr;
        resp::Status st;
        if (*cur == '>') {
            // Push: >N, kind, then N-1 values.
            const char* e = resp::line_end(cur + 1, end);
            if (!e) break;
            long long cnt = 0;
            if (!resp::parse_int(cur + 1, e, cnt) || cnt < 1) {
                st = resp::Status::error;
            } else {
                const char* q = e + 2;
                std::string_view kind;
                st = resp::string_value(q, end, &q, kind);
                if (st == resp::Status::ok && kind == "message" && cnt == 3) {
                    std::string_view channel, payload;
                    st = resp::string_value(q, end, &q, channel);
                    if (st == resp::Status::ok) st = resp::string_value(q, end, &q, payload);
                    if (st == resp::Status::ok) {
                        on_payload(c, payload.data(), payload.size(), t);
                        after = q;
                    }
                } else if (st == resp::Status::ok) {
                    for (long long i = 1; i < cnt && st == resp::Status::ok; ++i)
                        st = resp::skip(q, end, &q);
                    if (st == resp::Status::ok) {
                        after = q;
                        if (kind == "subscribe" && c.state == State::handshake) mark_ready(c);
                    }
                }
            }
        } else if (*cur == '-' || *cur == '!') {
            st = resp::skip(cur, end, &after);
            if (st == resp::Status::ok)
                note_error(server_errors_, "redis error", cur, static_cast<std::size_t>(after - cur));
        } else {
            st = resp::skip(cur, end, &after);  // HELLO map, PUBLISH integer replies, ...
        }
        if (st == resp::Status::incomplete) break;
        if (st == resp::Status::error) {
            note_error(bad_lines_, "redis: protocol error", cur,
                       static_cast<std::size_t>(std::min<std::ptrdiff_t>(end - cur, 80)));
            fail("redis protocol error");
            return n;
        }
        cur = after;
    }
    return static_cast<std::size_t>(cur - p);
}

// --- payloads ------------------------------------------------------------------

// The fault, without waiting for it: the run goes on meanwhile. Its output
// goes to stderr, keeping stdout for the JSON line.
void LoadGen::start_fault(u64 t) {
    fault_t_ = t;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    std::string cmd = opt_.fault_cmd;
    char sh[] = "/bin/sh", dash_c[] = "-c";
    char* argv[] = {sh, dash_c, cmd.data(), nullptr};
    const int err = posix_spawn(&fault_pid_, "/bin/sh", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
        fault_pid_ = -1;
        fail(std::string("--fault-cmd: posix_spawn: ") + std::strerror(err));
    }
}

// "#sync" (client 0's) or "#sync K" (client K's).
void LoadGen::note_probe(Client& r, const char* p, std::size_t n) {
    u32 from = 0;
    for (std::size_t i = 6; i < n && p[i] >= '0' && p[i] <= '9' && from < 64; ++i)
        from = from * 10 + static_cast<u32>(p[i] - '0');
    if (from < 64) r.sync_seen |= u64{1} << from;
    if (!r.synced && !r.stalled && (r.sync_seen & sync_needed(r)) == sync_needed(r)) {
        r.synced = true;
        ++synced_;
    }
}

void LoadGen::on_payload(Client& r, const char* p, std::size_t n, u64 t) {
    if (n >= 1 && p[0] == '#') {  // sync probe
        note_probe(r, p, n);
        return;
    }
    u32 id = 0, seq = 0;
    u64 ts = 0;
    if (n != opt_.size || !parse_header(p, n, id, seq, ts) || id >= opt_.clients) {
        note_error(bad_lines_, "malformed payload", p, n);
        return;
    }
    if (id == r.id) {
        ++self_;
        return;
    }
    const Sender& sender = senders_[id];
    if (sender.room != r.room) {
        note_error(bad_lines_, "payload from another room", p, n);
        return;
    }
    const u64 lat = rx_mod_ >= ts ? rx_mod_ - ts : rx_mod_ + kTsModulus - ts;
    if (idle_mode()) {
        if (id != 0 || seq != 0 || phase_ != Phase::fanout) {
            note_error(bad_lines_, "unexpected payload in idle mode", p, n);
            return;
        }
        if (r.got_fanout) {
            ++out_of_order_;
            return;
        }
        r.got_fanout = true;
        hist_.add(lat);
        ++fanout_received_;
        ++deliveries_;
        fanout_last_ = t;
        if (fanout_received_ == expected_) finish(t);
        return;
    }
    if (seq >= opt_.lines) {
        note_error(bad_lines_, "sequence number out of range", p, n);
        return;
    }
    u32* tr = r.track + 2 * static_cast<std::size_t>(sender.pos);
    if (opt_.exact) {
        // Lost lines are no reordering: only a line older than one already
        // seen counts as out of order, and one seen before as a duplicate.
        const std::size_t k = opt_.clients / opt_.rooms;
        const std::size_t bit =
            (static_cast<std::size_t>(r.id) * k + sender.pos) * opt_.lines + seq;
        u64& word = seen_[bit / 64];
        const u64 mask = u64{1} << (bit % 64);
        if (word & mask) {
            ++duplicates_;
            return;
        }
        word |= mask;
        if (seq < tr[0]) ++out_of_order_;
    } else if (seq != tr[0]) {
        ++out_of_order_;
    }
    if (seq + 1 > tr[0]) tr[0] = seq + 1;
    ++tr[1];
    ++deliveries_;
    if (sender.node != r.node) ++cross_;
    if (deliveries_ == fault_threshold_) start_fault(t);
    hist_.add(lat);
    last_progress_ = t;
    if (sender.receiver == r.id) {
        Client& s = clients_[id];
        if (seq + 1 > s.acked) {
            s.acked = seq + 1;
            if (opt_.window_timeout_s > 0) s.acked_at = t;
        }
        if (!s.dirty && s.sent < opt_.lines) {
            s.dirty = true;
            dirty_.push_back(s.id);
        }
    }
    if (deliveries_ == expected_) finish(t);
}

// --- phases ------------------------------------------------------------------

void LoadGen::tick(u64 now) {
    if (now >= deadline_) {
        fail("timeout after " + seconds_text(opt_.timeout_s));
        return;
    }
    switch (phase_) {
        case Phase::connect: {
            if (!retry_list_.empty()) {
                std::vector<u32> due;
                std::vector<u32> later;
                for (u32 id : retry_list_) (clients_[id].retry_at <= now ? due : later).push_back(id);
                retry_list_.swap(later);  // start_connect may append new retries
                for (u32 id : due) {
                    start_connect(clients_[id]);
                    if (phase_ == Phase::done) return;
                }
            }
            while (started_ < total_clients() && started_ - ready_ < opt_.batch) {
                start_connect(clients_[started_++]);
                if (phase_ == Phase::done) return;
            }
            if (ready_ == total_clients()) after_all_ready(now);
            break;
        }
        case Phase::sync:
            // Every client saw a probe relayed from each prober (but itself):
            // all are accepted, and every server delivers the room.
            if (synced_ >= opt_.clients) {
                after_all_ready(now);
            } else if (now >= next_probe_) {
                for (u32 k = 0; k < probers(); ++k) {
                    const std::string probe = "#sync " + std::to_string(k);
                    if (opt_.proto == Proto::raw) send_text(clients_[k], probe + "\n");
                    else send_line(clients_[k], probe);
                    if (phase_ == Phase::done) return;
                }
                next_probe_ = now + 20'000'000ULL;
            }
            break;
        case Phase::run:
            if (opt_.window_timeout_s > 0) {
                const u64 limit = static_cast<u64>(opt_.window_timeout_s * 1e9);
                for (Client& c : clients_) {
                    if (c.stalled || c.state != State::ready || c.sent >= opt_.lines ||
                        c.sent - c.acked < opt_.window || now < c.acked_at + limit)
                        continue;
                    c.acked = c.sent;
                    c.acked_at = now;
                    ++window_timeouts_;
                    if (!c.dirty) {
                        c.dirty = true;
                        dirty_.push_back(c.id);
                    }
                }
            }
            if (opt_.drain_s > 0 && now - last_progress_ > static_cast<u64>(opt_.drain_s * 1e9) &&
                std::all_of(clients_.begin(), clients_.end(), [this](const Client& c) {
                    return c.stalled || (c.sent == opt_.lines && c.out_off >= c.out.size());
                })) {
                // Everything was sent and nothing came for a while: what is
                // missing now is lost (report counts it). Measured to the
                // last delivery, not to this.
                drained_ = true;
                finish(last_progress_);
            } else if (now - last_progress_ > static_cast<u64>(opt_.stall_s * 1e9)) {
                fail("stalled: no line for " + seconds_text(opt_.stall_s));
            }
            break;
        case Phase::settle:
            if (now - last_rx_ >= 300'000'000ULL ||
                now - settle_begin_ >= static_cast<u64>(opt_.settle_max_s * 1e9))
                start_fanout(now);
            break;
        case Phase::fanout:
            if (now - fanout_t0_ > static_cast<u64>(opt_.stall_s * 1e9))
                fail("fan-out line did not reach every connection");
            break;
        case Phase::done:
            break;
    }
}

void LoadGen::after_all_ready(u64 now) {
    if (opt_.sync && phase_ == Phase::connect) {
        phase_ = Phase::sync;
        next_probe_ = now;
        // Those that need no probe (raw: client 0 is the only prober) are
        // synced already; probes that arrived while connecting count.
        for (Client& c : clients_)
            if (!c.synced && !c.stalled && (c.sync_seen & sync_needed(c)) == sync_needed(c)) {
                c.synced = true;
                ++synced_;
            }
        return;
    }
    t_ready_ = now;
    if (idle_mode()) {
        phase_ = Phase::settle;
        settle_begin_ = now;
        last_rx_ = now;
    } else {
        start_run(now);
    }
}

void LoadGen::start_run(u64 now) {
    phase_ = Phase::run;
    cpu_before_ = read_proc_cpu(opt_.server_pid);
    procs_before_.clear();
    for (const auto& np : opt_.server_pids) procs_before_.push_back(read_proc_cpu(np.second));
    self_cpu_before_ = self_cpu_seconds();
    t_run_ = now_ns();
    last_progress_ = t_run_;
    for (Client& c : clients_) c.acked_at = t_run_;
    (void)now;
    for (Client& c : clients_) fill_and_send(c);
}

void LoadGen::start_fanout(u64 now) {
    (void)now;
    rss_after_ = read_proc_status_kib(opt_.server_pid, "VmRSS");
    phase_ = Phase::fanout;
    Client& c = clients_[0];
    const u64 ts = now_ns();
    fanout_t0_ = ts;
    t_run_ = ts;
    append_line(c, 0, ts);
    flush(c);
}

void LoadGen::finish(u64 now) {
    t_end_ = now;
    phase_ = Phase::done;
}

int LoadGen::run() {
    if (!setup()) return 2;
    t_begin_ = now_ns();
    deadline_ = t_begin_ + static_cast<u64>(opt_.timeout_s * 1e9);
    if (idle_mode()) rss_before_ = read_proc_status_kib(opt_.server_pid, "VmRSS");

    std::vector<epoll_event> events(1024);
    while (phase_ != Phase::done) {
        const u64 now = now_ns();
        tick(now);
        if (phase_ == Phase::done) break;
        int wait_ms = (phase_ == Phase::run || phase_ == Phase::fanout) ? 100 : 10;
        const u64 left_ms = (deadline_ - now) / 1'000'000ULL + 1;
        if (left_ms < static_cast<u64>(wait_ms)) wait_ms = static_cast<int>(left_ms);
        const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), wait_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(std::string("epoll_wait: ") + std::strerror(errno));
            break;
        }
        for (int i = 0; i < n && phase_ != Phase::done; ++i)
            handle_event(events[static_cast<std::size_t>(i)].data.u32,
                         events[static_cast<std::size_t>(i)].events);
        if (phase_ == Phase::run) process_dirty();
    }
    if (t_end_ == 0) t_end_ = now_ns();
    cpu_after_ = read_proc_cpu(opt_.server_pid);
    procs_after_.clear();
    for (const auto& np : opt_.server_pids) {
        procs_after_.push_back(read_proc_cpu(np.second));
        procs_hwm_.push_back(read_proc_status_kib(np.second, "VmHWM"));
    }
    self_cpu_after_ = self_cpu_seconds();
    hwm_ = read_proc_status_kib(opt_.server_pid, "VmHWM");
    probe_stalled();
    return report();
}

// Reads what each stalled reader has waiting, after the measurement: a
// server that dropped it shows end of file (or a reset) behind the data.
void LoadGen::probe_stalled() {
    for (Client& c : clients_) {
        if (!c.stalled || c.fd < 0) continue;
        for (u64 got = 0; got < (1ULL << 30);) {
            const ssize_t n = ::recv(c.fd, rbuf_.data(), rbuf_.size(), MSG_DONTWAIT);
            if (n > 0) {
                got += static_cast<u64>(n);
                stalled_unread_ += static_cast<u64>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                // The server may still be sending what it had queued: wait a
                // little for more (or for its close) before calling it open.
                pollfd pfd{c.fd, POLLIN, 0};
                if (::poll(&pfd, 1, 100) > 0) continue;
                break;
            }
            ++stalled_dropped_;  // end of file or a reset: the server closed it
            break;
        }
    }
}

void LoadGen::handle_event(u32 id, u32 events) {
    if (id >= clients_.size()) return;
    Client& c = clients_[id];
    if (c.state == State::connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        if (!finish_connect(c)) return;
    }
    if (c.fd < 0 || c.state == State::retry_wait || c.state == State::closed) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
    if (c.fd >= 0 && (events & EPOLLOUT)) on_writable(c);
}

// --- report ------------------------------------------------------------------

int LoadGen::report() {
    const double us = 1e-3;  // ns -> us
    JsonLine j;
    for (const auto& kv : opt_.meta) j.str(kv.first.c_str(), kv.second);
    j.str("mode", idle_mode() ? "idle" : "load");
    j.str("proto", proto_name(opt_.proto));
    j.num("clients", opt_.clients);
    j.num("rooms", opt_.rooms);
    if (!idle_mode()) {
        j.num("stalled", opt_.stalled);
        if (opt_.stalled > 0) {
            j.num("stalled_rcvbuf", opt_.stalled_rcvbuf);
            j.num("stalled_dropped", stalled_dropped_);
            j.num("stalled_unread_bytes", stalled_unread_);
        }
        j.num("lines", opt_.lines);
        j.num("size", opt_.size);
        j.num("window", opt_.window);
    }

    u64 missing = 0;
    if (!idle_mode()) {
        const u32 k = opt_.clients / opt_.rooms;
        for (const Client& r : clients_) {
            if (r.stalled) continue;
            for (u32 pos = 0; pos < k; ++pos) {
                if (pos == r.pos) continue;
                const u32 got = r.track[2 * static_cast<std::size_t>(pos) + 1];
                if (got < opt_.lines) missing += opt_.lines - got;
            }
        }
    } else {
        missing = expected_ - std::min(expected_, fanout_received_);
    }
    const u64 errors = bad_lines_ + server_errors_ + disconnects_ + connect_failures_;
    const bool ok = !failed_ && missing == 0 && out_of_order_ == 0 && duplicates_ == 0 &&
                    deliveries_ == expected_;
    j.boolean("ok", ok);
    if (failed_) j.str("failure", failure_);
    else j.null("failure");

    const double setup_s = static_cast<double>((t_ready_ ? t_ready_ : t_end_) - t_begin_) / 1e9;
    const double run_s = t_run_ ? static_cast<double>(t_end_ - t_run_) / 1e9 : 0.0;
    double cpu_s = 0.0;
    const char* cpu_source = "";
    bool have_cpu = cpu_between(cpu_before_, cpu_after_, cpu_s, cpu_source);
    // Several processes (a cluster and its backplane): each one's CPU time,
    // and their sum as the server's.
    std::vector<double> proc_cpu(opt_.server_pids.size(), -1.0);
    if (opt_.server_pids.size() > 1 && !procs_before_.empty()) {
        cpu_s = 0.0;
        for (std::size_t i = 0; i < opt_.server_pids.size(); ++i) {
            double s = 0.0;
            const char* source = "";
            if (cpu_between(procs_before_[i], procs_after_[i], s, source)) {
                proc_cpu[i] = s;
                cpu_s += s;
                cpu_source = source;
            } else {
                have_cpu = false;
            }
        }
    }
    const double dps = run_s > 0 ? static_cast<double>(deliveries_) / run_s : 0.0;
    const double cpu_per_1k =
        have_cpu && deliveries_ ? cpu_s * 1e6 / (static_cast<double>(deliveries_) / 1000.0) : 0.0;

    j.num("deliveries", deliveries_);
    if (opt_.proto == Proto::wsjson) j.num("json_chat_events", json_chats_);
    j.num("expected", expected_);
    j.num("missing", missing);
    j.num("out_of_order", out_of_order_);
    if (opt_.exact) j.num("duplicates", duplicates_);
    if (opt_.drain_s > 0) j.boolean("drained", drained_);
    if (opt_.window_timeout_s > 0) j.num("window_timeouts", window_timeouts_);
    if (!opt_.fault_cmd.empty()) {
        int status = 0;
        if (fault_pid_ > 0 && waitpid(fault_pid_, &status, 0) == fault_pid_) {
            j.real("fault_at_s", static_cast<double>(fault_t_ - t_run_) / 1e9, 3);
            j.num("fault_status", WIFEXITED(status) ? static_cast<u64>(WEXITSTATUS(status)) : 128);
        } else {
            j.null("fault_at_s");  // the run ended before the fault's turn
        }
    }
    j.num("errors", errors);
    j.num("server_errors", server_errors_);
    j.num("bad_lines", bad_lines_);
    j.num("disconnects", disconnects_);
    j.num("self_ignored", self_);
    j.real("setup_s", setup_s);
    j.real("elapsed_s", run_s, 6);

    char human[512];
    if (!idle_mode()) {
        j.real("deliveries_per_s", dps, 1);
        j.real("lat_p50_us", static_cast<double>(hist_.quantile(0.50)) * us, 1);
        j.real("lat_p99_us", static_cast<double>(hist_.quantile(0.99)) * us, 1);
        j.real("lat_p999_us", static_cast<double>(hist_.quantile(0.999)) * us, 1);
        j.real("lat_max_us", static_cast<double>(hist_.max()) * us, 1);
        if (have_cpu) {
            j.real("server_cpu_s", cpu_s, 4);
            j.real("cpu_us_per_1k", cpu_per_1k, 2);
            j.str("cpu_source", cpu_source);
        } else {
            j.null("server_cpu_s");
            j.null("cpu_us_per_1k");
        }
        if (hwm_ >= 0) j.num("server_peak_rss_kib", static_cast<u64>(hwm_));
        else j.null("server_peak_rss_kib");
        if (opt_.ports.size() > 1) {
            j.num("servers", opt_.ports.size());
            j.num("cross_deliveries", cross_);
            j.real("cross_deliveries_per_s", run_s > 0 ? static_cast<double>(cross_) / run_s : 0.0, 1);
        }
        if (opt_.server_pids.size() > 1) {
            for (std::size_t i = 0; i < opt_.server_pids.size(); ++i) {
                const std::string& name = opt_.server_pids[i].first;
                const std::string cpu_key = "cpu_" + name + "_s";
                const std::string per_key = "cpu_" + name + "_us_per_1k";
                const std::string rss_key = "peak_rss_" + name + "_kib";
                if (proc_cpu[i] >= 0) {
                    j.real(cpu_key.c_str(), proc_cpu[i], 4);
                    j.real(per_key.c_str(),
                           deliveries_ ? proc_cpu[i] * 1e6 / (static_cast<double>(deliveries_) / 1000.0) : 0.0,
                           2);
                } else {
                    j.null(cpu_key.c_str());
                    j.null(per_key.c_str());
                }
                const long long hwm = i < procs_hwm_.size() ? procs_hwm_[i] : -1;
                if (hwm >= 0) j.num(rss_key.c_str(), static_cast<u64>(hwm));
                else j.null(rss_key.c_str());
            }
        }
        j.real("loadgen_cpu_s", self_cpu_after_ - self_cpu_before_, 2);
        // Near 1.0: the load generator, not the server, limited the rate.
        j.real("loadgen_busy", run_s > 0 ? (self_cpu_after_ - self_cpu_before_) / run_s : 0.0, 2);
        std::snprintf(human, sizeof human,
                      "%s %s: %.0f deliveries/s, %llu/%llu delivered, missing %llu, "
                      "out-of-order %llu, errors %llu, latency p50 %.1f p99 %.1f p99.9 %.1f max "
                      "%.1f us, server cpu %s, peak rss %s KiB, %.2f s",
                      ok ? "OK" : "FAIL", proto_name(opt_.proto), dps,
                      static_cast<unsigned long long>(deliveries_),
                      static_cast<unsigned long long>(expected_),
                      static_cast<unsigned long long>(missing),
                      static_cast<unsigned long long>(out_of_order_),
                      static_cast<unsigned long long>(errors),
                      static_cast<double>(hist_.quantile(0.50)) * us,
                      static_cast<double>(hist_.quantile(0.99)) * us,
                      static_cast<double>(hist_.quantile(0.999)) * us,
                      static_cast<double>(hist_.max()) * us,
                      have_cpu ? (std::to_string(cpu_s).substr(0, 6) + " s (" +
                                  std::to_string(static_cast<long long>(cpu_per_1k + 0.5)) +
                                  " us/1k)").c_str()
                               : "n/a",
                      hwm_ >= 0 ? std::to_string(hwm_).c_str() : "n/a", run_s);
    } else {
        const double fan_us =
            fanout_last_ > fanout_t0_ ? static_cast<double>(fanout_last_ - fanout_t0_) * us : 0.0;
        j.num("connections", opt_.clients);
        if (rss_before_ >= 0 && rss_after_ >= 0) {
            j.num("rss_before_kib", static_cast<u64>(rss_before_));
            j.num("rss_after_kib", static_cast<u64>(rss_after_));
            j.real("kib_per_conn",
                   static_cast<double>(rss_after_ - rss_before_) / static_cast<double>(opt_.clients),
                   2);
        } else {
            j.null("rss_before_kib");
            j.null("rss_after_kib");
            j.null("kib_per_conn");
        }
        if (hwm_ >= 0) j.num("server_peak_rss_kib", static_cast<u64>(hwm_));
        else j.null("server_peak_rss_kib");
        j.real("fanout_us", fan_us, 1);
        j.real("fanout_p50_us", static_cast<double>(hist_.quantile(0.50)) * us, 1);
        std::snprintf(human, sizeof human,
                      "%s %s idle: %u connections, rss %lld -> %lld KiB (%.2f KiB/conn), one line "
                      "reached %llu/%llu in %.1f us (p50 %.1f us), setup %.2f s",
                      ok ? "OK" : "FAIL", proto_name(opt_.proto), opt_.clients, rss_before_,
                      rss_after_,
                      rss_before_ >= 0 && rss_after_ >= 0
                          ? static_cast<double>(rss_after_ - rss_before_) / opt_.clients
                          : 0.0,
                      static_cast<unsigned long long>(fanout_received_),
                      static_cast<unsigned long long>(expected_), fan_us,
                      static_cast<double>(hist_.quantile(0.50)) * us, setup_s);
    }
    std::string more;
    if (opt_.exact) more += ", duplicates " + std::to_string(duplicates_);
    if (opt_.ports.size() > 1 && !idle_mode())
        more += ", " + std::to_string(cross_) + " across " + std::to_string(opt_.ports.size()) + " servers";
    if (drained_) more += " (drained: lines still missing were lost)";
    std::printf("%s\n", j.finish().c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "%s%s%s%s\n", human, more.c_str(), failed_ ? " -- " : "", failed_ ? failure_.c_str() : "");
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    LoadGen gen(parse_options(argc, argv));
    return gen.run();
}
