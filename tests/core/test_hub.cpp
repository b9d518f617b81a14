// The hub (core/detail/hub.hpp) driven through fake members
// (tests/support/fake_member.hpp): a member's lines go in as a session would
// hand them over, and what the hub queues for each member is read back from
// its queue. No sockets and no session: what is tested is the core's
// membership, ordering, fan-out and slow-consumer policy.
#include "../support/fake_member.hpp"
#include "../support/recording_log.hpp"

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using chatroom::reply_kind;
using chatroom::room_event_kind;
using chatroom::detail::leave_reason;
using chatroom::test::fake_member;
using chatroom::test::say;
using chatroom::test::tagged_dialect;

// One hub on an io_context that only the test runs.
struct core {
    asio::io_context io;
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

    std::size_t soft() const { return hub->soft_limit(); }

    // A member attached as a session attaches it, named nick if not empty;
    // what it was told on the way is read and dropped.
    std::shared_ptr<fake_member> join(const chatroom::renderer& dialect = chatroom::line_dialect(),
                                      std::string nick = {}) {
        auto m = std::make_shared<fake_member>(dialect);
        hub->attach(m);
        if (!nick.empty()) say(*hub, *m, "/nick " + nick + "\n");
        m->take(soft());
        m->new_lines();
        return m;
    }

    // Runs the io_context until done() or a deadline; false if it passed.
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
};

std::vector<std::string> lines_of(fake_member& m, std::size_t soft) {
    m.take(soft);
    return m.new_lines();
}

} // namespace

TEST_CASE("a new member is welcomed in its own dialect and put in the lobby", "[core][hub]") {
    core c;
    const tagged_dialect web("web");
    auto a = std::make_shared<fake_member>();
    auto b = std::make_shared<fake_member>(web);
    c.hub->attach(a);
    c.hub->attach(b);
    CHECK(a->state.attached);
    CHECK(a->state.nick != b->state.nick);
    CHECK(lines_of(*a, c.soft()) == std::vector<std::string>{"* welcome to chatroom, you are " + a->state.nick,
                                                             "* joined lobby (1 member)",
                                                             "* " + b->state.nick + " joined"});
    CHECK(lines_of(*b, c.soft()) ==
          std::vector<std::string>{"web:* welcome to chatroom, you are " + b->state.nick, "web:* joined lobby (2 members)"});
    // Output waits for one posted flush pass.
    CHECK(a->flushes == 0);
    c.io.poll();
    CHECK(a->flushes == 1);
    CHECK(b->flushes == 1);
}

TEST_CASE("a line said in a room reaches every other member in its own dialect, rendered once per dialect", "[core][hub][fanout]") {
    core c;
    const tagged_dialect web("web");
    auto alice = c.join(chatroom::line_dialect(), "alice");
    auto bob = c.join(chatroom::line_dialect(), "bob");
    auto w1 = c.join(web, "w1");
    auto w2 = c.join(web, "w2");
    lines_of(*alice, c.soft());
    lines_of(*bob, c.soft());
    lines_of(*w1, c.soft());
    const std::size_t renders = web.renders;
    CHECK(say(*c.hub, *alice, "one\r\ntwo\nthree\n"));
    // Consecutive lines of one read are one event, rendered once for both web members.
    CHECK(web.renders == renders + 1);
    CHECK(lines_of(*bob, c.soft()) == std::vector<std::string>{"<alice> one", "<alice> two", "<alice> three"});
    CHECK(lines_of(*w1, c.soft()) == std::vector<std::string>{"web:<alice> one", "web:<alice> two", "web:<alice> three"});
    CHECK(lines_of(*w2, c.soft()) == std::vector<std::string>{"web:<alice> one", "web:<alice> two", "web:<alice> three"});
    CHECK(lines_of(*alice, c.soft()).empty()); // not its own lines
}

