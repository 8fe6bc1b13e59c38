--[[
  Writes items of one account in order, each with its own condition and quota check, as one
  atomic step: for each write what setItem does for one, with the sweep of expired index entries
  and the change log's trim and wake-up done once for the whole batch. Each write succeeds or
  fails alone (an import applies lines this way); the same key may be written more than once.

  KEYS[1] index           zset of the account's keys, every score 0
  KEYS[2] expiry          zset of the account's expiring keys, score = expiresAt in ms
  KEYS[3] versions        the account's version counter
  KEYS[4] expiryVersions  hash of the expiring keys' versions
  KEYS[5] log             the account's change log (stream)
  KEYS[6...] item         the item string of each write, in order

  ARGV[1] sweep       expired index entries to collect at most
  ARGV[2] accountId   the account, as the wake-up message for watchers
  ARGV[3] channel     where watchers are woken (PUBLISH)
  ARGV[4] logging     "1": log the changes (and any expiry collected)

  Then, after the fixed arguments, per write in the order of the item keys: member (the key as
  the client named it), value, ttlMs or "", expiresAt or "", keepTtl "1" | "0", mode ("none" |
  "absent" | "version"), expected version or "", maxKeys.

  Returns per write, in order, six elements: setItem's reply padded with "":
    "ok", created 1|0, version, createdAt, updatedAt, expiresAt|""
    "exists", currentVersion, "", "", "", ""
    "version_mismatch", currentVersion|"", "", "", "", ""
    "quota_exceeded", "", "", "", "", ""
]]
-- @include clock
-- @include changes
-- @include items
-- @include writeItem

local versionsKey = KEYS[3]
local sweepLimit = tonumber(ARGV[1])
local account = {
  index = KEYS[1],
  expiry = KEYS[2],
  expiryVersions = KEYS[4],
  log = KEYS[5],
  id = ARGV[2],
  channel = ARGV[3],
  logging = ARGV[4] == '1',
}

local FIXED_KEYS = 5
local FIXED_ARGS = 4
local PER_WRITE = 8

local now = nowMs()
sweepExpired(account, now, sweepLimit)

local replies = {}
for i = 1, #KEYS - FIXED_KEYS do
  local a = FIXED_ARGS + (i - 1) * PER_WRITE
  local reply = writeItem(account, versionsKey, now, KEYS[FIXED_KEYS + i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4],
    ARGV[a + 5] == '1', ARGV[a + 6], ARGV[a + 7], tonumber(ARGV[a + 8]))
  for j = 1, 6 do replies[#replies + 1] = reply[j] or '' end
end
finishLog(account, now)
return replies
