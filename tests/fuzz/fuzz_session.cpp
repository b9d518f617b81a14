// fuzz_session: a whole chatroom server (Unix-socket transport, one thread)
// fed arbitrary byte streams by three clients.
//
// Input format: a sequence of chunks, each starting with one control byte c.
//   t = c & 3, pump = c & 4, code = c >> 3
//   t = 0..2   the next len bytes go to client t, where
//              len = code + 1 (1..20) for code < 20, else (code - 19) * 64
//              (64..768); fewer if the input ends.
//   t = 3      an action, op = code & 7 on client (or room) a = code >> 3:
//              0 client a shuts down its sending side (EOF to the server)
//              1 client a closes its socket at once
//              2 server.say(room a, from, text): a length byte L and L
//                bytes follow; the first L/4 are "from", the rest "text"
//              3 server.notice(room a, text): a length byte L, L bytes
//              4 server.stop() now, while clients go on talking
//              5 client a stops (or resumes) reading what it is sent
//              6 client a is replaced by a new connection
//              7 nothing (with pump set: just a pump)
//   With pump set, the io_context then runs until idle and every client
//   reads; without it, bytes and actions pile up and the server sees them
//   together. Rooms for 2 and 3: "lobby", "x", "LOBBY", "nope".
// The server's event handler checks every event and, for a chat line
// "!stop", "!notice TEXT" or "!say TEXT", calls that server function from
// inside the handler (which events.hpp allows).
// tests/fuzz/make_corpus.py writes seeds in this format.
//
// At the end every client reads again, server.stop() is called and every
// client must see the end of its stream within 3 s. Properties (a violation
// prints what failed and traps; ASan, UBSan and LSan watch the rest):
//   - every line a client receives ends with CRLF, and each line without its
//     CRLF is valid UTF-8 holding no C0 control but TAB, no DEL and no C1
//     control (strict_text.hpp, independent of the library's sanitizer);
//   - a stream may end without CRLF only if the client closed it itself or
//     the server dropped a slow consumer (its last words are best effort);
//     even then the unfinished line is clean text cut short;
//   - after stop() every connected client sees end of stream;
//   - the strings of every event are clean text too.
//
// Speed: stop() leaves the hub's 100 ms housekeeping tick to release the
// closed sessions. Waiting for it would cap the fuzzer at ~10 inputs/s, so one
// io_context serves every input and each server's last tick runs while later
// inputs are processed; an exit handler runs the io_context until it has no
// work left (it must get there: a server that keeps work after stop() and all
// its clients gone is reported) before LeakSanitizer's check at exit. The
// fuzz test therefore runs with -detect_leaks=0 (libFuzzer's check after each
// input would blame whichever input happened to be running). Set
// CHATROOM_FUZZ_DRAIN_EACH=1 to finish every input before the next starts
// (~10 inputs/s): then each input's leaks and late crashes are its own, which
// is what reproducing, minimizing or blaming a finding needs. Set
// CHATROOM_FUZZ_VERBOSE=1 to print what every client received.

#include <chatroom.hpp>

#include "strict_text.hpp"

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using local = asio::local::stream_protocol;
using server_type = chatroom::basic_server<local>;
using socket_type = server_type::socket_type; // basic_stream_socket<local, any_io_executor>
using steady = std::chrono::steady_clock;

[[noreturn]] void fail(const char* what, int line, std::string_view data = {}) {
    std::fprintf(stderr, "fuzz_session: property violated (line %d): %s\n", line, what);
    if (data.data() != nullptr) std::fprintf(stderr, "  data (%zu bytes): %s\n", data.size(), fuzz::hex(data).c_str());
    std::fflush(stderr);
    __builtin_trap();
}

#define FUZZ_CHECK(cond, what)                                                                                        \
    do {                                                                                                              \
        if (!(cond)) fail(what, __LINE__);                                                                            \
    } while (0)

