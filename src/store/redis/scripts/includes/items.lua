-- Shared by the item scripts: the item header, and the key/expiry indexes that back the key count.
-- Needs the changes include first (expired keys are logged as they are collected).

-- An item string is "<version>:<createdAt>:<updatedAt>:<expiresAt or empty>:<compact JSON>".
-- Only the header is read (GETRANGE), never the value, so the work is bounded whatever its size.
local function readHeader(itemKey)
  local head = redis.call('GETRANGE', itemKey, 0, 95)
  if head == '' then return nil end
  local version, createdAt, updatedAt, expiresAt = string.match(head, '^(%d+):(%d+):(%d+):(%d*):')
  return { version = version, createdAt = createdAt, updatedAt = updatedAt, expiresAt = expiresAt }
end

-- A key is expired once now > expiresAt, exactly as Redis decides for PXAT; hence the exclusive
-- bound "(now" below: a key whose expiresAt is now is still alive for this millisecond.

-- Drops at most `limit` expired members from both indexes, logging each expiry. Expiry itself is
-- native (PXAT); this only collects the index entries of keys Redis has expired, in bounded batches.
local function sweepExpired(account, now, limit)
  local expired = redis.call('ZRANGEBYSCORE', account.expiry, '-inf', '(' .. now, 'WITHSCORES', 'LIMIT', 0, limit)
  if #expired == 0 then return 0 end
  local members = {}
  for i = 1, #expired, 2 do members[#members + 1] = expired[i] end
  redis.call('ZREM', account.index, unpack(members))
  redis.call('ZREM', account.expiry, unpack(members))
  local versions = redis.call('HMGET', account.expiryVersions, unpack(members))
  redis.call('HDEL', account.expiryVersions, unpack(members))
  for i, member in ipairs(members) do
    logChange(account, 'expire', member, versions[i] or '', expired[2 * i])
  end
  return #members
end

-- A key about to be written that Redis has expired but no sweep has collected yet: its expiry is
-- logged first, so the key's events stay in version order with nothing missing.
local function observeExpiry(account, now, member)
  local score = redis.call('ZSCORE', account.expiry, member)
  if score and tonumber(score) < now then
    logChange(account, 'expire', member, redis.call('HGET', account.expiryVersions, member) or '', score)
    redis.call('HDEL', account.expiryVersions, member)
  end
end

-- Exact live key count: indexed keys minus those already expired but not yet swept.
local function liveCount(account, now)
  return redis.call('ZCARD', account.index) - redis.call('ZCOUNT', account.expiry, '-inf', '(' .. now)
end
