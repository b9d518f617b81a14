#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// A small DEFLATE (RFC 1951) encoder and its gzip (RFC 1952) wrapper, so the
// web listener can send its page compressed with nothing more to link. It is
// meant to run once per process on the page's bytes, not per request:
// LZ77 over the 32 KiB window with hash chains bounded by max_chain and one
// step of lazy matching, then blocks of at most 16,384 symbols, each written
// as whichever is smallest of stored, fixed-Huffman and dynamic-Huffman (code
// lengths limited to 15 and 7 bits). Any input is accepted; the output grows
// at most 5 bytes per block (stored) beyond the gzip header and trailer, and a
// block covers at least 16,384 bytes unless it is the last. tests/test_deflate.cpp and tests/fuzz/fuzz_deflate.cpp inflate it
// with zlib and compare.

namespace chatroom::detail {

namespace deflate_detail {

inline std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0) noexcept {
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t n = 0; n < 256; ++n) {
            std::uint32_t c = n;
            for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }();
    crc = ~crc;
    for (const char b : data) crc = table[(crc ^ static_cast<unsigned char>(b)) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

// Length codes 257..285 and distance codes 0..29: first value, extra bits.
inline constexpr std::uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                               31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
inline constexpr std::uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                               2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
inline constexpr std::uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                                33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                                1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
inline constexpr std::uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                                6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// The order in which a dynamic block's header lists the code-length code.
inline constexpr std::uint8_t cl_order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

template <std::size_t N>
std::size_t code_of(const std::uint16_t (&base)[N], unsigned value) noexcept {
    return static_cast<std::size_t>(std::upper_bound(base, base + N, value) - base) - 1;
}

// Bits out least significant first, as DEFLATE packs them.
class bit_writer {
public:
    explicit bit_writer(std::string& out) : out_(out) {}
    void put(std::uint32_t bits, unsigned n) {
        acc_ |= static_cast<std::uint64_t>(bits) << used_;
        used_ += n;
        for (; used_ >= 8; used_ -= 8, acc_ >>= 8) out_ += static_cast<char>(acc_ & 0xffu);
    }
    void align() {
        if (used_ != 0) put(0, 8 - used_);
    }
    std::string& out() { return out_; }
    unsigned pending() const noexcept { return used_; }

private:
    std::string& out_;
    std::uint64_t acc_ = 0;
    unsigned used_ = 0;
};

// Huffman code lengths of at most limit bits for these frequencies (0: symbol
// unused). Fewer than two symbols used get a second (frequency 1), so every
// code is complete. Two-queue Huffman, then the lengths past limit folded in
// keeping the Kraft sum at 1, then handed out most frequent first.
inline std::vector<std::uint8_t> code_lengths(std::vector<std::uint32_t> freq, unsigned limit) {
    std::vector<std::size_t> used;
    for (std::size_t s = 0; s < freq.size(); ++s)
        if (freq[s] != 0) used.push_back(s);
    for (std::size_t s = 0; used.size() < 2 && s < freq.size(); ++s)
        if (freq[s] == 0) freq[s] = 1, used.push_back(s);
    std::stable_sort(used.begin(), used.end(), [&](std::size_t a, std::size_t b) { return freq[a] < freq[b]; });
    const std::size_t m = used.size(), nodes = 2 * m - 1;
    std::vector<std::uint64_t> weight(nodes);
    std::vector<std::size_t> parent(nodes, 0), depth(nodes, 0);
    for (std::size_t i = 0; i < m; ++i) weight[i] = freq[used[i]];
    std::size_t leaf = 0, inner = m;
    const auto pick = [&](std::size_t next) {
        if (leaf < m && (inner >= next || weight[leaf] <= weight[inner])) return leaf++;
        return inner++;
    };
    for (std::size_t next = m; next < nodes; ++next) {
        const std::size_t a = pick(next), b = pick(next);
        weight[next] = weight[a] + weight[b];
        parent[a] = parent[b] = next;
    }
    std::vector<std::size_t> count(m + 1, 0);
    for (std::size_t i = nodes - 1; i-- > 0;) depth[i] = depth[parent[i]] + 1;
    for (std::size_t i = 0; i < m; ++i) ++count[depth[i]];
    for (std::size_t i = m; i > limit; --i)
        while (count[i] > 0) { // two siblings at depth i: one up to i-1, one under a leaf higher up
            std::size_t j = i - 2;
            while (count[j] == 0) --j;
            count[i] -= 2, count[i - 1] += 1, count[j + 1] += 2, count[j] -= 1;
        }
    std::vector<std::uint8_t> lens(freq.size(), 0);
    std::size_t at = m;
    for (std::size_t len = 1; len <= std::min<std::size_t>(limit, m); ++len)
        for (std::size_t k = 0; k < count[len]; ++k) lens[used[--at]] = static_cast<std::uint8_t>(len);
    return lens;
}

// Canonical codes for lengths, bit-reversed for the writer.
inline std::vector<std::uint16_t> canonical_codes(const std::vector<std::uint8_t>& lens) {
    std::array<std::uint32_t, 17> count{}, next{};
    for (const std::uint8_t l : lens) ++count[l];
    count[0] = 0;
    for (std::size_t l = 1; l < 17; ++l) next[l] = (next[l - 1] + count[l - 1]) << 1;
    std::vector<std::uint16_t> codes(lens.size(), 0);
    for (std::size_t s = 0; s < lens.size(); ++s) {
        if (lens[s] == 0) continue;
        std::uint32_t c = next[lens[s]]++, r = 0;
        for (unsigned b = 0; b < lens[s]; ++b, c >>= 1) r = (r << 1) | (c & 1u);
        codes[s] = static_cast<std::uint16_t>(r);
    }
    return codes;
}

// One LZ77 symbol: a literal byte (dist 0) or a match of len bytes dist back.
struct lz_symbol {
    std::uint16_t len;
    std::uint16_t dist;
};

// Writes symbols (the bytes in[0, n)) as one block: stored, fixed or dynamic.
inline void write_block(bit_writer& w, const std::vector<lz_symbol>& syms, std::string_view in, bool last) {
    std::vector<std::uint32_t> lit(286, 0), dst(30, 0);
    std::uint64_t extra = 0;
    for (const lz_symbol& s : syms) {
        if (s.dist == 0) {
            ++lit[s.len];
            continue;
        }
        const std::size_t lc = code_of(len_base, s.len), dc = code_of(dist_base, s.dist);
        ++lit[257 + lc], ++dst[dc];
        extra += len_extra[lc] + dist_extra[dc];
    }
    lit[256] = 1;
    std::vector<std::uint8_t> fixed_ll(288, 8), fixed_dl(30, 5);
    std::fill(fixed_ll.begin() + 144, fixed_ll.begin() + 256, std::uint8_t{9});
    std::fill(fixed_ll.begin() + 256, fixed_ll.begin() + 280, std::uint8_t{7});
    const auto data_bits = [&](const std::vector<std::uint8_t>& ll, const std::vector<std::uint8_t>& dl) {
        std::uint64_t bits = extra;
        for (std::size_t s = 0; s < lit.size(); ++s) bits += std::uint64_t{lit[s]} * ll[s];
        for (std::size_t d = 0; d < dst.size(); ++d) bits += std::uint64_t{dst[d]} * dl[d];
        return bits;
    };
    // The dynamic header: both length lists, run-length coded (16, 17, 18).
    const std::vector<std::uint8_t> ll = code_lengths(lit, 15), dl = code_lengths(dst, 15);
    std::size_t hlit = 286, hdist = 30;
    while (hlit > 257 && ll[hlit - 1] == 0) --hlit;
    while (hdist > 1 && dl[hdist - 1] == 0) --hdist;
    std::vector<std::uint8_t> seq(ll.begin(), ll.begin() + static_cast<std::ptrdiff_t>(hlit));
    seq.insert(seq.end(), dl.begin(), dl.begin() + static_cast<std::ptrdiff_t>(hdist));
    std::vector<std::pair<std::uint8_t, std::uint8_t>> rle; // (symbol, extra value)
    for (std::size_t i = 0; i < seq.size();) {
        const std::uint8_t v = seq[i];
        std::size_t run = 1;
        while (i + run < seq.size() && seq[i + run] == v) ++run;
        i += run;
        if (v == 0) {
            for (; run >= 11; run -= std::min<std::size_t>(run, 138))
                rle.emplace_back(18, static_cast<std::uint8_t>(std::min<std::size_t>(run, 138) - 11));
            if (run >= 3) rle.emplace_back(17, static_cast<std::uint8_t>(run - 3)), run = 0;
        } else {
            rle.emplace_back(v, 0), --run;
            for (; run >= 3; run -= std::min<std::size_t>(run, 6))
                rle.emplace_back(16, static_cast<std::uint8_t>(std::min<std::size_t>(run, 6) - 3));
        }
        for (; run > 0; --run) rle.emplace_back(v, 0);
    }
    std::vector<std::uint32_t> clf(19, 0);
    for (const auto& r : rle) ++clf[r.first];
    const std::vector<std::uint8_t> cl = code_lengths(clf, 7);
    std::size_t hclen = 19;
    while (hclen > 4 && cl[cl_order[hclen - 1]] == 0) --hclen;
    std::uint64_t dynamic_bits = 3 + 14 + 3 * hclen + data_bits(ll, dl);
    for (const auto& r : rle) dynamic_bits += cl[r.first] + (r.first == 16 ? 2 : r.first == 17 ? 3 : r.first == 18 ? 7 : 0);
    std::uint64_t fixed_bits = 3 + data_bits(fixed_ll, fixed_dl);
    const auto pad = [&](std::uint64_t bits) { return last ? (8 - (w.pending() + bits) % 8) % 8 : 0; };
    dynamic_bits += pad(dynamic_bits), fixed_bits += pad(fixed_bits);
    const std::size_t chunks = in.empty() ? 1 : (in.size() + 65534) / 65535;
    const std::uint64_t stored_bits = 3 + (8 - (w.pending() + 3) % 8) % 8 + 40 * std::uint64_t{chunks - 1} +
                                      32 * std::uint64_t{chunks} + 8 * std::uint64_t{in.size()};

    if (stored_bits <= fixed_bits && stored_bits <= dynamic_bits) {
        for (std::size_t c = 0; c < chunks; ++c) {
            const std::string_view part = in.substr(c * 65535, 65535);
            w.put(last && c + 1 == chunks ? 1 : 0, 3); // BFINAL, BTYPE 00
            w.align();
            const auto n = static_cast<std::uint32_t>(part.size());
            w.put(n | ((~n & 0xffffu) << 16), 32);
            w.out().append(part.data(), part.size());
        }
        return;
    }
    const bool dynamic = dynamic_bits < fixed_bits;
    w.put((last ? 1u : 0u) | (dynamic ? 4u : 2u), 3);
    const std::vector<std::uint8_t>& use_ll = dynamic ? ll : fixed_ll;
    const std::vector<std::uint8_t>& use_dl = dynamic ? dl : fixed_dl;
    if (dynamic) {
        w.put(static_cast<std::uint32_t>(hlit - 257), 5);
        w.put(static_cast<std::uint32_t>(hdist - 1), 5);
        w.put(static_cast<std::uint32_t>(hclen - 4), 4);
        for (std::size_t i = 0; i < hclen; ++i) w.put(cl[cl_order[i]], 3);
        const std::vector<std::uint16_t> clc = canonical_codes(cl);
        for (const auto& r : rle) {
            w.put(clc[r.first], cl[r.first]);
            if (r.first >= 16) w.put(r.second, r.first == 16 ? 2 : r.first == 17 ? 3 : 7);
        }
    }
    const std::vector<std::uint16_t> llc = canonical_codes(use_ll), dlc = canonical_codes(use_dl);
    for (const lz_symbol& s : syms) {
        if (s.dist == 0) {
            w.put(llc[s.len], use_ll[s.len]);
            continue;
        }
        const std::size_t lc = code_of(len_base, s.len), dc = code_of(dist_base, s.dist);
        w.put(llc[257 + lc], use_ll[257 + lc]);
        w.put(s.len - len_base[lc], len_extra[lc]);
        w.put(dlc[dc], use_dl[dc]);
        w.put(s.dist - dist_base[dc], dist_extra[dc]);
    }
    w.put(llc[256], use_ll[256]);
}

// LZ77 over a 32 KiB window: head holds the newest position of each 3-byte
// hash, prev the one before it of the same hash, position by position.
class lz_matcher {
public:
    lz_matcher(std::string_view in, unsigned max_chain) : in_(in), max_chain_(max_chain) {}

    struct match {
        std::size_t len = 0, dist = 0;
    };

    // The longest earlier match at pos (len 0 when none of 3 or more).
    match find(std::size_t pos) const {
        match best;
        const std::size_t limit = std::min<std::size_t>(258, in_.size() - pos);
        std::int32_t cand = head_[hash(pos)];
        for (unsigned chain = max_chain_; cand >= 0 && chain > 0; --chain) {
            const auto c = static_cast<std::size_t>(cand);
            if (c >= pos || pos - c > window) break;
            if (in_[c + best.len] == in_[pos + best.len] || best.len == 0) {
                std::size_t n = 0;
                while (n < limit && in_[c + n] == in_[pos + n]) ++n;
                if (n > best.len && n >= 3) best = {n, pos - c};
                if (best.len == limit) break;
            }
            const std::int32_t older = prev_[c & (window - 1)];
            if (older >= cand) break;
            cand = older;
        }
        if (best.len == 3 && best.dist > 4096) best = {}; // three bytes far back cost more than literals
        return best;
    }

    void insert(std::size_t pos) {
        if (pos + 3 > in_.size()) return;
        const std::size_t h = hash(pos);
        prev_[pos & (window - 1)] = head_[h];
        head_[h] = static_cast<std::int32_t>(pos);
    }

private:
    static constexpr std::size_t window = 32768, hash_bits = 15;
    std::size_t hash(std::size_t pos) const noexcept {
        const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in_[pos + i])); };
        return ((b(0) | b(1) << 8 | b(2) << 16) * 2654435761u) >> (32 - hash_bits);
    }
    std::string_view in_;
    unsigned max_chain_;
    std::vector<std::int32_t> head_ = std::vector<std::int32_t>(std::size_t{1} << hash_bits, -1);
    std::vector<std::int32_t> prev_ = std::vector<std::int32_t>(window, -1);
};

} // namespace deflate_detail

