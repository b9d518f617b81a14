// Delivery (core/detail/fanout.hpp) without sockets: an event rendered once
// per dialect and shared by that dialect's members, the flush pass, and the
// slow-consumer policy (docs/reliability.md "Slow consumers"). Members are
// fakes (tests/support/fake_member.hpp) whose connection takes bytes or
// blocks as a test says, so the timing that decides who holds a sender is
// the test's own.
#include "../support/fake_member.hpp"

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using chatroom::detail::clock;

using chatroom::test::fake_member;

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

chatroom::shared_bytes piece(std::size_t bytes) { return chatroom::shared_bytes::copy_of(std::string(bytes, 'x')); }

chatroom::room_event said(const fake_member& by, std::string text) {
    chatroom::room_event e;
    e.kind = chatroom::room_event_kind::chat;
    e.room = "lobby";
    e.nick = "alice";
    e.origin = by.id();
    e.add_line(text);
    return e;
}

// The first block queued for m, as the address of its bytes.
const void* first_block(fake_member& m) {
    chatroom::detail::send_ring::gather g;
    m.output.fill(g);
    return g.count ? g.buffers[0].data() : nullptr;
}

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
    CHECK(reader->take(c.opts.soft_limit(), 200));
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
    CHECK(reader->take(c.opts.soft_limit(), c.opts.soft_limit() + 101));
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

TEST_CASE("an event is rendered once per dialect and each member gets its dialect's bytes", "[core][fanout]") {
    core c;
    const chatroom::test::tagged_dialect web("web"), irc("irc");
    auto speaker = std::make_shared<fake_member>();
    std::vector<std::shared_ptr<fake_member>> line_members, web_members;
    auto irc_member = std::make_shared<fake_member>(irc);
    chatroom::detail::room r("lobby", 0);
    r.add(*speaker);
    for (int i = 0; i < 3; ++i) {
        line_members.push_back(std::make_shared<fake_member>());
        r.add(*line_members.back());
        web_members.push_back(std::make_shared<fake_member>(web));
        r.add(*web_members.back());
    }
    r.add(*irc_member);

    CHECK(c.out->deliver(r, said(*speaker, "hi")) == 7);
    CHECK(web.renders == 1);
    CHECK(irc.renders == 1);
    for (auto& m : line_members) {
        m->take(c.opts.soft_limit());
        CHECK(m->received == "<alice> hi\r\n");
    }
    for (auto& m : web_members) {
        m->take(c.opts.soft_limit());
        CHECK(m->received == "web:<alice> hi\n");
    }
    irc_member->take(c.opts.soft_limit());
    CHECK(irc_member->received == "irc:<alice> hi\n");
}

TEST_CASE("members of one dialect are queued the same rendered block, not copies", "[core][fanout]") {
    core c;
    const chatroom::test::tagged_dialect web("web");
    auto speaker = std::make_shared<fake_member>();
    auto a = std::make_shared<fake_member>(), b = std::make_shared<fake_member>();
    auto x = std::make_shared<fake_member>(web), y = std::make_shared<fake_member>(web);
    chatroom::detail::room r("lobby", 0);
    for (auto* m : {speaker.get(), a.get(), x.get(), b.get(), y.get()}) r.add(*m);
    c.out->deliver(r, said(*speaker, "shared"));
    REQUIRE(first_block(*a) != nullptr);
    CHECK(first_block(*a) == first_block(*b));
    CHECK(first_block(*x) == first_block(*y));
    CHECK(first_block(*a) != first_block(*x));
}

TEST_CASE("the member an event came from is not sent it", "[core][fanout]") {
    core c;
    auto speaker = std::make_shared<fake_member>(), other = std::make_shared<fake_member>();
    chatroom::detail::room r("lobby", 0);
    r.add(*speaker);
    r.add(*other);
    CHECK(c.out->deliver(r, said(*speaker, "hi")) == 1);
    CHECK(speaker->output.empty());
    CHECK_FALSE(other->output.empty());
    // An event from no local member (the host, another server) reaches everyone.
    chatroom::room_event notice;
    notice.kind = chatroom::room_event_kind::notice;
    notice.room = "lobby";
    notice.text = "from the host";
    CHECK(c.out->deliver(r, notice) == 2);
    speaker->take(c.opts.soft_limit());
    CHECK(speaker->lines() == std::vector<std::string>{"* from the host"});
}

