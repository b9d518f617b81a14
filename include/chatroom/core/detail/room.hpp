#pragma once

#include <chatroom/core/detail/history_ring.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room_roles.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/room_event.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatroom::detail {

// A named set of members and, when enabled, the last lines said in it, kept
// as events so each joiner gets them in its own dialect. It exists while it
// has members. Guarded by the hub's lock.
class room {
public:
    room(std::string name, std::size_t history_limit) : name_(std::move(name)), history_(history_limit) {}

    const std::string& name() const noexcept { return name_; }
    const std::string& topic() const noexcept { return topic_; }
    // by: who set it (empty: the host); when: seconds since 1970 (IRC's 333).
    void set_topic(std::string text, std::string by = {}, std::int64_t when = 0) {
        topic_ = std::move(text);
        topic_by_ = std::move(by);
        topic_time_ = when;
    }
    const std::string& topic_by() const noexcept { return topic_by_; }
    std::int64_t topic_time() const noexcept { return topic_time_; }
    // Its operators and modes (room_roles.hpp).
    room_roles& roles() noexcept { return roles_; }
    const room_roles& roles() const noexcept { return roles_; }
    const std::vector<member*>& members() const noexcept { return members_; }
    std::size_t size() const noexcept { return members_.size(); }
    bool empty() const noexcept { return members_.empty(); }

    // Whether m is banned here (room_bans.hpp): every check of a ban comes
    // here. A member in the room keeps the answer in its seat until the
    // list or its nick changes (its address never does); one outside (a
    // join, a line from outside under -n) is compared with the masks.
    bool banned(const member& m) const {
        if (roles_.bans().list().empty()) return false;
        for (const member_state::seat& s : m.state.seats)
            if (s.in == this) return roles_.bans().matches(s.bans_seen, m.state.nick, m.address());
        return roles_.bans().matches(m.state.nick, m.address());
    }

    // m enters: it becomes m's current room (its last seat).
    void add(member& m) {
        m.state.seats.push_back({this, members_.size()});
        members_.push_back(&m);
    }

    // m leaves (it must be in the room). Order of members does not matter, so
    // removal swaps in the last one. m's seats keep their order, so its
    // current room becomes the last it joined of those left, or none.
    void remove(member& m) noexcept {
        auto& seats = m.state.seats;
        auto mine = std::find_if(seats.begin(), seats.end(), [this](const member_state::seat& s) { return s.in == this; });
        const std::size_t slot = mine->slot;
        seats.erase(mine);
        member* moved = members_.back();
        members_[slot] = moved;
        members_.pop_back();
        if (moved != &m)
            for (member_state::seat& s : moved->state.seats)
                if (s.in == this) s.slot = slot;
    }

    // Chat lines and actions are kept for members who join later, one line each.
    void remember(const room_event& e) { history_.remember(e); }
    const std::deque<room_event>& history() const noexcept { return history_.events(); }
    history_ring& ring() noexcept { return history_; }
    const history_ring& ring() const noexcept { return history_; }

private:
    std::string name_;
    std::string topic_, topic_by_;
    std::int64_t topic_time_ = 0;
    room_roles roles_;
    std::vector<member*> members_;
    history_ring history_;
};

// Every room of the server, by case-folded name. Guarded by the hub's lock.
class room_directory {
public:
    explicit room_directory(std::size_t history_limit) : history_limit_(history_limit) {}

    std::size_t size() const noexcept { return rooms_.size(); }

    room* find(std::string_view name) {
        // Deliveries come in runs for one room: the last one found is asked first.
        if (last_ && last_->name() == name) return last_;
        auto it = rooms_.find(protocol::fold_case(name));
        if (it == rooms_.end()) return nullptr;
        return last_ = it->second.get();
    }

    // The room of that name, made if new; created says which.
    room& find_or_create(std::string_view name, bool& created) {
        std::string key = protocol::fold_case(name);
        auto it = rooms_.find(key);
        created = it == rooms_.end();
        if (created) it = rooms_.emplace(std::move(key), std::make_unique<room>(std::string(name), history_limit_)).first;
        return *it->second;
    }

    void erase(const room& r) {
        if (last_ == &r) last_ = nullptr;
        rooms_.erase(protocol::fold_case(r.name()));
    }

    // By name, for /rooms.
    std::vector<const room*> sorted() const {
        std::vector<const room*> list;
        list.reserve(rooms_.size());
        for (auto& kv : rooms_) list.push_back(kv.second.get());
        std::sort(list.begin(), list.end(), [](const room* a, const room* b) { return a->name() < b->name(); });
        return list;
    }

private:
    std::unordered_map<std::string, std::unique_ptr<room>> rooms_;
    room* last_ = nullptr;
    std::size_t history_limit_;
};

} // namespace chatroom::detail
