// hiredis' reader building redis_reply itself (reply_builder.hpp): the same
// replies as hiredis' own tree copied (from_hiredis), from whole buffers and
// from bytes fed one at a time; hostile input (huge counts, deep nesting,
// nil or integers where strings belong, bad lengths) is an error or a reply
// the entry decoder refuses, never a crash or a huge allocation; a server
// that sends what nobody asked for ends the connection cleanly.

#include "redis_test_support.hpp"

#include <chatroom/redis/detail/entry.hpp>
#include <chatroom/redis/detail/reply_builder.hpp>

#include <hiredis/read.h>

#include <catch2/catch.hpp>

#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::string_literals;
using chatroom::detail::redis_reply;
using chatroom::detail::reply_builder;
using chatroom::detail::reply_reader_state;

namespace {

struct read_result {
    bool error = false;         // the reader's error (protocol, OOM)
    std::optional<redis_reply> reply; // none: incomplete
};

// Feeds bytes in pieces of `step` (0: all at once) to a reader, with the
// builder or with hiredis' own functions (then copied), and takes one reply.
read_result read_one(const std::string& bytes, bool builder, std::size_t step = 0) {
    redisReader* r = redisReaderCreate();
    REQUIRE(r);
    reply_reader_state state;
    if (builder) reply_builder::install(*r, state);
    read_result out;
    void* obj = nullptr;
    const std::size_t piece = step ? step : (bytes.empty() ? 1 : bytes.size());
    for (std::size_t at = 0; at < bytes.size() && !obj && !out.error; at += piece) {
        const std::size_t n = std::min(piece, bytes.size() - at);
        REQUIRE(redisReaderFeed(r, bytes.data() + at, n) == REDIS_OK);
        if (redisReaderGetReply(r, &obj) != REDIS_OK) out.error = true;
    }
    if (obj) {
        out.reply = chatroom::detail::take_reply(*r, obj);
        r->fn->freeObject(obj);
    }
    redisReaderFree(r); // frees a reply under way
    return out;
}

bool same(const redis_reply& a, const redis_reply& b) {
    if (a.type != b.type || a.integer != b.integer || a.text != b.text || a.elements.size() != b.elements.size())
        return false;
    for (std::size_t i = 0; i < a.elements.size(); ++i)
        if (!same(a.elements[i], b.elements[i])) return false;
    return true;
}

// Reads bytes every way and checks that they all agree; the builder's reply.
read_result read_every_way(const std::string& bytes) {
    const read_result hiredis = read_one(bytes, false);
    const read_result whole = read_one(bytes, true);
    const read_result bytewise = read_one(bytes, true, 1);
    CHECK(whole.error == hiredis.error);
    CHECK(bytewise.error == hiredis.error);
    CHECK(whole.reply.has_value() == hiredis.reply.has_value());
    CHECK(bytewise.reply.has_value() == hiredis.reply.has_value());
    if (whole.reply && hiredis.reply) CHECK(same(*whole.reply, *hiredis.reply));
    if (bytewise.reply && hiredis.reply) CHECK(same(*bytewise.reply, *hiredis.reply));
    return whole;
}

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

// A random RESP2 value, nested at most depth deep.
std::string random_resp(std::mt19937& rng, int depth) {
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    std::string text(static_cast<std::size_t>(pick(40)), 'x');
    for (char& c : text) c = static_cast<char>(pick(256));
    switch (depth > 0 ? pick(7) : pick(6)) {
    case 0: return bulk(text);
    case 1: return ":" + std::to_string(static_cast<long long>(rng()) - 2'000'000'000LL) + "\r\n";
    case 2: return "$-1\r\n";
    case 3: return "*-1\r\n";
    case 4: return "+OK " + std::to_string(pick(1000)) + "\r\n";
    case 5: return "-ERR code " + std::to_string(pick(1000)) + "\r\n";
    default: {
        const int n = pick(6);
        std::string out = "*" + std::to_string(n) + "\r\n";
        for (int i = 0; i < n; ++i) out += random_resp(rng, depth - 1);
        return out;
    }
    }
}

} // namespace

TEST_CASE("reply builder: every kind of reply, as hiredis' own tree reads it", "[redis][reply]") {
    const std::string entry = "*2\r\n" + bulk("1700000000000-0") + "*4\r\n" + bulk("k") + bulk("c") + bulk("x") +
                              bulk(std::string(300, 'y'));
    const std::vector<std::string> cases = {
        "+OK\r\n",          "-LOADING Redis is loading the dataset in memory\r\n", ":-42\r\n", ":9223372036854775807\r\n",
        "$0\r\n\r\n",       "$5\r\na\0b\r\n\r\n"s,                                   "$-1\r\n",  "*-1\r\n",
        "*0\r\n",           "*3\r\n$-1\r\n:1\r\n*0\r\n",                              entry,      "*1\r\n*2\r\n" + bulk("room:a") + "*1\r\n" + entry,
        "-READONLY You can't write against a read only replica.\r\n", "-NOAUTH Authentication required.\r\n",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        "-OOM command not allowed when used memory > 'maxmemory'.\r\n", "-MISCONF Redis is configured to save RDB snapshots\r\n",
        "-BUSY Redis is busy running a script.\r\n",
    };
    for (const std::string& bytes : cases) {
        INFO(bytes);
        const read_result r = read_every_way(bytes);
        CHECK_FALSE(r.error);
        REQUIRE(r.reply);
    }
    // Error replies keep their text, so classify() sees what it did.
    using chatroom::detail::reply_fault;
    const std::pair<const char*, reply_fault> faults[] = {
        {"-LOADING x\r\n", reply_fault::transient}, {"-BUSY x\r\n", reply_fault::transient},
        {"-READONLY x\r\n", reply_fault::readonly}, {"-NOAUTH x\r\n", reply_fault::auth},
        {"-WRONGTYPE x\r\n", reply_fault::refused}, {"-OOM x\r\n", reply_fault::refused},
        {"-MISCONF x\r\n", reply_fault::refused},
    };
    for (const auto& [bytes, fault] : faults) {
        const read_result r = read_one(bytes, true);
        REQUIRE(r.reply);
        CHECK(r.reply->is_error());
        CHECK(chatroom::detail::classify(*r.reply) == fault);
    }
    const read_result nested = read_one("*3\r\n:7\r\n*2\r\n+a\r\n$-1\r\n" + bulk("z"), true);
    REQUIRE(nested.reply);
    REQUIRE(nested.reply->elements.size() == 3);
    CHECK(nested.reply->elements[0].integer == 7);
    CHECK(nested.reply->elements[1].elements[0].is_status());
    CHECK(nested.reply->elements[1].elements[1].is_nil());
    CHECK(nested.reply->elements[2].text == "z");
}

TEST_CASE("reply builder: random replies, whole and byte by byte, as hiredis reads them", "[redis][reply]") {
    std::mt19937 rng(20261207);
    for (int i = 0; i < 400; ++i) {
        const std::string bytes = random_resp(rng, 5);
        INFO("case " << i);
        const read_result r = read_every_way(bytes);
        CHECK_FALSE(r.error);
        CHECK(r.reply);
        // Cut short: no reply yet, and the reader frees what it had built.
        const read_result cut = read_one(bytes.substr(0, bytes.size() / 2), true, 3);
        CHECK_FALSE(cut.reply);
    }
}

TEST_CASE("reply builder: hostile replies are errors or refused entries, never a crash", "[redis][reply]") {
    // A count of 2^31-1 with two elements sent: nothing is reserved for the
    // rest, and the reply stays incomplete.
    const read_result huge = read_one("*2147483647\r\n:1\r\n:2\r\n", true);
    CHECK_FALSE(huge.error);
    CHECK_FALSE(huge.reply);
    // Counts and lengths out of range, and bad numbers: protocol errors.
    for (const char* bytes : {"*2147483648\r\n", "*-2\r\n", "$-2\r\n", "*x\r\n", ":12a\r\n", "$9999999999999999999999\r\n", "?\r\n"}) {
        INFO(bytes);
        const read_result r = read_every_way(bytes);
        CHECK(r.error);
        CHECK_FALSE(r.reply);
    }
    // Nesting: eight arrays deep are read, nine are a protocol error (and
    // what was built is freed).
    std::string eight, nine;
    for (int i = 0; i < 8; ++i) eight += "*1\r\n";
    nine = eight + "*1\r\n:1\r\n";
    eight += ":1\r\n";
    const read_result deep = read_every_way(eight);
    REQUIRE(deep.reply);
    const redis_reply* at = &*deep.reply;
    for (int i = 0; i < 8; ++i) at = &at->elements.at(0);
    CHECK(at->integer == 1);
    CHECK(read_every_way(nine).error);

    // Read into a stream entry: nil, an integer or an array where a string
    // belongs, an odd field list, an ID that is no ID: refused as malformed.
    using chatroom::detail::entry_error;
    const std::string fields = "*6\r\n" + bulk("k") + bulk("c") + bulk("n") + bulk("b") + bulk("e") + bulk("ep1");
    const std::string hostile[] = {
        "*2\r\n$-1\r\n" + fields,
        "*2\r\n:1\r\n" + fields,
        "*2\r\n" + bulk("1-1") + "$-1\r\n",
        "*2\r\n" + bulk("1-1") + "*3\r\n" + bulk("k") + bulk("c") + bulk("x"),
        "*2\r\n" + bulk("1-1") + "*2\r\n" + bulk("k") + "$-1\r\n",
        "*2\r\n" + bulk("1-1") + "*2\r\n" + bulk("k") + ":5\r\n",
        "*2\r\n" + bulk("1-1") + "*2\r\n" + bulk("k") + "*1\r\n" + bulk("c"),
        "*2\r\n" + bulk("not-an-id") + fields,
        "*3\r\n" + bulk("1-1") + fields + bulk("extra"),
        "$-1\r\n",
    };
    for (const std::string& bytes : hostile) {
        INFO(bytes);
        const read_result r = read_every_way(bytes);
        REQUIRE(r.reply);
        chatroom::detail::stream_id id;
        entry_error why = entry_error::none;
        CHECK_FALSE(chatroom::detail::parse_entry(*r.reply, id, {}, &why));
        CHECK(why == entry_error::malformed);
    }
}

TEST_CASE("reply builder: a reader handed back to hiredis builds its tree from the next reply on", "[redis][reply]") {
    redisReader* r = redisReaderCreate();
    REQUIRE(r);
    reply_reader_state state;
    reply_builder::install(*r, state);
    const std::string two = "*3\r\n" + bulk("message") + bulk("c") + bulk("hello") + ":5\r\n";
    REQUIRE(redisReaderFeed(r, two.data(), two.size()) == REDIS_OK);
    void* first = nullptr;
    REQUIRE(redisReaderGetReply(r, &first) == REDIS_OK);
    REQUIRE(first);
    CHECK_FALSE(chatroom::detail::built_by_hiredis(*r));
    // The root's head is what hiredis reads of a reply it gets unasked.
    CHECK(static_cast<redisReply*>(first)->type == REDIS_REPLY_ARRAY);
    CHECK(reply_builder::value_of(first).elements.size() == 3);
    r->fn->freeObject(first);
    state.hand_back = true;
    void* second = nullptr;
    REQUIRE(redisReaderGetReply(r, &second) == REDIS_OK);
    REQUIRE(second);
    CHECK(chatroom::detail::built_by_hiredis(*r));
    CHECK(static_cast<redisReply*>(second)->type == REDIS_REPLY_INTEGER);
    CHECK(static_cast<redisReply*>(second)->integer == 5);
    r->fn->freeObject(second);
    redisReaderFree(r);
}

// A server that answers a connection with fixed bytes (at once, or once the
// client sent something), then holds it open until the client goes away (or
// the test's patience ends).
class scripted_server {
public:
    enum class when { at_once, asked };
    explicit scripted_server(std::string bytes, when w = when::asked) : when_(w) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listener_, 4) == 0);
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this, bytes = std::move(bytes)] { serve(bytes); });
    }
    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;
    ~scripted_server() {
        ::shutdown(listener_, SHUT_RDWR);
        thread_.join();
        ::close(listener_);
    }
    unsigned short port() const { return port_; }