TEST_CASE("every room event passes the room log once, and members receive them in the log's order", "[core][hub][room_log]") {
    core c;
    auto alice = c.join(chatroom::line_dialect(), "alice");
    auto bob = c.join(chatroom::line_dialect(), "bob");
    c.log->appended.clear();
    say(*c.hub, *alice, "first\n");
    say(*c.hub, *alice, "/me waves\n");
    say(*c.hub, *bob, "/nick robert\n");
    say(*c.hub, *alice, "second\nthird\n");
    c.hub->inject("lobby", "", "from the host");
    auto carol = c.join(chatroom::line_dialect(), "carol");
    c.hub->depart(*carol, leave_reason::quit, false);

    std::vector<room_event_kind> kinds;
    for (const auto& e : c.log->appended) kinds.push_back(e.kind);
    CHECK(kinds == std::vector<room_event_kind>{room_event_kind::chat, room_event_kind::action, room_event_kind::renamed,
                                                room_event_kind::chat, room_event_kind::notice, room_event_kind::joined,
                                                room_event_kind::renamed, room_event_kind::left});
    for (std::size_t i = 1; i < c.log->appended.size(); ++i)
        CHECK(c.log->appended[i].seq > c.log->appended[i - 1].seq);
    // Bob hears alice's and the host's events in that order, and his rename too.
    CHECK(lines_of(*bob, c.soft()) == std::vector<std::string>{"<alice> first", "* alice waves",
                                                               "* bob is now known as robert", "<alice> second",
                                                               "<alice> third", "* from the host", "* guest-3 joined",
                                                               "* guest-3 is now known as carol", "* carol left (quit)"});
}

TEST_CASE("a topic change is a topic event, which the line protocol shows as it always did", "[core][hub][topic]") {
    core c;
    auto alice = c.join(chatroom::line_dialect(), "alice");
    c.log->appended.clear();
    CHECK(c.hub->control([](auto& h) { return h.set_topic("lobby", "builds are green", "op"); }));
    CHECK(c.hub->control([](auto& h) { return h.set_topic("lobby", "by the host\x1b[2J", ""); }));
    REQUIRE(c.log->appended.size() == 2);
    const auto& set = c.log->appended[0];
    CHECK(set.kind == room_event_kind::topic);
    CHECK(set.room == "lobby");
    CHECK(set.nick == "op"); // who set it (empty: the host)
    CHECK(set.text == "builds are green");
    CHECK(c.log->appended[1].nick.empty());
    CHECK(c.log->appended[1].text == "by the host[2J"); // sanitized as any text
    CHECK(lines_of(*alice, c.soft()) ==
          std::vector<std::string>{"* op set the topic: builds are green", "* the topic is now: by the host[2J"});
}

TEST_CASE("the first member in a room opens it in the log and the last one out closes it", "[core][hub][room]") {
    core c;
    auto alice = c.join(chatroom::line_dialect(), "alice");
    auto bob = c.join(chatroom::line_dialect(), "bob");
    CHECK(c.log->opened == std::vector<std::string>{"lobby"});
    lines_of(*alice, c.soft());
    say(*c.hub, *alice, "/join Dev\n");
    CHECK(c.log->opened == std::vector<std::string>{"lobby", "Dev"});
    CHECK(lines_of(*alice, c.soft()) == std::vector<std::string>{"* joined Dev (1 member)"});
    CHECK(lines_of(*bob, c.soft()) == std::vector<std::string>{"* alice left"});
    say(*c.hub, *bob, "/join dev\n"); // the same room, whatever the case
    CHECK(c.log->opened == std::vector<std::string>{"lobby", "Dev"});
    CHECK(lines_of(*bob, c.soft()) == std::vector<std::string>{"* joined Dev (2 members)"});
    CHECK(c.log->closed == std::vector<std::string>{"lobby"}); // both left the lobby
    CHECK(c.hub->room_snapshot().size() == 1);

    say(*c.hub, *alice, "/join lobby\n");
    CHECK(c.log->closed == std::vector<std::string>{"lobby"});
    c.hub->depart(*bob, leave_reason::eof, false);
    CHECK(c.log->closed == std::vector<std::string>{"lobby", "Dev"});
    const auto rooms = c.hub->room_snapshot();
    REQUIRE(rooms.size() == 1);
    CHECK(rooms.front().name == "lobby");
    CHECK(c.hub->member_snapshot("dev").empty());
}

TEST_CASE("a nick is held by one member whatever its case, and freed when it leaves", "[core][hub][registry]") {
    core c;
    auto alice = c.join(chatroom::line_dialect(), "Alice");
    auto other = c.join();
    const std::string guest = other->state.nick;
    say(*c.hub, *other, "/nick aLiCe\n");
    CHECK(lines_of(*other, c.soft()) == std::vector<std::string>{"! nick taken: aLiCe"});
    CHECK(other->state.nick == guest);
    // The holder may change the case of its own nick.
    say(*c.hub, *alice, "/nick ALICE\n");
    CHECK(alice->state.nick == "ALICE");
    c.hub->depart(*alice, leave_reason::eof, false);
    say(*c.hub, *other, "/nick alice\n");
    CHECK(other->state.nick == "alice");
    CHECK(c.log->gone_nicks.end() != std::find(c.log->gone_nicks.begin(), c.log->gone_nicks.end(), "ALICE"));
}

