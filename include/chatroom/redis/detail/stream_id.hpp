#pragma once

// A Redis stream entry's id as the pair of numbers Redis orders entries by.

#include <chatroom/core/detail/history_ring.hpp> // parse_number, one reading of ids for every part

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatroom::detail {

// "ms-seq", compared as the pair of numbers Redis orders entries by.
struct stream_id {
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;

    static std::optional<stream_id> parse(std::string_view text) {
        const std::size_t dash = text.find('-');
        if (dash == std::string_view::npos) return std::nullopt;
        stream_id id;
        if (!number(text.substr(0, dash), id.ms) || !number(text.substr(dash + 1), id.seq)) return std::nullopt;
        return id;
    }
    std::string str() const {
        char text[42]; // two 20-digit numbers and the dash
        char* end = std::to_chars(text, text + 20, ms).ptr;
        *end++ = '-';
        end = std::to_chars(end, end + 20, seq).ptr;
        return std::string(text, static_cast<std::size_t>(end - text));
    }
    bool zero() const noexcept { return ms == 0 && seq == 0; }
    friend bool operator<(const stream_id& a, const stream_id& b) noexcept {
        return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq);
    }

private:
    static bool number(std::string_view digits, std::uint64_t& out) {
        const auto n = parse_number(digits); // digits only, at most 20, no overflow
        if (n) out = *n;
        return n.has_value();
    }
};

} // namespace chatroom::detail
