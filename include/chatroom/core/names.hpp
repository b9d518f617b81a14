#pragma once

#include <cstddef>
#include <string>
#include <string_view>

/// @file
/// Names of members and rooms, whatever the dialect: which are valid, and the
/// case-insensitive key they are unique by.
namespace chatroom::protocol {

/// The longest nick or room name, in bytes.
inline constexpr std::size_t max_name_length = 32;
/// The room every member starts in.
inline constexpr std::string_view lobby = "lobby";

/// Nicks and room names: 1-32 of A-Z a-z 0-9 _ . -
inline bool is_valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_name_length) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

/// One character as names are compared: A-Z as a-z, anything else as it is.
constexpr char fold_char(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// Names are unique case-insensitively; this is the key they are compared by.
inline std::string fold_case(std::string_view name) {
    std::string key(name);
    for (char& c : key) c = fold_char(c);
    return key;
}

/// Whether two names are the same name (fold_case(a) == fold_case(b)), with
/// no copy.
inline bool same_name(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (fold_char(a[i]) != fold_char(b[i])) return false;
    return true;
}

/// Whether a sorts before b by their keys (fold_case(a) < fold_case(b),
/// bytes compared unsigned, as std::string compares them), with no copy.
inline bool name_less(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(fold_char(a[i]));
        const auto y = static_cast<unsigned char>(fold_char(b[i]));
        if (x != y) return x < y;
    }
    return a.size() < b.size();
}

} // namespace chatroom::protocol
