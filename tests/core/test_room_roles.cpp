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
using chatroom::detail::parse_mode_changes;
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
    CHECK(parse_mode_change("-n"));
    CHECK(parse_mode_change("+b bar")->nick == "bar!*@*"); // a mask is kept in full
    CHECK(parse_mode_change("-b *!*@192.0.2.*"));
    for (const char* bad : {"", "+", "o bob", "+o", "+o ", "+o bad nick", "+x", "+tm", "+t bob", "+k", "+n x",
                            "+k two words", "+k a,b", "+k 012345678901234567890123", "+l", "+l 0", "+l -1", "+l x",
                            "+l 100001", "+b", "+b ", "+b a b", "+b !u@h", "+b n!@h", "+b n!u@", "+b a!b!c@d"})
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

TEST_CASE("several changes in one event, as IRC writes them; all kept or none", "[core][roles]") {
    auto c = parse_mode_changes("+o-v+b bob ann bar");
    REQUIRE(c);
    REQUIRE(c->size() == 3);
    CHECK(c->at(0).letter == 'o');
    CHECK(c->at(1).on == false);
    CHECK(c->at(1).nick == "ann");
    CHECK(c->at(2).nick == "bar!*@*");
    CHECK(chatroom::detail::mode_text(*c) == "+o-v+b bob ann bar!*@*");
    CHECK(chatroom::detail::mode_text(*parse_mode_changes("-int")) == "-int");
    CHECK(chatroom::detail::mode_text(*parse_mode_changes("+k-l+l beer 5")) == "+k-l+l beer 5");
    CHECK(parse_mode_changes("+o bob")->size() == 1); // one change reads as before
    for (const char* bad : {"", "+", "-", "int", "+ix", "+o", "+o bob extra", "+ob bob", "+k", "+tttttttttt",
                            "+o  bob", "+l 0"})
        CHECK_FALSE(parse_mode_changes(bad));
    CHECK(parse_mode_changes("+tttttttt")); // max_mode_changes
}

TEST_CASE("ban masks: * and ? with the names' case folding, short forms completed, at most 100 per room",
          "[core][roles]") {
    using chatroom::detail::full_ban_mask;
    using chatroom::detail::mask_matches;
    CHECK(mask_matches("bar!*@*", "Bar!Bar@127.0.0.1"));
    CHECK(mask_matches("*", ""));
    CHECK(mask_matches("b?r!*@127.*", "BAR!bar@127.0.0.1"));
    CHECK(mask_matches("*a*b*c*", "xxaxxbxxcxx"));
    CHECK_FALSE(mask_matches("bar!*@*", "barn!barn@h"));
    CHECK_FALSE(mask_matches("*a*b*c", "xxaxxbxxcxx!"));
    CHECK_FALSE(mask_matches("?", ""));
    // Backtracking is bounded: a long run of stars against a long name ends at once.
    CHECK_FALSE(mask_matches(std::string(60, '*') + "x", std::string(200, 'a')));
    CHECK(full_ban_mask("bar") == "bar!*@*");
    CHECK(full_ban_mask("bar!u") == "bar!u@*");
    CHECK(full_ban_mask("u@h") == "*!u@h");
    CHECK(full_ban_mask("n!u@h") == "n!u@h");
    for (const char* bad : {"", "a b", "a,b", "!u@h", "n!@h", "n!u@", "n@h!u", "a!b!c@d", "a@b@c", "caf\xc3\xa9", ":x", ":x!*@*", "::x"})
        CHECK(full_ban_mask(bad).empty());
    CHECK(full_ban_mask(std::string(chatroom::detail::max_ban_mask - 4, 'a')).size() == chatroom::detail::max_ban_mask);
    CHECK(full_ban_mask(std::string(chatroom::detail::max_ban_mask - 3, 'a')).empty());

    room_roles r;
    for (std::size_t i = 0; i < chatroom::detail::max_room_bans + 5; ++i)
        r.apply(mode_change{true, 'b', "n" + std::to_string(i) + "!*@*"}, "op", 7);
    CHECK(r.bans().list().size() == chatroom::detail::max_room_bans);
    CHECK(r.bans().full());
    CHECK(r.bans().list().front().by == "op");
    CHECK(r.bans().matches("N42", "192.0.2.1"));
    r.apply(mode_change{false, 'b', "N42!*@*"}); // removed as the names compare
    CHECK_FALSE(r.bans().matches("n42", "192.0.2.1"));
    CHECK_FALSE(r.bans().full());
    CHECK(r.mode_string() == "+nt"); // bans are no setting of the 324 string
}

