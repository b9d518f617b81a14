#pragma once

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/operator_commands.hpp>
#include <chatroom/core/detail/room_moderation.hpp>

namespace chatroom::detail {

// Which moderation request goes where (commands.hpp): a room's operators'
// (room_moderation.hpp: KICK naming a room, TOPIC, MODE, INVITE) or the
// server operators' (operator_commands.hpp: /kick naming no room, /ban,
// /unban, /mute, /unmute). Guarded by the hub's lock.

inline bool is_moderation(protocol::command_kind k) noexcept {
    using protocol::command_kind;
    switch (k) {
    case command_kind::kick:
    case command_kind::ban:
    case command_kind::unban:
    case command_kind::mute:
    case command_kind::unmute:
    case command_kind::topic:
    case command_kind::mode:
    case command_kind::invite: return true;
    default: return false;
    }
}

inline void moderate(operator_commands& server_ops, room_moderation& room_ops, member& m,
                     const protocol::command& cmd) {
    using protocol::command_kind;
    switch (cmd.kind) {
    case command_kind::kick:
        if (!cmd.room.empty()) return room_ops.kick(m, cmd); // out of a room, by its operator
        return server_ops.run(m, cmd);                       // the server's /kick
    case command_kind::topic: return room_ops.topic(m, cmd);
    case command_kind::mode: return room_ops.mode(m, cmd);
    case command_kind::invite: return room_ops.invite(m, cmd);
    default: return server_ops.run(m, cmd);
    }
}

} // namespace chatroom::detail
