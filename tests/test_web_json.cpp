// The JSON dialect's parts without sockets: the strict reader, the writer,
// the command schema, how events and replies are worded, and the times.

#include "support/fake_member.hpp"

#include <chatroom.hpp>
#include <chatroom/web.hpp>

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <vector>

#include <chrono>
#include <string>
#include <string_view>

namespace json = chatroom::detail::json;
using chatroom::detail::browser_command;
using chatroom::detail::browser_command_kind;
using chatroom::detail::parse_browser_command;

namespace {

json::object read_ok(std::string_view in) {
    json::object o;
    const json::read_error e = json::read_object(in, o);
    INFO(in << " -> " << e.what << " at " << e.at);
    REQUIRE_FALSE(e);
    return o;
}

std::string_view refusal(std::string_view in) {
    json::object o;
    return json::read_object(in, o).what;
}

std::string frame_payload(const chatroom::shared_bytes& m) {
    std::string bytes(m.view());
    REQUIRE(bytes.size() >= 2);
    REQUIRE(static_cast<unsigned char>(bytes[0]) == 0x81); // one text frame, FIN
    const auto len = static_cast<unsigned char>(bytes[1]);
    const std::size_t header = len < 126 ? 2 : len == 126 ? 4 : 10;
    return bytes.substr(header);
}

// The payloads of the unmasked text frames in bytes (a member's output).
std::vector<std::string> payloads(std::string_view bytes) {
    std::vector<std::string> out;
    while (bytes.size() >= 2) {
        REQUIRE(static_cast<unsigned char>(bytes[0]) == 0x81);
        std::size_t len = static_cast<unsigned char>(bytes[1]), at = 2;
        if (len == 126) {
            len = static_cast<std::size_t>(static_cast<unsigned char>(bytes[2]) << 8 | static_cast<unsigned char>(bytes[3]));
            at = 4;
        }
        REQUIRE(len != 127);
        REQUIRE(bytes.size() >= at + len);
        out.emplace_back(bytes.substr(at, len));
        bytes.remove_prefix(at + len);
    }
    REQUIRE(bytes.empty());
    return out;
}

// A hub with members of the JSON dialect and of the line protocol, no sockets.
struct json_core {
    asio::io_context io;
    std::shared_ptr<chatroom::detail::hub> hub;

    json_core() {
        hub = std::make_shared<chatroom::detail::hub>(io.get_executor(), chatroom::server_options{});
        hub->start();
    }
    std::shared_ptr<chatroom::test::fake_member> browser() {
        auto m = std::make_shared<chatroom::test::fake_member>(chatroom::detail::json_dialect(), "192.0.2.1", false,
                                                               chatroom::detail::json_interpreter_instance());
        hub->attach(m);
        return m;
    }
    std::shared_ptr<chatroom::test::fake_member> telnet() {
        auto m = std::make_shared<chatroom::test::fake_member>();
        hub->attach(m);
        return m;
    }
    // The objects m was sent since the last call.
    std::vector<std::string> objects(chatroom::test::fake_member& m) {
        m.take(hub->soft_limit());
        std::vector<std::string> all = payloads(m.received);
        m.received.clear();
        return all;
    }
    // One message of m's, as the session hands it over after its decoder.
    void send(chatroom::test::fake_member& m, std::string_view message) {
        hub->receive(m, message.data(), message.size(), [&](auto&& out) {
            out(chatroom::frame_event::line, message);
            return message.size();
        });
    }
};

// The value of "key":"..." in a flat object's text (none: "<none>").
std::string value_of(const std::string& object, const std::string& key) {
    const std::size_t at = object.find("\"" + key + "\":\"");
    if (at == std::string::npos) return "<none>";
    const std::size_t from = at + key.size() + 4;
    return object.substr(from, object.find('"', from) - from);
}

} // namespace