TEST_CASE("a ban keeps a member out and quiet (voice speaks through it); -n lets a non-member speak; an empty "
          "topic clears it", "[core][roles]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob"), carol = c.member("carol");
    say(*c.hub, *alice, "JOIN dev\n");
    say(*c.hub, *bob, "JOIN dev\n");
    c.lines(*alice), c.lines(*bob), c.lines(*carol);
    // Bans match nick!nick@address (the fake members' address is 192.0.2.1).
    say(*c.hub, *bob, "MODE dev +b carol\n");
    CHECK(c.lines(*bob) == lines{"! not permitted"});
    // A host part other than * matches addresses no dialect shows: a server operator's only.
    say(*c.hub, *alice, "MODE dev +b *!*@192.0.2.*\n");
    CHECK(c.lines(*alice) == lines{"! only server operators may ban by address"});
    CHECK(c.lines(*bob).empty());
    alice->state.op = true; // as OPER makes it (single-threaded test: no other thread holds the hub)
    say(*c.hub, *alice, "MODE dev +bb carol *!*@192.0.2.*\n");
    CHECK(c.lines(*bob) == lines{"* alice: mode +bb carol!*@* *!*@192.0.2.*"});
    say(*c.hub, *alice, "MODE dev +b CAROL\n"); // there already: nothing to tell
    CHECK(c.lines(*bob).empty());
    say(*c.hub, *carol, "JOIN dev\n");
    CHECK(c.lines(*carol) == lines{"! you are banned from dev by its operators: you may not join it or speak in it"});
    say(*c.hub, *bob, "SAY dev hello\n"); // banned by address while in the room
    CHECK(c.lines(*bob) == lines{"! you are banned from dev by its operators: you may not join it or speak in it"});
    say(*c.hub, *alice, "SAY dev an operator speaks\n");
    CHECK(c.lines(*bob) == lines{"<alice> an operator speaks"});
    say(*c.hub, *alice, "MODE dev +v bob\n");
    say(*c.hub, *bob, "SAY dev voiced\n");
    CHECK(c.lines(*alice) == lines{"* alice: mode +bb carol!*@* *!*@192.0.2.*", "* alice: mode +v bob", "<bob> voiced"});
    // +n (the default): carol, outside, may not speak; -n: she may, when not banned.
    say(*c.hub, *carol, "SAY dev from outside\n");
    CHECK(c.lines(*carol) == lines{"! you are not in dev"});
    say(*c.hub, *alice, "MODE dev -n\n");
    say(*c.hub, *carol, "SAY dev from outside\n");
    CHECK(c.lines(*carol) == lines{"! you are banned from dev by its operators: you may not join it or speak in it"});
    say(*c.hub, *alice, "MODE dev -bb carol!*@* *!*@192.0.2.*\n");
    say(*c.hub, *carol, "SAY dev from outside\n");
    CHECK(c.lines(*carol).empty());
    CHECK(c.lines(*bob) == lines{"* alice: mode +v bob", "* alice: mode -n", "* alice: mode -bb carol!*@* *!*@192.0.2.*",
                                 "<carol> from outside"});
    say(*c.hub, *carol, "SAY nosuch hello\n");
    CHECK(c.lines(*carol) == lines{"! you are not in nosuch"});
    // An empty topic in a request naming its room clears the topic; /topic alone is its usage.
    say(*c.hub, *alice, "TOPIC dev fish\n");
    say(*c.hub, *alice, "TOPIC dev\n");
    CHECK(c.lines(*bob) == lines{"* alice set the topic: fish", "* alice cleared the topic"});
    say(*c.hub, *alice, "/topic\n");
    CHECK(c.lines(*alice).back() == "! usage: /topic TEXT");
    CHECK(c.modes() == lines{"dev  +o alice", "dev alice +bb carol!*@* *!*@192.0.2.*", "dev alice +v bob",
                             "dev alice -n", "dev alice -bb carol!*@* *!*@192.0.2.*"});
}

