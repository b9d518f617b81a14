// fuzz_json: the JSON dialect's strict reader (web/detail/json/reader.hpp),
// its writer (json/writer.hpp) and the command schema (json_command.hpp) on
// arbitrary bytes: what a browser may send in one WebSocket text message.
//
// Properties (a violation prints what failed and traps):
//   reader  - a refusal names an offset within the input and a reason; an
//             accepted input was valid UTF-8 and gives at most max_fields
//             fields with distinct keys, strings that are valid UTF-8, and
//             number literals of the JSON grammar no longer than the limit;
//             the fields written out again (writer for strings, literals for
//             the rest) read back to the same fields;
//   writer  - any valid UTF-8 input written as a string value reads back
//             unchanged, and the written text holds no raw control
//             character, U+2028 or U+2029;
//   schema  - parse_browser_command refuses with bad_json exactly when the
//             reader refuses; an accepted command has a known type, a say's
//             text is not blank and has at most max_say_lines lines;
//   seam    - the input as one masked text frame to the JSON dialect's
//             web_decoder: a command goes on once, decoded (a
//             browser_command with the fields a fresh read of the message
//             gives), with the message's own text; a refusal goes on not at
//             all and is answered with a frame; invalid UTF-8 ends the
//             conversation.

#include <chatroom/web/detail/decoder.hpp>
#include <chatroom/web/detail/frame_encoder.hpp>
#include <chatroom/web/detail/json/reader.hpp>
#include <chatroom/web/detail/json/writer.hpp>
#include <chatroom/web/detail/json_command.hpp>
#include <chatroom/web/detail/utf8_validator.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace {

namespace json = chatroom::detail::json;

[[noreturn]] void fail(const char* what, int line) {
    std::fprintf(stderr, "fuzz_json: property violated (line %d): %s\n", line, what);
    std::fflush(stderr);
    __builtin_trap();
}
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) fail(#cond, __LINE__);                                                                            \
    } while (0)

