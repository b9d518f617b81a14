// A room's operators and modes (core/detail/room_roles.hpp,
// room_moderation.hpp): the first member of a room becomes its operator; an
// operator kicks out of the room, sets a locked topic, gives and takes
// operator status and sets +t/+m/+s; the changes are room events, applied
// as the log delivers them. Driven through fake members of the line
// protocol's dialect with a few room commands of a dialect of several rooms:
// "JOIN room [key]", "SAY room text", "TOPIC room text", "KICK room nick
// reason", "MODE room change [nick-or-value]", "INVITE room nick"; anything
// else is the line protocol.
#include "../support/fake_member.hpp"
#include "../support/recording_log.hpp"

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using chatroom::room_event_kind;
using chatroom::detail::mode_change;
using chatroom::detail::parse_mode_change;
using chatroom::detail::room_roles;
using chatroom::protocol::command;
using chatroom::protocol::command_kind;
using chatroom::test::fake_member;
using chatroom::test::say;
using lines = std::vector<std::string>;

class roles_interpreter final : public chatroom::detail::interpreter {
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
        if (verb == "JOIN") c.kind = command_kind::join, c.arg = word(), c.text = text;
        else if (verb == "INVITE") c.kind = command_kind::invite, c.room = word(), c.arg = word();
        else if (verb == "SAY") c.kind = command_kind::chat, c.room = word(), c.arg = text;
        else if (verb == "TOPIC") c.kind = command_kind::topic, c.room = word(), c.arg = text;
        else if (verb == "KICK") c.kind = command_kind::kick, c.room = word(), c.arg = word(), c.text = text;
        else if (verb == "MODE") c.kind = command_kind::mode, c.room = word(), c.arg = word(), c.text = text;
        else return chatroom::detail::line_interpreter_instance().line(core, m, whole);
        core.request(m, c);
    }
};

const roles_interpreter interpreter;

struct core {
    asio::io_context io;
    std::shared_ptr<chatroom::detail::hub> hub;
    chatroom::test::recording_log* log = nullptr;

    core() {
        hub = std::make_shared<chatroom::detail::hub>(io.get_executor(), chatroom::server_options{});
        hub->start();
        hub->set_log([this](chatroom::room_event_sink& sink) {
            auto l = std::make_unique<chatroom::test::recording_log>(sink);
            log = l.get();
            return l;
        });
    }

    std::shared_ptr<fake_member> member(const std::string& nick) {
        auto m = std::make_shared<fake_member>(chatroom::line_dialect(), "192.0.2.1", false, interpreter);
        hub->attach(m);
        say(*hub, *m, "/nick " + nick + "\n");
        lines(*m);
        return m;
    }

    std::vector<std::string> lines(fake_member& m) {
        m.take(hub->soft_limit());
        return m.new_lines();
    }

    // The mode events the log was given, as text.
    std::vector<std::string> modes() const {
        std::vector<std::string> out;
        for (const auto& e : log->appended)
            if (e.kind == room_event_kind::mode) out.push_back(e.room + " " + e.nick + " " + e.text);
        return out;
    }
};

} // namespace

TEST_CASE("a mode change is read strictly: one change of a letter kept, with a valid nick for a role",
          "[core][roles]") {
    CHECK(parse_mode_change("+o bob"));
    CHECK(parse_mode_change("-v bob"));
    CHECK(parse_mode_change("+t"));
    CHECK(parse_mode_change("-m"));
    CHECK(parse_mode_change("+s"));
    CHECK(parse_mode_change("+k beer"));
    CHECK(parse_mode_change("-k"));
    CHECK(parse_mode_change("+l 5"));
    CHECK(parse_mode_change("-l"));
    CHECK(parse_mode_change("+i"));
    for (const char* bad : {"", "+", "o bob", "+o", "+o ", "+o bad nick", "+x", "+n", "-n", "+tm", "+t bob", "+k",
                            "+k two words", "+k a,b", "+k 012345678901234567890123", "+l", "+l 0", "+l -1", "+l x",
                            "+l 100001"})
        CHECK_FALSE(parse_mode_change(bad));
    room_roles r;
    CHECK(r.mode_string() == "+nt");
    r.apply(*parse_mode_change("+m"));
    r.apply(*parse_mode_change("-t"));
    r.apply(*parse_mode_change("+s"));
    CHECK(r.mode_string() == "+mns");
    r.apply(mode_change{true, 'o', "Bob"});
    r.apply(mode_change{true, 'o', "bob"}); // idempotent: a server applies its own twice
    CHECK(r.is_op("BOB"));
    chatroom::room_event renamed;
    renamed.kind = room_event_kind::renamed;
    renamed.old_nick = "bob";
    renamed.nick = "rob";
    r.follow(renamed);
    CHECK_FALSE(r.is_op("bob"));
    CHECK(r.is_op("rob"));
    chatroom::room_event left;
    left.kind = room_event_kind::left;
    left.nick = "rob";
    r.follow(left);
    CHECK_FALSE(r.any_op());
}