TEST_CASE("changes whose text would pass max_mode_text are told in several events, each within it",
          "[core][roles]") {
    core c;
    auto alice = c.member("alice");
    say(*c.hub, *alice, "JOIN dev\n");
    c.lines(*alice);
    std::string masks, letters = "+";
    for (char ch = 'a'; ch < 'a' + 8; ++ch) {
        masks += ' ' + std::string(100, ch) + "!*@*";
        letters += 'b';
    }
    say(*c.hub, *alice, "MODE dev " + letters + masks + "\n");
    const lines modes = c.modes();
    REQUIRE(modes.size() >= 3); // the server's +o alice, then the eight masks in two events or more
    std::size_t told = 0;
    for (std::size_t i = 1; i < modes.size(); ++i) {
        const std::string text = modes[i].substr(std::string("dev alice ").size());
        CHECK(text.size() <= chatroom::detail::max_mode_text);
        auto back = parse_mode_changes(text);
        REQUIRE(back);
        told += back->size();
    }
    CHECK(told == 8);
    say(*c.hub, *alice, "MODE dev +bb twice twice\n"); // a mask twice in one request: added, and told, once
    CHECK(c.modes().back() == "dev alice +b twice!*@*");
}

namespace {

// The matcher room_bans had before it was made linear (two pointers,
// backtracking to the last '*'): what the new one must agree with.
bool backtracking_match(std::string_view mask, std::string_view s) {
    std::size_t m = 0, i = 0, star = std::string_view::npos, resume = 0;
    auto fold = chatroom::protocol::fold_char;
    while (i < s.size()) {
        if (m < mask.size() && mask[m] == '*') star = m++, resume = i;
        else if (m < mask.size() && (mask[m] == '?' || fold(mask[m]) == fold(s[i]))) ++m, ++i;
        else if (star != std::string_view::npos) m = star + 1, i = ++resume;
        else return false;
    }
    while (m < mask.size() && mask[m] == '*') ++m;
    return m == mask.size();
}

// "*a?a?...a?" then tail: one of the masks that made the backtracking matcher
// take ~2,000 steps against a long nick.
std::string crafted_mask(std::string_view tail) {
    std::string m = "*";
    for (int i = 0; i < 60; ++i) m += "a?";
    return m + std::string(tail) + "!*@*";
}

} // namespace

TEST_CASE("ban masks match in one pass: the same answers as the backtracking matcher, crafted masks included",
          "[core][roles]") {
    using chatroom::detail::mask_matches;
    std::uint32_t seed = 12345;
    auto next = [&seed](std::uint32_t n) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) % n;
    };
    const std::string mask_chars = "ab?*A!", text_chars = "abB!";
    std::size_t matched = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string mask, s;
        for (std::uint32_t i = next(12); i > 0; --i) mask += mask_chars[next(mask_chars.size())];
        for (std::uint32_t i = next(14); i > 0; --i) s += text_chars[next(text_chars.size())];
        const bool expected = backtracking_match(mask, s);
        matched += expected;
        INFO(mask << " against " << s);
        REQUIRE(mask_matches(mask, s) == expected);
    }
    CHECK(matched > 1000); // both answers were tried, many times
    // Long masks against long names, across the words the states are kept in.
    const std::string nick(32, 'a'), who = nick + "!" + nick + "@aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa";
    for (const std::string& mask :
         {crafted_mask("b"), crafted_mask(""), "*" + std::string(122, 'a') + "b!*@*", "*" + std::string(60, 'a') + "*" +
          std::string(60, 'a') + "!*@*", std::string(32, 'a') + "!" + std::string(32, '?') + "@" + std::string(39, '?'),
          std::string(32, 'A') + "!*" + std::string(31, 'a') + "@*a:aaaa", std::string(60, '*') + "x"}) {
        INFO(mask);
        CHECK(mask_matches(mask, who) == backtracking_match(mask, who));
    }
    CHECK(mask_matches(std::string(32, 'A') + "!*" + std::string(31, 'a') + "@*a:aaaa", who));
    CHECK(mask_matches("*" + std::string(chatroom::detail::max_ban_mask, '?'), std::string(200, 'x')));
    CHECK_FALSE(mask_matches(std::string(chatroom::detail::max_ban_mask + 1, '?'), std::string(129, 'x')));
}

