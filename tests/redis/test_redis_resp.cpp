// The RESP encoder (include/chatroom/redis/detail/resp.hpp) against
// hiredis' own formatter: the same bytes for random commands (binary,
// empty and large arguments), and a command that does not hold the
// arguments it declared is never sent.

#include <chatroom/redis/detail/connection.hpp>
#include <chatroom/redis/detail/resp.hpp>
#include <chatroom/redis/detail/write_op.hpp>

#include "redis_test_support.hpp"

#include "../support/redis_server.hpp"

#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>

#include <atomic>

#include <cstddef>
#include <chrono>
#include <future>
#include <system_error>
#include <utility>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using chatroom::detail::resp_command;

namespace {

std::string hiredis_bytes(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
        argv.push_back(a.empty() ? "" : a.data());
        lengths.push_back(a.size());
    }
    char* raw = nullptr;
    const int n = redisFormatCommandArgv(&raw, static_cast<int>(args.size()), argv.data(), lengths.data());
    REQUIRE(n > 0);
    REQUIRE(raw != nullptr);
    std::string out(raw, static_cast<std::size_t>(n));
    redisFreeCommand(raw);
    return out;
}

} // namespace

TEST_CASE("resp: commands are encoded byte for byte as hiredis encodes them", "[resp]") {
    std::mt19937 rng(20261207);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> shape(0, 9);
    for (int round = 0; round < 500; ++round) {
        const std::size_t argc = 1 + static_cast<std::size_t>(rng() % 40);
        std::vector<std::string> args;
        for (std::size_t i = 0; i < argc; ++i) {
            const int s = shape(rng);
            // Mostly short, some empty, some past hiredis' and our small sizes
            // (a 70 kB one now and then), any byte including \0, \r, \n, $ and *.
            const std::size_t size = s == 0   ? 0
                                     : s < 7  ? rng() % 20
                                     : s < 9  ? rng() % 2000
                                              : (round % 25 == 0 ? 70000 : rng() % 20000);
            std::string a(size, '\0');
            for (auto& c : a) c = static_cast<char>(byte(rng));
            args.push_back(std::move(a));
        }
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        std::size_t payload = 0;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
            payload += a.size();
        }
        const std::string expected = hiredis_bytes(args);
        const auto encoded = chatroom::detail::format_resp(argc, argv.data(), lengths.data());
        REQUIRE(encoded.complete());
        REQUIRE(encoded.buf() == expected);
        CHECK(encoded.buf().c_str()[encoded.buf().size()] == '\0');
        CHECK(encoded.name() == std::string_view(args[0]));
        // Argument by argument, with numbers given as numbers.
        resp_command piecewise(argc + 1, payload);
        for (const auto& a : args) piecewise.arg(a);
        const std::size_t number = rng() % 1000000;
        piecewise.arg(number);
        args.push_back(std::to_string(number));
        REQUIRE(piecewise.complete());
        CHECK(piecewise.buf() == hiredis_bytes(args));
    }
    CHECK(resp_command(1).arg("PING").buf() == "*1\r\n$4\r\nPING\r\n");
    CHECK(resp_command(2).arg("GET").arg("").buf() == "*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
}

TEST_CASE("resp: a command short of, or past, the arguments it declared is incomplete", "[resp]") {
    resp_command none(0);
    CHECK_FALSE(none.complete());
    resp_command shorter(3);
    shorter.arg("SET").arg("k");
    CHECK_FALSE(shorter.complete());
    resp_command longer(1);
    longer.arg("PING").arg("extra");
    CHECK_FALSE(longer.complete());
    CHECK(longer.name() == "PING");
    CHECK(resp_command(2).name().empty());
}

TEST_CASE("resp: a connection refuses an incomplete or pushing command and goes on serving others", "[resp][connection]") {
    test::redis_server redis;
    redis_test::event_loop loop(1);
    auto conn = redis_test::make_connection(loop, redis.port());
    REQUIRE_FALSE(redis_test::connect_now(*conn));
    const auto sent = [&](resp_command cmd) {
        std::promise<std::pair<std::error_code, chatroom::detail::redis_reply>> p;
        auto f = p.get_future();
        conn->send_command(std::move(cmd), [&p](std::error_code ec, chatroom::detail::redis_reply r) {
            p.set_value({ec, std::move(r)});
        });
        REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        return f.get();
    };
    resp_command shorter(3);
    shorter.arg("SET").arg("k");
    CHECK(sent(std::move(shorter)).first == chatroom::detail::redis_error::unsupported_command);
    resp_command sub(2);
    sub.arg("subscribe").arg("c");
    CHECK(sent(std::move(sub)).first == chatroom::detail::redis_error::unsupported_command);
    const std::string value("v\0\r\n$1\r\nx", 9);
    resp_command set(3);
    set.arg("SET").arg("k").arg(value);
    const auto r = sent(std::move(set));
    CHECK_FALSE(r.first);
    CHECK(r.second.text == "OK");
    resp_command get(2);
    get.arg("GET").arg("k");
    const auto g = sent(std::move(get));
    CHECK_FALSE(g.first);
    CHECK(g.second.text == value);
    CHECK(redis_test::call(*conn, {"PING"}).reply.text == "PONG");
}

