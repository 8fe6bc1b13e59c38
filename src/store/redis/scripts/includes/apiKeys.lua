-- Shared by the scripts that create API keys: the three records of one key, written together.

-- keys: apiKey, apiKeyId, accountKeys (names passed in KEYS by the caller).
-- key: accountId, id, hash, name, scopes, createdAt, prefix ("" for none), expiresAt ("" for none).
local function writeApiKey(keys, key)
  redis.call('HSET', keys.apiKey, 'id', key.id, 'accountId', key.accountId, 'name', key.name, 'scopes', key.scopes,
    'createdAt', key.createdAt)
  if key.prefix ~= '' then redis.call('HSET', keys.apiKey, 'prefix', key.prefix) end
  if key.expiresAt ~= '' then redis.call('HSET', keys.apiKey, 'expiresAt', key.expiresAt) end
  redis.call('HSET', keys.apiKeyId, 'hash', key.hash, 'accountId', key.accountId)
  redis.call('HSET', keys.accountKeys, key.id, key.hash)
end
