// The 2.x names that 3.0 renamed still compile, one release, as deprecated
// aliases of the new ones (docs/migrating-to-3.0.md): a 2.x host program
// that handles chatroom::event or builds a chatroom::message keeps building,
// and is warned.
#include <chatroom.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <type_traits>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

static_assert(std::is_same_v<chatroom::event, chatroom::server_event>);
static_assert(std::is_same_v<chatroom::event_kind, chatroom::server_event_kind>);
static_assert(std::is_same_v<chatroom::message, chatroom::shared_bytes>);

TEST_CASE("2.x names: a handler written for chatroom::event takes the server's events", "[names]") {
    std::string seen;
    chatroom::event_handler handler = [&](const chatroom::event& e) {
        if (e.kind == chatroom::event_kind::message) seen = e.nick + ": " + e.text;
    };
    chatroom::server_event e{};
    e.kind = chatroom::server_event_kind::message;
    e.nick = "ann";
    e.text = "hi";
    handler(e);
    CHECK(seen == "ann: hi");

    const chatroom::message block = chatroom::message::copy_of("line\r\n");
    CHECK(block.view() == "line\r\n");
}

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
