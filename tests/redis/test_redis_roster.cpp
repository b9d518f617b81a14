// The cluster roster with several rooms per member, without sockets: the
// room lists a roster keeps in Redis (redis/detail/room_list.hpp), which are
// untrusted when read back, and the events of other servers laid over the
// heartbeat's view (redis/detail/roster_events.hpp).

#include <chatroom.hpp>
#include <chatroom/redis/detail/entry.hpp>
#include <chatroom/redis/detail/roster_events.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
using chatroom::room_event;
using chatroom::room_event_kind;
using chatroom::detail::roster_events;

namespace {

room_event event(room_event_kind kind, std::string nick, std::string room, std::string old_nick = {}) {
    room_event e;
    e.kind = kind;
    e.nick = std::move(nick);
    e.room = std::move(room);
    e.old_nick = std::move(old_nick);
    e.node = "n2";
    return e;
}

} // namespace

TEST_CASE("roster: a room list is names separated by spaces, compared whatever their case", "[redis][roster]") {
    using namespace chatroom::detail;
    CHECK(room_list_of({}).empty());
    CHECK(room_list_of({"lobby", "Dev"}) == "lobby Dev");
    CHECK(has_room("lobby Dev", "dev"));
    CHECK_FALSE(has_room("lobby Dev", "de"));
    CHECK_FALSE(has_room("", "dev"));
    CHECK(with_room("lobby", "dev") == "lobby dev");
    CHECK(with_room("lobby DEV", "dev") == "lobby DEV"); // in it already
    CHECK(with_room("", "dev") == "dev");
    CHECK(without_room("lobby dev ops", "DEV") == "lobby ops");
    CHECK(without_room("dev", "dev").empty());
    CHECK(split_room_list("a b c") == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("roster: a room list read from Redis is refused unless every name in it is valid", "[redis][roster]") {
    using chatroom::detail::valid_roster_entry;
    CHECK(valid_roster_entry("alice", ""));
    CHECK(valid_roster_entry("alice", "lobby dev"));
    CHECK_FALSE(valid_roster_entry("alice", "lobby  dev")); // an empty name between
    CHECK_FALSE(valid_roster_entry("alice", " lobby"));
    CHECK_FALSE(valid_roster_entry("alice", "lobby "));
    CHECK_FALSE(valid_roster_entry("alice", "lobby d\nev"));
    CHECK_FALSE(valid_roster_entry("al ice", "lobby"));
    std::string many;
    for (int i = 0; i < 1001; ++i) many += (many.empty() ? "r" : " r") + std::to_string(i);
    CHECK_FALSE(valid_roster_entry("alice", many)); // more rooms than any server allows
}

TEST_CASE("roster: another server's member joins and leaves rooms one by one", "[redis][roster]") {
    roster_events recent;
    roster_events::view remote;
    const auto until = roster_events::clock::now() + 10s;
    recent.saw(event(room_event_kind::joined, "bob", "lobby"), remote, until);
    recent.saw(event(room_event_kind::joined, "bob", "dev"), remote, until);
    REQUIRE(remote.count("bob"));
    CHECK(remote["bob"].rooms == "lobby dev");
    CHECK(remote["bob"].node == "n2");
    recent.saw(event(room_event_kind::left, "bob", "lobby"), remote, until);
    CHECK(remote["bob"].rooms == "dev");
    // Renamed in a room: the old nick is gone from it, the new one is there.
    recent.saw(event(room_event_kind::renamed, "robert", "dev", "bob"), remote, until);
    CHECK(remote.count("bob") == 0);
    CHECK(remote["robert"].rooms == "dev");
}

TEST_CASE("roster: a leave and a join read from two rooms' streams in either order give the same rooms",
          "[redis][roster]") {
    const auto until = roster_events::clock::now() + 10s;
    for (bool leave_first : {true, false}) {
        roster_events recent;
        roster_events::view remote;
        recent.saw(event(room_event_kind::joined, "bob", "lobby"), remote, until);
        const room_event leave = event(room_event_kind::left, "bob", "lobby");
        const room_event join = event(room_event_kind::joined, "bob", "dev");
        recent.saw(leave_first ? leave : join, remote, until);
        recent.saw(leave_first ? join : leave, remote, until);
        CHECK(remote["bob"].rooms == "dev");
        // A heartbeat view from before both (bob in the lobby) does not undo them.
        roster_events::view stale;
        stale["bob"] = chatroom::detail::remote_at{"bob", "lobby", "n2"};
        recent.apply(stale, roster_events::clock::now());
        CHECK(stale["bob"].rooms == "dev");
        // Once they have lapsed, the view is what the rosters say.
        roster_events::view later;
        later["bob"] = chatroom::detail::remote_at{"bob", "dev ops", "n2"};
        recent.apply(later, until + 1s);
        CHECK(later["bob"].rooms == "dev ops");
    }
}
