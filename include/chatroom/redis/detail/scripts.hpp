#pragma once

// The backplane's Lua scripts (core.hpp): each check-and-set on
// the home instance is one atomic step, whatever the other servers do.

#include <string_view>

namespace chatroom::detail {

// Lua, so each check-and-set is one atomic step in Redis.
namespace redis_scripts {
// KEYS[1] nicks hash; ARGV: folded nick, node, prefix. 1: won (the nick
// is free or already this server's). 0: taken (its holder's server is
// alive). 2: not yet: its holder's server is dead or being cleaned up after,
// and the nick is free only once its members' leaves are in the rooms'
// streams (reap_end); ask again.
inline constexpr std::string_view claim = R"(
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and owner ~= ARGV[2] then
  if redis.call('EXISTS', ARGV[3] .. 'reap:' .. owner) == 1 then return 2 end
  if redis.call('EXISTS', ARGV[3] .. 'alive:' .. owner) == 1 then return 0 end
  if redis.call('HEXISTS', ARGV[3] .. 'nodes', owner) == 1 then return 2 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1)";
// KEYS[1] nicks hash; ARGV: node, folded nicks... Gives up the listed nicks if ours.
inline constexpr std::string_view release = R"(
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 0)";
// ARGV: prefix, node, epoch, ttl ms, lock ms. A process's first word to the
// cluster: it registers its incarnation (epoch) under its node id and, when
// an earlier incarnation of that id is still registered (a node restarted
// before anyone saw it die), takes over the cleanup after it: returns that
// epoch and its roster (nick, room, ...), holding the lock reap:<node> so
// that other servers' claims of its nicks wait (claim answers 2) until
// reap_end, once the leaves are in the streams. Else returns {''}. Asked
// again by the same incarnation (its answer was lost), it answers the same.
inline constexpr std::string_view takeover = R"(
local p, me, ep = ARGV[1], ARGV[2], ARGV[3]
local old = redis.call('HGET', p .. 'nodes', me)
local lock = redis.call('GET', p .. 'reap:' .. me)
local out = {''}
if old and old ~= ep then
  redis.call('SET', p .. 'reap:' .. me, old .. ' ' .. me .. ' ' .. ep, 'PX', ARGV[5])
  out = {old, redis.call('HGETALL', p .. 'roster:' .. me)}
elseif lock and string.sub(lock, -(#me + #ep + 2)) == ' ' .. me .. ' ' .. ep then
  out = {string.match(lock, '^%S+'), redis.call('HGETALL', p .. 'roster:' .. me)}
end
redis.call('HSET', p .. 'nodes', me, ep)
redis.call('SET', p .. 'alive:' .. me, ep, 'PX', ARGV[4])
return out)";
// ARGV: prefix, node, epoch, ttl ms. The heartbeat, then the others: for
// each, its id, 1 if alive, and its roster (nick, room, ...), which a server
// keeps until its members' leaves are announced, alive or not. The first
// element: 0, or 1 when this incarnation was missing from the member list
// (taken for dead), or 2 when another incarnation of this node id
// registered since (a second process under the same id): then nothing is
// written.
inline constexpr std::string_view beat = R"(
local p, me = ARGV[1], ARGV[2]
local registered = redis.call('HGET', p .. 'nodes', me)
if registered and registered ~= ARGV[3] then return {2} end
local fresh = 0
if not registered then
  fresh = 1
  redis.call('HSET', p .. 'nodes', me, ARGV[3])
end
redis.call('SET', p .. 'alive:' .. me, ARGV[3], 'PX', ARGV[4])
local out = {fresh}
local nodes = redis.call('HKEYS', p .. 'nodes')
for _, id in ipairs(nodes) do
  if id ~= me then
    local alive = redis.call('EXISTS', p .. 'alive:' .. id)
    table.insert(out, id)
    table.insert(out, alive)
    table.insert(out, redis.call('HGETALL', p .. 'roster:' .. id))
  end
end
return out)";
// ARGV: prefix, dead node, reaper node, reaper epoch, lock ms. The first
// step of announcing a dead node's members: if its heartbeat is gone and
// nobody is at it for this incarnation (the lock reap:<node> names the dead
// epoch and who holds it), takes the lock and returns the dead incarnation's
// epoch and roster (nick, room, ...); else an empty list. The lock is
// for one incarnation, released by reap_end and expiring after lock ms (a
// reaper that died at it), so it never holds back the next death.
inline constexpr std::string_view reap_begin = R"(
local p, dead = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'alive:' .. dead) == 1 then return {} end
local ep = redis.call('HGET', p .. 'nodes', dead)
if not ep then return {} end
local lock = redis.call('GET', p .. 'reap:' .. dead)
if lock and string.match(lock, '^%S+') == ep then return {} end
redis.call('SET', p .. 'reap:' .. dead, ep .. ' ' .. ARGV[3] .. ' ' .. ARGV[4], 'PX', ARGV[5])
return {ep, redis.call('HGETALL', p .. 'roster:' .. dead)}
)";
// ARGV: prefix, dead node, dead epoch, holder node, holder epoch. The last
// step, once the leaves are in the streams: frees the dead incarnation's
// nicks and forgets the node (its roster and private stream), by whoever
// holds the lock; or, by the node's successor (holder = the dead node's id,
// registered under the holder epoch), frees the nicks and the roster, lock
// or not (its own members claim nothing before this). 1 if done, else 0.
inline constexpr std::string_view reap_end = R"(
local p, dead, ep = ARGV[1], ARGV[2], ARGV[3]
local lock = redis.call('GET', p .. 'reap:' .. dead)
local mine = lock == ep .. ' ' .. ARGV[4] .. ' ' .. ARGV[5]
local registered = redis.call('HGET', p .. 'nodes', dead)
local successor = ARGV[4] == dead and registered == ARGV[5]
if not mine and not successor then return 0 end
local nicks = redis.call('HGETALL', p .. 'nicks')
for i = 1, #nicks, 2 do
  if nicks[i + 1] == dead then redis.call('HDEL', p .. 'nicks', nicks[i]) end
end
if registered == ep then
  redis.call('DEL', p .. 'roster:' .. dead, p .. 'node:' .. dead)
  redis.call('HDEL', p .. 'nodes', dead)
elseif successor then
  redis.call('DEL', p .. 'roster:' .. dead)
end
if mine then redis.call('DEL', p .. 'reap:' .. dead) end
return 1)";
// ARGV: prefix, node, epoch. A server stopping forgets itself: its nicks,
// roster, private stream and liveness; not when another incarnation of its
// node id registered since (then they are that one's).
inline constexpr std::string_view farewell = R"(
local p, me = ARGV[1], ARGV[2]
if redis.call('HGET', p .. 'nodes', me) ~= ARGV[3] then return 0 end
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