asio::io_context* io = nullptr; // shared by every input; see "Speed" above
bool drain_each = false;
bool verbose = false; // CHATROOM_FUZZ_VERBOSE=1: print what every client received

constexpr std::size_t clients = 3;
constexpr std::string_view rooms[4] = {"lobby", "x", "LOBBY", "nope"};

struct client {
    explicit client(asio::io_context& ctx) : sock(ctx) {}
    socket_type sock;
    std::string got;         // everything read so far
    bool ended = false;      // read end of stream (or an error)
    bool closed = false;     // we closed the socket
    bool cannot_send = false; // we shut down the sending side, or sending failed
    bool stalled = false;    // not reading for now
};

// Reads what is there without blocking. Returns the bytes read.
std::size_t read_available(client& c) {
    if (c.closed || c.ended || c.stalled) return 0;
    static char buffer[16384];
    std::size_t total = 0;
    for (int i = 0; i < 4096; ++i) {
        std::error_code ec;
        const std::size_t n = c.sock.read_some(asio::buffer(buffer), ec);
        c.got.append(buffer, n);
        total += n;
        if (ec == asio::error::would_block || ec == asio::error::try_again) break;
        if (ec) { // eof, or reset by a server that closed on unread input
            c.ended = true;
            break;
        }
    }
    return total;
}

// Runs every ready handler and lets every client read, until neither has
// anything left to do (bounded).
void pump(std::vector<client>& cs) {
    for (int round = 0; round < 1000; ++round) {
        std::size_t ran = 0;
        for (int i = 0; i < 1000; ++i) {
            if (io->stopped()) io->restart();
            const std::size_t n = io->poll();
            ran += n;
            if (n == 0) break;
        }
        std::size_t read = 0;
        for (client& c : cs) read += read_available(c);
        if (ran == 0 && read == 0) return;
    }
}

void send(std::vector<client>& cs, client& c, const char* data, std::size_t size) {
    if (c.closed || c.cannot_send) return;
    std::size_t done = 0;
    for (int tries = 0; done < size && tries < 100; ++tries) {
        std::error_code ec;
        done += c.sock.write_some(asio::buffer(data + done, size - done), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            pump(cs); // the server reads, or a lingering session drains
            continue;
        }
        if (ec) { // the server closed this connection
            c.cannot_send = true;
            return;
        }
    }
}

FUZZ_UNINSTRUMENTED void show(const char* who, std::size_t n, const std::string& s) {
    std::string text;
    for (unsigned char c : s) {
        if (c == '\n') text += "\\n\n    ";
        else if (c == '\r') text += "\\r";
        else if (c < 0x20 || c >= 0x7F) {
            static constexpr char digits[] = "0123456789abcdef";
            text += "\\x";
            text += digits[c >> 4];
            text += digits[c & 15];
        } else text += static_cast<char>(c);
    }
    std::fprintf(stderr, "  %s %zu received %zu bytes:\n    %s\n", who, n, s.size(), text.c_str());
}

// What a telnet client shows of a stream: a client whose bytes held an IAC
// is answered as a telnet client (IAC WILL/WONT/DO/DONT option, and a bare
// CR after each line once it is BINARY), so that is taken out first.
FUZZ_UNINSTRUMENTED std::string without_telnet(const std::string& in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (c == 0xFF && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) >= 0xFB) {
            i += 2;
        } else if (c == '\r' && !(i + 1 < in.size() && in[i + 1] == '\n')) {
            continue; // a bare CR
        } else {
            out += in[i];
        }
    }
    return out;
}