TEST_CASE("a private message reaches its target alone, in the target's dialect", "[core][hub]") {
    core c;
    const tagged_dialect web("web");
    auto alice = c.join(chatroom::line_dialect(), "alice");
    auto bob = c.join(web, "bob");
    auto carol = c.join(chatroom::line_dialect(), "carol");
    lines_of(*alice, c.soft());
    lines_of(*bob, c.soft());
    say(*c.hub, *alice, "/msg BOB psst\n");
    CHECK(lines_of(*bob, c.soft()) == std::vector<std::string>{"web:*alice* psst"});
    CHECK(lines_of(*carol, c.soft()).empty());
    CHECK(lines_of(*alice, c.soft()).empty());
}

TEST_CASE("a member who departs leaves its room and the registry once, and the room hears why", "[core][hub]") {
    core c;
    auto alice = c.join(chatroom::line_dialect(), "alice");
    auto bob = c.join(chatroom::line_dialect(), "bob");
    lines_of(*alice, c.soft());
    c.hub->depart(*bob, leave_reason::connection_lost, false);
    CHECK(bob->closed);
    CHECK(bob->closed_for == leave_reason::connection_lost);
    CHECK_FALSE(bob->state.attached);
    // A second departure (the session's read fails too, say) tells nobody
    // again; it asks the member to close again, which a session ignores.
    c.hub->depart(*bob, leave_reason::eof, false);
    CHECK(lines_of(*alice, c.soft()) == std::vector<std::string>{"* bob left (connection lost)"});
    CHECK(c.hub->member_snapshot("lobby").size() == 1);
    // Its lines are no longer taken.
    CHECK_FALSE(say(*c.hub, *bob, "still here?\n"));
    CHECK(lines_of(*alice, c.soft()).empty());
}

TEST_CASE("a graceful departure lets the member's queued output go before it closes", "[core][hub]") {
    core c;
    auto alice = c.join(chatroom::line_dialect(), "alice");
    auto bob = c.join(chatroom::line_dialect(), "bob");
    say(*c.hub, *alice, "bye bob\n");
    c.hub->depart(*bob, leave_reason::eof, true);
    CHECK(bob->closing == leave_reason::eof);
    CHECK_FALSE(bob->closed); // the session closes once it has written
    CHECK(lines_of(*bob, c.soft()) == std::vector<std::string>{"<alice> bye bob"});
}

TEST_CASE("a joiner is replayed the room's history in its own dialect, oldest first", "[core][hub][history]") {
    chatroom::server_options o;
    o.history_lines = 2;
    core c(o);
    const tagged_dialect web("web");
    auto alice = c.join(chatroom::line_dialect(), "alice");
    say(*c.hub, *alice, "one\ntwo\n");
    say(*c.hub, *alice, "/me three\n");
    auto late = std::make_shared<fake_member>(web);
    c.hub->attach(late);
    const auto lines = lines_of(*late, c.soft());
    REQUIRE(lines.size() == 4);
    CHECK(lines[1] == "web:* joined lobby (2 members)");
    CHECK(lines[2] == "web:<alice> two");
    CHECK(lines[3] == "web:* alice three");
}

// ---- the slow-consumer policy, as the hub applies it -------------------------

namespace {

// Lines of 100 bytes, numbered, count of them in one read.
std::string burst(int from, int count) {
    std::string text;
    for (int i = from; i < from + count; ++i) {
        std::string line = "line " + std::to_string(i) + " ";
        line.resize(99, 'x');
        text += line + "\n";
    }
    return text;
}

} // namespace

TEST_CASE("a sender is held while a reader is past the soft mark, and resumes when it drains, losing nothing", "[core][hub][slow]") {
    chatroom::server_options o;
    o.max_queue_bytes = 64 * 1024; // soft mark: 16 KiB
    core c(o);
    auto alice = c.join(chatroom::line_dialect(), "alice");
    auto bob = c.join(chatroom::line_dialect(), "bob");
    lines_of(*alice, c.soft());
    const int total = 2000; // about 230 KiB: over three times the hard limit
    std::string pending = burst(0, total);
    int holds = 0;
    for (int round = 0; round < 1000 && !pending.empty(); ++round) {
        const bool go_on = say(*c.hub, *alice, pending);
        if (go_on) {
            pending.clear();
            break;
        }
        // Held, not dropped: nobody is past the hard limit.
        ++holds;
        REQUIRE(alice->state.held);
        REQUIRE_FALSE(bob->closed);
        REQUIRE(bob->output.bytes() > c.soft());
        REQUIRE(alice->resumed.empty());
        // Bob's connection takes everything; the session tells the hub.
        REQUIRE(bob->take(c.soft()));
        c.hub->drained(*bob);
        REQUIRE(alice->resumed.size() == 1); // released at once, not at the next tick
        pending = alice->resumed.front();
        alice->resumed.clear();
    }
    CHECK(pending.empty());
    CHECK(holds > 0);
    bob->take(c.soft());
    const auto lines = bob->new_lines();
    REQUIRE(lines.size() == static_cast<std::size_t>(total));
    for (int i = 0; i < total; ++i)
        CHECK(lines[static_cast<std::size_t>(i)].rfind("<alice> line " + std::to_string(i) + " ", 0) == 0);
    CHECK(c.hub->stats().slow_consumer_disconnects == 0);
}