TEST_CASE("the first member of a room is its operator, not of the lobby; the next ones are not", "[core][roles]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob");
    CHECK(c.modes().empty()); // the lobby has no operator
    say(*c.hub, *alice, "JOIN dev\n");
    say(*c.hub, *bob, "JOIN dev\n");
    CHECK(c.modes() == lines{"dev  +o alice"}); // by the server, as an event other servers see
    // alice heard nothing of it (she knows), bob joined after it.
    for (const std::string& l : c.lines(*alice)) CHECK(l.find("mode") == std::string::npos);
    c.lines(*bob);
    // The topic is locked (+t): bob may not set it, alice may.
    say(*c.hub, *bob, "TOPIC dev bob's topic\n");
    CHECK(c.lines(*bob) == lines{"! not permitted"});
    say(*c.hub, *alice, "TOPIC dev alice's topic\n");
    CHECK(c.lines(*bob) == lines{"* alice set the topic: alice's topic"});
}

TEST_CASE("a room operator gives operator status, kicks out of the room only, and sets +m and -t",
          "[core][roles]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob"), carol = c.member("carol");
    say(*c.hub, *alice, "JOIN dev\n");
    say(*c.hub, *bob, "JOIN dev\n");
    say(*c.hub, *carol, "JOIN dev\n");
    c.lines(*alice), c.lines(*bob), c.lines(*carol);

    // Only an operator changes modes; whom +o names must be in the room.
    say(*c.hub, *bob, "MODE dev +o bob\n");
    CHECK(c.lines(*bob) == lines{"! not permitted"});
    say(*c.hub, *alice, "MODE dev +o nobody\n");
    CHECK(c.lines(*alice) == lines{"! no such nick: nobody"});
    say(*c.hub, *alice, "MODE dev +o bob\n");
    CHECK(c.lines(*alice) == lines{"* alice: mode +o bob"}); // the setter hears it too
    CHECK(c.lines(*carol) == lines{"* alice: mode +o bob"});

    // +m: only operators (and voiced members) speak.
    say(*c.hub, *bob, "MODE dev +m\n");
    c.lines(*alice), c.lines(*bob), c.lines(*carol);
    say(*c.hub, *carol, "SAY dev hello\n");
    CHECK(c.lines(*carol) == lines{"! the room is moderated: only its operators speak"});
    CHECK(c.lines(*alice).empty());
    say(*c.hub, *alice, "MODE dev +v carol\n");
    say(*c.hub, *carol, "SAY dev hello\n");
    CHECK(c.lines(*bob) == lines{"* alice: mode +v carol", "<carol> hello"});

    // -t: anyone sets the topic.
    say(*c.hub, *alice, "MODE dev -t\n");
    c.lines(*alice), c.lines(*bob), c.lines(*carol);
    say(*c.hub, *carol, "TOPIC dev carol's\n");
    CHECK(c.lines(*bob) == lines{"* carol set the topic: carol's"});

    // A kick naming a room puts the member out of it, not off the server;
    // the kicked member hears it, so does the room.
    c.lines(*carol), c.lines(*alice);
    say(*c.hub, *carol, "KICK dev bob\n");
    CHECK(c.lines(*carol) == lines{"! not permitted"});
    say(*c.hub, *bob, "KICK dev carol enough\n");
    CHECK(c.lines(*carol) == lines{"* carol was kicked out of the room by bob (enough)"});
    CHECK(c.lines(*alice) == lines{"* carol was kicked out of the room by bob (enough)"});
    CHECK_FALSE(carol->closed);
    say(*c.hub, *carol, "SAY dev back?\n");
    CHECK(c.lines(*carol) == lines{"! you are not in dev"});
}

