--[[
  Adds an API key to an existing account, atomically.

  KEYS[1] account       the account hash (must exist)
  KEYS[2] apiKey        hash of the key, by secret hash
  KEYS[3] apiKeyId      hash: hash, accountId
  KEYS[4] accountKeys   hash: key id -> secret hash

  ARGV[1] accountId
  ARGV[2] keyId
  ARGV[3] keyHash
  ARGV[4] keyName       "" for none
  ARGV[5] keyScopes     comma-separated
  ARGV[6] keyCreatedAt

  Returns 1 when created, 0 when the account does not exist (nothing changed).
]]
local accountKey = KEYS[1]
local apiKeyKey = KEYS[2]
local apiKeyIdKey = KEYS[3]
local accountKeysKey = KEYS[4]

local accountId = ARGV[1]
local keyId = ARGV[2]
local keyHash = ARGV[3]
local keyName = ARGV[4]
local keyScopes = ARGV[5]
local keyCreatedAt = ARGV[6]

if redis.call('EXISTS', accountKey) == 0 then return 0 end

redis.call('HSET', apiKeyKey, 'id', keyId, 'accountId', accountId, 'name', keyName, 'scopes', keyScopes,
  'createdAt', keyCreatedAt)
redis.call('HSET', apiKeyIdKey, 'hash', keyHash, 'accountId', accountId)
redis.call('HSET', accountKeysKey, keyId, keyHash)
return 1