bool valid_utf8(std::string_view s) {
    chatroom::detail::utf8_validator v;
    return v.feed(s.data(), s.size()) && v.complete();
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, judged here.
bool json_number(std::string_view s) {
    std::size_t i = 0;
    auto digit = [&](std::size_t at) { return at < s.size() && s[at] >= '0' && s[at] <= '9'; };
    if (i < s.size() && s[i] == '-') ++i;
    if (!digit(i)) return false;
    if (s[i] == '0') ++i;
    else
        while (digit(i)) ++i;
    if (i < s.size() && s[i] == '.') {
        if (!digit(++i)) return false;
        while (digit(i)) ++i;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (!digit(i)) return false;
        while (digit(i)) ++i;
    }
    return i == s.size();
}

void check_reader(std::string_view in) {
    json::object o;
    const json::read_error e = json::read_object(in, o);
    if (e) {
        CHECK(e.at <= in.size());
        return;
    }
    CHECK(valid_utf8(in));
    CHECK(o.fields.size() <= json::limits{}.max_fields);
    std::string again = "{";
    for (std::size_t i = 0; i < o.fields.size(); ++i) {
        const json::field& f = o.fields[i];
        for (std::size_t j = 0; j < i; ++j) CHECK(o.fields[j].key != f.key);
        CHECK(valid_utf8(f.key));
        if (i) again += ',';
        json::writer::quote(again, f.key);
        again += ':';
        switch (f.val.kind) {
        case json::value_kind::string:
            CHECK(valid_utf8(f.val.text));
            json::writer::quote(again, f.val.text);
            break;
        case json::value_kind::number:
            CHECK(json_number(f.val.text));
            CHECK(f.val.text.size() <= json::limits{}.max_number_chars);
            again += f.val.text;
            break;
        case json::value_kind::boolean: again += f.val.flag ? "true" : "false"; break;
        case json::value_kind::null: again += "null"; break;
        }
    }
    again += '}';
    json::object back;
    CHECK(!json::read_object(again, back));
    CHECK(back.fields.size() == o.fields.size());
    for (std::size_t i = 0; i < o.fields.size(); ++i) {
        CHECK(back.fields[i].key == o.fields[i].key);
        CHECK(back.fields[i].val.kind == o.fields[i].val.kind);
        CHECK(back.fields[i].val.text == o.fields[i].val.text);
        CHECK(back.fields[i].val.flag == o.fields[i].val.flag);
    }
}

void check_writer(std::string_view in) {
    if (!valid_utf8(in)) return;
    std::string out;
    json::writer(out).begin_object().field("s", in).end_object();
    for (std::size_t i = 0; i < out.size(); ++i) {
        CHECK(static_cast<unsigned char>(out[i]) >= 0x20);
        CHECK(out.compare(i, 3, "\xE2\x80\xA8") != 0 && out.compare(i, 3, "\xE2\x80\xA9") != 0);
    }
    json::object back;
    CHECK(!json::read_object(out, back));
    CHECK(back.fields.size() == 1 && back.fields[0].val.text == in);
}

void check_schema(std::string_view in) {
    chatroom::detail::browser_command c;
    const chatroom::detail::browser_command_error e = chatroom::detail::parse_browser_command(in, c);
    json::object o;
    const bool reads = !json::read_object(in, o);
    CHECK((e.code == "bad_json") == !reads);
    if (e) {
        CHECK(e.code == "bad_json" || e.code == "bad_request" || e.code == "unknown_type");
        CHECK(!e.text.empty() && valid_utf8(e.text));
        return;
    }
    const json::value* type = o.find("type");
    CHECK(type && type->kind == json::value_kind::string);
    bool known = false;
    for (const auto& entry : chatroom::detail::json_schema::table) known = known || entry.type == type->text;
    CHECK(known);
    if (c.kind == chatroom::detail::browser_command_kind::say) {
        CHECK(c.text.find_first_not_of(" \t\r\n") != std::string::npos);
        std::size_t lines = 1;
        for (const char ch : c.text) lines += ch == '\n';
        CHECK(lines <= chatroom::detail::max_say_lines);
    }
}

// What the decoder hands on, checked as it is handed (the command is valid
// during the call only).
struct seam_probe {
    std::string_view in;
    int plain = 0, decoded = 0;
    bool operator()(chatroom::frame_event ev, std::string_view) {
        CHECK(ev == chatroom::frame_event::line);
        ++plain;
        return true;
    }
    bool operator()(chatroom::frame_event ev, std::string_view text, const chatroom::decoded_line& d) {
        using chatroom::detail::browser_command;
        CHECK(ev == chatroom::frame_event::line);
        CHECK(text == in);
        CHECK(d.form() == &chatroom::detail::browser_command_form);
        const auto& got = static_cast<const browser_command&>(d);
        browser_command again;
        CHECK(!chatroom::detail::parse_browser_command(text, again));
        CHECK(got.kind == again.kind && got.limit == again.limit);
        CHECK(got.room == again.room && got.text == again.text && got.to == again.to && got.nick == again.nick);
        CHECK(got.name == again.name && got.secret == again.secret && got.reason == again.reason);
        CHECK(got.before == again.before && got.after == again.after);
        ++decoded;
        return true;
    }
};

void check_seam(std::string_view in) {
    auto link = std::make_shared<chatroom::detail::web_link>();
    link->json = true;
    chatroom::detail::web_decoder dec(in.size() + 1, link);
    const std::string frame =
        chatroom::detail::client_frame(chatroom::detail::ws_opcode::text, in, std::array<unsigned char, 4>{0x37, 0xfa, 0x21, 0x3d});
    seam_probe probe{in};
    dec.feed(frame.data(), frame.size(), probe);
    CHECK(probe.plain == 0);
    if (!valid_utf8(in)) {
        CHECK(probe.decoded == 0 && dec.ended());
        return;
    }
    chatroom::detail::browser_command c;
    const bool refused = static_cast<bool>(chatroom::detail::parse_browser_command(in, c));
    CHECK(!dec.ended());
    CHECK(probe.decoded == (refused ? 0 : 1));
    CHECK(dec.replies().empty() != refused);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    check_reader(in);
    check_writer(in);
    check_schema(in);
    check_seam(in);
    return 0;
}
