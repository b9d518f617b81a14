// fuzz_deflate: the page's DEFLATE/gzip encoder (web/detail/deflate.hpp) on
// arbitrary bytes, its output inflated by zlib (linked by this harness only).
//
// Input: byte 0 picks the encoder's max_chain (1 << (b & 7): 1..128) and how
// many times the rest is repeated (1 + (b >> 3), 1..32), so that inputs of a
// few KiB still reach matches across block boundaries and the 32 KiB window.
//
// Properties (a violation prints what failed and traps):
//   - zlib inflates the gzip member (header, CRC-32 and size checked) to
//     exactly the input, consuming every byte of it;
//   - the raw DEFLATE stream inflates alone (windowBits -15) to the input;
//   - the output is at most the stored-block bound: the input, 5 bytes per
//     block (one per 16,384 bytes, and the last) and 18 of gzip framing.

#include <chatroom/web/detail/deflate.hpp>

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, int line, std::size_t in_size, std::size_t out_size) {
    std::fprintf(stderr, "fuzz_deflate: property violated (line %d): %s (input %zu bytes, output %zu)\n", line, what,
                 in_size, out_size);
    std::fflush(stderr);
    __builtin_trap();
}
#define FUZZ_CHECK(cond, in, out)                                                                                     \
    do {                                                                                                              \
        if (!(cond)) fail(#cond, __LINE__, (in).size(), (out).size());                                                \
    } while (0)

// Inflates z with zlib (window_bits 31: gzip, -15: raw); false on any error
// or on bytes left after the stream's end.
bool inflate_all(const std::string& z, int window_bits, std::string& out) {
    z_stream s{};
    if (inflateInit2(&s, window_bits) != Z_OK) return false;
    std::vector<unsigned char> buf(1 << 16);
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
    s.avail_in = static_cast<uInt>(z.size());
    int r = Z_OK;
    while (r == Z_OK) {
        s.next_out = buf.data();
        s.avail_out = static_cast<uInt>(buf.size());
        r = inflate(&s, Z_NO_FLUSH);
        out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - s.avail_out);
    }
    const bool ok = r == Z_STREAM_END && s.avail_in == 0;
    inflateEnd(&s);
    return ok;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned chain = 1u << (data[0] & 7u);
    const std::size_t times = 1 + (data[0] >> 3);
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    std::string in;
    in.reserve(rest.size() * times);
    for (std::size_t i = 0; i < times; ++i) in.append(rest.data(), rest.size());

    const std::string gz = chatroom::detail::gzip_compress(in, chain);
    std::string back;
    FUZZ_CHECK(inflate_all(gz, 31, back), in, gz);
    FUZZ_CHECK(back == in, in, gz);
    FUZZ_CHECK(gz.size() <= in.size() + 5 * (in.size() / 16384 + 1) + 18, in, gz);

    std::string raw;
    chatroom::detail::deflate_append(raw, in, chain);
    FUZZ_CHECK(raw == std::string_view(gz).substr(10, gz.size() - 18), in, raw);
    std::string raw_back;
    FUZZ_CHECK(inflate_all(raw, -15, raw_back), in, raw);
    FUZZ_CHECK(raw_back == in, in, raw);
    return 0;
}
