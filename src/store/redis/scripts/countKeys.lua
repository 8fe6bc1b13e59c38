--[[
  The account's exact live key count, after collecting a bounded batch of expired index entries.

  KEYS[1] index     zset of the account's keys
  KEYS[2] expiry    zset of the account's expiring keys

  ARGV[1] sweep     expired index entries to collect at most

  Returns the count (integer).
]]
-- @include clock
-- @include items

local indexKey = KEYS[1]
local expiryKey = KEYS[2]
local sweepLimit = tonumber(ARGV[1])

local now = nowMs()
sweepExpired(indexKey, expiryKey, now, sweepLimit)
return liveCount(indexKey, expiryKey, now)