TEST_CASE("a member's ban is kept per list generation: asked again when the list changes, not on every line",
          "[core][roles]") {
    chatroom::detail::room_bans bans;
    std::uint64_t seen = 0;
    CHECK_FALSE(bans.matches(seen, "carol", "192.0.2.1"));
    CHECK(bans.evaluations() == 0); // no masks: nothing to compare
    for (int i = 0; i < 99; ++i) CHECK(bans.add(crafted_mask(std::to_string(i)), "op", 1));
    const std::uint64_t g = bans.generation();
    for (int line = 0; line < 50; ++line) CHECK_FALSE(bans.matches(seen, "carol", "192.0.2.1"));
    CHECK(bans.evaluations() == 1);
    CHECK(bans.add("carol!*@*", "op", 2));
    CHECK(bans.generation() == g + 1);
    for (int line = 0; line < 50; ++line) CHECK(bans.matches(seen, "carol", "192.0.2.1"));
    CHECK(bans.evaluations() == 2);
    CHECK_FALSE(bans.add("CAROL!*@*", "op", 3)); // there already: the generation stays
    CHECK(bans.generation() == g + 1);
    CHECK(bans.matches(seen, "carol", "192.0.2.1"));
    CHECK(bans.evaluations() == 2);
    CHECK(bans.remove("Carol!*@*"));
    CHECK_FALSE(bans.matches(seen, "carol", "192.0.2.1"));
    CHECK(bans.evaluations() == 3);
    CHECK_FALSE(bans.remove("carol!*@*"));
    CHECK(bans.generation() == g + 2);
}

TEST_CASE("in a room with 100 bans a member's lines ask the masks once; a ban, an unban and a rename ask again",
          "[core][roles]") {
    core c;
    auto alice = c.member("alice"), bob = c.member("bob");
    say(*c.hub, *alice, "JOIN dev\n");
    say(*c.hub, *bob, "JOIN dev\n");
    REQUIRE(bob->state.seats.size() == 2); // the lobby and dev
    chatroom::detail::room& dev = *bob->state.seats.back().in;
    REQUIRE(dev.name() == "dev");
    // 98 crafted masks, then bob's and robert's (and carol's, robert's gone): 100 at most.
    for (int i = 0; i < 98; ++i) dev.roles().apply(mode_change{true, 'b', crafted_mask(std::to_string(i))}, "alice");
    const chatroom::detail::room_bans& bans = dev.roles().bans();
    c.lines(*alice), c.lines(*bob);
    for (int i = 0; i < 20; ++i) say(*c.hub, *bob, "SAY dev line " + std::to_string(i) + "\n");
    CHECK(c.lines(*alice).size() == 20);
    CHECK(bans.evaluations() == 1); // bob's first line; alice, its operator, is never asked
    const std::string refused = "! you are banned from dev by its operators: you may not join it or speak in it";
    say(*c.hub, *alice, "MODE dev +b bob\n");
    c.lines(*alice), c.lines(*bob);
    for (int i = 0; i < 5; ++i) say(*c.hub, *bob, "SAY dev muffled\n");
    CHECK(c.lines(*bob) == lines(5, refused));
    CHECK(bans.evaluations() == 2);
    say(*c.hub, *bob, "/nick robert\n"); // the mask was bob's nick: robert speaks
    c.lines(*alice), c.lines(*bob);
    say(*c.hub, *bob, "SAY dev robert here\n");
    say(*c.hub, *bob, "SAY dev and again\n");
    CHECK(c.lines(*alice) == lines{"<robert> robert here", "<robert> and again"});
    CHECK(bans.evaluations() == 3);
    say(*c.hub, *alice, "MODE dev +b robert\n");
    say(*c.hub, *bob, "SAY dev still here?\n");
    CHECK(c.lines(*alice) == lines{"* alice: mode +b robert!*@*"});
    CHECK(bans.full());
    CHECK(c.lines(*bob) == lines{"* alice: mode +b robert!*@*", refused});
    say(*c.hub, *alice, "MODE dev -b robert\n");
    say(*c.hub, *bob, "SAY dev back\n");
    CHECK(c.lines(*alice).back() == "<robert> back");
    CHECK(bans.evaluations() == 5);
    // A join is compared with the masks (it has no seat in the room yet).
    auto carol = c.member("carol");
    say(*c.hub, *alice, "MODE dev +b carol\n");
    say(*c.hub, *carol, "JOIN dev\n");
    CHECK(c.lines(*carol) == lines{refused});
    CHECK(bans.evaluations() == 6);
}
