--[[
  Creates an account with its first API key, atomically, unless the account id is taken.
  Admin records share the "{admin}" hash tag, so this touches one Cluster slot.

  KEYS[1] account       hash: id, name, createdAt, limit:<name> overrides (deleting: being deleted)
  KEYS[2] apiKey        hash of the key, by secret hash: id, accountId, name, scopes, createdAt, prefix?, expiresAt?
  KEYS[3] apiKeyId      hash: hash, accountId (find a key by its id, to revoke it)
  KEYS[4] accountKeys   hash: key id -> secret hash, the account's keys
  KEYS[5] accounts      zset of every account id, every score 0 (the admin listing, in byte order)

  ARGV[1] accountId
  ARGV[2] accountName       "" for none
  ARGV[3] accountCreatedAt
  ARGV[4] keyId
  ARGV[5] keyHash
  ARGV[6] keyName           "" for none
  ARGV[7] keyScopes         comma-separated
  ARGV[8] keyCreatedAt
  ARGV[9] keyPrefix         "" for none
  ARGV[10] keyExpiresAt     epoch ms, "" for none
  ARGV[11...] overrides     limit overrides as name, value pairs

  Returns 1 when created, 0 when the account id is taken (nothing changed).
]]
-- @include apiKeys

local accountKey = KEYS[1]
local apiKeyKey = KEYS[2]
local apiKeyIdKey = KEYS[3]
local accountKeysKey = KEYS[4]
local accountsKey = KEYS[5]

local accountId = ARGV[1]
local accountName = ARGV[2]
local accountCreatedAt = ARGV[3]

if redis.call('EXISTS', accountKey) == 1 then return 0 end

redis.call('HSET', accountKey, 'id', accountId, 'name', accountName, 'createdAt', accountCreatedAt)
for i = 11, #ARGV, 2 do
  redis.call('HSET', accountKey, 'limit:' .. ARGV[i], ARGV[i + 1])
end
redis.call('ZADD', accountsKey, 0, accountId)
writeApiKey(
  { apiKey = apiKeyKey, apiKeyId = apiKeyIdKey, accountKeys = accountKeysKey },
  { accountId = accountId, id = ARGV[4], hash = ARGV[5], name = ARGV[6], scopes = ARGV[7], createdAt = ARGV[8],
    prefix = ARGV[9], expiresAt = ARGV[10] })
return 1
