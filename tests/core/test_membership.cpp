// Several rooms per member (core/detail/commands.hpp, room.hpp), driven
// through fake members with a dialect that joins rooms independently, as IRC
// and browsers do: "JOIN room", "PART room [reason]", "SAY room text",
// "ME room text", "WHO room", "TOPIC room text"; anything else is the line
// protocol. Its renderer puts each event's room before it, so a test sees
// which room every delivery came from.
#include "../support/fake_member.hpp"
#include "../support/recording_log.hpp"

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::chrono_literals;
using chatroom::reply_kind;
using chatroom::room_event_kind;
using chatroom::detail::leave_reason;
using chatroom::protocol::command;
using chatroom::protocol::command_kind;
using chatroom::test::fake_member;
using chatroom::test::say;

// "[room] text" for every event, in the line protocol's words otherwise.
class rooms_dialect final : public chatroom::renderer {
public:
    chatroom::shared_bytes render(const chatroom::room_event& e) const override {
        const std::string tag = "[" + e.room + "] ";
        if (e.kind != room_event_kind::chat) return line(tag + event_text(e));
        std::string block;
        e.for_each_line([&](std::string_view l) { append(block, tag + chat_prefix(e) + std::string(l)); });
        return chatroom::shared_bytes::copy_of(block);
    }
    std::string wording(const chatroom::reply& r) const override { return chatroom::text_of(r); }
    std::size_t framed_size(std::size_t n) const noexcept override { return n + 1; }
    char* frame(char* out, std::string_view a, std::string_view b) const noexcept override {
        out = std::copy(a.begin(), a.end(), out);
        out = std::copy(b.begin(), b.end(), out);
        *out++ = '\n';
        return out;
    }
};

class rooms_interpreter final : public chatroom::detail::interpreter {
    mutable chatroom::history_query query; // the hub's lock serializes line() calls
public:
    void line(chatroom::detail::commands& core, chatroom::detail::member& m, std::string_view text) const override {
        const std::string_view whole = text;
        auto word = [&text] {
            const std::size_t sp = text.find(' ');
            const std::string_view w = text.substr(0, sp);
            text = sp == std::string_view::npos ? std::string_view() : text.substr(sp + 1);
            return w;
        };
        const std::string_view verb = word();
        command c;
        if (verb == "JOIN") c.kind = command_kind::join, c.arg = word();
        else if (verb == "PART") c.kind = command_kind::part, c.room = word(), c.text = text;
        else if (verb == "SAY") c.kind = command_kind::chat, c.room = word(), c.arg = text;
        else if (verb == "ME") c.kind = command_kind::me, c.room = word(), c.arg = text;
        else if (verb == "WHO") c.kind = command_kind::who, c.room = word();
        else if (verb == "TOPIC") c.kind = command_kind::topic, c.room = word(), c.arg = text;
        else if (verb == "AFTER") { // AFTER room id limit: what a reconnecting client missed
            c.kind = command_kind::history, c.room = word();
            query.range = chatroom::history_range::after;
            query.id = std::string(word());
            query.limit = std::stoul(std::string(word()));
            c.history = &query;
        }
        else return chatroom::detail::line_interpreter_instance().line(core, m, whole);
        core.request(m, c);
    }
};

const rooms_dialect dialect;
const rooms_interpreter interpreter;

struct core {
    asio::io_context io;

    template <class Done>
    bool run_until(Done done, std::chrono::seconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            io.restart();
            io.run_one_for(10ms);
        }
        return true;
    }
    std::shared_ptr<chatroom::detail::hub> hub;
    chatroom::test::recording_log* log = nullptr;

    explicit core(chatroom::server_options opts = {}) {
        hub = std::make_shared<chatroom::detail::hub>(io.get_executor(), std::move(opts));
        hub->start();
        hub->set_log([this](chatroom::room_event_sink& sink) {
            auto l = std::make_unique<chatroom::test::recording_log>(sink);
            log = l.get();
            return l;
        });
    }

    // A member of the several-rooms dialect (or the line protocol's), named
    // nick, in the lobby; what it was told so far is dropped.
    std::shared_ptr<fake_member> member(std::string nick, bool several_rooms = true) {
        auto m = several_rooms ? std::make_shared<fake_member>(dialect, "192.0.2.1", false, interpreter)
                               : std::make_shared<fake_member>();
        hub->attach(m);
        say(*hub, *m, "/nick " + nick + "\n");
        lines(*m);
        return m;
    }

    std::vector<std::string> lines(fake_member& m) {
        m.take(hub->soft_limit());
        return m.new_lines();
    }
};

