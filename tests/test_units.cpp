// The small pieces: names, command parsing, shared messages, the send_ring.
#include <chatroom.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>

using namespace chatroom;

TEST_CASE("names are 1 to 32 of A-Z a-z 0-9 underscore dot dash", "[protocol]") {
    CHECK(protocol::is_valid_name("a"));
    CHECK(protocol::is_valid_name("Guest_1.x-Y"));
    CHECK(protocol::is_valid_name(std::string(32, 'z')));
    CHECK_FALSE(protocol::is_valid_name(""));
    CHECK_FALSE(protocol::is_valid_name(std::string(33, 'z')));
    CHECK_FALSE(protocol::is_valid_name("sp ace"));
    CHECK_FALSE(protocol::is_valid_name("caf\xC3\xA9"));
    CHECK_FALSE(protocol::is_valid_name("#room"));
    CHECK(protocol::fold_case("MiXeD-1") == "mixed-1");
}

TEST_CASE("commands parse into kind and arguments", "[protocol]") {
    using protocol::command_kind;
    auto c = protocol::parse("hello");
    CHECK(c.kind == command_kind::chat);
    CHECK(c.arg == "hello");
    c = protocol::parse("//not a command");
    CHECK(c.kind == command_kind::chat);
    CHECK(c.arg == "/not a command");
    c = protocol::parse("/NICK  bob ");
    CHECK(c.kind == command_kind::nick);
    CHECK(c.arg == "bob");
    c = protocol::parse("/join #dev"); // the line protocol's members are in one room: /join switches
    CHECK(c.kind == command_kind::switch_room);
    CHECK(c.room.empty());
    CHECK(c.arg == "dev");
    CHECK(protocol::parse("/join # dev").arg == "dev");
    c = protocol::parse("/msg  bob  hi  there ");
    CHECK(c.kind == command_kind::msg);
    CHECK(c.arg == "bob");
    CHECK(c.text == "hi  there");
    c = protocol::parse("/quit");
    CHECK(c.kind == command_kind::quit);
    CHECK(c.arg.empty());
    c = protocol::parse("/me  dances");
    CHECK(c.kind == command_kind::me);
    CHECK(c.arg == "dances");
    CHECK(protocol::parse("/who").kind == command_kind::who);
    CHECK(protocol::parse("/rooms").kind == command_kind::rooms);
    CHECK(protocol::parse("/help").kind == command_kind::help);
    c = protocol::parse("/nope x");
    CHECK(c.kind == command_kind::unknown);
    CHECK(c.name == "nope");
    CHECK(protocol::parse("/").kind == command_kind::unknown);
}

TEST_CASE("a message is one shared immutable block", "[message]") {
    shared_bytes a = shared_bytes::copy_of("line\r\n");
    shared_bytes b = a;
    CHECK(a.data() == b.data());
    CHECK(b.view() == "line\r\n");
    shared_bytes c = std::move(a);
    CHECK_FALSE(a);
    CHECK(c.size() == 6);
    CHECK(shared_bytes().empty());
}

TEST_CASE("the send_ring gathers and consumes partial writes and gives memory back", "[send_ring]") {
    detail::send_ring box;
    CHECK(box.empty());
    box.push(shared_bytes::copy_of("abc"));
    box.push(shared_bytes::copy_of("defg"));
    CHECK(box.bytes() == 7);
    detail::send_ring::gather g;
    box.fill(g);
    REQUIRE(g.count == 2);
    box.consume(2);
    CHECK(box.mid_message());
    CHECK(box.bytes() == 5);
    box.fill(g);
    CHECK(std::string(static_cast<const char*>(g.buffers[0].data()), g.buffers[0].size()) == "c");
    box.consume(5);
    CHECK(box.empty());
    CHECK_FALSE(box.mid_message());

    for (int i = 0; i < 1000; ++i) box.push(shared_bytes::copy_of("x"));
    box.fill(g);
    CHECK(g.count == detail::send_ring::max_gather);
    box.consume(1000);
    CHECK(box.empty());
    CHECK(box.bytes() == 0);
}