TEST_CASE("a room with more dialects than fan-out keeps slots for still gives each member its own", "[core][fanout]") {
    core c;
    std::vector<std::unique_ptr<chatroom::test::tagged_dialect>> dialects;
    std::vector<std::shared_ptr<fake_member>> members;
    chatroom::detail::room r("lobby", 0);
    auto speaker = std::make_shared<fake_member>();
    r.add(*speaker);
    for (int i = 0; i < 10; ++i) {
        dialects.push_back(std::make_unique<chatroom::test::tagged_dialect>("d" + std::to_string(i)));
        for (int k = 0; k < 2; ++k) {
            members.push_back(std::make_shared<fake_member>(*dialects.back()));
            r.add(*members.back());
        }
    }
    CHECK(c.out->deliver(r, said(*speaker, "hi")) == members.size());
    for (std::size_t i = 0; i < members.size(); ++i) {
        members[i]->take(c.opts.soft_limit());
        CHECK(members[i]->received == "d" + std::to_string(i / 2) + ":<alice> hi\n");
    }
    // The first eight dialects (IRC alone has eight ways to word a chat
    // line) are rendered once; the rest once per member at most.
    for (std::size_t d = 0; d < 8; ++d) CHECK(dialects[d]->renders == 1);
    for (std::size_t d = 4; d < dialects.size(); ++d) CHECK(dialects[d]->renders <= 2);
}

TEST_CASE("deliveries queued before a flush pass leave in one flush per member", "[core][fanout]") {
    core c;
    auto owner = std::make_shared<int>(0); // what keeps the fan-out's posted pass alive
    c.out->set_owner(owner);
    auto speaker = std::make_shared<fake_member>(), a = std::make_shared<fake_member>(),
         b = std::make_shared<fake_member>();
    chatroom::detail::room r("lobby", 0);
    for (auto* m : {speaker.get(), a.get(), b.get()}) r.add(*m);
    for (int i = 0; i < 5; ++i) c.out->deliver(r, said(*speaker, "line " + std::to_string(i)));
    CHECK(a->flushes == 0); // nothing is written from inside a delivery
    c.io.poll();
    CHECK(a->flushes == 1);
    CHECK(b->flushes == 1);
    CHECK(speaker->flushes == 0);
    a->take(c.opts.soft_limit());
    CHECK(a->lines() ==
          std::vector<std::string>{"<alice> line 0", "<alice> line 1", "<alice> line 2", "<alice> line 3", "<alice> line 4"});
    // The next delivery schedules the next pass.
    c.out->deliver(r, said(*speaker, "again"));
    c.io.restart();
    c.io.poll();
    CHECK(a->flushes == 2);
}

TEST_CASE("a posted flush pass keeps its owner alive until it runs, and none runs once the owner is gone", "[core][fanout]") {
    core c;
    auto owner = std::make_shared<int>(0);
    std::weak_ptr<int> watch = owner;
    c.out->set_owner(owner);
    auto m = std::make_shared<fake_member>();
    c.out->push(*m, piece(10));
    owner.reset(); // the hub let go while a pass was pending
    CHECK_FALSE(watch.expired());
    c.io.poll();
    CHECK(m->flushes == 1);
    CHECK(watch.expired());
    // With the owner gone, queued output schedules no pass that could run
    // into a destroyed hub.
    c.out->push(*m, piece(10));
    c.io.restart();
    c.io.poll();
    CHECK(m->flushes == 1);
}

TEST_CASE("a member still past the soft mark at the write deadline becomes a casualty", "[core][fanout][slow]") {
    core c;
    auto stuck = std::make_shared<fake_member>();
    c.out->push(*stuck, piece(c.opts.soft_limit() + 1));
    REQUIRE(c.out->under_pressure());
    const auto since = stuck->state.pressured_since;
    c.out->expire_pressure(since + c.opts.write_deadline - 1ms);
    CHECK_FALSE(c.out->has_casualties());
    CHECK(c.out->under_pressure());
    c.out->expire_pressure(since + c.opts.write_deadline);
    REQUIRE(c.out->has_casualties());
    CHECK(c.out->take_casualties().front() == stuck);
    CHECK_FALSE(c.out->under_pressure());
}

