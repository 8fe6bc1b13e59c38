--[[
  The first step of deleting an account: marks its record deleted (so it is no longer found, and
  its API keys no longer authenticate) and takes it out of the admin listing. The rest of the
  account is removed afterwards, in bounded batches (purgeItems, revokeApiKey).

  KEYS[1] account    hash: id, name, createdAt, limit:<name> overrides, deleting
  KEYS[2] accounts   zset of every account id (the admin listing)

  ARGV[1] accountId
  ARGV[2] now        epoch ms, kept as the deleting field (when the deletion started)

  Returns 1 when the account is marked (now, or by an earlier deletion that did not finish), 0
  when there is no such account.
]]
local accountKey = KEYS[1]
local accountsKey = KEYS[2]

local accountId = ARGV[1]
local now = ARGV[2]

if redis.call('EXISTS', accountKey) == 0 then return 0 end
redis.call('HSETNX', accountKey, 'deleting', now)
redis.call('ZREM', accountsKey, accountId)
return 1
