--[[
  Reserves a check of unknown credentials for one client address (the failed-authentication
  throttle): granted only while failures + checks in flight stay under the limit.

  KEYS[1] failures  the client's failed authentications in the current window (expires with it)
  KEYS[2] checking  zset of the client's checks in flight, scored by when each lapses (ms)

  ARGV[1] limit     failed authentications allowed per window
  ARGV[2] token     this check's id
  ARGV[3] holdMs    how long the reservation holds before it lapses

  Returns {0, ms until the window ends} refused (failures fill the limit),
          {1} busy (checks in flight fill the rest: try again), {2} granted.
]]
-- @include clock

local failuresKey = KEYS[1]
local checkingKey = KEYS[2]
local limit = tonumber(ARGV[1])
local token = ARGV[2]
local holdMs = tonumber(ARGV[3])

local failures = tonumber(redis.call('GET', failuresKey) or '0')
if failures >= limit then
  return {0, redis.call('PTTL', failuresKey)}
end
local now = nowMs()
redis.call('ZREMRANGEBYSCORE', checkingKey, '-inf', now)
if failures + redis.call('ZCARD', checkingKey) >= limit then
  return {1}
end
redis.call('ZADD', checkingKey, now + holdMs, token)
redis.call('PEXPIRE', checkingKey, holdMs)
return {2}