using lines = std::vector<std::string>;

} // namespace

TEST_CASE("a member joins rooms besides the ones it is in, and hears each room's events tagged with it",
          "[core][rooms]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob"), carol = c.member("carol");
    c.lines(*alice);
    say(*c.hub, *alice, "JOIN dev\n");
    CHECK(c.lines(*alice) == lines{"* joined dev (1 member)"});
    say(*c.hub, *bob, "JOIN dev\nJOIN ops\n");
    CHECK(c.lines(*alice) == lines{"[dev] * bob joined"});
    CHECK(alice->state.seats.size() == 2); // lobby and dev
    CHECK(bob->state.seats.size() == 3);
    CHECK(bob->state.current()->name() == "ops"); // the last it joined
    c.lines(*bob);
    c.lines(*carol);
    say(*c.hub, *alice, "SAY dev hello dev\nSAY lobby hello lobby\n");
    CHECK(c.lines(*bob) == lines{"[dev] <alice> hello dev", "[lobby] <alice> hello lobby"});
    CHECK(c.lines(*carol) == lines{"[lobby] <alice> hello lobby"}); // not in dev
    // A request that names no room addresses the last joined.
    say(*c.hub, *bob, "/me waves\n");
    CHECK(c.lines(*alice).empty()); // ops: alice is not there
    say(*c.hub, *bob, "ME dev waves\n");
    CHECK(c.lines(*alice) == lines{"[dev] * bob waves"});
    // The host sees every room of a member, and the one it uses.
    for (const auto& info : c.hub->member_snapshot("dev"))
        if (info.nick == "bob") {
            CHECK(info.rooms == lines{"lobby", "dev", "ops"});
            CHECK(info.room == "ops");
        }
    // Who is per room.
    say(*c.hub, *alice, "WHO dev\n");
    CHECK(c.lines(*alice) == lines{"* in dev: alice, bob"});
    say(*c.hub, *carol, "WHO lobby\n");
    CHECK(c.lines(*carol) == lines{"* in lobby: alice, bob, carol"});
    // Each room's events were ordered by the log with their own room.
    std::vector<std::string> said;
    for (const auto& e : c.log->appended)
        if (e.kind == room_event_kind::chat) said.push_back(e.room + ":" + e.text);
    CHECK(said == lines{"dev:hello dev\n", "lobby:hello lobby\n"});
}

TEST_CASE("a member parts one room and stays in the others; it cannot speak where it is not", "[core][rooms]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob");
    say(*c.hub, *alice, "JOIN dev\n");
    say(*c.hub, *bob, "JOIN dev\n");
    c.lines(*alice);
    c.lines(*bob);
    say(*c.hub, *bob, "PART dev off to lunch\n");
    CHECK(c.lines(*alice) == lines{"[dev] * bob left (off to lunch)"});
    CHECK(c.lines(*bob) == lines{"* you left dev"}); // its own answer: its left event is not sent to it
    CHECK(bob->state.seats.size() == 1);
    CHECK(bob->state.current()->name() == "lobby");
    say(*c.hub, *bob, "SAY dev anyone?\n");
    CHECK(c.lines(*bob) == lines{"! you are not in dev"});
    say(*c.hub, *bob, "PART dev\n");
    CHECK(c.lines(*bob) == lines{"! you are not in dev"});
    CHECK(c.lines(*alice).empty());
    // Out of every room: still connected, speaks nowhere, can join again.
    say(*c.hub, *bob, "PART lobby\n");
    CHECK(c.lines(*bob) == lines{"* you left lobby"});
    CHECK(bob->state.seats.empty());
    CHECK(bob->state.attached);
    say(*c.hub, *bob, "hello?\n");
    CHECK(c.lines(*bob) == lines{"! you are not in a room"});
    say(*c.hub, *bob, "JOIN dev\n");
    CHECK(c.lines(*alice) == lines{"[lobby] * bob left", "[dev] * bob joined"});
}

