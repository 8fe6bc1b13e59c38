-- Shared by the item scripts: the item header, and the key/expiry indexes that back the key count.

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

-- Drops at most `limit` expired members from both indexes. Expiry itself is native (PXAT); this
-- only collects the index entries of keys Redis has expired, in bounded batches.
local function sweepExpired(indexKey, expiryKey, now, limit)
  local expired = redis.call('ZRANGEBYSCORE', expiryKey, '-inf', '(' .. now, 'LIMIT', 0, limit)
  if #expired > 0 then
    redis.call('ZREM', indexKey, unpack(expired))
    redis.call('ZREM', expiryKey, unpack(expired))
  end
end

-- Exact live key count: indexed keys minus those already expired but not yet swept.
local function liveCount(indexKey, expiryKey, now)
  return redis.call('ZCARD', indexKey) - redis.call('ZCOUNT', expiryKey, '-inf', '(' .. now)
end
