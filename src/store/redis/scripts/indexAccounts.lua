--[[
  Adds accounts created before the admin listing existed to its index: each id whose record
  exists and is not being deleted. Run once per store, over the records found by SCAN.

  KEYS[1] accounts       zset of every account id (the admin listing)
  KEYS[2...] account     the account records

  The arguments: one account id per record, in the same order.

  Returns the number of ids added.
]]
local accountsKey = KEYS[1]
local FIXED_KEYS = 1

local ids = ARGV

local added = 0
for i = 1, #ids do
  local accountKey = KEYS[FIXED_KEYS + i]
  if redis.call('EXISTS', accountKey) == 1 and redis.call('HEXISTS', accountKey, 'deleting') == 0 then
    added = added + redis.call('ZADD', accountsKey, 0, ids[i])
  end
end
return added