TEST_CASE("joins past max_rooms_per_member or the server's max_rooms are refused with the limit", "[core][rooms]") {
    chatroom::server_options o;
    o.max_rooms_per_member = 3;
    o.max_rooms = 4;
    core c(o);
    auto alice = c.member("alice"), bob = c.member("bob");
    say(*c.hub, *alice, "JOIN a\nJOIN b\n");
    c.lines(*alice);
    say(*c.hub, *alice, "JOIN c\n");
    CHECK(c.lines(*alice) == lines{"! cannot join c: you are in 3 rooms, the most it allows"});
    CHECK(alice->state.seats.size() == 3);
    // lobby, a, b are open: one more room may open, then no more.
    say(*c.hub, *bob, "JOIN x\nJOIN y\n");
    const lines told = c.lines(*bob);
    REQUIRE(told.size() == 2);
    CHECK(told[0] == "* joined x (1 member)");
    CHECK(told[1] == "! cannot join y: the server has 4 rooms, the most it allows");
    // An open room can still be joined.
    say(*c.hub, *bob, "JOIN a\n");
    CHECK(c.lines(*bob) == lines{"* joined a (2 members)"});
    // Already in it.
    say(*c.hub, *bob, "JOIN A\n");
    CHECK(c.lines(*bob) == lines{"* you are already in a"});
    // The line protocol's /join opens no room past the server's limit either,
    // and still switches to an open one.
    auto tom = c.member("tom", false);
    say(*c.hub, *tom, "/join z\n");
    CHECK(c.lines(*tom) == lines{"! cannot join z: the server has 4 rooms, the most it allows"});
    CHECK(tom->state.current()->name() == "lobby");
    say(*c.hub, *tom, "/join x\n");
    CHECK(tom->state.current()->name() == "x");
    CHECK(tom->state.seats.size() == 1);
}

TEST_CASE("leaving the server is announced in each of the member's rooms", "[core][rooms]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob");
    say(*c.hub, *alice, "JOIN dev\nJOIN ops\n");
    say(*c.hub, *bob, "JOIN dev\nJOIN ops\n");
    c.lines(*alice);
    c.hub->depart(*bob, leave_reason::connection_lost, false);
    lines told = c.lines(*alice);
    std::sort(told.begin(), told.end());
    CHECK(told == lines{"[dev] * bob left (connection lost)", "[lobby] * bob left (connection lost)",
                        "[ops] * bob left (connection lost)"});
    CHECK(c.hub->member_snapshot("dev").size() == 1);
    CHECK(c.hub->member_snapshot("ops").size() == 1);
}

TEST_CASE("a rename reaches a member once however many rooms it shares with the one renamed", "[core][rooms]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob"), carol = c.member("carol", false);
    say(*c.hub, *alice, "JOIN dev\nJOIN ops\n");
    say(*c.hub, *bob, "JOIN dev\nJOIN ops\n");
    c.lines(*alice);
    c.lines(*bob);
    c.lines(*carol);
    say(*c.hub, *bob, "/nick robert\n");
    CHECK(c.lines(*alice).size() == 1); // shares lobby, dev and ops
    CHECK(c.lines(*bob).size() == 1);   // its own, once
    CHECK(c.lines(*carol) == lines{"* bob is now known as robert"}); // the line protocol, in the lobby
    // Every room's log has it, for history and other servers.
    std::size_t renames = 0;
    for (const auto& e : c.log->appended) renames += e.kind == room_event_kind::renamed && e.old_nick == "bob";
    CHECK(renames == 3);
    // And the next rename is news again.
    say(*c.hub, *bob, "/nick bob\n");
    CHECK(c.lines(*alice).size() == 1);
}

