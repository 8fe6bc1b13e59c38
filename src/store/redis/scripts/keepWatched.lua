--[[
  Run every second for each account someone watches: collects a batch of expired keys (logging
  their expiry, so it reaches watchers within seconds of expiresAt), and keeps the change log
  from expiring while it is watched.

  KEYS[1] index           zset of the account's keys
  KEYS[2] expiry          zset of the account's expiring keys
  KEYS[3] expiryVersions  hash of the expiring keys' versions
  KEYS[4] log             the account's change log (stream)

  ARGV[1] sweep     expired index entries to collect at most
  ARGV[2] accountId the account, as the wake-up message for watchers
  ARGV[3] channel   where watchers are woken (PUBLISH)
  ARGV[4] logging   "1": log the expiries collected

  Returns how many expired keys it collected.
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
local collected = sweepExpired(account, now, sweepLimit)
finishLog(account, now)
if account.logging then
  redis.call('PEXPIRE', account.log, LOG_RETENTION_MS)
end
return collected