TEST_CASE("operator status follows a rename and ends with a leave; +s hides a room from /rooms of others",
          "[core][roles]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob");
    say(*c.hub, *alice, "JOIN dev\n");
    say(*c.hub, *bob, "JOIN dev\n");
    say(*c.hub, *alice, "/nick alicia\n");
    say(*c.hub, *alice, "MODE dev +s\n");
    CHECK(c.modes() == lines{"dev  +o alice", "dev alicia +s"});
    auto carol = c.member("carol");
    say(*c.hub, *carol, "/rooms\n");
    for (const std::string& l : c.lines(*carol)) CHECK(l.find("dev") == std::string::npos);
    say(*c.hub, *bob, "/rooms\n");
    bool listed = false;
    for (const std::string& l : c.lines(*bob)) listed = listed || l.find("dev") != std::string::npos;
    CHECK(listed);
    say(*c.hub, *alice, "/quit\n");
    c.lines(*bob);
    say(*c.hub, *bob, "MODE dev -s\n");
    CHECK(c.lines(*bob) == lines{"! not permitted"}); // nobody gave bob the status
}

TEST_CASE("+i, +k and +l keep members out unless invited; an invitation reaches the invited member",
          "[core][roles]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob"), carol = c.member("carol");
    say(*c.hub, *alice, "JOIN dev\n");
    say(*c.hub, *alice, "MODE dev +k beer\n");
    say(*c.hub, *alice, "MODE dev +l 2\n");
    c.lines(*alice), c.lines(*bob), c.lines(*carol);
    say(*c.hub, *bob, "JOIN dev\n");
    CHECK(c.lines(*bob) == lines{"! dev needs a key: its operators set one"});
    say(*c.hub, *bob, "JOIN dev wine\n");
    CHECK(c.lines(*bob) == lines{"! dev needs a key: its operators set one"});
    say(*c.hub, *bob, "JOIN dev beer\n");
    CHECK(c.lines(*bob).at(0) == "* joined dev (2 members)");
    say(*c.hub, *carol, "JOIN dev beer\n");
    CHECK(c.lines(*carol) == lines{"! dev is full (2 members)"});
    // Only an operator invites under +i; an invitation lets carol past +l and +k, once.
    say(*c.hub, *alice, "MODE dev +i\n");
    say(*c.hub, *bob, "INVITE dev carol\n");
    CHECK(c.lines(*bob).back() == "! not permitted");
    say(*c.hub, *alice, "INVITE dev nobody\n");
    CHECK(c.lines(*alice).back() == "! no such nick: nobody");
    say(*c.hub, *alice, "INVITE dev carol\n");
    CHECK(c.lines(*carol) == lines{"* you are invited to dev: /join dev"});
    say(*c.hub, *carol, "JOIN dev\n");
    CHECK(c.lines(*carol).at(0) == "* joined dev (3 members)");
    say(*c.hub, *carol, "/quit\n");
    auto dan = c.member("dan");
    say(*c.hub, *dan, "JOIN dev beer\n");
    CHECK(c.lines(*dan) == lines{"! dev is private: ask for an invitation"});
    // Settings gone: anyone comes in.
    say(*c.hub, *alice, "MODE dev -i\n");
    say(*c.hub, *alice, "MODE dev -k\n");
    say(*c.hub, *alice, "MODE dev -l\n");
    say(*c.hub, *dan, "JOIN dev\n");
    CHECK(c.lines(*dan).at(0) == "* joined dev (3 members)");
    CHECK(c.modes() == lines{"dev  +o alice", "dev alice +k beer", "dev alice +l 2", "dev alice +i", "dev alice -i",
                             "dev alice -k", "dev alice -l"});
}
