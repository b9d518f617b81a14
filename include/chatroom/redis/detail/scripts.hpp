#pragma once

// The backplane's Lua scripts (core.hpp): each check-and-set on
// the home instance is one atomic step, whatever the other servers do.

#include <string_view>

namespace chatroom::detail {

// Lua, so each check-and-set is one atomic step in Redis.
namespace redis_scripts {
// KEYS[1] nicks hash; ARGV: folded nick, node, prefix. Wins if free, ours,
// or held by a server whose heartbeat is gone.
inline constexpr std::string_view claim = R"(
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and owner ~= ARGV[2] and redis.call('EXISTS', ARGV[3] .. 'alive:' .. owner) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1)";
// KEYS[1] nicks hash; ARGV: node, folded nicks... Gives up the listed nicks if ours.
inline constexpr std::string_view release = R"(
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 0)";
// ARGV: prefix, node, epoch, ttl ms. The heartbeat, then the others: for
// each, its id, 1 if alive, and its roster (nick, room, ...). Returns whether
// this node was missing from the member list (new, or taken for dead).
inline constexpr std::string_view beat = R"(
local p, me = ARGV[1], ARGV[2]
local fresh = redis.call('HSET', p .. 'nodes', me, ARGV[3])
redis.call('SET', p .. 'alive:' .. me, ARGV[3], 'PX', ARGV[4])
local out = {fresh}
local nodes = redis.call('HKEYS', p .. 'nodes')
for _, id in ipairs(nodes) do
  if id ~= me then
    local alive = redis.call('EXISTS', p .. 'alive:' .. id)
    table.insert(out, id)
    table.insert(out, alive)
    if alive == 1 then table.insert(out, redis.call('HGETALL', p .. 'roster:' .. id)) else table.insert(out, {}) end
  end
end
return out)";
// ARGV: prefix, dead node, reaper. Takes the dead node's roster (nick, room,
// ...) and forgets the node, its nicks and its private stream, if this
// reaper holds the lock; else an empty list.
inline constexpr std::string_view reap = R"(
local p, dead = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'alive:' .. dead) == 1 then return {} end
if not redis.call('SET', p .. 'reap:' .. dead, ARGV[3], 'NX', 'PX', 30000) then return {} end
local roster = redis.call('HGETALL', p .. 'roster:' .. dead)
local nicks = redis.call('HGETALL', p .. 'nicks')
for i = 1, #nicks, 2 do
  if nicks[i + 1] == dead then redis.call('HDEL', p .. 'nicks', nicks[i]) end
end
redis.call('DEL', p .. 'roster:' .. dead, p .. 'node:' .. dead)
redis.call('HDEL', p .. 'nodes', dead)
return roster)";
// ARGV: prefix, node. A server stopping forgets itself: its nicks, roster,
// private stream and liveness.
inline constexpr std::string_view farewell = R"(
local p, me = ARGV[1], ARGV[2]
local nicks = redis.call('HGETALL', p .. 'nicks')
for i = 1, #nicks, 2 do
  if nicks[i + 1] == me then redis.call('HDEL', p .. 'nicks', nicks[i]) end
end
redis.call('DEL', p .. 'roster:' .. me, p .. 'node:' .. me, p .. 'alive:' .. me)
redis.call('HDEL', p .. 'nodes', me)
return 0)";
// ARGV: prefix, node, then nick, room, ...: this node's roster, anew.
inline constexpr std::string_view publish_roster = R"(
local key = ARGV[1] .. 'roster:' .. ARGV[2]
redis.call('DEL', key)
for i = 3, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
return 0)";
} // namespace redis_scripts

} // namespace chatroom::detail
