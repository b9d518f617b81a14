// The stream entry codec (include/chatroom/redis/detail/entry.hpp), without
// sockets: what is read back from Redis is untrusted, and parse_entry is
// the one gate on its way to members. Whatever it lets through must be what
// a member may receive: valid names, clean text, no line past max_line.

#include <chatroom.hpp>
#include <chatroom/redis/detail/entry.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace std::string_literals;
using chatroom::detail::parse_entry;
using chatroom::detail::redis_reply;
using chatroom::detail::stream_entry;
using chatroom::detail::stream_id;

namespace {

redis_reply string_reply(std::string text) {
    redis_reply r;
    r.type = redis_reply::kind::string;
    r.text = std::move(text);
    return r;
}

// [id, [field, value, ...]] as XREAD returns it.
redis_reply entry_reply(const std::string& id, std::initializer_list<std::pair<std::string, std::string>> fields) {
    redis_reply r;
    r.type = redis_reply::kind::array;
    r.elements.push_back(string_reply(id));
    redis_reply list;
    list.type = redis_reply::kind::array;
    for (const auto& [name, value] : fields) {
        list.elements.push_back(string_reply(name));
        list.elements.push_back(string_reply(value));
    }
    r.elements.push_back(std::move(list));
    return r;
}

// An entry as XREAD returns it, of the field-value list append_fields wrote.
redis_reply written_reply(const std::string& id, const std::vector<std::string>& args) {
    redis_reply r;
    r.type = redis_reply::kind::array;
    r.elements.push_back(string_reply(id));
    redis_reply list;
    list.type = redis_reply::kind::array;
    for (const auto& a : args) list.elements.push_back(string_reply(a));
    r.elements.push_back(std::move(list));
    return r;
}

bool name_or_empty(const std::string& s) { return s.empty() || chatroom::protocol::is_valid_name(s); }

// What every member may receive, whatever the entry said.
void check_deliverable(const stream_entry& s, std::size_t max_line) {
    const chatroom::room_event& e = s.event;
    INFO("kind " << chatroom::to_string(e.kind) << ", nick '" << e.nick << "', text '" << e.text << "'");
    CHECK(name_or_empty(e.room));
    CHECK(name_or_empty(e.old_nick));
    CHECK(name_or_empty(e.target));
    if (e.kind == chatroom::room_event_kind::notice || e.kind == chatroom::room_event_kind::topic)
        CHECK(name_or_empty(e.nick));
    else CHECK(chatroom::protocol::is_valid_name(e.nick));
    CHECK(chatroom::is_clean_text(e.reason));
    CHECK(e.reason.size() <= max_line);
    if (e.kind == chatroom::room_event_kind::chat) {
        REQUIRE(!e.text.empty());
        CHECK(e.text.back() == '\n');
        std::size_t lines = 0;
        e.for_each_line([&](std::string_view line) {
            ++lines;
            CHECK(chatroom::is_clean_text(line));
            CHECK(line.size() <= max_line);
        });
        CHECK(lines == e.line_count);
    } else {
        CHECK(chatroom::is_clean_text(e.text));
        CHECK(e.text.size() <= max_line);
    }
}

// Writer fields every backplane entry carries.
const std::pair<std::string, std::string> node{"n", "zz"}, epoch{"e", "zz1"}, count{"s", "1"};

} // namespace

