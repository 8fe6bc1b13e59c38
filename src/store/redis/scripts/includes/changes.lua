-- The account's change log: a stream with one entry per change, in commit order (its entry ids),
-- trimmed to about the last LOG_MAX_CHANGES changes and LOG_RETENTION_MS, and expiring that long
-- after the account's last change, so an idle account costs nothing. Beside it, a hash of the
-- versions of the account's expiring keys: an expiry is logged when it is observed, after Redis
-- has removed the item, with the version it removed.
--
-- `account` is the table every item script builds: index, expiry, expiryVersions and log keys,
-- the account id, the channel that wakes watchers, and whether changes are logged at all.

local LOG_MAX_CHANGES = 10000
local LOG_RETENTION_MS = 3600000

local changesLogged = 0

local function logChange(account, kind, member, version, expiresAt)
  if not account.logging then return end
  redis.call('XADD', account.log, 'MAXLEN', '~', LOG_MAX_CHANGES, '*', 't', kind, 'k', member, 'v', version, 'e', expiresAt)
  changesLogged = changesLogged + 1
end

-- Once, after the script's last change: the age limit, the log's expiry, and one wake-up.
local function finishLog(account, now)
  if changesLogged == 0 then return end
  redis.call('XTRIM', account.log, 'MINID', '~', now - LOG_RETENTION_MS)
  redis.call('PEXPIRE', account.log, LOG_RETENTION_MS)
  redis.call('PUBLISH', account.channel, account.id)
end

-- The version an expiring key was written with is kept until its expiry is logged or it changes.
local function rememberExpiry(account, member, version, expiresAt)
  if expiresAt ~= '' then
    redis.call('HSET', account.expiryVersions, member, version)
  else
    redis.call('HDEL', account.expiryVersions, member)
  end
end
