#pragma once

// The rooms a member is in, as a roster in Redis keeps them: their names
// separated by single spaces (a name holds no space), empty for none. A
// member of a dialect that joins several rooms (IRC, browsers) is in up to
// server_options::max_rooms_per_member of them; the line protocol's in one.
// What is read from Redis is untrusted: valid_room_list checks every name.

#include <chatroom/core/names.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::detail {

// Calls fn(name) for each room of list; stops early when fn returns false.
// A space at either end or two together give an empty name, which
// valid_room_list refuses.
template <class Fn>
bool for_each_room(std::string_view list, Fn&& fn) {
    if (list.empty()) return true;
    for (;;) {
        const std::size_t sp = list.find(' ');
        if (!fn(list.substr(0, sp))) return false;
        if (sp == std::string_view::npos) return true;
        list.remove_prefix(sp + 1);
    }
}

inline std::string room_list_of(const std::vector<std::string_view>& rooms) {
    std::string list;
    for (std::string_view r : rooms) {
        if (!list.empty()) list += ' ';
        list.append(r.data(), r.size());
    }
    return list;
}

inline bool has_room(std::string_view list, std::string_view room) {
    return !for_each_room(list, [&](std::string_view r) { return !protocol::same_name(r, room); });
}

// list with room added (at the end), unless it is in it already.
inline std::string with_room(std::string list, std::string_view room) {
    if (has_room(list, room)) return list;
    if (!list.empty()) list += ' ';
    list.append(room.data(), room.size());
    return list;
}

// list without room.
inline std::string without_room(std::string_view list, std::string_view room) {
    std::string rest;
    for_each_room(list, [&](std::string_view r) {
        if (!protocol::same_name(r, room)) {
            if (!rest.empty()) rest += ' ';
            rest.append(r.data(), r.size());
        }
        return true;
    });
    return rest;
}

// Every name valid, single spaces between them, at most max_rooms of them.
inline bool valid_room_list(std::string_view list, std::size_t max_rooms = 1000) {
    if (list.empty()) return true;
    std::size_t count = 0;
    return for_each_room(list, [&](std::string_view r) { return ++count <= max_rooms && protocol::is_valid_name(r); });
}

inline std::vector<std::string> split_room_list(std::string_view list) {
    std::vector<std::string> rooms;
    for_each_room(list, [&](std::string_view r) {
        rooms.emplace_back(r);
        return true;
    });
    return rooms;
}

} // namespace chatroom::detail
