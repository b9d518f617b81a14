// Membership without sockets: a room's members (core/detail/room.hpp), the
// directory of rooms, and the registry of members and nicks
// (core/detail/registry.hpp), with nicks and room names unique
// case-insensitively.
#include "../support/fake_member.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using chatroom::detail::member;
using chatroom::detail::registry;
using chatroom::detail::room;
using chatroom::detail::room_directory;
using chatroom::test::fake_member;

std::set<member*> members_of(const room& r) { return {r.members().begin(), r.members().end()}; }

} // namespace

TEST_CASE("a room knows its members and each member knows its room", "[core][room]") {
    room r("dev", 0);
    auto a = std::make_shared<fake_member>(), b = std::make_shared<fake_member>(),
         c = std::make_shared<fake_member>();
    CHECK(r.empty());
    r.add(*a);
    r.add(*b);
    r.add(*c);
    CHECK(r.size() == 3);
    CHECK(a->state.current() == &r);
    // Removing one from the middle keeps the others findable where they are.
    r.remove(*a);
    CHECK(a->state.current() == nullptr);
    CHECK(members_of(r) == std::set<member*>{b.get(), c.get()});
    for (std::size_t i = 0; i < r.members().size(); ++i) {
        REQUIRE(r.members()[i]->state.seats.size() == 1);
        CHECK(r.members()[i]->state.seats[0].slot == i);
    }
    r.remove(*c);
    r.remove(*b);
    CHECK(r.empty());
}

TEST_CASE("a member in several rooms has a seat in each and its current room is the last it joined",
          "[core][room]") {
    room dev("dev", 0), ops("ops", 0), lobby("lobby", 0);
    auto a = std::make_shared<fake_member>(), b = std::make_shared<fake_member>(),
         c = std::make_shared<fake_member>();
    dev.add(*a);
    dev.add(*b);
    ops.add(*b);
    ops.add(*a);
    lobby.add(*c);
    lobby.add(*a);
    CHECK(a->state.current() == &lobby);
    CHECK(a->state.seats.size() == 3);
    // Every seat names the member's place in that room's list, on both sides.
    auto consistent = [](const room& r) {
        for (std::size_t i = 0; i < r.members().size(); ++i) {
            bool found = false;
            for (const auto& s : r.members()[i]->state.seats)
                if (s.in == &r) found = s.slot == i;
            if (!found) return false;
        }
        return true;
    };
    CHECK(consistent(dev));
    CHECK(consistent(ops));
    CHECK(consistent(lobby));
    // Leaving the room it uses makes the last joined of the others current.
    lobby.remove(*a);
    CHECK(a->state.current() == &ops);
    CHECK(consistent(lobby));
    // Leaving another keeps the current one; the swapped-in member's seat moves.
    dev.remove(*a);
    CHECK(a->state.current() == &ops);
    CHECK(dev.members() == std::vector<member*>{b.get()});
    CHECK(consistent(dev));
    CHECK(b->state.seats.size() == 2);
    ops.remove(*a);
    CHECK(a->state.current() == nullptr);
    CHECK(a->state.seats.empty());
    CHECK(consistent(ops));
}

TEST_CASE("a member's seats keep their order inline and past the first, and across many rooms",
          "[core][room]") {
    // seat_list keeps one seat inline and moves to the heap at the second:
    // both sides of that, and back down to one and none, in join order.
    std::vector<std::unique_ptr<room>> rooms;
    for (int i = 0; i < 9; ++i) rooms.push_back(std::make_unique<room>("r" + std::to_string(i), 0));
    auto a = std::make_shared<fake_member>(), b = std::make_shared<fake_member>();
    rooms[0]->add(*b);
    for (auto& r : rooms) r->add(*a);
    REQUIRE(a->state.seats.size() == 9);
    for (std::size_t i = 0; i < 9; ++i) {
        CHECK(a->state.seats[i].in == rooms[i].get());
        CHECK(a->state.seats[i].slot == (i == 0 ? 1u : 0u));
    }
    CHECK(a->state.current() == rooms[8].get());
    // Leaving from the middle and the front keeps the rest in order.
    rooms[4]->remove(*a);
    rooms[0]->remove(*a);
    std::vector<std::string> names;
    for (const auto& s : a->state.seats) names.push_back(s.in->name());
    CHECK(names == std::vector<std::string>{"r1", "r2", "r3", "r5", "r6", "r7", "r8"});
    CHECK(a->state.current() == rooms[8].get());
    for (std::size_t i = 8; i >= 2; --i)
        if (i != 4) rooms[i]->remove(*a);
    REQUIRE(a->state.seats.size() == 1);
    CHECK(a->state.current() == rooms[1].get());
    rooms[1]->remove(*a);
    CHECK(a->state.seats.empty());
    CHECK(a->state.current() == nullptr);
    // A member that comes back starts over with one seat.
    rooms[3]->add(*a);
    CHECK(a->state.current() == rooms[3].get());
    CHECK(b->state.seats.size() == 1);
    CHECK(b->state.current() == rooms[0].get());
    rooms[3]->remove(*a);
}

TEST_CASE("rooms are found by name whatever its case and keep the case they were made with", "[core][room]") {
    room_directory rooms(0);
    bool created = false;
    room& dev = rooms.find_or_create("Dev", created);
    CHECK(created);
    CHECK(&rooms.find_or_create("DEV", created) == &dev);
    CHECK_FALSE(created);
    CHECK(rooms.find("dev") == &dev);
    CHECK(rooms.find("dEv") == &dev);
    CHECK(dev.name() == "Dev");
    CHECK(rooms.find("ops") == nullptr);
}

