--[[
  The account's changes after a cursor (a stream entry id), or "reset" when some of them are no
  longer kept (trimmed by count or age, or the log expired while idle).

  KEYS[1] log       the account's change log (stream)

  ARGV[1] after     the cursor: the id of the last change seen, "0-0" before any
  ARGV[2] limit     changes to return at most
  ARGV[3] resuming  "1": a client resuming; a cursor older than the retention is then a reset
                    even if the log happens to hold what follows it

  Returns
    { "ok", id1, kind1, key1, version1, expiresAt1|"", id2, ... }
    { "reset" }
]]
-- @include clock

local LOG_RETENTION_MS = 3600000

local logKey = KEYS[1]
local after = ARGV[1]
local limit = tonumber(ARGV[2])
local resuming = ARGV[3] == '1'

local afterMs = tonumber(string.match(after, '^(%d+)-%d+$'))
if resuming and after ~= '0-0' and afterMs < nowMs() - LOG_RETENTION_MS then
  return { 'reset' }
end
-- The log is trimmed from its oldest end only, so the changes after a cursor are all kept exactly
-- when the cursor's own entry still is. "0-0" (no change seen yet): when nothing was ever trimmed.
local function everTrimmed()
  if redis.call('EXISTS', logKey) == 0 then return false end
  local info = redis.call('XINFO', 'STREAM', logKey)
  for i = 1, #info, 2 do
    if info[i] == 'entries-added' then return info[i + 1] ~= redis.call('XLEN', logKey) end
  end
  return true
end

if after == '0-0' then
  if everTrimmed() then return { 'reset' } end
elseif #redis.call('XRANGE', logKey, after, after) == 0 then
  return { 'reset' }
end

local reply = { 'ok' }
for _, entry in ipairs(redis.call('XRANGE', logKey, '(' .. after, '+', 'COUNT', limit)) do
  local fields = {}
  for i = 1, #entry[2], 2 do fields[entry[2][i]] = entry[2][i + 1] end
  table.insert(reply, entry[1])
  table.insert(reply, fields.t)
  table.insert(reply, fields.k)
  table.insert(reply, fields.v)
  table.insert(reply, fields.e)
end
return reply
