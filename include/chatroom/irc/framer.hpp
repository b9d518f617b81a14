#pragma once

/// @file
/// The bytes-to-lines half of the IRC dialect: lines end at LF, with or
/// without a CR before it (clients send CR LF; some send LF alone); the
/// server writes CR LF. A line may be max_tag_bytes of tags and
/// max_body_bytes of body; a longer one is reported once as too long and
/// its rest discarded up to its end, so a connection's input memory stays
/// bounded whatever arrives.

#include <chatroom/core/decoder.hpp>
#include <chatroom/irc/message.hpp>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace chatroom::irc {

/// Splits a byte stream into IRC lines. Not thread-safe: one per connection.
class framer {
public:
    /// Lines of at most max_line_bytes (CR and LF not counted).
    explicit framer(std::size_t max_line_bytes = max_tag_bytes + max_body_bytes) : max_(max_line_bytes) {}

    /// Feeds bytes; calls on(frame_event, std::string_view) for each line (a
    /// trailing CR removed) or overflow. on returns false to stop early; feed
    /// then returns the bytes it consumed and the caller feeds the rest later.
    template <class Handler>
    std::size_t feed(const char* data, std::size_t size, Handler&& on) {
        const char* p = data;
        const char* const end = data + size;
        while (p < end) {
            const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
            const char* stop = lf ? lf : end;
            const auto take = static_cast<std::size_t>(stop - p);
            if (!discarding_) {
                if (partial_.size() + take > max_ + 1) { // one byte of slack for the CR
                    discarding_ = true;
                    partial_.clear();
                    p = stop;
                    if (!on(frame_event::too_long, std::string_view())) return static_cast<std::size_t>(p - data);
                } else if (lf && partial_.empty()) {
                    std::size_t len = take;
                    if (len > 0 && p[len - 1] == '\r') --len;
                    const char* line = p;
                    p = lf + 1;
                    if (len > max_) { // only the CR's slack let it through
                        if (!on(frame_event::too_long, std::string_view())) return static_cast<std::size_t>(p - data);
                        continue;
                    }
                    if (!on(frame_event::line, std::string_view(line, len))) return static_cast<std::size_t>(p - data);
                    continue;
                } else {
                    partial_.append(p, take);
                }
            }
            p = stop;
            if (!lf) break;
            ++p; // the LF
            if (discarding_) {
                discarding_ = false;
                continue;
            }
            if (!deliver_partial(on)) return static_cast<std::size_t>(p - data);
        }
        return size;
    }

    /// End of input: an unfinished last line is handed to on like any other.
    template <class Handler>
    void finish(Handler&& on) {
        if (!discarding_ && !partial_.empty()) deliver_partial(on);
        partial_.clear();
        discarding_ = false;
    }

    std::size_t max_line_bytes() const noexcept { return max_; } ///< the limit it was made with

private:
    template <class Handler>
    bool deliver_partial(Handler& on) {
        std::string line;
        line.swap(partial_);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.size() > max_) return on(frame_event::too_long, std::string_view());
        return on(frame_event::line, std::string_view(line));
    }

    std::string partial_;
    const std::size_t max_;
    bool discarding_ = false;
};

} // namespace chatroom::irc