// Every CRLF-terminated line must be clean; an unterminated rest only when
// the stream was cut.
FUZZ_UNINSTRUMENTED void check_stream(const std::string& raw, bool may_be_cut) {
    const std::string s = without_telnet(raw);
    std::size_t pos = 0;
    for (;;) {
        const std::size_t end = s.find("\r\n", pos);
        if (end == std::string::npos) break;
        const std::string_view line(s.data() + pos, end - pos);
        if (!fuzz::strictly_clean(line)) fail("a received line is not clean text", __LINE__, line);
        pos = end + 2;
    }
    if (pos == s.size()) return;
    const std::string_view rest(s.data() + pos, s.size() - pos);
    if (!may_be_cut) fail("a stream the server ended gracefully stops inside a line (no CRLF)", __LINE__, rest);
    if (!fuzz::clean_prefix(rest)) fail("the cut-off last line is not clean text", __LINE__, rest);
}

// A new connection in slot (replacing what was there), adopted by the server.
void connect(std::vector<client>& cs, std::size_t slot, server_type& server) {
    client fresh(*io);
    socket_type server_end(*io);
    asio::local::connect_pair(fresh.sock, server_end);
    fresh.sock.non_blocking(true);
    if (slot < cs.size()) cs[slot] = std::move(fresh);
    else cs.push_back(std::move(fresh));
    server.adopt(std::move(server_end));
}

// Events must carry clean text as well; the handler may call the server, but
// it also runs after the server object is gone (the hub outlives it), so it
// reaches the server only through this pointer, cleared before that.
struct host {
    server_type* server = nullptr;
};

void on_event(host& h, const chatroom::server_event& e) {
    const std::string_view fields[] = {e.nick, e.room, e.text, e.reason, e.old_nick, e.address};
    for (std::string_view f : fields)
        if (!fuzz::strictly_clean(f)) fail("an event carries text that is not clean", __LINE__, f);
    if (!h.server || e.kind != chatroom::server_event_kind::message) return;
    const std::string_view t = e.text;
    if (t == "!stop") h.server->stop();
    else if (t.substr(0, 8) == "!notice ") h.server->notice(e.room, std::string(t.substr(8)));
    else if (t.substr(0, 5) == "!say ") h.server->say(e.room, e.nick, std::string(t.substr(5)));
}

// Runs the shared io_context until it has no work left; false if it still has
// some when the time is up.
bool run_until_idle(std::chrono::milliseconds limit) {
    const auto deadline = steady::now() + limit;
    io->restart();
    while (!io->stopped()) {
        if (steady::now() >= deadline) return false;
        io->run_for(std::chrono::milliseconds(20));
    }
    return true;
}