TEST_CASE("a room erased from the directory is gone, even as the last one found", "[core][room]") {
    room_directory rooms(0);
    bool created = false;
    rooms.find_or_create("dev", created);
    rooms.find_or_create("ops", created);
    REQUIRE(rooms.find("dev") != nullptr); // now the directory's last found
    rooms.erase(*rooms.find("dev"));
    CHECK(rooms.find("dev") == nullptr);
    CHECK(rooms.find("DEV") == nullptr);
    REQUIRE(rooms.sorted().size() == 1);
    CHECK(rooms.sorted().front()->name() == "ops");
    // A new room of that name is a new room.
    room& again = rooms.find_or_create("dev", created);
    CHECK(created);
    CHECK(again.empty());
}

TEST_CASE("the directory lists rooms by name", "[core][room]") {
    room_directory rooms(0);
    bool created = false;
    for (const char* name : {"zeta", "alpha", "Mid", "beta"}) rooms.find_or_create(name, created);
    std::vector<std::string> names;
    for (const room* r : rooms.sorted()) names.push_back(r->name());
    CHECK(names == std::vector<std::string>{"Mid", "alpha", "beta", "zeta"});
}

TEST_CASE("rooms of a directory keep as much history as the directory was made with", "[core][room][history]") {
    room_directory rooms(2);
    bool created = false;
    room& r = rooms.find_or_create("dev", created);
    for (const char* line : {"a", "b", "c"}) {
        chatroom::room_event e;
        e.room = "dev";
        e.nick = "bob";
        e.add_line(line);
        r.remember(e);
    }
    REQUIRE(r.history().size() == 2);
    CHECK(r.history().back().text == "c\n");
}

TEST_CASE("new members get distinct guest nicks and are attached", "[core][registry]") {
    registry reg;
    std::vector<std::shared_ptr<fake_member>> all;
    std::set<std::string> nicks;
    for (int i = 0; i < 5; ++i) {
        all.push_back(std::make_shared<fake_member>());
        reg.add(all.back());
        CHECK(all.back()->state.attached);
        CHECK(all.back()->state.nick.rfind("guest-", 0) == 0);
        nicks.insert(all.back()->state.nick);
        CHECK(reg.find_nick(all.back()->state.nick) == all.back().get());
    }
    CHECK(nicks.size() == 5);
    CHECK(reg.members().size() == 5);
}

TEST_CASE("nicks are found whatever their case", "[core][registry]") {
    registry reg;
    auto a = std::make_shared<fake_member>();
    reg.add(a);
    reg.rename(*a, "Alice");
    CHECK(a->state.nick == "Alice");
    CHECK(reg.find_nick("alice") == a.get());
    CHECK(reg.find_nick("ALICE") == a.get());
    CHECK(reg.find_nick("Alice") == a.get());
    CHECK(reg.find_nick("bob") == nullptr);
}

TEST_CASE("a renamed member's old nick is free again", "[core][registry]") {
    registry reg;
    auto a = std::make_shared<fake_member>();
    reg.add(a);
    const std::string guest = a->state.nick;
    reg.rename(*a, "alice");
    CHECK(reg.find_nick(guest) == nullptr);
    reg.rename(*a, "ALICE"); // its own nick in another case
    CHECK(reg.find_nick("alice") == a.get());
    CHECK(a->state.nick == "ALICE");
}

TEST_CASE("a guest nick a member took by hand is skipped for the next guest", "[core][registry]") {
    registry reg;
    auto a = std::make_shared<fake_member>();
    reg.add(a); // guest-1
    reg.rename(*a, "guest-2");
    auto b = std::make_shared<fake_member>();
    reg.add(b);
    CHECK(b->state.nick != "guest-2");
    CHECK(reg.find_nick("guest-2") == a.get());
    CHECK(reg.find_nick(b->state.nick) == b.get());
}

TEST_CASE("guest nicks carry the prefix a shared room log asks for", "[core][registry]") {
    registry reg;
    reg.set_guest_prefix("n7-guest-");
    auto a = std::make_shared<fake_member>();
    reg.add(a);
    CHECK(a->state.nick.rfind("n7-guest-", 0) == 0);
}

TEST_CASE("removing a member frees its nick and hands back the registry's reference once", "[core][registry]") {
    registry reg;
    auto a = std::make_shared<fake_member>(), b = std::make_shared<fake_member>(),
         c = std::make_shared<fake_member>();
    for (auto& m : {a, b, c}) reg.add(m);
    reg.rename(*a, "alice");
    std::shared_ptr<member> ref = reg.remove(*a);
    CHECK(ref.get() == a.get());
    CHECK_FALSE(a->state.attached);
    CHECK(reg.find_nick("alice") == nullptr);
    CHECK(reg.members().size() == 2);
    // The members left are still removable where they now sit.
    for (std::size_t i = 0; i < reg.members().size(); ++i) CHECK(reg.members()[i]->state.registry_slot == i);
    CHECK(reg.remove(*a) == nullptr); // a second removal finds nothing
    CHECK(reg.remove(*c).get() == c.get());
    CHECK(reg.members().size() == 1);
    CHECK(reg.members().front() == b);
}

TEST_CASE("taking every member empties the registry and its nicks", "[core][registry]") {
    registry reg;
    auto a = std::make_shared<fake_member>(), b = std::make_shared<fake_member>();
    reg.add(a);
    reg.add(b);
    reg.rename(*a, "alice");
    auto all = reg.take_all();
    CHECK(all.size() == 2);
    CHECK(reg.empty());
    CHECK(reg.find_nick("alice") == nullptr);
}
