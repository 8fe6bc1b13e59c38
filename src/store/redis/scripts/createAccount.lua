--[[
  Creates an account with its first API key, atomically, unless the account id is taken.
  Admin records share the "{admin}" hash tag, so this touches one Cluster slot.

  KEYS[1] account       hash: id, name, createdAt, limit:<name> overrides
  KEYS[2] apiKey        hash of the key, by secret hash: id, accountId, name, scopes, createdAt
  KEYS[3] apiKeyId      hash: hash, accountId (find a key by its id, to revoke it)
  KEYS[4] accountKeys   hash: key id -> secret hash, the account's keys

  ARGV[1] accountId
  ARGV[2] accountName       "" for none
  ARGV[3] accountCreatedAt
  ARGV[4] keyId
  ARGV[5] keyHash
  ARGV[6] keyName           "" for none
  ARGV[7] keyScopes         comma-separated
  ARGV[8] keyCreatedAt
  ARGV[9...] overrides      limit overrides as name, value pairs

  Returns 1 when created, 0 when the account id is taken (nothing changed).
]]
local accountKey = KEYS[1]
local apiKeyKey = KEYS[2]
local apiKeyIdKey = KEYS[3]
local accountKeysKey = KEYS[4]

local accountId = ARGV[1]
local accountName = ARGV[2]
local accountCreatedAt = ARGV[3]
local keyId = ARGV[4]
local keyHash = ARGV[5]
local keyName = ARGV[6]
local keyScopes = ARGV[7]
local keyCreatedAt = ARGV[8]

if redis.call('EXISTS', accountKey) == 1 then return 0 end

redis.call('HSET', accountKey, 'id', accountId, 'name', accountName, 'createdAt', accountCreatedAt)
for i = 9, #ARGV, 2 do
  redis.call('HSET', accountKey, 'limit:' .. ARGV[i], ARGV[i + 1])
end
redis.call('HSET', apiKeyKey, 'id', keyId, 'accountId', accountId, 'name', keyName, 'scopes', keyScopes,
  'createdAt', keyCreatedAt)
redis.call('HSET', apiKeyIdKey, 'hash', keyHash, 'accountId', accountId)
redis.call('HSET', accountKeysKey, keyId, keyHash)
return 1