TEST_CASE("backplane: entries read back are checked and cleaned before anyone sees them", "[backplane][entry]") {
    const std::size_t max_line = 4096; // the default, as parse_entry(entry, id) applies it
    const std::string hostile = "\x1b]0;pwned\x07title\x1b[2J nul\0byte c1\xC2\x9B bare\rcr ff\xFF bad\xC0\xAF\xED\xA0\x80 end"s;
    stream_id id;

    SECTION("control bytes, C1, bare CR, 0xFF and invalid UTF-8 in text are cleaned away") {
        for (const char* kind : {"c", "a", "p", "n"}) {
            auto out = parse_entry(
                entry_reply("5-1", {{"k", kind}, node, epoch, count, {"u", "mallory"}, {"t", "reader"}, {"x", hostile}}),
                id);
            INFO("kind " << kind);
            if (out) check_deliverable(*out, max_line);
        }
        auto chat = parse_entry(entry_reply("5-2", {{"k", "c"}, node, epoch, count, {"u", "mallory"}, {"x", hostile + "\n"}}), id);
        REQUIRE(chat);
        CHECK(chat->event.text == "]0;pwnedtitle[2J nulbyte c1 barecr ff\xEF\xBF\xBD bad\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end\n");
        CHECK(chat->event.line_count == 1);
        auto left = parse_entry(
            entry_reply("5-3", {{"k", "l"}, node, epoch, count, {"u", "mallory"}, {"r", "quit: \x1b[2Jbye\xFF"}}), id);
        REQUIRE(left);
        check_deliverable(*left, max_line);
        CHECK(left->event.reason == "quit: [2Jbye\xEF\xBF\xBD");
        CHECK_FALSE(left->event.left_server); // a part's text, whatever it says
    }

    SECTION("a leave of the whole server keeps its mark across nodes, and only q=1 sets it") {
        stream_entry s;
        s.event.kind = chatroom::room_event_kind::left;
        s.event.nick = "bob";
        s.event.room = "dev";
        s.event.reason = "too slow";
        s.event.left_server = true;
        s.node = "n1";
        s.epoch = "e1";
        s.count = 3;
        std::vector<std::string> args;
        chatroom::detail::append_fields(args, s);
        redis_reply entry = written_reply("7-1", args);
        auto back = parse_entry(entry, id);
        REQUIRE(back);
        CHECK(back->event.left_server);
        CHECK(back->event.reason == "too slow");
        auto other = parse_entry(entry_reply("7-2", {{"k", "l"}, node, epoch, count, {"u", "bob"}, {"q", "yes"}}), id);
        REQUIRE(other);
        CHECK_FALSE(other->event.left_server);
    }

    SECTION("a line said as a notice keeps its mark across nodes (v=1), old nodes' entries read as plain lines") {
        auto round_trip = [&](chatroom::room_event_kind kind) {
            stream_entry s;
            s.event.kind = kind;
            s.event.nick = "bob";
            if (kind == chatroom::room_event_kind::chat) {
                s.event.room = "dev";
                s.event.add_line("heads up");
            } else {
                s.event.target = "ann";
                s.event.text = "psst";
            }
            s.event.as_notice = true;
            s.node = "n1";
            s.epoch = "e1";
            s.count = 4;
            std::vector<std::string> args;
            chatroom::detail::append_fields(args, s);
            redis_reply entry = written_reply("8-1", args);
            return parse_entry(entry, id);
        };
        for (auto kind : {chatroom::room_event_kind::chat, chatroom::room_event_kind::private_message}) {
            auto back = round_trip(kind);
            REQUIRE(back);
            CHECK(back->event.kind == kind);
            CHECK(back->event.as_notice);
        }
        // Written by a node that knows no notices: no v field, a plain line.
        auto old = parse_entry(entry_reply("8-2", {{"k", "c"}, node, epoch, count, {"u", "bob"}, {"x", "hi\n"}}), id);
        REQUIRE(old);
        CHECK_FALSE(old->event.as_notice);
        auto odd = parse_entry(entry_reply("8-3", {{"k", "p"}, node, epoch, count, {"u", "bob"}, {"t", "ann"}, {"x", "hi"}, {"v", "yes"}}), id);
        REQUIRE(odd);
        CHECK_FALSE(odd->event.as_notice); // only v=1 marks it
    }

    SECTION("an IRC client's own tags travel as g, kept when well formed; tags alone are a TAGMSG") {
        stream_entry s;
        s.event.kind = chatroom::room_event_kind::chat;
        s.event.room = "dev";
        s.event.nick = "bob";
        s.event.add_line("hi");
        s.event.client_tags = "+draft/reply=7;+a";
        s.node = "n1";
        s.epoch = "e1";
        s.count = 4;
        std::vector<std::string> args;
        chatroom::detail::append_fields(args, s);
        redis_reply entry = written_reply("9-1", args);
        auto back = parse_entry(entry, id);
        REQUIRE(back);
        CHECK(back->event.client_tags == "+draft/reply=7;+a");
        // Malformed tags are dropped, the line is not.
        for (const char* bad : {"msgid=1", "+a b", "+a;msgid=2", "+a\r\nPRIVMSG x"}) {
            auto odd = parse_entry(entry_reply("9-2", {{"k", "c"}, node, epoch, count, {"u", "bob"}, {"x", "hi\n"},
                                                       {"g", bad}}), id);
            REQUIRE(odd);
            CHECK(odd->event.client_tags.empty());
            CHECK(odd->event.line_count == 1);
        }
        auto tagmsg = parse_entry(entry_reply("9-3", {{"k", "c"}, node, epoch, count, {"w", "dev"}, {"u", "bob"},
                                                     {"g", "+typing=active"}}), id);
        REQUIRE(tagmsg);
        CHECK(tagmsg->event.text.empty());
        CHECK(tagmsg->event.client_tags == "+typing=active");
        // No text and no tags: nothing.
        CHECK_FALSE(parse_entry(entry_reply("9-4", {{"k", "c"}, node, epoch, count, {"u", "bob"}}), id));
    }

    SECTION("an away event and a speaker's account travel (IRC's away-notify and account-tag)") {
        stream_entry s;
        s.event.kind = chatroom::room_event_kind::away;
        s.event.room = "dev";
        s.event.nick = "bob";
        s.event.account = "bob";
        s.event.text = "lunch";
        s.node = "n1";
        s.epoch = "e1";
        s.count = 5;
        std::vector<std::string> args;
        chatroom::detail::append_fields(args, s);
        redis_reply entry = written_reply("9-5", args);
        auto back = parse_entry(entry, id);
        REQUIRE(back);
        CHECK(back->event.kind == chatroom::room_event_kind::away);
        CHECK(back->event.text == "lunch");
        CHECK(back->event.account == "bob");
        // Back (no message) is an away event too; an account that is no name is dropped, not the entry.
        auto here = parse_entry(entry_reply("9-6", {{"k", "y"}, node, epoch, count, {"w", "dev"}, {"u", "bob"},
                                                   {"a", "bad name\r\n"}}), id);
        REQUIRE(here);
        CHECK(here->event.kind == chatroom::room_event_kind::away);
        CHECK(here->event.text.empty());
        CHECK(here->event.account.empty());
        auto said = parse_entry(entry_reply("9-7", {{"k", "c"}, node, epoch, count, {"w", "dev"}, {"u", "ann"},
                                                   {"x", "hi\n"}, {"a", "ann"}}), id);
        REQUIRE(said);
        CHECK(said->event.account == "ann");
    }

    SECTION("a topic change is a notice with its parts: new nodes read the topic, old ones the notice") {
        stream_entry s;
        s.event.kind = chatroom::room_event_kind::topic;
        s.event.room = "dev";
        s.event.nick = "op";
        s.event.text = "builds are green";
        s.node = "n1";
        s.epoch = "e1";
        s.count = 5;
        std::vector<std::string> args;
        chatroom::detail::append_fields(args, s);
        // What a node that knows no topic reads: k=n, x the notice's words.
        CHECK(args.at(1) == "n");
        CHECK(std::find(args.begin(), args.end(), "op set the topic: builds are green") != args.end());
        redis_reply entry = written_reply("9-1", args);
        auto back = parse_entry(entry, id);
        REQUIRE(back);
        CHECK(back->event.kind == chatroom::room_event_kind::topic);
        CHECK(back->event.nick == "op");
        CHECK(back->event.text == "builds are green");
        // Set by the host: no u. A bad setter's name drops it; a plain notice stays one.
        auto host = parse_entry(entry_reply("9-2", {{"k", "n"}, node, epoch, count, {"w", "dev"}, {"c", "t"}, {"x", "the topic is now: t"}}), id);
        REQUIRE(host);
        CHECK(host->event.kind == chatroom::room_event_kind::topic);
        CHECK(host->event.nick.empty());
        CHECK_FALSE(parse_entry(entry_reply("9-3", {{"k", "n"}, node, epoch, count, {"w", "dev"}, {"u", "a b"}, {"c", "t"}}), id));
        auto notice = parse_entry(entry_reply("9-4", {{"k", "n"}, node, epoch, count, {"w", "dev"}, {"x", "hello"}}), id);
        REQUIRE(notice);
        CHECK(notice->event.kind == chatroom::room_event_kind::notice);
        // A cleared topic: y and no c (old nodes show the notice); y beside a c is refused.
        {
            stream_entry cleared;
            cleared.event.kind = chatroom::room_event_kind::topic;
            cleared.event.room = "dev";
            cleared.event.nick = "op";
            cleared.node = "n1";
            cleared.epoch = "e1";
            cleared.count = 6;
            std::vector<std::string> args;
            chatroom::detail::append_fields(args, cleared);
            CHECK(std::find(args.begin(), args.end(), "op cleared the topic") != args.end());
            CHECK(std::find(args.begin(), args.end(), "c") == args.end());
            redis_reply entry = written_reply("9-5", args);
            auto back = parse_entry(entry, id);
            REQUIRE(back);
            CHECK(back->event.kind == chatroom::room_event_kind::topic);
            CHECK(back->event.text.empty());
            CHECK(back->event.nick == "op");
            CHECK_FALSE(parse_entry(entry_reply("9-6", {{"k", "n"}, node, epoch, count, {"w", "dev"}, {"y", "1"}, {"c", "\x07"}}), id));
        }
    }

    SECTION("a mode change and a kick out of a room travel with their parts; a change not kept drops the entry") {
        stream_entry s;
        s.event.kind = chatroom::room_event_kind::mode;
        s.event.room = "dev";
        s.event.nick = "op";
        s.event.text = "+o bob";
        s.node = "n1";
        s.epoch = "e1";
        s.count = 6;
        std::vector<std::string> args;
        chatroom::detail::append_fields(args, s);
        CHECK(args.at(1) == "n"); // a node that knows no modes shows a notice
        CHECK(std::find(args.begin(), args.end(), "op: mode +o bob") != args.end());
        redis_reply entry = written_reply("10-1", args);
        auto back = parse_entry(entry, id);
        REQUIRE(back);
        CHECK(back->event.kind == chatroom::room_event_kind::mode);
        CHECK(back->event.nick == "op");
        CHECK(back->event.text == "+o bob");
        // The server's grant to a room's first member: no u.
        auto first = parse_entry(entry_reply("10-2", {{"k", "n"}, node, epoch, count, {"w", "dev"}, {"d", "+o ann"}}), id);
        REQUIRE(first);
        CHECK(first->event.kind == chatroom::room_event_kind::mode);
        CHECK(first->event.nick.empty());
        // Several changes in one entry, as IRC writes them; one not kept drops the whole.
        auto several = parse_entry(entry_reply("10-6", {{"k", "n"}, node, epoch, count, {"w", "dev"}, {"u", "op"}, {"d", "-nt+b bar"}}), id);
        REQUIRE(several);
        CHECK(several->event.text == "-nt+b bar!*@*");
        for (const char* bad : {"+o a b", "+x", "+n x", "+o", "o ann", "+k", "+k a b", "+l 0", "+ob ann", "+b !u@h",
                                "+b :x!*@*", "+b :x", "+b x!*@*\t", "+it+x", "+mmmmmmmmm"})
            CHECK_FALSE(parse_entry(entry_reply("10-3", {{"k", "n"}, node, epoch, count, {"w", "dev"}, {"d", bad}}), id));
        auto kick = parse_entry(entry_reply("10-4", {{"k", "l"}, node, epoch, count, {"w", "dev"}, {"u", "bob"}, {"b", "op"}, {"r", "bye"}}), id);
        REQUIRE(kick);
        CHECK(kick->event.kicked_by == "op");
        CHECK_FALSE(parse_entry(entry_reply("10-5", {{"k", "l"}, node, epoch, count, {"w", "dev"}, {"u", "bob"}, {"b", "o p"}}), id));
    }

    SECTION("names that /nick or /join would refuse drop the entry") {
        CHECK_FALSE(parse_entry(entry_reply("6-1", {{"k", "c"}, node, epoch, count, {"u", "alice> fake"}, {"x", "hi\n"}}), id));
        CHECK_FALSE(parse_entry(entry_reply("6-2", {{"k", "c"}, node, epoch, count, {"u", ""}, {"x", "hi\n"}}), id));
        CHECK_FALSE(parse_entry(entry_reply("6-3", {{"k", "c"}, node, epoch, count, {"x", "no nick\n"}}), id));
        CHECK_FALSE(parse_entry(entry_reply("6-4", {{"k", "j"}, node, epoch, count, {"u", "bob\x1b[31m"}}), id));
        CHECK_FALSE(parse_entry(entry_reply("6-5", {{"k", "r"}, node, epoch, count, {"u", "mallory"}, {"o", "x y"}}), id));
        CHECK_FALSE(parse_entry(entry_reply("6-6", {{"k", "p"}, node, epoch, count, {"u", "mallory"}, {"t", "a\tb"}, {"x", "psst"}}), id));
        CHECK_FALSE(parse_entry(entry_reply("6-7", {{"k", "c"}, node, epoch, count, {"w", "lob by"}, {"u", "mallory"}, {"x", "hi\n"}}), id));
        CHECK_FALSE(parse_entry(entry_reply("6-8", {{"k", "c"}, node, epoch, count, {"u", std::string(33, 'a')}, {"x", "hi\n"}}), id));
    }

    SECTION("unknown kinds and a line past max_line drop the entry") {
        CHECK_FALSE(parse_entry(entry_reply("7-1", {{"k", "z"}, node, epoch, count, {"u", "mallory"}, {"x", "hi\n"}}), id));
        CHECK_FALSE(parse_entry(entry_reply("7-2", {{"k", "cc"}, node, epoch, count, {"u", "mallory"}, {"x", "hi\n"}}), id));
        const std::string mib(1 << 20, 'A');
        for (const char* kind : {"c", "a", "p", "n"}) {
            INFO("kind " << kind);
            auto out = parse_entry(
                entry_reply("7-3", {{"k", kind}, node, epoch, count, {"u", "mallory"}, {"t", "reader"}, {"x", mib + "\n"}}), id);
            if (out) check_deliverable(*out, max_line);
        }
        auto left = parse_entry(entry_reply("7-4", {{"k", "l"}, node, epoch, count, {"u", "mallory"}, {"r", mib}}), id);
        if (left) check_deliverable(*left, max_line);
        // Several lines in one chat entry: each is held to the limit.
        auto many = parse_entry(entry_reply("7-5", {{"k", "c"}, node, epoch, count, {"u", "mallory"},
                                                    {"x", "short\n" + std::string(max_line + 1, 'B') + "\nshort\n"}}), id);
        if (many) check_deliverable(*many, max_line);
    }

    SECTION("what a server writes comes back as it was") {
        auto out = parse_entry(entry_reply("8-1", {{"k", "r"}, node, epoch, count, {"w", "Lobby"}, {"u", "bob"}, {"o", "guest-zz-2"}}), id);
        REQUIRE(out);
        CHECK(out->event.kind == chatroom::room_event_kind::renamed);
        CHECK(out->event.nick == "bob");
        CHECK(out->event.old_nick == "guest-zz-2");
        CHECK(out->event.room == "Lobby");
        auto chat = parse_entry(entry_reply("8-2", {{"k", "c"}, node, epoch, count, {"u", "alice"},
                                                    {"x", "caf\xC3\xA9 \xE2\x82\xAC\ttab\n" + std::string(max_line, 'x') + "\n"}}), id);
        REQUIRE(chat);
        CHECK(chat->event.line_count == 2);
        CHECK(chat->event.text == "caf\xC3\xA9 \xE2\x82\xAC\ttab\n" + std::string(max_line, 'x') + "\n");
        check_deliverable(*chat, max_line);
    }
}