TEST_CASE("json interpreter: commands become the core's requests, with rooms, socket-free", "[json]") {
    json_core c;
    auto ann = c.browser();
    auto bob = c.telnet();
    const std::vector<std::string> hello = c.objects(*ann);
    REQUIRE(hello.size() >= 3);
    CHECK(hello[0] == R"({"type":"hello","protocol":1,"server":"chatroom"})");
    CHECK(value_of(hello[1], "type") == "welcome");
    CHECK(hello[2] == R"({"type":"joined_room","room":"lobby","members":1})");
    const std::string ann_nick = value_of(hello[1], "nick");
    bob->take(c.hub->soft_limit());
    const std::string bob_nick = bob->lines()[0].substr(bob->lines()[0].rfind(' ') + 1);
    bob->new_lines();
    c.objects(*ann);

    // Without echo, its own lines are not sent back; {"type":"echo"} turns
    // that on, and is not answered.
    c.send(*ann, R"({"type":"say","text":"before echo"})");
    bob->take(c.hub->soft_limit());
    CHECK(bob->new_lines() == std::vector<std::string>{"<" + ann_nick + "> before echo"});
    CHECK(c.objects(*ann).empty());
    c.send(*ann, R"({"type":"echo"})");
    CHECK(c.objects(*ann).empty());
    // A say of two lines is one chat event of two lines.
    c.send(*ann, R"({"type":"say","text":"one\r\ntwo"})");
    c.send(*ann, R"({"type":"me","text":"waves\nhigh"})");
    bob->take(c.hub->soft_limit());
    CHECK(bob->new_lines() == std::vector<std::string>{"<" + ann_nick + "> one", "<" + ann_nick + "> two",
                                                       "* " + ann_nick + " waves high"});
    // Its own lines come back to the browser as everyone's do, with id and
    // time, marked own: the page draws them in the room's order.
    const std::vector<std::string> own = c.objects(*ann);
    REQUIRE(own.size() == 2);
    CHECK(value_of(own[0], "type") == "chat");
    CHECK(value_of(own[0], "text") == "one\\ntwo");
    CHECK(value_of(own[1], "type") == "action");
    for (const std::string& o : own) {
        CHECK(value_of(o, "nick") == ann_nick);
        CHECK(value_of(o, "room") == "lobby");
        CHECK(value_of(o, "id") != "<none>");
        CHECK(value_of(o, "time") != "<none>");
        CHECK(o.find(R"(,"own":true,)") != std::string::npos);
    }
    CHECK(std::stoul(value_of(own[1], "id")) > std::stoul(value_of(own[0], "id")));
    // Others get them without the mark.
    auto cat = c.browser();
    c.objects(*cat);
    c.objects(*ann); // cat's joined
    c.send(*ann, R"({"type":"say","text":"seen by cat"})");
    const std::vector<std::string> cats = c.objects(*cat);
    REQUIRE(cats.size() == 1);
    CHECK(value_of(cats[0], "text") == "seen by cat");
    CHECK(cats[0].find("own") == std::string::npos);
    CHECK(c.objects(*ann).size() == 1);
    bob->take(c.hub->soft_limit());
    bob->new_lines();
    // join adds a room; say, who and part name theirs. Its own joined and
    // left are not sent back: joined_room and left_room say those.
    c.send(*ann, R"({"type":"join","room":"#dev"})");
    CHECK(c.objects(*ann) == std::vector<std::string>{R"({"type":"joined_room","room":"dev","members":1})"});
    CHECK(ann->state.seats.size() == 2);
    c.send(*ann, R"({"type":"say","room":"lobby","text":"to the lobby"})");
    bob->take(c.hub->soft_limit());
    CHECK(bob->new_lines() == std::vector<std::string>{"<" + ann_nick + "> to the lobby"});
    c.send(*ann, R"({"type":"who","room":"dev"})");
    const std::vector<std::string> echoed = c.objects(*ann);
    REQUIRE(echoed.size() == 2);
    CHECK(value_of(echoed[0], "text") == "to the lobby");
    CHECK(value_of(echoed[0], "room") == "lobby");
    CHECK(echoed[1] == R"({"type":"who","room":"dev","names":[")" + ann_nick + R"("]})");
    // Only "" clears a topic: text of spaces or control characters is the usage it was.
    auto topic_of_dev = [&] {
        c.send(*ann, R"({"type":"rooms"})");
        const std::vector<std::string> r = c.objects(*ann);
        REQUIRE(r.size() == 1);
        const std::size_t at = r[0].find(R"({"name":"dev")");
        REQUIRE(at != std::string::npos);
        return value_of(r[0].substr(at, r[0].find('}', at) - at + 1), "topic");
    };
    c.send(*ann, R"({"type":"topic","room":"dev","text":"fish"})");
    c.objects(*ann);
    CHECK(topic_of_dev() == "fish");
    for (const char* blank : {R"("  ")", R"("\u0002\u0003")"}) {
        c.send(*ann, std::string(R"({"type":"topic","room":"dev","text":)") + blank + "}");
        const std::vector<std::string> usage = c.objects(*ann);
        REQUIRE(usage.size() == 1);
        CHECK(value_of(usage[0], "type") == "error");
        CHECK(value_of(usage[0], "code") == "usage");
    }
    CHECK(topic_of_dev() == "fish");
    c.send(*ann, R"({"type":"topic","room":"dev","text":""})");
    for (const std::string& o : c.objects(*ann)) CHECK(value_of(o, "type") != "error");
    CHECK(topic_of_dev() == "<none>");
    c.send(*ann, R"({"type":"part","room":"lobby","reason":"busy"})");
    bob->take(c.hub->soft_limit());
    CHECK(bob->new_lines() == std::vector<std::string>{"* " + ann_nick + " left (busy)"});
    CHECK(c.objects(*ann) == std::vector<std::string>{R"({"type":"left_room","room":"lobby"})"});
    c.send(*ann, R"({"type":"say","room":"lobby","text":"x"})");
    CHECK(c.objects(*ann) ==
          std::vector<std::string>{R"({"type":"error","code":"not_in_room","text":"you are not in lobby","subject":"lobby"})"});
    // msg and the line escape reach the core as their line-protocol forms.
    c.send(*ann, R"({"type":"msg","to":")" + bob_nick + R"(","text":"psst"})");
    bob->take(c.hub->soft_limit());
    CHECK(bob->new_lines() == std::vector<std::string>{"*" + ann_nick + "* psst"});
    const std::vector<std::string> sent = c.objects(*ann);
    REQUIRE(sent.size() == 1);
    CHECK(value_of(sent[0], "type") == "private");
    CHECK(value_of(sent[0], "to") == bob_nick);
    CHECK(sent[0].find(R"(,"own":true,)") != std::string::npos);
    c.send(*ann, R"({"type":"line","text":"/nick annie"})");
    const std::vector<std::string> renamed = c.objects(*ann);
    REQUIRE(renamed.size() == 1);
    CHECK(value_of(renamed[0], "type") == "renamed");
    CHECK(value_of(renamed[0], "old_nick") == ann_nick);
    // Anything the decoder would have refused is ignored here: nothing happens.
    c.send(*ann, "not json");
    c.send(*ann, R"({"type":"dance"})");
    CHECK(c.objects(*ann).empty());
    bob->take(c.hub->soft_limit());
    CHECK(bob->new_lines().empty());
}

TEST_CASE("json reader: flat objects of strings, numbers, booleans and null", "[json]") {
    const json::object o =
        read_ok(" {\"type\" : \"say\", \"text\":\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\", \"n\": -12.5e+3, "
                "\"c\":0, \"t\":true, \"f\":false, \"z\":null}\r\n");
    REQUIRE(o.fields.size() == 7);
    CHECK(o.find("type")->text == "say");
    CHECK(o.find("text")->text == "a\"b\\c/d\n\t\xC3\xA9\xF0\x9F\x98\x80");
    CHECK(o.find("n")->kind == json::value_kind::number);
    CHECK(o.find("n")->text == "-12.5e+3");
    CHECK(o.find("t")->flag);
    CHECK(o.find("f")->kind == json::value_kind::boolean);
    CHECK_FALSE(o.find("f")->flag);
    CHECK(o.find("z")->kind == json::value_kind::null);
    CHECK(o.find("missing") == nullptr);
    CHECK(read_ok("{}").fields.empty());
    std::uint64_t n = 0;
    CHECK(o.find("c")->as_count(n));
    CHECK(n == 0);
    CHECK_FALSE(o.find("n")->as_count(n));
    CHECK(read_ok("{\"l\":9007199254740992}").find("l")->as_count(n));
    CHECK_FALSE(read_ok("{\"l\":9007199254740993}").find("l")->as_count(n));
}

TEST_CASE("json reader: refuses everything that is not strict JSON, saying where", "[json]") {
    CHECK(refusal("") == "expected an object");
    CHECK(refusal("[1]") == "expected an object");
    CHECK(refusal("{\"a\":1,}") == "expected a key");
    CHECK(refusal("{'a':1}") == "expected a key");
    CHECK(refusal("{\"a\" 1}") == "expected ':'");
    CHECK(refusal("{\"a\":1 \"b\":2}") == "expected ',' or '}'");
    CHECK(refusal("{\"a\":1}x") == "text after the object");
    CHECK(refusal("{\"a\":1}{}") == "text after the object");
    CHECK(refusal("{\"a\":{\"b\":1}}") == "nested objects and arrays are not accepted");
    CHECK(refusal("{\"a\":[]}") == "nested objects and arrays are not accepted");
    CHECK(refusal("{\"a\":1,\"a\":2}") == "duplicate key");
    CHECK(refusal("{\"a\":01}") == "a number with a leading zero");
    CHECK(refusal("{\"a\":1.}") == "expected a digit after '.'");
    CHECK(refusal("{\"a\":1e}") == "expected a digit in the exponent");
    CHECK(refusal("{\"a\":-}") == "expected a digit");
    CHECK(refusal("{\"a\":+1}") == "expected a value");
    CHECK(refusal("{\"a\":tru}") == "expected a value");
    CHECK(refusal("{\"a\":\"x\ty\"}") == "a control character in a string");
    CHECK(refusal("{\"a\":\"x") == "unterminated string");
    CHECK(refusal("{\"a\":\"\\x\"}") == "an unknown escape");
    CHECK(refusal("{\"a\":\"\\u12\"}") == "expected four hex digits after \\u");
    CHECK(refusal("{\"a\":\"\\udc00\"}") == "a lone low surrogate");
    CHECK(refusal("{\"a\":\"\\ud800x\"}") == "a high surrogate without its low half");
    CHECK(refusal("{\"a\":\"\\ud800\\u0041\"}") == "a high surrogate without its low half");
    CHECK(refusal("{\"a\":\"\xC3\"}") == "not valid UTF-8");
    CHECK(refusal("{\"a\":\"\xED\xA0\x80\"}") == "not valid UTF-8"); // an encoded surrogate
    CHECK(refusal("{\"a\":" + std::string(40, '1') + "}") == "number too long");
    std::string many = "{";
    for (int i = 0; i < 33; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
    CHECK(refusal(many + "}") == "too many fields");
    json::object o;
    const json::read_error e = json::read_object("{\"a\": x}", o);
    CHECK(e.at == 6);
}

TEST_CASE("json writer: objects, arrays and escapes a browser's JSON.parse reads back", "[json]") {
    std::string out;
    json::writer w(out);
    w.begin_object()
        .field("type", "who")
        .field("n", std::uint64_t{42})
        .field("ok", true)
        .field("text", std::string_view("q\"b\\s\n\r\t\x01\x1f \xE2\x80\xA8\xE2\x80\xA9 \xE2\x82\xAC"))
        .begin_array("names")
        .element("a")
        .element("b")
        .end_array()
        .begin_array("rooms")
        .element_object()
        .field("name", "x")
        .end_object()
        .element_object()
        .end_object()
        .end_array()
        .end_object();
    CHECK(out == "{\"type\":\"who\",\"n\":42,\"ok\":true,"
                 "\"text\":\"q\\\"b\\\\s\\n\\r\\t\\u0001\\u001f \\u2028\\u2029 \xE2\x82\xAC\","
                 "\"names\":[\"a\",\"b\"],\"rooms\":[{\"name\":\"x\"},{}]}");
    // What the writer makes of a string, the reader gives back.
    const std::string tricky = "tab\there \"quoted\" back\\slash \x02 \xE2\x80\xA8 caf\xC3\xA9";
    std::string obj;
    json::writer(obj).begin_object().field("s", tricky).end_object();
    CHECK(read_ok(obj).find("s")->text == tricky);
}

TEST_CASE("json schema: each type with its fields; errors with codes", "[json]") {
    browser_command c;
    REQUIRE_FALSE(parse_browser_command(R"({"type":"say","room":"dev","text":"hi"})", c));
    CHECK(c.kind == browser_command_kind::say);
    CHECK(c.room == "dev");
    CHECK(c.text == "hi");
    REQUIRE_FALSE(parse_browser_command(R"({"type":"msg","to":"bob","text":"psst"})", c));
    CHECK(c.kind == browser_command_kind::msg);
    CHECK(c.to == "bob");
    REQUIRE_FALSE(parse_browser_command(R"({"type":"history","limit":5})", c));
    CHECK(c.kind == browser_command_kind::history);
    CHECK(c.limit == 5);
    REQUIRE_FALSE(parse_browser_command(R"({"type":"login","name":"ann","secret":"pw"})", c));
    CHECK(c.secret == "pw");
    REQUIRE_FALSE(parse_browser_command(R"({"type":"rooms"})", c));
    CHECK(c.kind == browser_command_kind::rooms);
    REQUIRE_FALSE(parse_browser_command(R"({"type":"echo"})", c));
    CHECK(c.kind == browser_command_kind::echo);

    auto code = [&](std::string_view in) { return std::string(parse_browser_command(in, c).code); };
    CHECK(code("not json") == "bad_json");
    CHECK(code(R"({"text":"hi"})") == "bad_request");
    CHECK(code(R"({"type":5})") == "bad_request");
    CHECK(code(R"({"type":"dance"})") == "unknown_type");
    CHECK(code(R"({"type":"say"})") == "bad_request");
    CHECK(code(R"({"type":"say","text":"  "})") == "bad_request");
    CHECK(code(R"({"type":"say","text":"hi","colour":"red"})") == "bad_request");
    CHECK(code(R"({"type":"say","text":7})") == "bad_request");
    CHECK(code(R"({"type":"echo","on":true})") == "bad_request");
    CHECK(code(R"({"type":"history","limit":"5"})") == "bad_request");
    CHECK(code(R"({"type":"history","limit":-1})") == "bad_request");
    CHECK(code(R"({"type":"history","before":"17","after":"3"})") == "bad_request"); // one bound at a time
    REQUIRE_FALSE(parse_browser_command(R"({"type":"history","room":"dev","before":"17","limit":5})", c));
    CHECK(c.before == "17");
    CHECK(c.limit == 5);
    REQUIRE_FALSE(parse_browser_command(R"({"type":"part","room":"dev","reason":"busy"})", c));
    CHECK(c.kind == browser_command_kind::part);
    CHECK(c.reason == "busy");
    CHECK(code(R"({"type":"msg","to":"bob"})") == "bad_request");
    std::string most = "{\"type\":\"say\",\"text\":\"x";
    for (std::size_t i = 1; i < chatroom::detail::max_say_lines; ++i) most += "\\nx";
    CHECK(code(most + "\"}") == "");
    CHECK(code(most + "\\nx\"}") == "bad_request");
    CHECK(parse_browser_command(R"({"type":"say","text":"hi","colour":"red"})", c).text == "say has no field \"colour\"");
    CHECK(parse_browser_command("{\"type\":\"say\",", c).text == "expected a key at byte 14");
    // A long unknown type is cut in its error text, never inside a character
    // (the text goes out in a WebSocket text frame, which must be UTF-8).
    const std::string long_type = std::string(63, 'a') + "\xC3\xA9" + std::string(10, 'b');
    const auto cut = parse_browser_command("{\"type\":\"" + long_type + "\"}", c);
    CHECK(cut.code == "unknown_type");
    CHECK(cut.text == "unknown type: " + std::string(63, 'a'));
}

TEST_CASE("json reader: plain runs and escapes at every offset; plain strings are views", "[json]") {
    // The reader scans plain text eight bytes at a time: whatever ends a run
    // (a quote, an escape, a control character) is found at every offset.
    for (std::size_t n = 0; n < 26; ++n) {
        for (const std::string& unit : {std::string("a"), std::string("\xC3\xA9")}) {
            std::string plain;
            for (std::size_t i = 0; i < n; ++i) plain += unit;
            INFO("n=" << n << " unit bytes=" << unit.size());
            const std::string bare = "{\"k\":\"" + plain + "\"}";
            const json::object a = read_ok(bare);
            CHECK(a.find("k")->text == plain);
            // No escape: a view into the input, nothing copied.
            CHECK((plain.empty() || a.find("k")->text.data() == bare.data() + 6));
            const std::string escaped = "{\"k\":\"" + plain + "\\n" + plain + "\\\"\"}";
            json::object b = read_ok(escaped);
            CHECK(b.find("k")->text == plain + "\n" + plain + "\"");
            // Decoded into the object's store: moving the object keeps it.
            const json::object moved = std::move(b);
            CHECK(moved.find("k")->text == plain + "\n" + plain + "\"");
            json::object o;
            const json::read_error e = json::read_object("{\"k\":\"" + plain + "\x01\"}", o);
            CHECK(e.what == "a control character in a string");
            CHECK(e.at == 6 + plain.size());
            const json::read_error cut = json::read_object("{\"k\":\"" + plain, o);
            CHECK(cut.what == "unterminated string");
            CHECK(cut.at == 6 + plain.size());
        }
    }
    // Escaped keys are keys like any other.
    browser_command c;
    REQUIRE_FALSE(parse_browser_command(R"({"\u0074ype":"say","te\u0078t":"h\u00e9"})", c));
    CHECK(c.kind == browser_command_kind::say);
    CHECK(c.text == "h\xC3\xA9");
    // A missing field: the first one the type lists is named.
    CHECK(parse_browser_command(R"({"type":"msg"})", c).text == "msg needs \"to\"");
    CHECK(parse_browser_command(R"({"type":"msg","to":"bob"})", c).text == "msg needs \"text\"");
    CHECK(parse_browser_command(R"({"type":"login","secret":"pw"})", c).text == "login needs \"name\"");
}

// What a web_decoder hands on: lines with what it read of them (decoded)
// and lines without.
struct seam_probe {
    struct seen {
        std::string text;
        bool decoded = false;
        bool same_bytes = false; // the message's own bytes, not a copy
        bool is_command = false;
        browser_command_kind kind = browser_command_kind::say;
        std::string command_text;
    };
    std::vector<seen> lines;
    bool operator()(chatroom::frame_event, std::string_view text) {
        lines.push_back({std::string(text), false, false, false, {}, {}});
        return true;
    }
    bool operator()(chatroom::frame_event, std::string_view text, const chatroom::decoded_line& d) {
        seen s{std::string(text), true, false, d.form() == &chatroom::detail::browser_command_form, {}, {}};
        if (s.is_command) {
            const auto& c = static_cast<const browser_command&>(d);
            s.kind = c.kind;
            s.command_text = std::string(c.text);
            s.same_bytes = c.text.data() >= text.data() && c.text.data() + c.text.size() <= text.data() + text.size();
        }
        lines.push_back(std::move(s));
        return true;
    }
};

TEST_CASE("json seam: the decoder reads each message once and hands its command on with it", "[json]") {
    using chatroom::detail::client_frame;
    using chatroom::detail::ws_opcode;
    constexpr std::array<unsigned char, 4> mask{0x37, 0xfa, 0x21, 0x3d};
    auto link = std::make_shared<chatroom::detail::web_link>();
    link->json = true;
    chatroom::detail::web_decoder dec(4096, link);
    seam_probe probe;
    const std::string say = R"({"type":"say","text":"hi there"})";
    std::string bytes = client_frame(ws_opcode::text, say, mask) + client_frame(ws_opcode::text, "{\"type\":", mask) +
                        client_frame(ws_opcode::text, R"({"type":"dance"})", mask) +
                        client_frame(ws_opcode::text, R"({"type":"msg","to":"bob","text":"line\nbreak"})", mask);
    REQUIRE(dec.feed(bytes.data(), bytes.size(), probe) == bytes.size());
    // Every command goes on decoded, as sent (the interpreter never reads
    // its text again); the refusals are answered here and go no further.
    REQUIRE(probe.lines.size() == 2);
    CHECK(probe.lines[0].decoded);
    CHECK(probe.lines[0].is_command);
    CHECK(probe.lines[0].text == say);
    CHECK(probe.lines[0].kind == browser_command_kind::say);
    CHECK(probe.lines[0].command_text == "hi there");
    CHECK(probe.lines[0].same_bytes);
    CHECK(probe.lines[1].decoded);
    CHECK(probe.lines[1].kind == browser_command_kind::msg);
    CHECK(probe.lines[1].command_text == "line\nbreak"); // decoded from its escape
    const std::vector<std::string> answers = payloads(dec.replies());
    REQUIRE(answers.size() == 2);
    CHECK(value_of(answers[0], "code") == "bad_json");
    CHECK(value_of(answers[1], "code") == "unknown_type");
    CHECK_FALSE(dec.ended());

    // The line protocol over WebSocket reads no JSON: its lines go on as text.
    auto plain_link = std::make_shared<chatroom::detail::web_link>();
    chatroom::detail::web_decoder plain(4096, plain_link);
    seam_probe plain_probe;
    bytes = client_frame(ws_opcode::text, say, mask);
    plain.feed(bytes.data(), bytes.size(), plain_probe);
    REQUIRE(plain_probe.lines.size() == 1);
    CHECK_FALSE(plain_probe.lines[0].decoded);
    CHECK(plain_probe.lines[0].text == say);
}

// Another dialect's decoded line, which the JSON interpreter must not read as its own.
struct other_form : chatroom::decoded_line {
    static constexpr char tag = 0;
    other_form() noexcept : decoded_line(&tag) {}
};

TEST_CASE("json seam: the interpreter acts on the command it is handed, not on its text", "[json]") {
    const std::string message = R"({"type":"say","text":"as written"})";
    browser_command checked;
    REQUIRE_FALSE(parse_browser_command(R"({"type":"say","text":"as checked"})", checked));
    json_core c;
    auto ann = c.browser();
    auto bob = c.telnet();
    c.objects(*ann);
    bob->take(c.hub->soft_limit());
    bob->new_lines();
    auto send = [&](auto&&... decoded) {
        c.hub->receive(*ann, message.data(), message.size(), [&](auto&& out) {
            out(chatroom::frame_event::line, message, decoded...);
            return message.size();
        });
    };
    send(static_cast<const chatroom::decoded_line&>(checked)); // as the decoder hands it: no second read
    send();                                                    // text no decoder read: read here
    send(other_form());                                        // not a command: the text is read
    bob->take(c.hub->soft_limit());
    const std::vector<std::string> got = bob->new_lines();
    REQUIRE(got.size() == 3);
    for (const std::string& l : got) REQUIRE(l.size() > 10);
    CHECK(got[0].substr(got[0].size() - 10) == "as checked");
    CHECK(got[1].substr(got[1].size() - 10) == "as written");
    CHECK(got[2].substr(got[2].size() - 10) == "as written");
}

TEST_CASE("json time: ISO 8601 in UTC with milliseconds", "[json]") {
    using namespace std::chrono;
    const system_clock::time_point t = system_clock::time_point(milliseconds(1796570258123LL));
    CHECK(chatroom::detail::iso_time(t) == "2026-12-06T15:17:38.123Z");
    CHECK(chatroom::detail::iso_time(system_clock::time_point(milliseconds(951782400000LL))) ==
          "2000-02-29T00:00:00.000Z");
    CHECK(chatroom::detail::iso_time(system_clock::time_point(milliseconds(-1))) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("json dialect: room events as one object each, shared by every JSON browser", "[json]") {
    const chatroom::renderer& d = chatroom::detail::json_dialect();
    CHECK(&d == &chatroom::detail::json_dialect());
    chatroom::room_event e;
    e.kind = chatroom::room_event_kind::chat;
    e.room = "lobby";
    e.nick = "ann";
    e.add_line("hello <b>");
    e.add_line("second \"line\"");
    e.seq = 17;
    e.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796570258123LL));
    CHECK(frame_payload(d.render(e)) == R"({"type":"chat","id":"17","time":"2026-12-06T15:17:38.123Z","room":"lobby",)"
                                        R"("nick":"ann","text":"hello <b>\nsecond \"line\""})");
    e.log_id = "1796570258123-0";
    CHECK(frame_payload(d.render(e)).find(R"("id":"1796570258123-0")") != std::string::npos);

    chatroom::room_event r;
    r.kind = chatroom::room_event_kind::renamed;
    r.room = "dev";
    r.nick = "bob";
    r.old_nick = "guest-2";
    r.seq = 3;
    CHECK(frame_payload(d.render(r)) == R"({"type":"renamed","id":"3","room":"dev","nick":"bob","old_nick":"guest-2"})");
    r.kind = chatroom::room_event_kind::left;
    r.reason = "kicked by op: spam";
    CHECK(frame_payload(d.render(r)) == R"({"type":"left","id":"3","room":"dev","nick":"bob","reason":"kicked by op: spam"})");
    r.kind = chatroom::room_event_kind::action;
    r.text = "waves";
    CHECK(frame_payload(d.render(r)) == R"({"type":"action","id":"3","room":"dev","nick":"bob","text":"waves"})");
    r.kind = chatroom::room_event_kind::private_message;
    r.room.clear();
    r.target = "ann";
    r.text = "psst";
    CHECK(frame_payload(d.render(r)) == R"({"type":"private","id":"3","nick":"bob","to":"ann","text":"psst"})");
    r.as_notice = true; // said as a notice (IRC's NOTICE)
    CHECK(frame_payload(d.render(r)) ==
          R"({"type":"private","id":"3","nick":"bob","to":"ann","text":"psst","notice":true})");
    r.as_notice = false;
    r.kind = chatroom::room_event_kind::notice;
    r.nick.clear();
    r.room = "dev";
    r.text = "server restarting";
    CHECK(frame_payload(d.render(r)) == R"({"type":"notice","id":"3","room":"dev","text":"server restarting"})");

    // A browser's own events: chat, action and private come back marked
    // own, rendered for it alone; its own joined and left do not come back.
    chatroom::shared_bytes own;
    REQUIRE(d.render_own(e, own));
    CHECK(frame_payload(own) == R"({"type":"chat","id":"1796570258123-0","time":"2026-12-06T15:17:38.123Z",)"
                                R"("room":"lobby","nick":"ann","own":true,"text":"hello <b>\nsecond \"line\""})");
    r.kind = chatroom::room_event_kind::private_message;
    r.room.clear();
    r.nick = "bob";
    own = {};
    REQUIRE(d.render_own(r, own));
    CHECK(frame_payload(own) == R"({"type":"private","id":"3","nick":"bob","own":true,"to":"ann","text":"server restarting"})");
    for (const auto kind : {chatroom::room_event_kind::joined, chatroom::room_event_kind::left}) {
        r.kind = kind;
        own = {};
        CHECK(d.render_own(r, own));
        CHECK(own.empty());
    }
    // A topic change: a notice as before, its setter and the topic beside.
    r.kind = chatroom::room_event_kind::topic;
    r.room = "dev";
    r.nick = "op";
    r.text = "builds are green";
    CHECK(frame_payload(d.render(r)) == R"({"type":"notice","id":"3","room":"dev","nick":"op",)"
                                        R"("text":"op set the topic: builds are green","topic":"builds are green"})");
    // An away event (IRC's away-notify) is nothing to a browser, nor is an
    // account on an event (IRC's account-tag) shown: the objects are as before.
    r.kind = chatroom::room_event_kind::away;
    r.nick = "bob";
    r.text = "lunch";
    CHECK(d.render(r).empty());
    r.kind = chatroom::room_event_kind::joined;
    r.text = "lunch"; // a joined event carries the joiner's away message
    r.account = "bob";
    CHECK(frame_payload(d.render(r)) == R"({"type":"joined","id":"3","room":"dev","nick":"bob"})");
}

