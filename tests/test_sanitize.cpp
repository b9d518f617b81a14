#include <chatroom.hpp>

#include <catch2/catch.hpp>

#include <string>

using chatroom::sanitize;

TEST_CASE("plain text and valid UTF-8 pass unchanged", "[sanitize]") {
    CHECK(sanitize("hello, world ~!") == "hello, world ~!");
    CHECK(sanitize("tab\there") == "tab\there");
    const std::string utf8 = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBD";
    CHECK(sanitize(utf8) == utf8);
    CHECK(chatroom::is_plain_text("abc def"));
    CHECK_FALSE(chatroom::is_plain_text("caf\xC3\xA9"));
}

TEST_CASE("controls are removed: C0 except TAB and DEL and C1", "[sanitize]") {
    CHECK(sanitize("a\x1b[2Jb") == "a[2Jb");
    CHECK(sanitize(std::string("n\0u\x01l\x7fl", 7)) == "null");
    CHECK(sanitize("\r\n\x0b\x0c") == "");
    CHECK(sanitize("x\xC2\x80y\xC2\x9Fz\xC2\xA0") == "xyz\xC2\xA0"); // U+0080, U+009F removed; U+00A0 kept
}

TEST_CASE("invalid UTF-8 becomes one U+FFFD per maximal broken subpart", "[sanitize]") {
    const std::string r = "\xEF\xBF\xBD";
    CHECK(sanitize("\x80") == r);                    // lone continuation
    CHECK(sanitize("\xC0\xAF") == r + r);            // overlong lead bytes are never valid
    CHECK(sanitize("\xE0\x80\xAF") == r + r + r);    // overlong 3-byte
    CHECK(sanitize("\xED\xA0\x80") == r + r + r);    // surrogate
    CHECK(sanitize("\xF4\x90\x80\x80") == r + r + r + r); // above U+10FFFF
    CHECK(sanitize("\xE2\x82") == r);                // truncated at end
    CHECK(sanitize("\xE2\x82x") == r + "x");         // truncated before ASCII
    CHECK(sanitize("\xF0\x9F\x98") == r);
    CHECK(sanitize("\xFF\xFE") == r + r);
}

TEST_CASE("sanitized text is clean and sanitizing again changes nothing", "[sanitize]") {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    std::string once = sanitize(all + all);
    CHECK(chatroom::is_clean_text(once));
    CHECK(sanitize(once) == once);
}

TEST_CASE("invisible characters that reorder or disguise text are removed", "[sanitize]") {
    // Bidi embeddings and overrides U+202A..U+202E, isolates U+2066..U+2069.
    CHECK(sanitize("a\xE2\x80\xAE" "cba\xE2\x80\xAC" "d") == "acbad");
    CHECK(sanitize("\xE2\x80\xAA\xE2\x80\xAB\xE2\x80\xAD") == "");
    CHECK(sanitize("x\xE2\x81\xA6y\xE2\x81\xA7z\xE2\x81\xA8w\xE2\x81\xA9") == "xyzw");
    // Zero width space and non-joiner, the byte order mark.
    CHECK(sanitize("ad\xE2\x80\x8Bmin\xE2\x80\x8C\xEF\xBB\xBF") == "admin");
    // A zero width joiner inside plain words goes; between emoji it stays.
    CHECK(sanitize("ad\xE2\x80\x8Dmin") == "admin");
    const std::string technologist = "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB"; // woman, ZWJ, laptop
    CHECK(sanitize(technologist) == technologist);
    const std::string rainbow_flag = "\xF0\x9F\x8F\xB3\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x8C\x88"; // flag, VS16, ZWJ, rainbow
    CHECK(sanitize(rainbow_flag) == rainbow_flag);
    // Marks that only hint a direction, and other format characters, stay.
    CHECK(sanitize("\xE2\x80\x8E\xE2\x80\x8F") == "\xE2\x80\x8E\xE2\x80\x8F");
    CHECK_FALSE(chatroom::is_clean_text("a\xE2\x80\xAE" "b"));
    // Sanitizing twice changes nothing, even around removed characters.
    for (const std::string& s : {std::string("\xF0\x9F\x98\x80\xE2\x80\x8B\xE2\x80\x8D"),
                                std::string("\xF0\x9F\x98\x80\x01\xE2\x80\x8D"), technologist + "\xE2\x80\x8D\xE2\x80\x8D"}) {
        const std::string once = sanitize(s);
        CHECK(sanitize(once) == once);
    }
}

TEST_CASE("the word-at-a-time scan finds every byte that is not plain, at every place and length", "[sanitize]") {
    // What the scan must agree with: the byte-by-byte definition. Lengths up
    // to 40 cover the 8-byte words, the 16-byte SSE2 blocks and the
    // overlapping last block of both.
    auto plain = [](unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\t'; };
    for (std::size_t len = 0; len <= 40; ++len) {
        for (std::size_t at = 0; at <= len; ++at) {
            for (int b = 0; b < 256; ++b) {
                std::string s(len, 'x');
                if (at < len) s[at] = static_cast<char>(b);
                const auto* p = reinterpret_cast<const unsigned char*>(s.data());
                const unsigned char* want = p + len;
                for (std::size_t i = 0; i < len; ++i)
                    if (!plain(p[i])) {
                        want = p + i;
                        break;
                    }
                REQUIRE(chatroom::detail::plain_ascii_end(p, p + len) == want);
                REQUIRE(chatroom::is_plain_text(s) == (want == p + len));
            }
        }
    }
    // A TAB in a word is plain, and what follows it is still scanned.
    const std::string tabbed = "abc\tdefghijklmnop\x01rest";
    const auto* q = reinterpret_cast<const unsigned char*>(tabbed.data());
    CHECK(chatroom::detail::plain_ascii_end(q, q + tabbed.size()) == q + tabbed.find('\x01'));
}

TEST_CASE("TABs before a byte that is not plain do not hide it, in any block", "[sanitize]") {
    // A TAB at tab, then a control or a byte above 0x7E at bad, in lines of
    // 16 to 40 bytes (the SSE2 blocks and their overlapping last one).
    for (std::size_t len = 16; len <= 40; ++len) {
        for (std::size_t tab = 0; tab < len; ++tab) {
            for (std::size_t bad = 0; bad <= len; ++bad) {
                if (bad == tab) continue;
                for (const char b : {'\x01', '\x7F', '\x80', '\xFF'}) {
                    std::string s(len, 'y');
                    s[tab] = '\t';
                    if (bad < len) s[bad] = b;
                    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
                    REQUIRE(chatroom::detail::plain_ascii_end(p, p + len) == p + bad);
                    // Starting past the first byte, as sanitize_append does after a run.
                    if (bad > 0) REQUIRE(chatroom::detail::plain_ascii_end(p + 1, p + len) == p + bad);
                }
            }
        }
    }
}
