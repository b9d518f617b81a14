#pragma once

#include <chatroom/client/options.hpp>

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace chatroom::detail {

// Lines received while no async_receive waits for them, up to a bound in
// bytes. A line that does not fit is dropped, and one lines_dropped_marker
// takes the place of each run of dropped lines, so the receiver sees the
// gap where it was. A line always fits into an empty inbox. Markers are
// not counted: the inbox holds max(bound, one line) bytes of lines and at
// most one marker more than it holds lines.
class inbox {
public:
    explicit inbox(std::size_t max_bytes) : max_bytes_(max_bytes) {}

    bool empty() const noexcept { return lines_.empty(); }

    void push(std::string_view line) {
        if (!lines_.empty() && bytes_ + line.size() > max_bytes_) {
            if (!lines_.back().marker) lines_.push_back({std::string(lines_dropped_marker), true});
            return;
        }
        bytes_ += line.size();
        lines_.push_back({std::string(line), false});
    }

    std::string pop() {
        entry e = std::move(lines_.front());
        lines_.pop_front();
        if (!e.marker) bytes_ -= e.text.size();
        return std::move(e.text);
    }

private:
    struct entry {
        std::string text;
        bool marker; // stands for dropped lines; not counted in bytes_
    };

    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::deque<entry> lines_;
};

} // namespace chatroom::detail