TEST_CASE("json dialect: typed replies as objects, refusals as error objects with codes", "[json]") {
    using chatroom::reply;
    using chatroom::reply_kind;
    const chatroom::renderer& d = chatroom::detail::json_dialect();
    CHECK(d.wording(reply::welcome("chatroom", "guest-1")) ==
          "{\"type\":\"hello\",\"protocol\":1,\"server\":\"chatroom\"}\n"
          "{\"type\":\"welcome\",\"server\":\"chatroom\",\"nick\":\"guest-1\"}");
    // The welcome is two frames: hello, then welcome.
    std::string block;
    d.append(block, reply::welcome("s", "n"));
    CHECK(block.rfind("\x81", 0) == 0);
    CHECK(block.find("\x81", 1) != std::string::npos);
    CHECK(d.wording(reply::joined_room("lobby", 3)) == R"({"type":"joined_room","room":"lobby","members":3})");
    CHECK(d.wording(reply::who("lobby", {"ann", "bob"})) == R"({"type":"who","room":"lobby","names":["ann","bob"]})");
    CHECK(d.wording(reply::room_list({{"dev", 2, "builds"}, {"lobby", 1, ""}})) ==
          R"({"type":"rooms","rooms":[{"name":"dev","members":2,"topic":"builds"},{"name":"lobby","members":1}]})");
    CHECK(d.wording(reply::topic("dev", "be nice")) == R"({"type":"topic","room":"dev","text":"be nice"})");
    CHECK(d.wording(reply::of(reply_kind::left_room, "dev")) == R"({"type":"left_room","room":"dev"})");
    CHECK(d.wording(reply::of(reply_kind::nick_taken, "bob")) ==
          R"({"type":"error","code":"nick_taken","text":"nick taken: bob","subject":"bob"})");
    CHECK(d.wording(reply::line_too_long(4096)) ==
          R"j({"type":"error","code":"line_too_long","text":"line too long (limit 4096 bytes)","limit":4096})j");
    CHECK(d.wording(reply::of(reply_kind::not_in_room, "dev")) ==
          R"({"type":"error","code":"not_in_room","text":"you are not in dev","subject":"dev"})");
    reply many = reply::of(reply_kind::too_many_rooms, "ops");
    many.count = 20;
    CHECK(d.wording(many) ==
          R"({"type":"error","code":"too_many_rooms","text":"cannot join ops: you are in 20 rooms, the most it allows","subject":"ops","limit":20})");
    CHECK(d.wording(reply::of(reply_kind::not_permitted)) == R"({"type":"error","code":"not_permitted","text":"not permitted"})");
    CHECK(d.wording(reply::of(reply_kind::kicked_by, "op", "spam")) ==
          R"({"type":"bye","code":"kicked_by","text":"kicked by op: spam","by":"op","reason":"spam"})");
    CHECK(d.wording(reply::of(reply_kind::logged_in, "ann")) == R"({"type":"logged_in","account":"ann"})");
    reply h = reply::of(reply_kind::history, "dev");
    h.past.push_back({std::chrono::system_clock::time_point(std::chrono::milliseconds(1796570258123LL)), "ann", "hi", false, "41", ""});
    h.past.push_back({std::chrono::system_clock::time_point(std::chrono::milliseconds(1796570259000LL)), "bob", "waves", true, "42", ""});
    CHECK(d.wording(h) == R"({"type":"history","room":"dev","some_missing":false,"more":false,"lines":[)"
                          R"({"type":"chat","id":"41","time":"2026-12-06T15:17:38.123Z","nick":"ann","text":"hi"},)"
                          R"({"type":"action","id":"42","time":"2026-12-06T15:17:39.000Z","nick":"bob","text":"waves"}]})");
    // Help is one object with its lines.
    const std::string help = d.wording(reply::of(reply_kind::help));
    CHECK(help.rfind(R"({"type":"help","lines":["commands:",)", 0) == 0);
    CHECK(help.find('\n') == std::string::npos);
}
