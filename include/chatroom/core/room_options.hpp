#pragma once

#include <cstddef>
#include <string>

/// @file
/// Rooms the host makes (server.hpp: create_room, invite, close_room,
/// room_details): a match room, a staff room, a reserved room.
///
/// These options are kept by the server the host set them on. With a shared
/// room log (the Redis backplane) the room's chat is shared as always, but the
/// options are not: members of the other servers can /join it by name, the cap
/// counts this server's members only, and closing it moves only this server's
/// members (docs/protocol.md, "Rooms the host makes").
namespace chatroom {

/// What the host makes a room with (basic_server::create_room).
struct room_options {
    /// Shown to whoever enters, and in /rooms.
    std::string topic;
    /// Entered only by the host's move() or after the host's invite(): /join
    /// answers "! ROOM is private: ask for an invitation", and /rooms lists the
    /// room only to its members and the members invited to it.
    bool is_private = false;
    /// At most this many members (0: no cap). A /join past it is answered
    /// "! ROOM is full (N members)", and move() returns host_errc::room_full.
    std::size_t max_members = 0;
    /// Kept when its last member leaves (until close_room). Without it, a
    /// room the host made exists, empty, until it has had a member and the
    /// last one leaves, as any other room.
    bool persistent = false;
};

/// A room as the host sees it, with the options the host gave it (default
/// options for rooms members made with /join).
struct host_room_info {
    std::string name;        ///< as first spelt
    std::size_t members = 0; ///< on this server
    std::string topic;       ///< the room's topic now (options.topic too)
    room_options options;    ///< the options the host made it with; defaults for other rooms
    bool made_by_host = false; ///< made by create_room, not by a member's /join
};

} // namespace chatroom
