#pragma once

#include <charconv>
#include <cstddef>
#include <string>

/// @file
/// A command in RESP, Redis's request encoding: `*N\r\n` and, per argument,
/// `$LEN\r\n` DATA `\r\n`. hiredis's redisFormatCommandArgv does the same
/// through sprintf once per argument, the larger part of an XADD's cost on
/// a node; this writes the lengths with std::to_chars into one buffer.
namespace chatroom::detail {

/// The RESP encoding of argv[0..argc) (lengths[i] bytes each, binary-safe).
inline std::string format_resp(std::size_t argc, const char* const* argv, const std::size_t* lengths) {
    std::size_t size = 16;
    for (std::size_t i = 0; i < argc; ++i) size += lengths[i] + 24;
    std::string out;
    out.reserve(size);
    char digits[24];
    const auto number = [&](char kind, std::size_t n) {
        out += kind;
        const auto r = std::to_chars(digits, digits + sizeof digits, n);
        out.append(digits, static_cast<std::size_t>(r.ptr - digits));
        out += "\r\n";
    };
    number('*', argc);
    for (std::size_t i = 0; i < argc; ++i) {
        number('$', lengths[i]);
        out.append(argv[i], lengths[i]);
        out += "\r\n";
    }
    return out;
}

} // namespace chatroom::detail
