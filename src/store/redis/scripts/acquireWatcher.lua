--[[
  Takes one of the account's watcher slots, shared by every replica: granted while fewer than
  `max` leases are live. A replica renews its watchers' leases while they are open and gives
  them back when they close; the leases of a replica that died lapse on their own.

  KEYS[1] watchers  zset of the account's open watches, score = when the lease lapses (ms)

  ARGV[1] watcher   this watch's id
  ARGV[2] max       watchers allowed per account
  ARGV[3] leaseMs   how long the lease lasts unless renewed

  Returns 1 when granted, 0 when the account is at its maximum.
]]
-- @include clock

local watchersKey = KEYS[1]
local watcher = ARGV[1]
local max = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])

local now = nowMs()
redis.call('ZREMRANGEBYSCORE', watchersKey, '-inf', now)
if redis.call('ZCARD', watchersKey) >= max then
  return 0
end
redis.call('ZADD', watchersKey, now + leaseMs, watcher)
redis.call('PEXPIRE', watchersKey, leaseMs)
return 1
