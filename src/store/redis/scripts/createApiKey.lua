--[[
  Adds an API key to an existing account, atomically; not to an account being deleted.

  KEYS[1] account       the account hash (must exist, without a deleting field)
  KEYS[2] apiKey        hash of the key, by secret hash
  KEYS[3] apiKeyId      hash: hash, accountId
  KEYS[4] accountKeys   hash: key id -> secret hash

  ARGV[1] accountId
  ARGV[2] keyId
  ARGV[3] keyHash
  ARGV[4] keyName       "" for none
  ARGV[5] keyScopes     comma-separated
  ARGV[6] keyCreatedAt
  ARGV[7] keyPrefix     "" for none
  ARGV[8] keyExpiresAt  epoch ms, "" for none

  Returns 1 when created, 0 when the account does not exist or is being deleted (nothing changed).
]]
-- @include apiKeys

local accountKey = KEYS[1]
local apiKeyKey = KEYS[2]
local apiKeyIdKey = KEYS[3]
local accountKeysKey = KEYS[4]

if redis.call('EXISTS', accountKey) == 0 then return 0 end
if redis.call('HEXISTS', accountKey, 'deleting') == 1 then return 0 end

writeApiKey(
  { apiKey = apiKeyKey, apiKeyId = apiKeyIdKey, accountKeys = accountKeysKey },
  { accountId = ARGV[1], id = ARGV[2], hash = ARGV[3], name = ARGV[4], scopes = ARGV[5], createdAt = ARGV[6],
    prefix = ARGV[7], expiresAt = ARGV[8] })
return 1