// in as a raw DEFLATE stream, appended to out. max_chain bounds the candidates
// tried per position (zlib's level 9 tries 4,096).
inline void deflate_append(std::string& out, std::string_view in, unsigned max_chain = 4096) {
    using namespace deflate_detail;
    bit_writer w(out);
    lz_matcher lz(in, max_chain);
    std::vector<lz_symbol> syms;
    std::size_t pos = 0, block_start = 0;
    lz_matcher::match ahead;
    bool known = false;
    while (pos < in.size()) {
        lz_matcher::match m = pos + 3 <= in.size() ? (known ? ahead : lz.find(pos)) : lz_matcher::match{};
        known = false;
        lz.insert(pos);
        if (m.len >= 3 && m.len < 258 && pos + 4 <= in.size()) { // lazy: is the next position's match longer?
            ahead = lz.find(pos + 1);
            if (ahead.len > m.len) m = {}, known = true;
        }
        if (m.len >= 3) {
            syms.push_back({static_cast<std::uint16_t>(m.len), static_cast<std::uint16_t>(m.dist)});
            for (std::size_t k = 1; k < m.len; ++k) lz.insert(pos + k);
            pos += m.len;
        } else {
            syms.push_back({static_cast<unsigned char>(in[pos]), 0});
            ++pos;
        }
        if (syms.size() == 16384 && pos < in.size()) {
            write_block(w, syms, in.substr(block_start, pos - block_start), false);
            syms.clear();
            block_start = pos;
        }
    }
    write_block(w, syms, in.substr(block_start), true);
    w.align();
}

// in as a gzip member (RFC 1952): no name, no time, CRC-32 and size after.
inline std::string gzip_compress(std::string_view in, unsigned max_chain = 4096) {
    std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff", 10);
    deflate_append(out, in, max_chain);
    const auto put32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xffu);
    };
    put32(deflate_detail::crc32(in));
    put32(static_cast<std::uint32_t>(in.size() & 0xffffffffu));
    return out;
}

} // namespace chatroom::detail
