#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace chatroom {

// What the framer hands to its consumer.
enum class frame_event {
    line,     // a complete line, LF and a preceding CR removed, telnet commands removed
    too_long, // the current line passed the limit; the rest of it, up to LF, is discarded
};

// Splits a byte stream into LF-terminated lines, consuming telnet IAC
// sequences on the way. Holds at most max_line_bytes + 1 bytes of an
// unfinished line whatever arrives, so a connection's input memory is bounded.
class line_framer {
public:
    explicit line_framer(std::size_t max_line_bytes = 4096) : max_(max_line_bytes) {}

    std::size_t max_line_bytes() const noexcept { return max_; }

    // Feeds bytes; calls on(frame_event, std::string_view) for each event.
    // on returns false to stop early (flow control); feed then returns how many
    // bytes it consumed, and the caller feeds the rest later.
    template <class Handler>
    std::size_t feed(const char* data, std::size_t size, Handler&& on) {
        const char* p = data;
        const char* const end = data + size;
        while (p < end) {
            if (state_ == state::data && !discarding_) {
                // Bulk path: everything up to the next LF or IAC byte is plain data.
                const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
                const char* stop = nl ? nl : end;
                const auto* iac = static_cast<const char*>(std::memchr(p, '\xFF', static_cast<std::size_t>(stop - p)));
                if (iac) stop = iac;
                if (nl && stop == nl && partial_.empty()) {
                    // A whole line in view: handed out without copying.
                    std::size_t len = static_cast<std::size_t>(nl - p);
                    if (len > 0 && p[len - 1] == '\r') --len;
                    const char* line = p;
                    p = nl + 1;
                    bool keep_going = len > max_ ? on(frame_event::too_long, std::string_view())
                                                 : on(frame_event::line, std::string_view(line, len));
                    if (!keep_going) return static_cast<std::size_t>(p - data);
                    continue;
                }
                const auto take = static_cast<std::size_t>(stop - p);
                if (take > 0) {
                    p = stop;
                    // One byte of slack keeps a CR that may precede the LF.
                    if (partial_.size() + take > max_ + 1) {
                        discarding_ = true;
                        partial_.clear();
                        if (!on(frame_event::too_long, std::string_view())) return static_cast<std::size_t>(p - data);
                    } else {
                        partial_.append(stop - take, take);
                    }
                    continue;
                }
            }
            const unsigned char c = static_cast<unsigned char>(*p++);
            const step_result r = step(c);
            if (r == step_result::more) continue;
            bool keep_going = true;
            if (r == step_result::overflow) {
                // Reported as soon as it is known, not when the LF finally comes.
                keep_going = on(frame_event::too_long, std::string_view());
            } else if (discarding_) {
                discarding_ = false;
            } else {
                std::size_t len = partial_.size();
                if (len > 0 && partial_[len - 1] == '\r') --len;
                if (len > max_) keep_going = on(frame_event::too_long, std::string_view());
                else keep_going = on(frame_event::line, std::string_view(partial_.data(), len));
                partial_.clear();
            }
            if (!keep_going) return static_cast<std::size_t>(p - data);
        }
        return size;
    }

    // Bytes of an unfinished line held right now.
    std::size_t buffered() const noexcept { return partial_.size(); }

    // Gives back the memory of an unfinished line that has been consumed.
    void shrink() {
        if (partial_.empty()) std::string().swap(partial_);
    }

private:
    enum class state : unsigned char { data, iac, option, sub, sub_iac };
    static constexpr unsigned char IAC = 255, SE = 240, SB = 250, WILL = 251, DONT = 254;

    enum class step_result : unsigned char { more, line_end, overflow };

    // Consumes one byte of the slow path.
    step_result step(unsigned char c) {
        switch (state_) {
        case state::data:
            if (c == IAC) {
                state_ = state::iac;
                return step_result::more;
            }
            if (c == '\n') return step_result::line_end;
            return append(c);
        case state::iac:
            if (c == IAC) { // IAC IAC is a literal 0xFF data byte
                state_ = state::data;
                return append(c);
            } else if (c >= WILL && c <= DONT) {
                state_ = state::option;
            } else if (c == SB) {
                state_ = state::sub;
            } else {
                state_ = state::data; // a two-byte command: consumed
            }
            return step_result::more;
        case state::option:
            state_ = state::data;
            return step_result::more;
        case state::sub:
            if (c == IAC) state_ = state::sub_iac;
            return step_result::more;
        case state::sub_iac:
            state_ = c == SE ? state::data : state::sub;
            return step_result::more;
        }
        return step_result::more;
    }

    step_result append(unsigned char c) {
        if (discarding_) return step_result::more;
        // One byte of slack keeps a CR that may precede the LF.
        if (partial_.size() > max_) {
            discarding_ = true;
            partial_.clear();
            return step_result::overflow;
        }
        partial_.push_back(static_cast<char>(c));
        return step_result::more;
    }

    std::string partial_;
    std::size_t max_;
    state state_ = state::data;
    bool discarding_ = false;
};

} // namespace chatroom
