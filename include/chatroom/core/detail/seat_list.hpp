#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace chatroom::detail {

class room;

// The rooms one member is in, each with its index in that room's member list
// (room.hpp keeps both sides), in the order it joined them. Most members are
// in one room (the line protocol keeps every member in exactly one), so the
// first seat is kept inline and only a member in several rooms allocates:
// 24 bytes like the std::vector it replaces, without the vector's heap block
// (32 bytes with malloc's header) for every connected member. A tenth of a
// KiB per idle connection is what issue 19's S5 measures.
class seat_list {
public:
    struct seat {
        room* in = nullptr;
        std::size_t slot = 0;
    };

    seat_list() noexcept : one_{} {}
    seat_list(const seat_list&) = delete;
    seat_list& operator=(const seat_list&) = delete;
    ~seat_list() {
        if (spilled()) delete[] many_;
    }

    seat* begin() noexcept { return data(); }
    seat* end() noexcept { return data() + size_; }
    const seat* begin() const noexcept { return data(); }
    const seat* end() const noexcept { return data() + size_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    seat& operator[](std::size_t i) noexcept { return data()[i]; }
    const seat& operator[](std::size_t i) const noexcept { return data()[i]; }
    seat& back() noexcept { return data()[size_ - 1]; }
    const seat& back() const noexcept { return data()[size_ - 1]; }

    void push_back(seat s) {
        if (size_ == capacity_) grow();
        data()[size_++] = s;
    }

    // Removes *at (one of this list's), keeping the others' order: the last
    // one is the member's current room.
    void erase(seat* at) noexcept {
        std::copy(at + 1, end(), at);
        --size_;
    }

private:
    bool spilled() const noexcept { return capacity_ > 1; }
    seat* data() noexcept { return spilled() ? many_ : &one_; }
    const seat* data() const noexcept { return spilled() ? many_ : &one_; }

    void grow() {
        const std::uint32_t cap = capacity_ * 2;
        seat* next = new seat[cap];
        std::copy(begin(), end(), next);
        if (spilled()) delete[] many_;
        many_ = next;
        capacity_ = cap;
    }

    // capacity_ 1: the seat is one_; above: many_ holds capacity_ seats.
    union {
        seat one_;
        seat* many_;
    };
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = 1;
};

} // namespace chatroom::detail