TEST_CASE("backplane: the entry decoder's rules", "[backplane][entry]") {
    using chatroom::detail::entry_error;
    using chatroom::detail::entry_rules;
    using chatroom::detail::entry_stream;
    const entry_rules room{16, entry_stream::room};
    const entry_rules node_stream{16, entry_stream::node};
    entry_error why = entry_error::none;
    auto parse = [&](const redis_reply& r, const entry_rules& rules, stream_id& id) {
        return parse_entry(r, id, rules, &why);
    };
    stream_id id;

    // A line of exactly max_line bytes passes; one byte more drops the entry.
    CHECK(parse(entry_reply("1-1", {{"k", "c"}, node, epoch, count, {"u", "a"}, {"x", std::string(16, 'x') + "\n"}}), room, id));
    CHECK(why == entry_error::none);
    CHECK_FALSE(parse(entry_reply("1-2", {{"k", "c"}, node, epoch, count, {"u", "a"}, {"x", std::string(17, 'x') + "\n"}}), room, id));
    CHECK(why == entry_error::line_too_long);
    // The limit is on the cleaned line: U+FFFD takes three bytes.
    CHECK_FALSE(parse(entry_reply("1-3", {{"k", "a"}, node, epoch, count, {"u", "a"}, {"x", std::string(6, '\xFF')}}), room, id));
    CHECK(why == entry_error::line_too_long);
    CHECK(parse(entry_reply("1-4", {{"k", "n"}, node, epoch, count, {"x", std::string(40, '\x1b') + "notice"}}), room, id));
    // The refused entry's ID is still read, so a reader moves past it.
    CHECK(id.str() == "1-4");
    CHECK_FALSE(parse(entry_reply("1-5", {{"k", "z"}}), room, id));
    CHECK(why == entry_error::kind);
    CHECK(id.str() == "1-5");

    // Each stream holds its own kinds.
    const auto pm = entry_reply("2-1", {{"k", "p"}, node, epoch, count, {"u", "a"}, {"t", "b"}, {"x", "psst"}});
    CHECK_FALSE(parse(pm, room, id));
    CHECK(why == entry_error::wrong_stream);
    auto private_message = parse(pm, node_stream, id);
    REQUIRE(private_message);
    CHECK(private_message->event.target == "b");
    CHECK_FALSE(parse(entry_reply("2-2", {{"k", "c"}, node, epoch, count, {"u", "a"}, {"x", "hi\n"}}), node_stream, id));
    CHECK(why == entry_error::wrong_stream);

    // The writer's fields: a node and epoch that are names, decimal counts.
    for (auto bad : {std::pair<std::string, std::string>{"n", ""}, {"n", "a b"}, {"e", std::string(100, 'e')},
                     {"s", "12x"}, {"s", "99999999999999999999999"}, {"m", "-1"}}) {
        auto r = entry_reply("3-1", {{"k", "j"}, node, epoch, count, {"u", "a"}, bad});
        CHECK_FALSE(parse(r, room, id));
        CHECK(why == entry_error::writer);
    }
    auto counted = parse(entry_reply("3-2", {{"k", "j"}, node, epoch, {"s", "18446744073709551615"}, {"m", "42"}, {"u", "a"}}), room, id);
    REQUIRE(counted);
    CHECK(counted->count == 18446744073709551615ull);
    CHECK(counted->member == 42);

    // A leave is delivered without a reason past the limit (a kick's reason
    // may legitimately pass it), not dropped.
    auto left = parse(entry_reply("3-3", {{"k", "l"}, node, epoch, count, {"u", "a"}, {"r", std::string(17, 'r')}}), room, id);
    REQUIRE(left);
    CHECK(left->event.reason.empty());
    left = parse(entry_reply("3-4", {{"k", "l"}, node, epoch, count, {"u", "a"}, {"r", "kicked: \x1b[1mx"}}), room, id);
    REQUIRE(left);
    CHECK(left->event.reason == "kicked: [1mx");

    // Chat lines: CR and other controls dropped, empty lines dropped, none left refused.
    auto chat = parse(entry_reply("4-1", {{"k", "c"}, node, epoch, count, {"u", "a"}, {"x", "one\r\n\n\x1b\ntwo"}}), room, id);
    REQUIRE(chat);
    CHECK(chat->event.text == "one\ntwo\n");
    CHECK(chat->event.line_count == 2);
    CHECK_FALSE(parse(entry_reply("4-2", {{"k", "c"}, node, epoch, count, {"u", "a"}, {"x", "\r\n\x07\n"}}), room, id));
    CHECK(why == entry_error::no_text);
    CHECK_FALSE(parse(entry_reply("4-3", {{"k", "a"}, node, epoch, count, {"u", "a"}}), room, id));
    CHECK(why == entry_error::no_text);
    // Fields a kind does not use reach nobody.
    auto joined = parse(entry_reply("4-4", {{"k", "j"}, node, epoch, count, {"u", "a"}, {"x", "\x1b[2J"}, {"o", "x y"}}), room, id);
    REQUIRE(joined);
    CHECK(joined->event.text.empty());
    CHECK(joined->event.old_nick.empty());

    // Not an entry: the ID is taken when it is one.
    stream_id untouched;
    redis_reply odd = entry_reply("9-9", {{"k", "j"}});
    odd.elements[1].elements.pop_back();
    CHECK_FALSE(parse(odd, room, id));
    CHECK(why == entry_error::malformed);
    CHECK(id.str() == "9-9"); // a valid ID: read past
    CHECK_FALSE(parse(entry_reply("0-0", {{"k", "j"}, node, epoch, count, {"u", "a"}}), room, untouched));
    CHECK_FALSE(parse(entry_reply("x", {{"k", "j"}, node, epoch, count, {"u", "a"}}), room, untouched));
    CHECK(untouched.zero());
    redis_reply integer_field = entry_reply("9-8", {{"k", "j"}, node, epoch, count, {"u", "a"}});
    integer_field.elements[1].elements[1].type = redis_reply::kind::integer;
    CHECK_FALSE(parse(integer_field, room, id));
    CHECK(why == entry_error::malformed);

    // Roster names, for /who and /rooms.
    CHECK(chatroom::detail::valid_roster_entry("alice", ""));
    CHECK(chatroom::detail::valid_roster_entry("alice", "Lobby"));
    CHECK_FALSE(chatroom::detail::valid_roster_entry("evil, nick", "lobby"));
    CHECK_FALSE(chatroom::detail::valid_roster_entry("ghost", "bad room!"));
    CHECK_FALSE(chatroom::detail::valid_roster_entry("", "lobby"));
}

