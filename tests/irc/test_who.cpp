// WHO's replies (include/chatroom/irc/detail/who.hpp): WHOX's "%fields,token"
// read from untrusted input, one gathering of what WHO shows of a user (its
// USER, away, operator and account), and the 352 or 354 worded from it,
// fields in WHOX's fixed order whatever order they were asked in.
#include <chatroom/irc.hpp>

#include "../support/fake_member.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

namespace {

using namespace chatroom::irc::detail;

std::shared_ptr<const config> settings() {
    chatroom::irc_options o;
    o.server_name = "srv";
    return std::make_shared<const config>(o);
}

who_entry alice() {
    who_entry e;
    e.channel = "#dev";
    e.user = "al";
    e.nick = "alice";
    e.flags = "G*@";
    e.account = "acct";
    e.realname = "Alice A";
    return e;
}

} // namespace

TEST_CASE("WHOX: the fields asked, unknown letters ignored, a token of 1-3 digits", "[irc][who][whox]") {
    CHECK_FALSE(parse_whox("").extended);
    CHECK_FALSE(parse_whox("o").extended); // a filter flag, no '%': plain WHO
    const whox_query all = parse_whox("%tcuihsnfdlaor,123");
    CHECK(all.extended);
    CHECK(all.fields == (1u << whox_fields.size()) - 1);
    CHECK(all.token == "123");
    const whox_query some = parse_whox("o%xnZ?n!a");
    CHECK(some.extended);
    CHECK(some.has('n'));
    CHECK(some.has('a'));
    CHECK_FALSE(some.has('t'));
    CHECK_FALSE(some.has('o')); // the 'o' before '%' is a filter flag, not the op level
    CHECK(some.fields == ((1u << whox_fields.find('n')) | (1u << whox_fields.find('a'))));
    CHECK(parse_whox("%N").fields == 0); // letters are lower case
    CHECK(parse_whox("%").fields == 0);
    // A token that is not 1-3 digits is refused: 't' gives "0".
    CHECK(parse_whox("%t").token == "0");
    CHECK(parse_whox("%t,").token == "0");
    CHECK(parse_whox("%t,1234").token == "0");
    CHECK(parse_whox("%t,12a").token == "0");
    CHECK(parse_whox("%t,-1").token == "0");
    CHECK(parse_whox("%t,007").token == "007");
    CHECK(parse_whox("%t,5,6").token == "0");
    const std::string huge = "%" + std::string(100000, 'q') + "n," + std::string(100000, '9');
    const whox_query big = parse_whox(huge);
    CHECK(big.fields == 1u << whox_fields.find('n'));
    CHECK(big.token == "0");
}