TEST_CASE("a shared log hears every room a member is in", "[core][rooms]") {
    core c;
    auto alice = c.member("alice");
    c.log->presences.clear();
    say(*c.hub, *alice, "JOIN dev\nJOIN ops\nPART dev\n");
    CHECK(c.log->presences == lines{"alice@lobby,dev", "alice@lobby,dev,ops", "alice@lobby,ops"});
}

TEST_CASE("the line protocol's /join still switches rooms, beside members of several", "[core][rooms]") {
    core c;
    auto alice = c.member("alice"), telnet = c.member("tom", false);
    say(*c.hub, *alice, "JOIN dev\n");
    c.lines(*alice);
    say(*c.hub, *telnet, "/join dev\n");
    CHECK(telnet->state.seats.size() == 1);
    CHECK(telnet->state.current()->name() == "dev");
    CHECK(c.lines(*alice) == lines{"[lobby] * tom left", "[dev] * tom joined"});
    say(*c.hub, *telnet, "/join dev\n");
    CHECK(c.lines(*telnet).back() == "* you are already in dev");
}

TEST_CASE("a room closed by the host sends its members to the lobby only if they are in no other room",
          "[core][rooms]") {
    core c;
    REQUIRE(c.hub->control([](auto& x) { return x.create_room("dev", {}); }));
    auto alice = c.member("alice"), bob = c.member("bob");
    say(*c.hub, *alice, "JOIN dev\nPART lobby\n");
    say(*c.hub, *bob, "JOIN dev\nJOIN ops\nPART lobby\n");
    c.lines(*alice);
    c.lines(*bob);
    REQUIRE(c.hub->control([](auto& x) { return x.close_room("dev", "done"); }));
    CHECK(alice->state.seats.size() == 1);
    CHECK(alice->state.current()->name() == "lobby");
    CHECK(bob->state.seats.size() == 1);
    CHECK(bob->state.current()->name() == "ops");
}

TEST_CASE("kicking a member in several rooms removes it from all of them", "[core][rooms]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob");
    say(*c.hub, *alice, "JOIN dev\n");
    say(*c.hub, *bob, "JOIN dev\n");
    c.lines(*alice);
    REQUIRE(c.hub->control([](auto& x) { return x.kick("bob", "spam", "the host"); }));
    lines told = c.lines(*alice);
    std::sort(told.begin(), told.end());
    REQUIRE(told.size() == 2);
    CHECK(told[0].rfind("[dev] * bob left (kicked", 0) == 0);
    CHECK(told[1].rfind("[lobby] * bob left (kicked", 0) == 0);
    CHECK(c.hub->member_snapshot("dev").size() == 1);
}

TEST_CASE("a dialect asks the core for a part of a room's history by id, and each line carries its id",
          "[core][rooms][history]") {
    chatroom::server_options o;
    o.history_lines = 10;
    core c(o);
    auto alice = c.member("alice"), bob = c.member("bob");
    say(*c.hub, *alice, "JOIN dev\n");
    for (int i = 1; i <= 5; ++i) say(*c.hub, *alice, "SAY dev line " + std::to_string(i) + "\n");
    std::vector<std::uint64_t> ids;
    for (const auto& e : c.log->appended)
        if (e.kind == room_event_kind::chat && e.room == "dev") ids.push_back(e.seq);
    REQUIRE(ids.size() == 5);
    say(*c.hub, *bob, "JOIN dev\n");
    c.lines(*bob);
    // After the second line's id, two lines: the third and the fourth.
    say(*c.hub, *bob, "AFTER dev " + std::to_string(ids[1]) + " 2\n");
    std::vector<std::string> got;
    REQUIRE(c.run_until([&] {
        for (auto& l : c.lines(*bob)) got.push_back(l);
        return got.size() >= 3;
    }));
    REQUIRE(got.size() == 3);
    CHECK(got[0].rfind("* history of dev, last 2 lines", 0) == 0);
    CHECK(got[1].find("<alice> line 3") != std::string::npos);
    CHECK(got[2].find("<alice> line 4") != std::string::npos);
    // Not in the room: refused before anything is asked.
    say(*c.hub, *bob, "AFTER ops 1 2\n");
    CHECK(c.lines(*bob) == lines{"! you are not in ops"});
}

