--[[
  Checks versions, then applies set / delete / increment ops to items of one account, all or
  nothing: everything is validated (checks, quota, counters) before the first write.

  KEYS[1] index           zset of the account's keys, every score 0
  KEYS[2] expiry          zset of the account's expiring keys, score = expiresAt in ms
  KEYS[3] versions        the account's version counter
  KEYS[4] expiryVersions  hash of the expiring keys' versions
  KEYS[5] log             the account's change log (stream)
  KEYS[6...] item         the item strings the request names, each once

  ARGV[1] maxKeys     the account's key quota: the net keys created must fit
  ARGV[2] sweep       expired index entries to collect at most
  ARGV[3] checkCount  how many checks follow the members
  ARGV[4] opCount     how many ops follow the checks
  ARGV[5] accountId   the account, as the wake-up message for watchers
  ARGV[6] channel     where watchers are woken (PUBLISH)
  ARGV[7] logging     "1": log the changes (and any expiry collected)

  Then, after the fixed arguments: one member (the key as the client named it) per item key, in
  the same order; then per check: item position (1-based among the item keys) and the expected
  version ("-": the key must not exist); then per op: kind ("set" | "delete" | "increment"), item
  position, value (set) or amount (increment), ttlMs or "", keepTtl "1" | "0".

  Returns
    { "ok", per op: version|"", createdAt, updatedAt, expiresAt|"", created 1|0, value|"" }
    { "checks_failed", per failed check: check position (0-based), currentVersion|"" }
    { "quota_exceeded" }
    { "type_mismatch", op position (0-based) }
]]
-- @include clock
-- @include changes
-- @include items

local indexKey = KEYS[1]
local expiryKey = KEYS[2]
local versionsKey = KEYS[3]

local maxKeys = tonumber(ARGV[1])
local sweepLimit = tonumber(ARGV[2])
local checkCount = tonumber(ARGV[3])
local opCount = tonumber(ARGV[4])
local account = {
  index = indexKey,
  expiry = expiryKey,
  expiryVersions = KEYS[4],
  log = KEYS[5],
  id = ARGV[5],
  channel = ARGV[6],
  logging = ARGV[7] == '1',
}

local FIXED_KEYS = 5
local FIXED_ARGS = 7
local itemCount = #KEYS - FIXED_KEYS
-- 2^53 - 1: past it a JSON number loses digits in most parsers.
local MAX_COUNTER = 9007199254740991

local now = nowMs()
sweepExpired(account, now, sweepLimit)

local members = {}
local headers = {}
for i = 1, itemCount do
  members[i] = ARGV[FIXED_ARGS + i]
  headers[i] = readHeader(KEYS[FIXED_KEYS + i])
end

local cursor = FIXED_ARGS + itemCount
local failed = { 'checks_failed' }
for c = 1, checkCount do
  local position = tonumber(ARGV[cursor + 1])
  local expected = ARGV[cursor + 2]
  cursor = cursor + 2
  local current = headers[position]
  local holds
  if expected == '-' then holds = current == nil else holds = current ~= nil and current.version == expected end
  if not holds then
    table.insert(failed, c - 1)
    table.insert(failed, current and current.version or '')
  end
end
if #failed > 1 then
  finishLog(account, now)
  return failed
end

-- Every op is planned (and refused, if it must be) before anything is written.
local ops = {}
local netCreated = 0
for o = 1, opCount do
  local op = {
    kind = ARGV[cursor + 1],
    position = tonumber(ARGV[cursor + 2]),
    arg = ARGV[cursor + 3],
    ttlMs = ARGV[cursor + 4],
    keepTtl = ARGV[cursor + 5] == '1',
  }
  cursor = cursor + 5
  local current = headers[op.position]
  if op.kind == 'delete' then
    if current then netCreated = netCreated - 1 end
  else
    if not current then netCreated = netCreated + 1 end
    if op.kind == 'increment' then
      local base = 0
      if current then
        local text = string.match(redis.call('GET', KEYS[FIXED_KEYS + op.position]), '^%d+:%d+:%d+:%d*:(.*)$')
        if not text or not string.match(text, '^%-?%d+$') or #text > 17 then
          finishLog(account, now)
          return { 'type_mismatch', o - 1 }
        end
        base = tonumber(text)
      end
      local result = base + tonumber(op.arg)
      if math.abs(base) > MAX_COUNTER or math.abs(result) > MAX_COUNTER then
        finishLog(account, now)
        return { 'type_mismatch', o - 1 }
      end
      op.value = string.format('%d', result)
    else
      op.value = op.arg
    end
  end
  ops[o] = op
end
if netCreated > 0 and liveCount(account, now) + netCreated > maxKeys then
  finishLog(account, now)
  return { 'quota_exceeded' }
end

local reply = { 'ok' }
local updatedAt = string.format('%d', now)
for o = 1, opCount do
  local op = ops[o]
  local itemKey = KEYS[FIXED_KEYS + op.position]
  local member = members[op.position]
  local current = headers[op.position]
  if op.kind == 'delete' then
    if current then
      redis.call('DEL', itemKey)
      redis.call('ZREM', indexKey, member)
      redis.call('ZREM', expiryKey, member)
      redis.call('HDEL', account.expiryVersions, member)
      logChange(account, 'delete', member, current.version, current.expiresAt)
    end
    for _, field in ipairs({ '', '', '', '', 0, '' }) do table.insert(reply, field) end
  else
    if not current then observeExpiry(account, now, member) end
    local version = string.format('%d', redis.call('INCR', versionsKey))
    local createdAt = current and current.createdAt or updatedAt
    local expiresAt = ''
    if op.ttlMs ~= '' then
      expiresAt = string.format('%d', now + tonumber(op.ttlMs))
    elseif current and (op.keepTtl or op.kind == 'increment') then
      expiresAt = current.expiresAt
    end
    local payload = version .. ':' .. createdAt .. ':' .. updatedAt .. ':' .. expiresAt .. ':' .. op.value
    if expiresAt ~= '' then
      redis.call('SET', itemKey, payload, 'PXAT', expiresAt)
      redis.call('ZADD', expiryKey, expiresAt, member)
    else
      redis.call('SET', itemKey, payload)
      redis.call('ZREM', expiryKey, member)
    end
    redis.call('ZADD', indexKey, 0, member)
    rememberExpiry(account, member, version, expiresAt)
    logChange(account, 'set', member, version, expiresAt)
    table.insert(reply, version)
    table.insert(reply, createdAt)
    table.insert(reply, updatedAt)
    table.insert(reply, expiresAt)
    table.insert(reply, current and 0 or 1)
    table.insert(reply, op.kind == 'increment' and op.value or '')
  end
end
finishLog(account, now)
return reply
