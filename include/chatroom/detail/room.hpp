#pragma once

#include <chatroom/member.hpp>

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::detail {

// A named set of members and, when enabled, the last lines said in it.
// It exists while it has members. Guarded by the hub's lock.
class room {
public:
    room(std::string name, std::size_t history_limit) : name_(std::move(name)), history_limit_(history_limit) {}

    const std::string& name() const noexcept { return name_; }
    const std::vector<member*>& members() const noexcept { return members_; }
    std::size_t size() const noexcept { return members_.size(); }
    bool empty() const noexcept { return members_.empty(); }

    void add(member& m) {
        m.current = this;
        m.room_slot = members_.size();
        members_.push_back(&m);
    }

    // Order of members does not matter, so removal swaps in the last one.
    void remove(member& m) noexcept {
        std::size_t slot = m.room_slot;
        members_[slot] = members_.back();
        members_[slot]->room_slot = slot;
        members_.pop_back();
        m.current = nullptr;
    }

    // Keeps one formatted line (CRLF included) for members who join later.
    void remember(std::string_view line) {
        if (history_limit_ == 0) return;
        if (history_.size() == history_limit_) history_.pop_front();
        history_.emplace_back(line);
    }
    const std::deque<std::string>& history() const noexcept { return history_; }

private:
    std::string name_;
    std::vector<member*> members_;
    std::deque<std::string> history_;
    std::size_t history_limit_;
};

} // namespace chatroom::detail
