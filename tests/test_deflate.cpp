// The web listener's DEFLATE/gzip encoder (web/detail/deflate.hpp), checked
// by inflating its output with zlib (linked by this test only), and the
// Accept-Encoding reading that decides when the page goes compressed.

#include <chatroom/web.hpp>

#include <catch2/catch.hpp>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using chatroom::detail::gzip_compress;

namespace {

// zlib's inflate of one gzip member (windowBits 16 + 15: gzip only), which
// must end exactly at the end of z; nullopt-like "!" prefix on error.
std::string gunzip(const std::string& z, bool& ok) {
    z_stream s{};
    ok = inflateInit2(&s, 16 + 15) == Z_OK;
    std::string out;
    std::vector<unsigned char> buf(1 << 16);
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
    s.avail_in = static_cast<uInt>(z.size());
    int r = Z_OK;
    while (ok && r == Z_OK) {
        s.next_out = buf.data();
        s.avail_out = static_cast<uInt>(buf.size());
        r = inflate(&s, Z_NO_FLUSH);
        out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - s.avail_out);
    }
    ok = ok && r == Z_STREAM_END && s.avail_in == 0;
    inflateEnd(&s);
    return out;
}

void check_round_trip(const std::string& in, std::size_t max_size) {
    const std::string z = gzip_compress(in);
    CAPTURE(in.size(), z.size());
    REQUIRE(z.size() >= 18);
    CHECK(static_cast<unsigned char>(z[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(z[1]) == 0x8b);
    CHECK(z.size() <= max_size);
    bool ok = false;
    const std::string back = gunzip(z, ok);
    REQUIRE(ok);
    CHECK(back.size() == in.size());
    CHECK(back == in);
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng() & 0xffu);
    return s;
}

// The stored-block bound: 5 bytes per block, a block for each 16,384 bytes
// (and the last), and the 18 of the gzip header and trailer.
std::size_t stored_bound(std::size_t n) { return n + 5 * (n / 16384 + 1) + 18; }

} // namespace

TEST_CASE("deflate: the page round-trips through zlib and is a third of its size", "[deflate]") {
    const std::string page(chatroom::detail::web_page_html);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string z = gzip_compress(page);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    std::printf("deflate: page %zu bytes -> gzip %zu bytes in %lld us\n", page.size(), z.size(), static_cast<long long>(us));
    check_round_trip(page, 40 * 1024);
    CHECK(z.size() * 3 < page.size());
    CHECK(chatroom::detail::web_page_gzip() == z);
}

TEST_CASE("deflate: empty and tiny inputs", "[deflate]") {
    check_round_trip("", 20);
    for (std::size_t n = 1; n <= 300; n += 7) {
        check_round_trip(random_bytes(n, static_cast<std::uint32_t>(n)), stored_bound(n));
        check_round_trip(std::string(n, 'z'), 40);
    }
    check_round_trip("abcabcabcabd", 40);
    check_round_trip(std::string(1, '\0'), 21);
}

TEST_CASE("deflate: random input stays within the stored-block bound", "[deflate]") {
    for (const std::size_t n : {std::size_t{65535}, std::size_t{65536}, std::size_t{200000}, std::size_t{3} << 20})
        check_round_trip(random_bytes(n, 7), stored_bound(n));
}

TEST_CASE("deflate: highly repetitive input compresses like zlib's", "[deflate]") {
    const std::size_t mb = std::size_t{1} << 20;
    check_round_trip(std::string(4 * mb, 'a'), 4 * mb / 1000 + 64); // a 258-byte match costs under 2 bytes
    std::string cycle;
    const std::string unit = random_bytes(1000, 3);
    while (cycle.size() < 2 * mb) cycle += unit;
    check_round_trip(cycle, 1000 + 2 * mb / 100);
    // Text-like: a small vocabulary in random order, past many blocks.
    std::mt19937 rng(11);
    const char* words[] = {"chat ", "room ", "lobby ", "<div class=\"line\">", "</div>\n", "hello ", "nick ", "#dev "};
    std::string text;
    while (text.size() < 3 * mb) text += words[rng() % 8];
    check_round_trip(text, text.size() / 3);
    // Runs at the window's edge: a match exactly 32,768 bytes back.
    std::string edge = random_bytes(32768, 5);
    edge += edge.substr(0, 1000);
    check_round_trip(edge, 32768 + 200);
}

