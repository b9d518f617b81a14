// The in-process room log (core/room_log.hpp) and a room's history ring
// (core/detail/room.hpp): the order events are delivered in, the sequence
// numbers they get, and what a room keeps for members who join later.
#include <chatroom.hpp>

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using chatroom::room_event;
using chatroom::room_event_kind;

// A sink that records what the log delivers, in order.
class recording_sink final : public chatroom::room_event_sink {
public:
    void deliver(const room_event& e) override { delivered.push_back(e); }
    void deliver_ordered(const std::vector<room_event>& events) override {
        delivered.insert(delivered.end(), events.begin(), events.end());
    }
    void replay(const std::string&, const std::vector<room_event>&) override {}
    void link_changed(chatroom::backplane_state, std::string) override {}
    void missed(const std::string&) override {}
    void report(std::string) override {}
    asio::any_io_executor executor() const override { return io.get_executor(); }

    std::vector<room_event> delivered;
    mutable asio::io_context io;
};

room_event chat(std::string room, std::string nick, std::initializer_list<const char*> lines) {
    room_event e;
    e.kind = room_event_kind::chat;
    e.room = std::move(room);
    e.nick = std::move(nick);
    for (const char* l : lines) e.add_line(l);
    return e;
}

room_event of_kind(room_event_kind kind, std::string room, std::string nick) {
    room_event e;
    e.kind = kind;
    e.room = std::move(room);
    e.nick = std::move(nick);
    return e;
}

std::vector<std::string> texts(const std::deque<room_event>& history) {
    std::vector<std::string> out;
    for (const room_event& e : history) out.push_back(e.nick + ": " + e.text);
    return out;
}

} // namespace

TEST_CASE("the local room log delivers each event once, at once, in the order appended", "[core][room_log]") {
    recording_sink sink;
    chatroom::local_room_log log(sink);
    for (int i = 0; i < 5; ++i) {
        room_event e = chat("lobby", "alice", {});
        e.add_line("line " + std::to_string(i));
        log.append(e);
        // Delivered from inside append, before it returns.
        REQUIRE(sink.delivered.size() == static_cast<std::size_t>(i) + 1);
    }
    for (int i = 0; i < 5; ++i) CHECK(sink.delivered[static_cast<std::size_t>(i)].text == "line " + std::to_string(i) + "\n");
}

TEST_CASE("the local room log numbers events upward within every room, the appended event included", "[core][room_log]") {
    recording_sink sink;
    chatroom::local_room_log log(sink);
    const char* rooms[] = {"lobby", "dev", "lobby", "ops", "dev", "dev", "lobby"};
    std::vector<std::uint64_t> given;
    for (const char* r : rooms) {
        room_event e = chat(r, "bob", {"hi"});
        log.append(e);
        given.push_back(e.seq); // the caller's event carries its number
    }
    REQUIRE(sink.delivered.size() == given.size());
    std::map<std::string, std::uint64_t> last;
    for (std::size_t i = 0; i < given.size(); ++i) {
        const room_event& e = sink.delivered[i];
        CHECK(e.seq == given[i]);
        CHECK(e.seq > 0);
        CHECK(e.seq > last[e.room]); // strictly increasing per room
        last[e.room] = e.seq;
    }
    // One counter for all rooms: numbers are never reused, across rooms either.
    std::set<std::uint64_t> unique(given.begin(), given.end());
    CHECK(unique.size() == given.size());
}

TEST_CASE("the local room log serves one server: it is not shared and claims no nicks", "[core][room_log]") {
    recording_sink sink;
    chatroom::local_room_log log(sink);
    CHECK_FALSE(log.shared());
    CHECK_FALSE(log.claims_nicks());
    CHECK(log.accepting());
    CHECK_FALSE(log.find_remote("anyone"));
    bool won = false;
    log.claim_nick("alice", [&](bool w) { won = w; });
    CHECK(won);
    CHECK(log.guest_prefix() == "guest-");
}

TEST_CASE("a room keeps its last history_lines lines, oldest first, and forgets older ones", "[core][room][history]") {
    chatroom::detail::room r("lobby", 3);
    for (int i = 1; i <= 5; ++i) {
        room_event e = chat("lobby", "alice", {});
        e.add_line("line " + std::to_string(i));
        r.remember(e);
        CHECK(r.history().size() == static_cast<std::size_t>(std::min(i, 3)));
    }
    CHECK(texts(r.history()) == std::vector<std::string>{"alice: line 3\n", "alice: line 4\n", "alice: line 5\n"});
}

TEST_CASE("a batch of chat lines is kept as one history entry per line, within the bound", "[core][room][history]") {
    chatroom::detail::room r("lobby", 3);
    r.remember(chat("lobby", "alice", {"a"}));
    r.remember(chat("lobby", "bob", {"b1", "b2", "b3"}));
    REQUIRE(r.history().size() == 3);
    CHECK(texts(r.history()) == std::vector<std::string>{"bob: b1\n", "bob: b2\n", "bob: b3\n"});
    for (const room_event& e : r.history()) {
        CHECK(e.line_count == 1);
        CHECK(e.line_ends.size() == 1); // renderers can walk it without searching
    }
}

TEST_CASE("a room's history keeps chat and actions, not joins, leaves, renames or notices", "[core][room][history]") {
    chatroom::detail::room r("lobby", 10);
    r.remember(of_kind(room_event_kind::joined, "lobby", "alice"));
    r.remember(chat("lobby", "alice", {"hello"}));
    room_event act = of_kind(room_event_kind::action, "lobby", "alice");
    act.text = "waves";
    r.remember(act);
    r.remember(of_kind(room_event_kind::left, "lobby", "alice"));
    r.remember(of_kind(room_event_kind::renamed, "lobby", "bob"));
    r.remember(of_kind(room_event_kind::notice, "lobby", ""));
    REQUIRE(r.history().size() == 2);
    CHECK(r.history()[0].kind == room_event_kind::chat);
    CHECK(r.history()[1].kind == room_event_kind::action);
}

TEST_CASE("a room with history_lines 0 keeps no history", "[core][room][history]") {
    chatroom::detail::room r("lobby", 0);
    r.remember(chat("lobby", "alice", {"a", "b"}));
    r.remember(chat("lobby", "alice", {"c"}));
    CHECK(r.history().empty());
}