TEST_CASE("backplane: a chat entry's lines are cleaned in one pass as line by line", "[backplane][entry]") {
    // The reference: each '\n'-ended line through sanitize_append on its own.
    const auto reference = [](std::string_view text, std::size_t max, chatroom::room_event& e) {
        bool too_long = false;
        chatroom::for_each_line(text, [&](std::string_view raw) {
            if (too_long) return;
            std::string line;
            chatroom::sanitize_append(line, raw);
            if (line.size() > max) too_long = true;
            else if (!line.empty()) e.add_line(line);
        });
        return !too_long;
    };
    const std::string pieces[] = {"hello", " ", "\n", "\r", "\t", "\x01", "\x7f", "\xc2\x85", "\xc3\xa9", "\xe2\x80\xae",
                                  "\xe2\x80\x8d", "\xf0\x9f\x98\x80", "\xef\xb8\x8f", "\xff", "\xe2\x82", "abcdefghijklmnop", "\n\n"};
    std::mt19937 rng(7);
    for (int round = 0; round < 20000; ++round) {
        std::string text;
        const std::size_t n = rng() % 24;
        for (std::size_t i = 0; i < n; ++i) text += pieces[rng() % std::size(pieces)];
        const std::size_t max = 1 + rng() % 40;
        chatroom::room_event want, got;
        const bool ok = reference(text, max, want);
        REQUIRE(chatroom::detail::add_clean_lines(got, text, max) == ok);
        // The same with the text's string given up: moved in when every line
        // is clean as it stands, else copied from as above.
        chatroom::room_event taken;
        std::string owner = text;
        REQUIRE(chatroom::detail::add_clean_lines(taken, owner, max, &owner) == ok);
        if (!ok) continue;
        REQUIRE(got.text == want.text);
        REQUIRE(got.line_count == want.line_count);
        REQUIRE(got.line_ends == want.line_ends);
        REQUIRE(taken.text == want.text);
        REQUIRE(taken.line_count == want.line_count);
        REQUIRE(taken.line_ends == want.line_ends);
    }
    // A string that is not the one viewed is never taken.
    chatroom::room_event e;
    std::string other = "a\n";
    REQUIRE(chatroom::detail::add_clean_lines(e, std::string_view("b\n"), 10, &other));
    CHECK(e.text == "b\n");
    CHECK(other == "a\n");
}

