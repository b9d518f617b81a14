#pragma once

// A command in RESP, Redis's request encoding: "*N\r\n", then per argument
// "$LEN\r\n" DATA "\r\n" (binary-safe). hiredis' redisFormatCommandArgv
// writes the same bytes with one sprintf per argument and a malloc'd
// buffer; a node's hot commands (the writer's XADDs, XREAD) are
// encoded here instead, straight from where their arguments live, and
// handed to hiredis whole (redisAsyncFormattedCommand copies them into its
// output buffer).
//
// The count is declared first and every argument must follow: complete()
// says whether they all did, and the connection refuses an incomplete
// command (a wrong count would desynchronize every reply after it).

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>

namespace chatroom::detail {

// A header, kind ('*' or '$') then n and CR LF, appended to out.
inline void append_resp_header(std::string& out, char kind, std::size_t n) {
    char head[24];
    head[0] = kind;
    const auto r = std::to_chars(head + 1, head + sizeof head - 2, n);
    char* end = r.ptr;
    *end++ = '\r';
    *end++ = '\n';
    out.append(head, static_cast<std::size_t>(end - head));
}

// One argument's encoding, "$LEN\r\n" DATA "\r\n", appended to out.
inline void append_resp_arg(std::string& out, std::string_view a) {
    append_resp_header(out, '$', a.size());
    out.append(a.data(), a.size());
    out.append("\r\n", 2);
}

class resp_command {
public:
    // argc arguments follow; payload: their total size, if known (a hint).
    explicit resp_command(std::size_t argc, std::size_t payload = 0) : argc_(argc) {
        buf_.reserve(16 + payload + 16 * argc);
        append_resp_header(buf_, '*', argc);
    }

    resp_command& arg(std::string_view a) {
        ++added_;
        append_resp_arg(buf_, a);
        return *this;
    }
    // n arguments already encoded (append_resp_arg), appended as they are.
    resp_command& encoded(std::string_view args, std::size_t n) {
        added_ += n;
        buf_.append(args.data(), args.size());
        return *this;
    }
    resp_command& arg(std::size_t n) {
        char digits[24];
        const auto r = std::to_chars(digits, digits + sizeof digits, n);
        return arg(std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
    }

    bool complete() const noexcept { return argc_ > 0 && added_ == argc_; }
    std::size_t argc() const noexcept { return argc_; }
    // The encoding; buf().data() is NUL-terminated past size() (hiredis'
    // command parser reads one byte past a one-argument command).
    const std::string& buf() const noexcept { return buf_; }
    // The first argument (the command's name), once given.
    std::string_view name() const noexcept {
        if (added_ == 0) return {};
        const std::size_t at = buf_.find('$');
        const std::size_t data = buf_.find('\n', at) + 1;
        std::size_t len = 0;
        std::from_chars(buf_.data() + at + 1, buf_.data() + data - 2, len);
        return std::string_view(buf_).substr(data, len);
    }

private:
    std::string buf_;
    std::size_t argc_ = 0;
    std::size_t added_ = 0;
};

// The encoding of argv[0..argc) (lengths[i] bytes each).
inline resp_command format_resp(std::size_t argc, const char* const* argv, const std::size_t* lengths) {
    std::size_t payload = 0;
    for (std::size_t i = 0; i < argc; ++i) payload += lengths[i];
    resp_command c(argc, payload);
    for (std::size_t i = 0; i < argc; ++i) c.arg(std::string_view(argv[i], lengths[i]));
    return c;
}

} // namespace chatroom::detail
