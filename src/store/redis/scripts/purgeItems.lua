--[[
  Removes a batch of a deleted account's items, and once none is left, its bookkeeping: the key
  and expiry indexes, the version counter, the change log and the watch leases. Bounded work per
  call: the caller reads a batch of members from the index and calls again until 0 is returned.
  UNLINK, so large values and a long log are freed in the background.

  KEYS[1] index           zset of the account's keys
  KEYS[2] expiry          zset of the account's expiring keys
  KEYS[3] expiryVersions  hash of the expiring keys' versions
  KEYS[4] versions        the account's version counter
  KEYS[5] log             the account's change log (stream)
  KEYS[6] watchers        zset of the account's watch leases
  KEYS[7...] item         the item strings of the batch

  The arguments: one member (the key as the index holds it) per item string, in the same order.

  Returns the number of keys still in the index (0: the account's data is gone).
]]
local indexKey = KEYS[1]
local expiryKey = KEYS[2]
local expiryVersionsKey = KEYS[3]
local versionsKey = KEYS[4]
local logKey = KEYS[5]
local watchersKey = KEYS[6]
local FIXED_KEYS = 6

local members = ARGV

if #members > 0 then
  local items = {}
  for i = 1, #members do items[i] = KEYS[FIXED_KEYS + i] end
  redis.call('UNLINK', unpack(items))
  redis.call('ZREM', indexKey, unpack(members))
  redis.call('ZREM', expiryKey, unpack(members))
  redis.call('HDEL', expiryVersionsKey, unpack(members))
end

local left = redis.call('ZCARD', indexKey)
if left == 0 then
  redis.call('UNLINK', indexKey, expiryKey, expiryVersionsKey, versionsKey, logKey, watchersKey)
end
return left