TEST_CASE("a history answer's lines carry their message's id", "[core][history]") {
    chatroom::room_event e;
    e.kind = room_event_kind::chat;
    e.room = "dev";
    e.nick = "alice";
    e.add_line("one");
    e.add_line("two");
    e.seq = 41;
    chatroom::history_page page;
    page.events.push_back(e);
    e.log_id = "1733486400000-3";
    page.events.push_back(e);
    const chatroom::reply r = chatroom::detail::history_service::answer_of("dev", {}, page, 10);
    REQUIRE(r.past.size() == 4);
    CHECK(r.past[0].id == "41");
    CHECK(r.past[1].id == "41"); // the lines of one message share its id
    CHECK(r.past[3].id == "1733486400000-3");
}

namespace {

// Messages m1, m2, m3 of room dev, each of two lines ("mN a", "mN b"), seq N.
chatroom::history_page three_messages_of_two_lines() {
    chatroom::history_page page;
    for (int i = 1; i <= 3; ++i) {
        chatroom::room_event e;
        e.kind = room_event_kind::chat;
        e.room = "dev";
        e.nick = "alice";
        e.add_line("m" + std::to_string(i) + " a");
        e.add_line("m" + std::to_string(i) + " b");
        e.seq = static_cast<std::uint64_t>(i);
        page.events.push_back(e);
    }
    return page;
}

} // namespace

TEST_CASE("a history answer paged by id is cut at whole messages, from the end its range asks for", "[core][history]") {
    chatroom::history_page page = three_messages_of_two_lines();
    using chatroom::history_range;
    using chatroom::detail::history_service;
    auto texts = [](const chatroom::reply& r) {
        std::vector<std::string> out;
        for (const auto& l : r.past) out.push_back(l.text);
        return out;
    };
    // latest: the last lines, as /history N prints them.
    CHECK(texts(history_service::answer_of("dev", {}, page, 3, history_range::latest)) ==
          std::vector<std::string>{"m2 b", "m3 a", "m3 b"});
    // Paged by id, whole messages: three lines fit one, the newest for before,
    CHECK(texts(history_service::answer_of("dev", {}, page, 3, history_range::before)) ==
          std::vector<std::string>{"m3 a", "m3 b"});
    // the oldest for after and between (what a reconnecting client missed, in order).
    CHECK(texts(history_service::answer_of("dev", {}, page, 3, history_range::after)) ==
          std::vector<std::string>{"m1 a", "m1 b"});
    CHECK(texts(history_service::answer_of("dev", {}, page, 4, history_range::between)) ==
          std::vector<std::string>{"m1 a", "m1 b", "m2 a", "m2 b"});
    // A message longer than the page comes whole, never half.
    CHECK(texts(history_service::answer_of("dev", {}, page, 1, history_range::after)) ==
          std::vector<std::string>{"m1 a", "m1 b"});
    CHECK(history_service::answer_of("dev", {}, page, 100, history_range::latest).past.size() == 6);
}

TEST_CASE("a history answer says whether more lie beyond it, cut by the store or by the page", "[core][history]") {
    chatroom::history_page page = three_messages_of_two_lines();
    using chatroom::history_range;
    using chatroom::detail::history_service;
    // Everything the store gave fits: nothing beyond, in any direction.
    for (auto range : {history_range::latest, history_range::before, history_range::after, history_range::between})
        CHECK_FALSE(history_service::answer_of("dev", {}, page, 6, range).more);
    // Cut here: lines for latest, whole messages for the others.
    for (auto range : {history_range::latest, history_range::before, history_range::after, history_range::between})
        CHECK(history_service::answer_of("dev", {}, page, 5, range).more);
    // The store had more than it gave.
    page.more = true;
    CHECK(history_service::answer_of("dev", {}, page, 6, history_range::before).more);
    CHECK(history_service::answer_of("dev", {}, page, 6, history_range::after).more);
}