TEST_CASE("deflate: CRC-32 of the check value", "[deflate]") {
    CHECK(chatroom::detail::deflate_detail::crc32("123456789") == 0xcbf43926u);
    CHECK(chatroom::detail::deflate_detail::crc32("") == 0u);
}

TEST_CASE("deflate: Huffman code lengths stay within their limit and are complete", "[deflate]") {
    // Fibonacci frequencies make the deepest unlimited tree.
    std::vector<std::uint32_t> freq(30, 0);
    std::uint32_t a = 1, b = 1;
    for (std::uint32_t& f : freq) f = a, b = a + b, a = b - a;
    for (const unsigned limit : {7u, 15u}) {
        const std::vector<std::uint8_t> lens = chatroom::detail::deflate_detail::code_lengths(freq, limit);
        double kraft = 0;
        for (const std::uint8_t l : lens) {
            CHECK(l >= 1);
            CHECK(l <= limit);
            kraft += 1.0 / static_cast<double>(std::uint64_t{1} << l);
        }
        CHECK(kraft == 1.0);
    }
    const std::vector<std::uint8_t> one = chatroom::detail::deflate_detail::code_lengths({0, 0, 5, 0}, 15);
    CHECK(one == std::vector<std::uint8_t>{1, 0, 1, 0});
}

TEST_CASE("web: Accept-Encoding allows gzip by name or by *, and q=0 refuses it", "[web][deflate]") {
    const auto accepts = [](std::vector<std::string_view> values) { return chatroom::detail::gzip_accepted_in(values); };
    CHECK(accepts({"gzip"}));
    CHECK(accepts({"gzip, deflate, br, zstd"}));
    CHECK(accepts({"deflate, GZIP;q=0.5"}));
    CHECK(accepts({"x-gzip"}));
    CHECK(accepts({"*"}));
    CHECK(accepts({"br;q=1.0, *;q=0.001"}));
    CHECK(accepts({"br", "gzip"})); // two fields: one list
    CHECK(accepts({"gzip;q=1", "gzip;q=0"})); // named twice: the larger
    CHECK_FALSE(accepts({}));
    CHECK_FALSE(accepts({""}));
    CHECK_FALSE(accepts({"identity"}));
    CHECK_FALSE(accepts({"deflate, br"}));
    CHECK_FALSE(accepts({"gzip;q=0"}));
    CHECK_FALSE(accepts({"gzip; q=0.000"}));
    CHECK_FALSE(accepts({"gzip;q=0, *"})); // named: * does not override
    CHECK_FALSE(accepts({"*;q=0"}));
    CHECK_FALSE(accepts({"gzip;q=2"}));    // malformed q: as if absent
    CHECK_FALSE(accepts({"gzip;q=0.5x"}));
    CHECK_FALSE(accepts({"gzip;q=0.0001"}));
    CHECK_FALSE(accepts({"gzipx, xgzip"}));
    CHECK(accepts({"gzip;level=1"}));
    CHECK(chatroom::detail::accept_qvalue("q=0.5") == 500);
    CHECK(chatroom::detail::accept_qvalue(" Q=1.000") == 1000);
    CHECK(chatroom::detail::accept_qvalue("q=1.001") == -1);
    CHECK(chatroom::detail::accept_qvalue("q=") == -1);
    CHECK(chatroom::detail::web_page_gzip_etag() ==
          chatroom::detail::web_page_etag().substr(0, chatroom::detail::web_page_etag().size() - 1) + "-gz\"");
}