TEST_CASE("resp: commands sent together are answered once, every reply in order; a transaction refused before it runs "
          "runs nothing",
          "[resp][connection]") {
    test::redis_server redis;
    redis_test::event_loop loop(1);
    auto conn = redis_test::make_connection(loop, redis.port());
    REQUIRE_FALSE(redis_test::connect_now(*conn));
    const auto together = [&](std::vector<std::vector<std::string>> commands) {
        std::vector<resp_command> cmds;
        for (const auto& args : commands) {
            resp_command c(args.size());
            for (const auto& a : args) c.arg(a);
            cmds.push_back(std::move(c));
        }
        std::promise<std::pair<std::error_code, chatroom::detail::redis_reply>> p;
        auto f = p.get_future();
        std::atomic<int> calls{0};
        conn->send_commands(std::move(cmds), [&](std::error_code ec, chatroom::detail::redis_reply r) {
            if (++calls == 1) p.set_value({ec, std::move(r)});
        });
        REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        CHECK(redis_test::call(*conn, {"PING"}).reply.text == "PONG"); // after every reply of the batch
        CHECK(calls == 1);
        return f.get();
    };
    const auto tx = together({{"MULTI"}, {"SET", "k", "1"}, {"INCR", "k"}, {"LPUSH", "k", "x"}, {"EXEC"}});
    REQUIRE_FALSE(tx.first);
    REQUIRE(tx.second.elements.size() == 5);
    CHECK(tx.second.elements[0].text == "OK");
    CHECK(tx.second.elements[1].text == "QUEUED");
    const auto& exec = tx.second.elements[4];
    REQUIRE(exec.elements.size() == 3); // ran: the wrong type fails its command alone
    CHECK(exec.elements[1].integer == 2);
    CHECK(exec.elements[2].is_error());
    CHECK(exec.elements[2].text.rfind("WRONGTYPE", 0) == 0);
    // A command refused while queued (here: unknown) discards the whole batch.
    const auto refused = together({{"MULTI"}, {"INCR", "k"}, {"NOSUCHCOMMAND"}, {"EXEC"}});
    REQUIRE(refused.second.elements.size() == 4);
    CHECK(refused.second.elements[2].is_error());
    CHECK(refused.second.elements[3].text.rfind("EXECABORT", 0) == 0);
    CHECK(redis_test::call(*conn, {"GET", "k"}).reply.text == "2");
    // One command alone is an array of one; an incomplete one refuses the batch unsent.
    CHECK(together({{"PING"}}).second.elements.at(0).text == "PONG");
    std::vector<resp_command> bad;
    bad.emplace_back(2).arg("GET");
    std::promise<std::error_code> p;
    conn->send_commands(std::move(bad), [&p](std::error_code ec, chatroom::detail::redis_reply) { p.set_value(ec); });
    auto f = p.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(f.get() == chatroom::detail::redis_error::unsupported_command);
}

TEST_CASE("resp: an entry's fields encoded when it is queued are the bytes of append_fields' arguments and read back the same", "[resp][entry]") {
    std::mt19937 rng(20261207);
    const chatroom::room_event_kind kinds[] = {chatroom::room_event_kind::chat, chatroom::room_event_kind::action,
                                               chatroom::room_event_kind::topic, chatroom::room_event_kind::left,
                                               chatroom::room_event_kind::renamed, chatroom::room_event_kind::private_message};
    for (int round = 0; round < 300; ++round) {
        chatroom::room_event e;
        e.kind = kinds[rng() % (sizeof kinds / sizeof kinds[0])];
        e.room = "lobby";
        e.nick = "alice" + std::to_string(round);
        if (e.kind == chatroom::room_event_kind::renamed) e.old_nick = "bob";
        if (e.kind == chatroom::room_event_kind::private_message) {
            e.room.clear();
            e.target = "carol";
        }
        if (e.kind == chatroom::room_event_kind::left) {
            e.reason = "bye";
            e.left_server = rng() % 2 == 0;
        } else if (e.kind != chatroom::room_event_kind::renamed) {
            const std::size_t lines = e.kind == chatroom::room_event_kind::chat ? 1 + rng() % 50 : 1;
            for (std::size_t i = 0; i < lines; ++i) {
                std::string line(1 + rng() % (round % 10 == 0 ? 3000 : 80), 'a');
                for (auto& c : line) c = static_cast<char>('a' + rng() % 26);
                if (e.kind == chatroom::room_event_kind::chat) e.add_line(line);
                else e.text = line;
            }
        }
        if (rng() % 3 == 0) e.account = "acct";
        const std::uint64_t count = rng(), member = rng() % 2 ? rng() : 0;
        const auto op = chatroom::detail::entry_op("P room:lobby", e, count, "node-1", "epoch-xyz", member);
        std::vector<std::string> args;
        chatroom::detail::append_fields(args, e, "node-1", "epoch-xyz", count, member);
        REQUIRE(op.field_count == args.size());
        std::size_t bytes = op.key.size();
        std::string expected;
        for (const auto& a : args) {
            chatroom::detail::append_resp_arg(expected, a);
            bytes += a.size();
        }
        CHECK(op.fields == expected);
        CHECK(op.bytes == bytes);
        // The bytes hiredis would write for them (after a command name).
        args.insert(args.begin(), "XADD");
        CHECK(hiredis_bytes(args) == "*" + std::to_string(args.size()) + "\r\n$4\r\nXADD\r\n" + expected);
        const auto back = op.decoded_fields();
        REQUIRE(back.size() * 2 == op.field_count);
        for (std::size_t i = 0; i < back.size(); ++i) {
            CHECK(back[i].first == args[1 + 2 * i]);
            CHECK(back[i].second == args[2 + 2 * i]);
        }
        // Batched as the writer does: a count, then the fields as they are.
        resp_command batch(2 + op.field_count);
        batch.arg("x").arg(op.field_count).encoded(op.fields, op.field_count);
        CHECK(batch.complete());
    }
}
