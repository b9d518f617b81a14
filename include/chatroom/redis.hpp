#pragma once

/// @file
/// Opt-in: many servers act as one through Redis Streams (docs/scale-out.md).
/// Needs hiredis (link chatroom::redis, or -lhiredis); the rest of chatroom
/// does not.
///
/// @code
///     server.set_room_log(chatroom::redis_backplane_factory(options));
/// @endcode
///
/// The Redis folder: redis/options.hpp (redis_options, parse_redis_endpoint),
/// redis/backplane.hpp (redis_backplane, redis_backplane_factory) and
/// redis/history.hpp (redis_history: /history from the rooms' streams); its
/// internals are in redis/detail/. It includes nothing of chatroom but the
/// core and itself.

#include <chatroom/redis/backplane.hpp>
#include <chatroom/redis/history.hpp>
#include <chatroom/redis/options.hpp>
