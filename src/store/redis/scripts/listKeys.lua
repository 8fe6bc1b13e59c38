--[[
  One page of the account's live keys in byte order, with their expiry.

  KEYS[1] index           zset of the account's keys, every score 0
  KEYS[2] expiry          zset of the account's expiring keys
  KEYS[3] expiryVersions  hash of the expiring keys' versions
  KEYS[4] log             the account's change log (stream)

  ARGV[1] start     ZRANGEBYLEX start ("-", "[prefix" or "(lastKey")
  ARGV[2] stop      ZRANGEBYLEX stop ("+" or "(prefix\255")
  ARGV[3] limit     page size
  ARGV[4] sweep     expired index entries to collect at most
  ARGV[5] accountId the account, as the wake-up message for watchers
  ARGV[6] channel   where watchers are woken (PUBLISH)
  ARGV[7] logging   "1": log the expiries collected

  Returns { nextAfter|"", key1, expiresAt1|"", key2, expiresAt2|"", ... }
  nextAfter is the last key scanned when more keys follow. A key that expired but is not yet
  swept is skipped, so a page can hold fewer than `limit` keys and still have a next one.
]]
-- @include clock
-- @include changes
-- @include items

local indexKey = KEYS[1]
local expiryKey = KEYS[2]

local start = ARGV[1]
local stop = ARGV[2]
local limit = tonumber(ARGV[3])
local sweepLimit = tonumber(ARGV[4])
local account = {
  index = indexKey,
  expiry = expiryKey,
  expiryVersions = KEYS[3],
  log = KEYS[4],
  id = ARGV[5],
  channel = ARGV[6],
  logging = ARGV[7] == '1',
}

local now = nowMs()
sweepExpired(account, now, sweepLimit)
finishLog(account, now)

local members = redis.call('ZRANGEBYLEX', indexKey, start, stop, 'LIMIT', 0, limit + 1)
local nextAfter = ''
if #members > limit then
  members[#members] = nil
  nextAfter = members[#members]
end

local result = { nextAfter }
if #members == 0 then return result end
local scores = redis.call('ZMSCORE', expiryKey, unpack(members))
for i, member in ipairs(members) do
  local expiresAt = scores[i]
  if not expiresAt then
    result[#result + 1] = member
    result[#result + 1] = ''
  elseif tonumber(expiresAt) >= now then
    result[#result + 1] = member
    result[#result + 1] = expiresAt
  end
end
return result