TEST_CASE("a held sender resumes after max_sender_pause when the reader's connection takes nothing", "[core][hub][slow]") {
    chatroom::server_options o;
    o.max_queue_bytes = 64 * 1024;
    o.max_sender_pause = 50ms;
    core c(o);
    auto alice = c.join(chatroom::line_dialect(), "alice");
    auto bob = c.join(chatroom::line_dialect(), "bob");
    bob->output.blocked(chatroom::detail::clock::now()); // its socket refuses bytes from now on
    const auto start = std::chrono::steady_clock::now();
    REQUIRE_FALSE(say(*c.hub, *alice, burst(0, 300)));
    REQUIRE(alice->state.held);
    REQUIRE(c.run_until([&] { return !alice->resumed.empty(); }));
    CHECK(std::chrono::steady_clock::now() - start >= o.max_sender_pause);
    CHECK_FALSE(alice->state.held);
    CHECK_FALSE(bob->closed); // not past the hard limit, not yet at the write deadline
    // The rest of the read is handed back, and the reader, having spent its
    // budget, holds nobody any more: the rest goes through at once.
    CHECK(say(*c.hub, *alice, alice->resumed.front()));
}

TEST_CASE("a reader past the soft mark for the write deadline is dropped and its room told", "[core][hub][slow]") {
    chatroom::server_options o;
    o.max_queue_bytes = 64 * 1024;
    o.max_sender_pause = 10ms;
    o.write_deadline = 300ms;
    core c(o);
    auto alice = c.join(chatroom::line_dialect(), "alice");
    auto bob = c.join(chatroom::line_dialect(), "bob");
    lines_of(*alice, c.soft());
    bob->output.blocked(chatroom::detail::clock::now());
    const auto start = std::chrono::steady_clock::now();
    say(*c.hub, *alice, burst(0, 200)); // 20 KB: past bob's soft mark, far from the hard limit
    REQUIRE(bob->output.bytes() > c.soft());
    REQUIRE(bob->output.bytes() < o.max_queue_bytes);
    REQUIRE(c.run_until([&] { return bob->closed; }));
    CHECK(std::chrono::steady_clock::now() - start >= o.write_deadline);
    CHECK(bob->closed_for == leave_reason::too_slow);
    REQUIRE(bob->last_words);
    CHECK(bob->last_words->kind == reply_kind::dropped_too_slow);
    CHECK(lines_of(*alice, c.soft()) == std::vector<std::string>{"* bob left (too slow)"});
    CHECK(c.hub->stats().slow_consumer_disconnects == 1);
    CHECK(c.hub->member_snapshot("lobby").size() == 1);
}

TEST_CASE("a member overflowed by any hub operation is dropped at once", "[core][hub][slow]") {
    asio::io_context io; // never run: queued output is never written
    chatroom::server_options o;
    o.max_queue_bytes = 200;
    o.concurrency = chatroom::threading::single;
    auto h = std::make_shared<chatroom::detail::hub>(io.get_executor(), o);
    h->start();
    auto slow = std::make_shared<fake_member>();
    h->attach(slow); // welcome and join notice: about 70 bytes queued
    CHECK_FALSE(slow->closed);
    std::vector<std::shared_ptr<fake_member>> others;
    for (int i = 0; i < 10 && !slow->closed; ++i) {
        others.push_back(std::make_shared<fake_member>());
        h->attach(others.back()); // each join notice goes to slow
    }
    // Joins alone overflowed it: it was dropped by that attach, not later.
    CHECK(slow->closed);
    REQUIRE(slow->last_words);
    CHECK(chatroom::text_of(*slow->last_words) == "! disconnected: too slow");
    CHECK_FALSE(slow->state.attached);
    CHECK(h->stats().slow_consumer_disconnects >= 1); // (the others never flush either)
}
