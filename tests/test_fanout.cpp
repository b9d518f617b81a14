// The slow-consumer policy of the delivery core (detail/fanout.hpp), without
// sockets: members are fakes whose connection blocks or not as a test says,
// so the timing that decides who holds a sender is the test's own.
#include <chatroom.hpp>

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using chatroom::detail::clock;

// A member with no connection: it records what the core asks of it.
class fake_member final : public chatroom::detail::member {
public:
    fake_member() : member(false, renderer_, chatroom::detail::line_interpreter_instance(), "192.0.2.1") {}
    void flush() override {}
    void close_gracefully(chatroom::detail::leave_reason) override {}
    void close_now(std::optional<chatroom::reply>, chatroom::detail::leave_reason) override { closed_ = true; }
    void resume_reading(std::string) override {}
    bool is_closed() override { return closed_; }

    // What a session does when its socket takes count bytes.
    bool drain(std::size_t count, std::size_t soft) { return output.consume(count, soft); }

private:
    static inline const chatroom::line_renderer renderer_{};
    bool closed_ = false;
};

struct core {
    chatroom::server_options opts;
    asio::io_context io;
    chatroom::detail::optional_mutex mutex{false};
    std::unique_ptr<chatroom::detail::fanout> out;

    core() {
        opts.max_queue_bytes = 64 * 1024;
        opts.max_sender_pause = 100ms;
        opts.write_deadline = 10s;
        out = std::make_unique<chatroom::detail::fanout>(opts, mutex, io.get_executor());
    }
};

chatroom::message piece(std::size_t bytes) { return chatroom::message::copy_of(std::string(bytes, 'x')); }

} // namespace

TEST_CASE("a member past the soft mark asks for its sender to be held", "[fanout][slow]") {
    core c;
    auto reader = std::make_shared<fake_member>();
    c.out->push(*reader, piece(c.opts.soft_limit() - 10));
    CHECK_FALSE(c.out->take_hold_request());
    c.out->push(*reader, piece(100));
    CHECK(c.out->take_hold_request());
    CHECK(c.out->under_pressure());
    // Back under the mark: relieved, nobody held.
    CHECK(reader->drain(200, c.opts.soft_limit()));
    c.out->relieved(*reader);
    CHECK_FALSE(c.out->under_pressure());
    CHECK_FALSE(c.out->holding(clock::now()));
}

TEST_CASE("time the server spends elsewhere does not spend a reader's hold budget", "[fanout][slow]") {
    // The server is busy (here: asleep) for longer than max_sender_pause while
    // the reader's connection takes every byte it is given: the reader keeps
    // up, so it may still hold the sender when the next piece passes the mark.
    core c;
    auto reader = std::make_shared<fake_member>();
    c.out->push(*reader, piece(c.opts.soft_limit() + 1));
    REQUIRE(c.out->take_hold_request());
    std::this_thread::sleep_for(c.opts.max_sender_pause + 50ms);
    c.out->push(*reader, piece(100));
    CHECK(c.out->take_hold_request());
    CHECK(c.out->holding(clock::now()));
    // And after it drains, its budget is intact for the next burst.
    CHECK(reader->drain(c.opts.soft_limit() + 101, c.opts.soft_limit()));
    c.out->relieved(*reader);
    c.out->push(*reader, piece(c.opts.soft_limit() + 1));
    CHECK(c.out->take_hold_request());
}

TEST_CASE("a stalled member spends its own budget once and no one else's", "[fanout][slow]") {
    core c;
    auto reader = std::make_shared<fake_member>();
    std::vector<std::shared_ptr<fake_member>> stalled;
    for (int i = 0; i < 50; ++i) stalled.push_back(std::make_shared<fake_member>());
    // The stalled members' connections refuse bytes from the start.
    const auto start = clock::now();
    for (auto& m : stalled) {
        m->output.blocked(start);
        c.out->push(*m, piece(c.opts.soft_limit() + 1));
    }
    CHECK(c.out->take_hold_request());
    CHECK(c.out->holding(clock::now()));
    // Once max_sender_pause has passed with their sockets still blocked,
    // they hold nobody; the reader, past the mark now, still does.
    std::this_thread::sleep_for(c.opts.max_sender_pause + 20ms);
    CHECK_FALSE(c.out->holding(clock::now()));
    c.out->push(*reader, piece(c.opts.soft_limit() + 1));
    CHECK(c.out->take_hold_request());
    CHECK(c.out->holding(clock::now()));
    // A reader whose own socket blocks as long is charged the same way.
    reader->output.blocked(clock::now());
    std::this_thread::sleep_for(c.opts.max_sender_pause + 20ms);
    CHECK_FALSE(c.out->holding(clock::now()));
}

TEST_CASE("a push past the hard limit makes the member a casualty at once", "[fanout][slow]") {
    core c;
    auto m = std::make_shared<fake_member>();
    c.out->push(*m, piece(c.opts.max_queue_bytes - 1));
    CHECK_FALSE(c.out->has_casualties());
    c.out->push(*m, piece(2));
    REQUIRE(c.out->has_casualties());
    CHECK(c.out->take_casualties().front() == m);
    c.out->push(*m, piece(1)); // already slow: nothing more is queued
    CHECK_FALSE(c.out->has_casualties());
}