TEST_CASE("backplane: an entry parsed from a reply given up is the entry parsed from a copy", "[backplane][entry]") {
    using chatroom::detail::redis_reply;
    const auto str = [](std::string t) {
        redis_reply r;
        r.type = redis_reply::kind::string;
        r.text = std::move(t);
        return r;
    };
    const std::string texts[] = {"hello\nworld\n", "hello\nworld", "a\x01b\n", "\n\nx\n", "", "caf\xc3\xa9\n",
                                 std::string(50, 'y') + "\n", "tab\there\n"};
    for (const std::string& text : texts) {
        for (int twice = 0; twice < 2; ++twice) {
            redis_reply fields;
            fields.type = redis_reply::kind::array;
            for (const char* kv : {"k", "c", "n", "node1", "e", "ep1", "s", "7", "u", "alice"})
                fields.elements.push_back(str(kv));
            if (twice) { // of a field given twice the last counts, in both
                fields.elements.push_back(str("x"));
                fields.elements.push_back(str("ignored\n"));
            }
            fields.elements.push_back(str("x"));
            fields.elements.push_back(str(text));
            redis_reply entry;
            entry.type = redis_reply::kind::array;
            entry.elements.push_back(str("5-1"));
            entry.elements.push_back(fields);
            const redis_reply copy = entry;
            chatroom::detail::stream_id a, b;
            chatroom::detail::entry_error wa{}, wb{};
            const chatroom::detail::entry_rules rules{20, chatroom::detail::entry_stream::room};
            auto from_copy = chatroom::detail::parse_entry(copy, a, rules, &wa);
            auto given_up = chatroom::detail::parse_entry(std::move(entry), b, rules, &wb);
            REQUIRE(wa == wb);
            REQUIRE((a.ms == b.ms && a.seq == b.seq));
            REQUIRE(from_copy.has_value() == given_up.has_value());
            if (!from_copy) continue;
            CHECK(from_copy->event.text == given_up->event.text);
            CHECK(from_copy->event.line_ends == given_up->event.line_ends);
            CHECK(from_copy->event.line_count == given_up->event.line_count);
        }
    }
}
