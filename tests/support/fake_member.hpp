#pragma once

// Test doubles for driving the core without sockets (tests/core/):
// - fake_member: a member (core/detail/member.hpp) with no connection; it
//   records what the hub asks of it, and the test decides when its
//   "connection" takes the bytes queued for it (take());
// - tagged_dialect: a dialect other than the line protocol's, which frames
//   each line as "TAG:line\n" and counts the events it renders;
// - say(): a member's input handed to the hub as a session would, split
//   at LF, with no decoder of the library in between.
// Compiled against the generated single header, like every test.

#include <chatroom.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::test {

// A dialect that is not the line protocol: "TAG:line\n" per line, replies in
// the line protocol's words behind the same tag. It counts render() calls,
// so a test sees how often fan-out rendered an event for it.
class tagged_dialect final : public renderer {
public:
    explicit tagged_dialect(std::string tag) : prefix_(std::move(tag) + ":") {}

    shared_bytes render(const room_event& e) const override {
        ++renders;
        return renderer::render(e);
    }
    std::string wording(const reply& r) const override { return text_of(r); }
    std::size_t framed_size(std::size_t n) const noexcept override { return prefix_.size() + n + 1; }
    char* frame(char* out, std::string_view a, std::string_view b) const noexcept override {
        std::memcpy(out, prefix_.data(), prefix_.size());
        out += prefix_.size();
        if (!a.empty()) std::memcpy(out, a.data(), a.size());
        out += a.size();
        if (!b.empty()) std::memcpy(out, b.data(), b.size());
        out += b.size();
        *out++ = '\n';
        return out;
    }

    // Events rendered so far (the core's lock serializes render calls).
    mutable std::size_t renders = 0;

private:
    std::string prefix_;
};

// A member with no connection. The hub's calls are recorded; nothing it
// queues is written until the test calls take(), which is what a session's
// socket taking bytes would do. Never calls back into the hub, so every
// override is safe with the hub's lock held (as the member contract asks).
class fake_member final : public detail::member {
public:
    explicit fake_member(const renderer& dialect = line_dialect(), std::string address = "192.0.2.1",
                         bool locking = false,
                         const detail::interpreter& interpreter = detail::line_interpreter_instance())
        : member(locking, dialect, interpreter, std::move(address)) {}

    void flush() override { ++flushes; }
    void close_gracefully(detail::leave_reason why) override { closing = why; }
    void close_now(std::optional<reply> words, detail::leave_reason why) override {
        closed = true;
        closed_for = why;
        last_words = std::move(words);
    }
    void resume_reading(std::string unread) override { resumed.push_back(std::move(unread)); }
    bool is_closed() override { return closed; }

    // The connection takes up to max of the queued bytes, which are added to
    // received. Returns true when that took the queue back under soft, the
    // mark it had passed: a session then calls hub::drained(member).
    bool take(std::size_t soft, std::size_t max = std::numeric_limits<std::size_t>::max()) {
        bool back_under = false;
        detail::send_ring::gather g;
        while (max > 0) {
            output.fill(g);
            if (g.count == 0) break;
            std::size_t n = 0;
            for (const auto& b : g) {
                const std::size_t part = std::min(b.size(), max - n);
                received.append(static_cast<const char*>(b.data()), part);
                n += part;
                if (n == max) break;
            }
            max -= n;
            back_under = output.consume(n, soft) || back_under;
        }
        return back_under;
    }

    // The lines received so far (LF-ended, a CR before the LF dropped), and
    // the ones after those an earlier call returned.
    std::vector<std::string> lines() const { return split(received); }
    std::vector<std::string> new_lines() {
        std::vector<std::string> all = lines();
        std::vector<std::string> fresh(all.begin() + static_cast<std::ptrdiff_t>(std::min(seen_, all.size())),
                                       all.end());
        seen_ = all.size();
        return fresh;
    }

    std::size_t flushes = 0;
    std::optional<detail::leave_reason> closing; // close_gracefully's reason
    bool closed = false;
    std::optional<detail::leave_reason> closed_for;
    std::optional<reply> last_words;
    std::vector<std::string> resumed; // each resume_reading's unread input
    std::string received;

private:
    static std::vector<std::string> split(std::string_view bytes) {
        std::vector<std::string> out;
        for (;;) {
            const std::size_t lf = bytes.find('\n');
            if (lf == std::string_view::npos) return out;
            std::string_view line = bytes.substr(0, lf);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            out.emplace_back(line);
            bytes.remove_prefix(lf + 1);
        }
    }

    std::size_t seen_ = 0;
};

// Hands bytes m "read" to the hub as a session does (hub::receive), split
// at LF; a CR before the LF is dropped and a last unfinished line is not
// used. Returns the hub's answer: true to go on reading, false when m left
// or was paused (then the hub hands the unused rest back through
// resume_reading).
inline bool say(detail::hub& h, detail::member& m, std::string_view bytes) {
    return h.receive(m, bytes.data(), bytes.size(), [&](auto&& out) {
        std::size_t used = 0;
        while (used < bytes.size()) {
            const std::size_t lf = bytes.find('\n', used);
            if (lf == std::string_view::npos) break;
            std::string_view line = bytes.substr(used, lf - used);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            used = lf + 1;
            if (!out(frame_event::line, line)) break;
        }
        return used;
    });
}

} // namespace chatroom::test
