--[[
  Writes one item with its condition, quota check and bookkeeping, atomically.

  KEYS[1] item            "<version>:<createdAt>:<updatedAt>:<expiresAt>:<json>", native PXAT expiry
  KEYS[2] index           zset of the account's keys, every score 0 (byte order for listing)
  KEYS[3] expiry          zset of the account's expiring keys, score = expiresAt in ms
  KEYS[4] versions        the account's version counter (never reset, so versions are never reused)
  KEYS[5] expiryVersions  hash of the expiring keys' versions, for their expiry events
  KEYS[6] log             the account's change log (stream)

  ARGV[1] member    the key as the client named it
  ARGV[2] value     compact JSON text (never decoded here)
  ARGV[3] ttlMs     time to live in ms, or "" for none
  ARGV[4] expiresAt the expiry as a time (epoch ms) instead of ttlMs, or ""
  ARGV[5] keepTtl   "1": keep the expiry of the value replaced
  ARGV[6] mode      "none" | "absent" (SET NX) | "version" (compare-and-swap)
  ARGV[7] expected  the version that must be current (mode "version")
  ARGV[8] maxKeys   the account's key quota, checked when the write creates a key
  ARGV[9] sweep     expired index entries to collect at most
  ARGV[10] accountId the account, as the wake-up message for watchers
  ARGV[11] channel   where watchers are woken (PUBLISH)
  ARGV[12] logging   "1": log the change (and any expiry collected)

  Returns
    { "ok", created 1|0, version, createdAt, updatedAt, expiresAt|"" }
    { "exists", currentVersion }            mode "absent" and the key exists
    { "version_mismatch", currentVersion|"" } mode "version" and the version differs or the key is absent
    { "quota_exceeded" }                    the write would create a key beyond maxKeys
]]
-- @include clock
-- @include changes
-- @include items
-- @include writeItem

local itemKey = KEYS[1]
local versionsKey = KEYS[4]

local member = ARGV[1]
local value = ARGV[2]
local ttlMs = ARGV[3]
local expiresAtArg = ARGV[4]
local keepTtl = ARGV[5] == '1'
local mode = ARGV[6]
local expected = ARGV[7]
local maxKeys = tonumber(ARGV[8])
local sweepLimit = tonumber(ARGV[9])
local account = {
  index = KEYS[2],
  expiry = KEYS[3],
  expiryVersions = KEYS[5],
  log = KEYS[6],
  id = ARGV[10],
  channel = ARGV[11],
  logging = ARGV[12] == '1',
}

local now = nowMs()
sweepExpired(account, now, sweepLimit)
local reply = writeItem(account, versionsKey, now, itemKey, member, value, ttlMs, expiresAtArg, keepTtl, mode, expected, maxKeys)
finishLog(account, now)
return reply
