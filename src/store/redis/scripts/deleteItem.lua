--[[
  Deletes one item, optionally only at a given version, with its index entries, atomically.

  KEYS[1] item      the item string
  KEYS[2] index     zset of the account's keys
  KEYS[3] expiry    zset of the account's expiring keys

  ARGV[1] member    the key as the client named it
  ARGV[2] expected  the version that must be current, or "" for an unconditional delete
  ARGV[3] sweep     expired index entries to collect at most

  Returns
    { "ok" }
    { "not_found" }                           unconditional delete of an absent key
    { "version_mismatch", currentVersion|"" } conditional delete; the key is absent or at another version
]]
-- @include clock
-- @include items

local itemKey = KEYS[1]
local indexKey = KEYS[2]
local expiryKey = KEYS[3]

local member = ARGV[1]
local expected = ARGV[2]
local sweepLimit = tonumber(ARGV[3])

sweepExpired(indexKey, expiryKey, nowMs(), sweepLimit)

local current = readHeader(itemKey)
if expected ~= '' and (not current or current.version ~= expected) then
  return { 'version_mismatch', current and current.version or '' }
end
if not current then
  return { 'not_found' }
end

redis.call('DEL', itemKey)
redis.call('ZREM', indexKey, member)
redis.call('ZREM', expiryKey, member)
return { 'ok' }
