#pragma once

#include <chatroom/core/access.hpp>
#include <chatroom/core/host_error.hpp>
#include <chatroom/core/room_options.hpp>

#include <string_view>
#include <utility>
#include <vector>

namespace chatroom {

/// The host's snapshots and controls of a running server: its rooms and
/// members, what it does to members (kick, move, rename) and rooms (topic,
/// the rooms it makes). basic_server (server.hpp) derives from this, so
/// they are called on the server: `srv.kick("bob")`.
///
/// From any thread but the access hooks (which run with the server's lock
/// held). A control returns a control_result (host_error.hpp): true when
/// done, else error() says why (a host_errc named above each). None throws
/// but bad_alloc.
/// @tparam Server the basic_server that derives from this
template <class Server>
class server_controls {
public:
    /// The rooms on this server: each one's name, members here and topic.
    std::vector<room_info> rooms() const { return hub().room_snapshot(); }
    /// The members of a room (any case of its name); none for no such room.
    std::vector<member_info> members(std::string_view room) const { return hub().member_snapshot(room); }
    /// no_such_member.
    control_result kick(std::string_view nick, std::string_view reason = {}) {
        return control([&](auto& c) { return c.kick(nick, reason, "the host"); });
    }
    /// no_such_member, bad_name (the room's), room_full. A private room is no
    /// obstacle: moving is how the host lets members in.
    control_result move(std::string_view nick, std::string_view room) {
        return control([&](auto& c) { return c.move(nick, room); });
    }
    /// no_such_member, bad_name, name_taken. With a shared room log that claims
    /// nicks the rename is decided by the claim, after this returns.
    control_result rename(std::string_view nick, std::string_view new_nick) {
        return control([&](auto& c) { return c.rename(nick, new_nick); });
    }
    /// no_such_room.
    control_result set_topic(std::string_view room, std::string_view text) {
        return control([&](auto& c) { return c.set_topic(room, text, {}); });
    }

    // ---- rooms the host makes (room_options.hpp, docs/protocol.md) ------------

    /// A new room, empty, with options: bad_name, lobby_is_fixed, name_taken
    /// (a room of that name exists on this server), stopping.
    control_result create_room(std::string_view name, room_options options = {}) {
        return control([&](auto& c) { return c.create_room(name, std::move(options)); });
    }
    /// Closes a room, whoever made it, moving its members to the lobby with
    /// "* ROOM was closed by the host[: reason]": no_such_room, lobby_is_fixed.
    control_result close_room(std::string_view name, std::string_view reason = {}) {
        return control([&](auto& c) { return c.close_room(name, reason); });
    }
    /// Lets a member /join a private room the host made (it is told "* you are
    /// invited to ROOM: /join ROOM") while it is connected and the room
    /// exists. no_such_member, no_such_room (none the host made).
    control_result invite(std::string_view room, std::string_view nick) {
        return control([&](auto& c) { return c.invite(room, nick); });
    }
    /// Every room on this server with its options, private ones included.
    std::vector<host_room_info> room_details() const {
        return control([](auto& c) { return c.host_room_list(); });
    }

protected:
    ~server_controls() = default;

private:
    // The server's hub: Server makes this its friend.
    auto& hub() const { return *static_cast<const Server&>(*this).impl_->hub; }

    template <class F>
    auto control(F&& f) const {
        return hub().control(std::forward<F>(f));
    }
};

} // namespace chatroom
