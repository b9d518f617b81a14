#pragma once

#include <chatroom/core/shared_bytes.hpp>

#include <asio/buffer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace chatroom::detail {

// The messages waiting to be written to one connection, in order: the ring
// inside output_queue (which adds the lock, the limits and the marks).
// A ring of shared messages that starts empty and gives its slots back when it
// drains, so an idle connection holds no queue memory at all.
class send_ring {
public:
    // Most iovecs handed to one gather write.
    static constexpr std::size_t max_gather = 64;

    struct gather {
        asio::const_buffer buffers[max_gather];
        std::size_t count = 0;
        const asio::const_buffer* begin() const noexcept { return buffers; }
        const asio::const_buffer* end() const noexcept { return buffers + count; }
    };

    std::size_t bytes() const noexcept { return bytes_; }
    bool empty() const noexcept { return count_ == 0; }
    std::size_t size() const noexcept { return count_; }

    void push(shared_bytes m) {
        if (count_ == capacity_) grow();
        bytes_ += m.size();
        slots_[(head_ + count_) & (capacity_ - 1)] = std::move(m);
        ++count_;
    }

    // The next bytes to write, as up to max_gather buffers.
    void fill(gather& g) const noexcept {
        g.count = 0;
        // Indices in 32 bits, as the counts are: no widening per slot.
        const std::uint32_t n = count_ < max_gather ? count_ : static_cast<std::uint32_t>(max_gather);
        const std::uint32_t mask = capacity_ - 1;
        for (std::uint32_t i = 0; i < n; ++i) {
            const shared_bytes& m = slots_[(head_ + i) & mask];
            std::size_t skip = i == 0 ? offset_ : 0;
            g.buffers[g.count++] = asio::const_buffer(m.data() + skip, m.size() - skip);
        }
    }

    // Drops the first n bytes, which the socket has taken.
    void consume(std::size_t n) noexcept {
        bytes_ -= n;
        while (n > 0 && count_ > 0) {
            shared_bytes& m = slots_[head_];
            std::size_t left = m.size() - offset_;
            if (n < left) {
                offset_ += n;
                return;
            }
            n -= left;
            pop_front();
        }
        if (count_ == 0) release_if_large();
    }

    // True when a write stopped inside the first message, so the stream is mid-line.
    bool mid_message() const noexcept { return offset_ != 0; }

    void clear() noexcept {
        while (count_ > 0) pop_front();
        bytes_ = 0;
        slots_.reset();
        capacity_ = 0;
    }

private:
    void pop_front() noexcept {
        slots_[head_] = shared_bytes();
        head_ = (head_ + 1) & (capacity_ - 1);
        --count_;
        offset_ = 0;
    }

    void grow() {
        const std::uint32_t cap = capacity_ ? capacity_ * 2 : 4;
        auto next = std::make_unique<shared_bytes[]>(cap);
        for (std::size_t i = 0; i < count_; ++i)
            next[i] = std::move(slots_[(head_ + i) & (capacity_ - 1)]);
        slots_ = std::move(next);
        capacity_ = cap;
        head_ = 0;
    }

    // A burst may grow the ring; once it drains, an idle connection gives the
    // memory back rather than keeping its peak.
    void release_if_large() noexcept {
        if (capacity_ > 8) {
            slots_.reset();
            capacity_ = 0;
        }
        head_ = 0;
        offset_ = 0;
    }

    // One ring per connection: the slot counts are 32 bits (a queue is
    // bounded by the output limits, megabytes, never 2^32 messages), which
    // takes the ring from 48 to 40 bytes.
    std::unique_ptr<shared_bytes[]> slots_;
    std::size_t offset_ = 0; // bytes of the first message already written
    std::size_t bytes_ = 0;  // bytes queued, minus offset_
    std::uint32_t capacity_ = 0; // zero or a power of two
    std::uint32_t head_ = 0;
    std::uint32_t count_ = 0;
};

} // namespace chatroom::detail
