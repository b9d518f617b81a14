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
// 32 bytes against the std::vector's 24 and its heap block (48 bytes with
// malloc's header) for every connected member. A tenth of a KiB per idle
// connection is what issue 19's S5 measures.
class seat_list {
public:
    struct seat {
        room* in = nullptr;
        std::size_t slot = 0;
        // Whether that room's bans match the member, as room_bans::matches
        // keeps it (0: not asked yet); cleared when the nick changes
        // (registry.hpp).
        mutable std::uint64_t bans_seen = 0;
    };

    seat_list() noexcept : one_{} {}
    seat_list(const seat_list&) = delete;
    seat_list& operator=(const seat_list&) = delete;
    ~seat_list() {
        if (spilled()) delete[] heap_.many;
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

    // The last seat's room, or none: one load, since every line asks for it
    // (the room a request that names none addresses). Both forms of the
    // union start with it (a common initial sequence, which may be read
    // whichever form is active).
    room* last_room() const noexcept { return one_.in; }

    void push_back(seat s) {
        if (size_ == capacity_) grow();
        if (spilled()) {
            heap_.many[size_++] = s;
            heap_.last = s.in;
        } else {
            one_ = s;
            ++size_;
        }
    }

    // Removes *at (one of this list's), keeping the others' order: the last
    // one is the member's current room.
    void erase(seat* at) noexcept {
        std::copy(at + 1, end(), at);
        --size_;
        if (spilled()) heap_.last = size_ ? heap_.many[size_ - 1].in : nullptr;
        else one_ = seat{};
    }

private:
    bool spilled() const noexcept { return capacity_ > 1; }
    seat* data() noexcept { return spilled() ? heap_.many : &one_; }
    const seat* data() const noexcept { return spilled() ? heap_.many : &one_; }

    void grow() {
        const std::uint32_t cap = capacity_ * 2;
        seat* next = new seat[cap];
        std::copy(begin(), end(), next);
        if (spilled()) delete[] heap_.many;
        heap_.last = size_ ? next[size_ - 1].in : nullptr;
        heap_.many = next;
        capacity_ = cap;
    }

    // capacity_ 1: the seat, if any, is one_ (one_.in is null without one).
    // Above: heap_.many holds capacity_ seats and heap_.last is the last
    // one's room, so last_room() reads the same word either way.
    struct spilled_seats {
        room* last;
        seat* many;
    };
    union {
        seat one_;
        spilled_seats heap_;
    };
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = 1;
};

} // namespace chatroom::detail
