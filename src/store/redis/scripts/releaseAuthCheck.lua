--[[
  Ends a check reserved by reserveAuthCheck: drops it, and counts it as a failure when it failed.
  The first failure starts the window.

  KEYS[1] failures  the client's failed authentications in the current window
  KEYS[2] checking  zset of the client's checks in flight

  ARGV[1] token     the check's id
  ARGV[2] failed    '1' when the check failed (401), else '0'
  ARGV[3] windowMs  length of the failure window

  Returns 0.
]]

local failuresKey = KEYS[1]
local checkingKey = KEYS[2]
local token = ARGV[1]
local failed = ARGV[2] == '1'
local windowMs = tonumber(ARGV[3])

redis.call('ZREM', checkingKey, token)
if failed then
  if redis.call('INCR', failuresKey) == 1 or redis.call('PTTL', failuresKey) < 0 then
    redis.call('PEXPIRE', failuresKey, windowMs)
  end
end
return 0
