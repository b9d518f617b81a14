#pragma once

// The backplane's Redis keys (docs/scale-out.md#redis-keys), which instance
// holds each, and the random names of processes.

#include <chatroom/core/names.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace chatroom::detail {

// FNV-1a: every server must put a room on the same instance.
inline std::size_t instance_of(std::string_view folded_room, std::size_t instances) noexcept {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : folded_room) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return instances ? static_cast<std::size_t>(h % instances) : 0;
}

inline std::string random_token(std::size_t length) {
    static constexpr char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::uniform_int_distribution<std::size_t> pick(0, sizeof(digits) - 2);
    std::string s;
    for (std::size_t i = 0; i < length; ++i) s += digits[pick(gen)];
    return s;
}

// Every key starts with the prefix; names are folded where the server
// compares them ignoring case. The home (instance 0) holds everything but
// the rooms' streams, which hash over the instances, and the canaries, one
// per node on each instance (the stream's owner says which).
struct redis_keys {
    std::string prefix;
    std::string node;

    std::string room(std::string_view name) const { return prefix + "room:" + protocol::fold_case(name); }
    std::string roster(std::string_view id) const { return prefix + "roster:" + std::string(id); }
    std::string roster() const { return roster(node); }
    std::string nicks() const { return prefix + "nicks"; }
    std::string node_stream(std::string_view id) const { return prefix + "node:" + std::string(id); }
    std::string node_stream() const { return node_stream(node); }
    std::string canary(std::size_t instance) const {
        return prefix + "canary:" + node + ":" + std::to_string(instance);
    }

    bool is_room(std::string_view key) const {
        return key.size() > prefix.size() + 5 && key.compare(0, prefix.size(), prefix) == 0 &&
               key.compare(prefix.size(), 5, "room:") == 0;
    }
    // The instance a room's stream lives on.
    std::size_t instance(std::string_view room_key, std::size_t instances) const {
        return is_room(room_key) ? instance_of(room_key.substr(prefix.size() + 5), instances) : 0;
    }
};

} // namespace chatroom::detail
