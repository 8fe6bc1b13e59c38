--[[
  The account's exact live key count, collecting a batch of expired index entries on the way.

  KEYS[1] index           zset of the account's keys
  KEYS[2] expiry          zset of the account's expiring keys
  KEYS[3] expiryVersions  hash of the expiring keys' versions
  KEYS[4] log             the account's change log (stream)

  ARGV[1] sweep     expired index entries to collect at most
  ARGV[2] accountId the account, as the wake-up message for watchers
  ARGV[3] channel   where watchers are woken (PUBLISH)
  ARGV[4] logging   "1": log the expiries collected

  Returns the count.
]]
-- @include clock
-- @include changes
-- @include items

local sweepLimit = tonumber(ARGV[1])
local account = {
  index = KEYS[1],
  expiry = KEYS[2],
  expiryVersions = KEYS[3],
  log = KEYS[4],
  id = ARGV[2],
  channel = ARGV[3],
  logging = ARGV[4] == '1',
}

local now = nowMs()
sweepExpired(account, now, sweepLimit)
finishLog(account, now)
return liveCount(account, now)