TEST_CASE("a member under pressure that closed meanwhile is forgotten, not made a casualty", "[core][fanout][slow]") {
    core c;
    auto gone = std::make_shared<fake_member>();
    c.out->push(*gone, piece(c.opts.soft_limit() + 1));
    REQUIRE(c.out->under_pressure());
    gone->closed = true;
    c.out->expire_pressure(clock::now());
    CHECK_FALSE(c.out->under_pressure());
    CHECK_FALSE(c.out->has_casualties());
}

TEST_CASE("a member whose queue went back under the soft mark is no longer under pressure", "[core][fanout][slow]") {
    core c;
    auto reader = std::make_shared<fake_member>();
    c.out->push(*reader, piece(c.opts.soft_limit() + 1));
    REQUIRE(c.out->under_pressure());
    CHECK(reader->take(c.opts.soft_limit()));
    c.out->relieved(*reader);
    CHECK_FALSE(c.out->under_pressure());
    // Nothing left to expire: the write deadline passing drops nobody.
    c.out->expire_pressure(clock::now() + c.opts.write_deadline);
    CHECK_FALSE(c.out->has_casualties());
}

namespace {
// A renderer per member, as a dialect that words some events per member
// keeps (IRC): chat is rendered by the renderer it shares, renames by itself.
class per_member_dialect final : public chatroom::renderer {
public:
    explicit per_member_dialect(const chatroom::test::tagged_dialect& shared) : shared_(shared) {}
    const chatroom::renderer& shared_for(const chatroom::room_event& e) const noexcept override {
        if (e.kind == chatroom::room_event_kind::renamed) return *this;
        return shared_;
    }
    chatroom::shared_bytes render(const chatroom::room_event& e) const override {
        ++renders;
        return chatroom::renderer::render(e);
    }
    std::string wording(const chatroom::reply& r) const override { return shared_.wording(r); }
    std::size_t framed_size(std::size_t n) const noexcept override { return shared_.framed_size(n); }
    char* frame(char* out, std::string_view a, std::string_view b) const noexcept override {
        return shared_.frame(out, a, b);
    }
    mutable std::size_t renders = 0;

private:
    const chatroom::test::tagged_dialect& shared_;
};
} // namespace

TEST_CASE("members whose renderers name one shared renderer for an event get it rendered once", "[core][fanout]") {
    core c;
    const chatroom::test::tagged_dialect shared("irc");
    auto speaker = std::make_shared<fake_member>();
    std::vector<std::unique_ptr<per_member_dialect>> own;
    std::vector<std::shared_ptr<fake_member>> members;
    chatroom::detail::room r("lobby", 0);
    r.add(*speaker);
    for (int i = 0; i < 6; ++i) { // more than fan-out's slots, were each its own dialect
        own.push_back(std::make_unique<per_member_dialect>(shared));
        members.push_back(std::make_shared<fake_member>(*own.back()));
        r.add(*members.back());
    }
    CHECK(c.out->deliver(r, said(*speaker, "hi")) == 6);
    CHECK(shared.renders == 1);
    for (auto& d : own) CHECK(d->renders == 0);
    chatroom::room_event rename;
    rename.kind = chatroom::room_event_kind::renamed;
    rename.room = "lobby";
    rename.old_nick = "alice";
    rename.nick = "alicia";
    CHECK(c.out->deliver(r, rename) == 7);
    CHECK(shared.renders == 1);
    for (auto& d : own) CHECK(d->renders == 1);
    for (auto& m : members) {
        m->take(c.opts.soft_limit());
        CHECK(m->received == "irc:<alice> hi\nirc:* alice is now known as alicia\n");
    }
}

TEST_CASE("an empty block is not queued, so a dialect may say nothing of an event", "[core][fanout]") {
    core c;
    auto m = std::make_shared<fake_member>();
    c.out->push(*m, chatroom::shared_bytes::copy_of(""));
    CHECK(m->output.empty());
    CHECK(first_block(*m) == nullptr);
    c.io.poll();
    CHECK(m->flushes == 0);
}
