-- One item write with its condition and quota check: the body of setItem, and of setItems per
-- write. Needs the clock, changes and items includes first; the caller sweeps before and calls
-- finishLog after its last write.
--
-- Returns { "ok", created 1|0, version, createdAt, updatedAt, expiresAt|"" }, { "exists",
-- currentVersion }, { "version_mismatch", currentVersion|"" } or { "quota_exceeded" }.
local function writeItem(account, versionsKey, now, itemKey, member, value, ttlMs, expiresAtArg, keepTtl, mode, expected, maxKeys)
  local current = readHeader(itemKey)
  if mode == 'absent' and current then
    return { 'exists', current.version }
  end
  if mode == 'version' and (not current or current.version ~= expected) then
    return { 'version_mismatch', current and current.version or '' }
  end
  if not current and liveCount(account, now) >= maxKeys then
    return { 'quota_exceeded' }
  end
  if not current then
    observeExpiry(account, now, member)
  end

  local version = string.format('%d', redis.call('INCR', versionsKey))
  local createdAt = current and current.createdAt or string.format('%d', now)
  local updatedAt = string.format('%d', now)
  local expiresAt = ''
  if ttlMs ~= '' then
    expiresAt = string.format('%d', now + tonumber(ttlMs))
  elseif expiresAtArg ~= '' then
    expiresAt = expiresAtArg
  elseif keepTtl and current then
    expiresAt = current.expiresAt
  end

  local payload = version .. ':' .. createdAt .. ':' .. updatedAt .. ':' .. expiresAt .. ':' .. value
  local written
  if expiresAt ~= '' then
    if mode == 'absent' then
      written = redis.call('SET', itemKey, payload, 'PXAT', expiresAt, 'NX')
    else
      written = redis.call('SET', itemKey, payload, 'PXAT', expiresAt)
    end
    redis.call('ZADD', account.expiry, expiresAt, member)
  else
    if mode == 'absent' then
      written = redis.call('SET', itemKey, payload, 'NX')
    else
      written = redis.call('SET', itemKey, payload)
    end
    redis.call('ZREM', account.expiry, member)
  end
  if not written then
    -- Unreachable: the header read above saw no key, and nothing runs between it and SET.
    error('writeItem: SET NX refused a key the script saw absent')
  end
  redis.call('ZADD', account.index, 0, member)
  rememberExpiry(account, member, version, expiresAt)
  logChange(account, 'set', member, version, expiresAt)
  return { 'ok', current and 0 or 1, version, createdAt, updatedAt, expiresAt }
end
