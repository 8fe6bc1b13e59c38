--[[
  Deletes one item, optionally only at a given version, with its index entries, atomically.

  KEYS[1] item            the item string
  KEYS[2] index           zset of the account's keys
  KEYS[3] expiry          zset of the account's expiring keys
  KEYS[4] expiryVersions  hash of the expiring keys' versions
  KEYS[5] log             the account's change log (stream)

  ARGV[1] member    the key as the client named it
  ARGV[2] expected  the version that must be current, or "" for an unconditional delete
  ARGV[3] sweep     expired index entries to collect at most
  ARGV[4] accountId the account, as the wake-up message for watchers
  ARGV[5] channel   where watchers are woken (PUBLISH)
  ARGV[6] logging   "1": log the change (and any expiry collected)

  Returns
    { "ok" }
    { "not_found" }                           unconditional delete of an absent key
    { "version_mismatch", currentVersion|"" } conditional delete; the key is absent or at another version
]]
-- @include clock
-- @include changes
-- @include items

local itemKey = KEYS[1]
local member = ARGV[1]
local expected = ARGV[2]
local sweepLimit = tonumber(ARGV[3])
local account = {
  index = KEYS[2],
  expiry = KEYS[3],
  expiryVersions = KEYS[4],
  log = KEYS[5],
  id = ARGV[4],
  channel = ARGV[5],
  logging = ARGV[6] == '1',
}

local now = nowMs()
sweepExpired(account, now, sweepLimit)

local current = readHeader(itemKey)
if expected ~= '' and (not current or current.version ~= expected) then
  finishLog(account, now)
  return { 'version_mismatch', current and current.version or '' }
end
if not current then
  finishLog(account, now)
  return { 'not_found' }
end

redis.call('DEL', itemKey)
redis.call('ZREM', account.index, member)
redis.call('ZREM', account.expiry, member)
redis.call('HDEL', account.expiryVersions, member)
logChange(account, 'delete', member, current.version, current.expiresAt)
finishLog(account, now)
return { 'ok' }