void at_exit() {
    if (!io) return;
    if (!run_until_idle(std::chrono::seconds(10))) {
        std::fprintf(stderr, "fuzz_session: the io_context still has work 10 s after the last input: a server "
                             "keeps running after stop() with all of its clients gone\n");
        std::fflush(stderr);
        std::abort();
    }
    delete io;
    io = nullptr;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::signal(SIGPIPE, SIG_IGN);
    const char* each = std::getenv("CHATROOM_FUZZ_DRAIN_EACH");
    drain_each = each && *each && std::string_view(each) != "0";
    const char* loud = std::getenv("CHATROOM_FUZZ_VERBOSE");
    verbose = loud && *loud && std::string_view(loud) != "0";
    io = new asio::io_context(1);
    std::atexit(at_exit);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<client> cs;
    cs.reserve(clients);
    std::vector<std::string> cut_streams; // of clients we closed: may end inside a line

    {
        chatroom::server_options opts;
        opts.concurrency = chatroom::threading::single;
        opts.max_line_bytes = 256;
        opts.max_queue_bytes = 64 * 1024;
        opts.history_lines = 2;
        // Long enough never to cut a stream while an input runs: a client
        // that reads must see its stream end well before it.
        opts.shutdown_timeout = std::chrono::seconds(20);
        // The welcome is sanitized line by line on its way out.
        opts.welcome = "line one\nline \x1b[1mtwo\x07\r\n\xc3\x28 three\xc2\x9b";
        server_type server(*io, opts);
        auto events = std::make_shared<host>();
        events->server = &server;
        server.on_event([events](const chatroom::server_event& e) { on_event(*events, e); });

        for (std::size_t i = 0; i < clients; ++i) connect(cs, i, server);
        pump(cs);

        std::size_t i = 0;
        while (i < size) {
            const std::uint8_t control = data[i++];
            const unsigned target = control & 3u;
            const bool pump_after = (control & 4u) != 0;
            const unsigned code = control >> 3;
            if (target < 3) {
                std::size_t len = code < 20 ? code + 1 : (code - 19) * 64;
                if (len > size - i) len = size - i;
                send(cs, cs[target], reinterpret_cast<const char*>(data + i), len);
                i += len;
                if (pump_after) pump(cs);
                continue;
            }
            const unsigned op = code & 7u, a = code >> 3;
            if (op == 7) { // just the pump
                if (pump_after) pump(cs);
                continue;
            }
            client& c = cs[a % clients];
            std::string_view payload;
            if (op == 2 || op == 3) {
                std::size_t len = i < size ? data[i++] : 0;
                if (len > size - i) len = size - i;
                payload = std::string_view(reinterpret_cast<const char*>(data + i), len);
                i += len;
            }
            switch (op) {
            case 0:
                if (!c.closed && !c.cannot_send) {
                    std::error_code ec;
                    c.sock.shutdown(asio::socket_base::shutdown_send, ec);
                    c.cannot_send = true;
                }
                break;
            case 1:
                if (!c.closed) {
                    std::error_code ec;
                    c.sock.close(ec);
                    c.closed = true;
                }
                break;
            case 2: {
                const std::size_t from_len = payload.size() / 4;
                server.say(std::string(rooms[a]), std::string(payload.substr(0, from_len)),
                           std::string(payload.substr(from_len)));
                break;
            }
            case 3: server.notice(std::string(rooms[a]), std::string(payload)); break;
            case 4: server.stop(); break;
            case 5: c.stalled = !c.stalled; break;
            case 6: {
                const std::size_t slot = a % clients;
                if (cs[slot].closed) {
                    cut_streams.push_back(std::move(cs[slot].got));
                } else {
                    read_available(cs[slot]);
                    std::error_code ec;
                    cs[slot].sock.close(ec);
                    cut_streams.push_back(std::move(cs[slot].got));
                }
                connect(cs, slot, server);
                break;
            }
            default: break;
            }
            if (pump_after) pump(cs);
        }

        // Everyone reads again, then the server stops; every client still
        // connected must see its stream end.
        for (client& c : cs) c.stalled = false;
        pump(cs);
        server.stop();
        pump(cs);
        const auto deadline = steady::now() + std::chrono::seconds(3);
        for (;;) {
            bool all_ended = true;
            for (const client& c : cs) all_ended = all_ended && (c.closed || c.ended);
            if (all_ended) break;
            FUZZ_CHECK(steady::now() < deadline, "a client saw no end of stream within 3 s of server.stop()");
            if (io->stopped()) io->restart();
            io->run_for(std::chrono::milliseconds(1));
            pump(cs);
        }

        const bool dropped_slow = server.stats().slow_consumer_disconnects > 0;
        if (verbose) {
            for (std::size_t k = 0; k < cut_streams.size(); ++k) show("replaced client", k, cut_streams[k]);
            for (std::size_t k = 0; k < cs.size(); ++k) show("client", k, cs[k].got);
        }
        for (const client& c : cs) check_stream(c.got, c.closed || dropped_slow);
        for (const std::string& s : cut_streams) check_stream(s, true);

        // Our ends close: lingering sessions see EOF and close theirs.
        for (client& c : cs) {
            std::error_code ec;
            c.sock.close(ec);
            c.closed = true;
        }
        pump(cs);
        events->server = nullptr;
    } // ~basic_server: stop() again, which must be harmless
    pump(cs);

    if (drain_each)
        FUZZ_CHECK(run_until_idle(std::chrono::seconds(5)),
                   "the server still has work 5 s after stop() with all of its clients gone");
    return 0;
}
