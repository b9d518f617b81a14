#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/names.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chatroom::detail {

// Every attached member and the nick each one holds. Nicks are unique
// case-insensitively. Guarded by the hub's lock.
class registry {
public:
    const std::vector<std::shared_ptr<member>>& members() const noexcept { return members_; }
    bool empty() const noexcept { return members_.empty(); }

    member* find_nick(std::string_view nick) const {
        auto it = nicks_.find(protocol::fold_case(nick));
        return it == nicks_.end() ? nullptr : it->second;
    }

    // Registers a new member under a fresh guest nick.
    void add(const std::shared_ptr<member>& m) {
        member_state& s = m->state;
        s.nick = next_guest_nick();
        nicks_.emplace(protocol::fold_case(s.nick), m.get());
        s.registry_slot = static_cast<std::uint32_t>(members_.size());
        members_.push_back(m);
        s.attached = true;
    }

    // Gives m the nick; the caller has checked it is free (or m's own).
    void rename(member& m, std::string_view nick) {
        nicks_.erase(protocol::fold_case(m.state.nick));
        m.state.nick = std::string(nick);
        nicks_.emplace(protocol::fold_case(nick), &m);
        for (member_state::seat& s : m.state.seats) s.bans_seen = 0; // its bans ask again (room_bans.hpp)
    }

    // Unregisters m and hands back the registry's reference, which the
    // caller drops once the lock is released (a member may die then).
    std::shared_ptr<member> remove(member& m) {
        nicks_.erase(protocol::fold_case(m.state.nick));
        m.state.attached = false;
        const std::size_t slot = m.state.registry_slot;
        if (slot >= members_.size() || members_[slot].get() != &m) return nullptr;
        std::shared_ptr<member> ref = std::move(members_[slot]);
        if (slot + 1 != members_.size()) {
            members_[slot] = std::move(members_.back());
            members_[slot]->state.registry_slot = static_cast<std::uint32_t>(slot);
        }
        members_.pop_back();
        return ref;
    }

    // Empties the registry, for shutdown.
    std::vector<std::shared_ptr<member>> take_all() {
        nicks_.clear();
        return std::exchange(members_, {});
    }

    // A free guest nick.
    std::string guest_nick() { return next_guest_nick(); }
    // A shared room log makes guest nicks unique across servers.
    void set_guest_prefix(std::string prefix) { guest_prefix_ = std::move(prefix); }

private:
    std::string next_guest_nick() {
        for (;;) {
            std::string nick = guest_prefix_ + std::to_string(++guest_counter_);
            if (nicks_.find(nick) == nicks_.end()) return nick;
        }
    }

    std::vector<std::shared_ptr<member>> members_;
    std::unordered_map<std::string, member*> nicks_; // by folded nick
    std::string guest_prefix_ = "guest-";
    std::uint64_t guest_counter_ = 0;
};

} // namespace chatroom::detail