private:
    void serve(const std::string& bytes) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(redis_test::patience.count())) <= 0) return;
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        char buf[512];
        if (when_ == when::asked) {
            pollfd q{fd, POLLIN, 0};
            if (::poll(&q, 1, static_cast<int>(redis_test::patience.count())) <= 0 || ::recv(fd, buf, sizeof buf, 0) <= 0) {
                ::close(fd);
                return;
            }
        }
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        for (;;) { // until the client closes, within the patience
            pollfd q{fd, POLLIN, 0};
            if (::poll(&q, 1, static_cast<int>(redis_test::patience.count())) <= 0) break;
            if (::recv(fd, buf, sizeof buf, 0) <= 0) break;
        }
        ::close(fd);
    }

    when when_;
    int listener_ = -1;
    unsigned short port_ = 0;
    std::thread thread_;
};

TEST_CASE("reply builder: a server's error nobody asked for ends the connection with its text", "[redis][reply]") {
    // What Redis sends a client past maxclients, before any command.
    scripted_server server("-ERR max number of clients reached\r\n", scripted_server::when::at_once);
    redis_test::event_loop loop(1);
    auto conn = redis_test::make_connection(loop, server.port());
    auto disconnects = redis_test::watch_disconnect(*conn);
    CHECK_FALSE(redis_test::connect_now(*conn));
    REQUIRE(redis_test::eventually([&] { return disconnects->count.load() == 1; }));
    CHECK(disconnects->last());
    redis_test::settle(*conn);
    CHECK(conn->error_message().find("max number of clients") != std::string::npos);
}

TEST_CASE("reply builder: a command answered with a reply nested too deep fails the connection", "[redis][reply]") {
    std::string bytes;
    for (int i = 0; i < 9; ++i) bytes += "*1\r\n";
    bytes += ":1\r\n";
    scripted_server server(bytes);
    redis_test::event_loop loop(1);
    auto conn = redis_test::make_connection(loop, server.port());
    CHECK_FALSE(redis_test::connect_now(*conn));
    const redis_test::outcome o = redis_test::call(*conn, {"PING"});
    CHECK(o.ec == redis_test::redis_error::protocol_error);
    CHECK(o.reply.is_nil());
}
