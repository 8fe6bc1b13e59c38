--[[
  Removes an API key and every record of it, atomically, if it is still the key that was read.

  KEYS[1] apiKeyId      hash: hash, accountId
  KEYS[2] apiKey        hash of the key, by secret hash
  KEYS[3] accountKeys   hash: key id -> secret hash

  ARGV[1] keyId
  ARGV[2] keyHash   as read from apiKeyId before the call

  Returns 1 when revoked, 0 when the key was already gone.
]]
local apiKeyIdKey = KEYS[1]
local apiKeyKey = KEYS[2]
local accountKeysKey = KEYS[3]

local keyId = ARGV[1]
local keyHash = ARGV[2]

if redis.call('HGET', apiKeyIdKey, 'hash') ~= keyHash then return 0 end

redis.call('DEL', apiKeyKey, apiKeyIdKey)
redis.call('HDEL', accountKeysKey, keyId)
return 1