TEST_CASE("WHO: 352 without '%', 354 with the fields asked in WHOX's order", "[irc][who][whox]") {
    const connection c(settings()); // not registered: numerics name it "*"
    const who_entry e = alice();
    CHECK(who_line(c, e, parse_whox("")) == ":srv 352 * #dev al srv srv alice G*@ :0 Alice A");
    const std::string full = ":srv 354 * 42 #dev al 255.255.255.255 srv srv alice G*@ 0 0 acct n/a :Alice A";
    CHECK(who_line(c, e, parse_whox("%tcuihsnfdlaor,42")) == full);
    CHECK(who_line(c, e, parse_whox("%roalfdnshiuct,42")) == full);
    CHECK(who_line(c, e, parse_whox("%rrnnttaa,42")) == ":srv 354 * 42 alice acct :Alice A");
    // One field each, in its place.
    CHECK(who_line(c, e, parse_whox("%t,9")) == ":srv 354 * 9");
    CHECK(who_line(c, e, parse_whox("%c")) == ":srv 354 * #dev");
    CHECK(who_line(c, e, parse_whox("%u")) == ":srv 354 * al");
    CHECK(who_line(c, e, parse_whox("%i")) == ":srv 354 * 255.255.255.255");
    CHECK(who_line(c, e, parse_whox("%h")) == ":srv 354 * srv");
    CHECK(who_line(c, e, parse_whox("%s")) == ":srv 354 * srv");
    CHECK(who_line(c, e, parse_whox("%n")) == ":srv 354 * alice");
    CHECK(who_line(c, e, parse_whox("%f")) == ":srv 354 * G*@");
    CHECK(who_line(c, e, parse_whox("%d")) == ":srv 354 * 0");
    CHECK(who_line(c, e, parse_whox("%l")) == ":srv 354 * 0");
    CHECK(who_line(c, e, parse_whox("%a")) == ":srv 354 * acct");
    CHECK(who_line(c, e, parse_whox("%o")) == ":srv 354 * n/a");
    CHECK(who_line(c, e, parse_whox("%r")) == ":srv 354 * :Alice A");
    CHECK(who_line(c, e, parse_whox("%")) == ":srv 354 *");
    // A guest's account is 0; a mask's channel is "*".
    who_entry guest = e;
    guest.account.clear();
    guest.channel = "*";
    CHECK(who_line(c, guest, parse_whox("%cna")) == ":srv 354 * * alice 0");
    // A long real name is cut to fit the line (at a UTF-8 boundary).
    guest.realname = std::string(300, 'x');
    for (int i = 0; i < 100; ++i) guest.realname += "\xc3\xa9"; // é
    for (const char* format : {"", "%tcuihsnfdlaor,123"}) {
        const std::string line = who_line(c, guest, parse_whox(format));
        CHECK(line.size() <= chatroom::irc::max_body_bytes - 2);
        CHECK(line.size() > 450);
        CHECK(line.back() == '\xa9'); // not cut inside a character
    }
}

TEST_CASE("WHO gathers a user once: USER, away G, operator *, account", "[irc][who][whox]") {
    const auto cfg = settings();
    chatroom::test::fake_member m; // outlives the connection bound to it
    m.state.nick = "Alice";
    m.state.attached = true;
    connection c(cfg);
    c.bind(m, 0);
    session_state& st = c.state();
    st.registered = true;
    st.user = "al";
    st.realname = "Alice A";

    {
        const who_entry e = who_index(c).entry("alice", "*", nullptr, false); // ASCII case ignored
        CHECK(e.nick == "Alice");
        CHECK(e.user == "al");
        CHECK(e.realname == "Alice A");
        CHECK(e.flags == "H");
        CHECK(e.account.empty());
        CHECK(who_line(c, e, parse_whox("%na")) == ":srv 354 Alice Alice 0");
    }
    st.away = "lunch";
    m.state.op = true;
    m.state.account = "alice_acct";
    {
        const who_entry e = who_index(c).entry("ALICE", "#dev", nullptr, false);
        CHECK(e.flags == "G*");
        CHECK(e.account == "alice_acct");
        CHECK(who_line(c, e, parse_whox("%cnfa,1")) == ":srv 354 Alice #dev Alice G* alice_acct");
        CHECK(who_line(c, e, parse_whox("")) == ":srv 352 Alice #dev al srv srv Alice G* :0 Alice A");
    }
    // The core's away (another dialect's, or AWAY kept by the core) reads as G too.
    st.away.clear();
    m.state.away = std::make_unique<const std::string>("gone");
    CHECK(who_index(c).entry("Alice", "*", nullptr, false).flags == "G*");
    // A USER that is no single word shows the nick.
    st.user = ":x";
    CHECK(who_index(c).entry("Alice", "*", nullptr, false).user == "Alice");

    // A nick nobody here holds (a member on another node): its nick for user
    // and real name, here, no account.
    const who_entry other = who_index(c).entry("bob", "#dev", nullptr, false);
    CHECK(other.nick == "bob");
    CHECK(other.user == "bob");
    CHECK(other.realname == "bob");
    CHECK(other.flags == "H");
    CHECK(who_line(c, other, parse_whox("%tnfa,5")) == ":srv 354 Alice 5 bob H 0");
}
