--[[
  Sets or clears limit overrides of an existing account (not one being deleted), atomically.

  KEYS[1] account   hash: id, name, createdAt, limit:<name> overrides, deleting

  ARGV[1...] overrides   name, value pairs; value "" clears that override

  Returns 1 when updated, 0 when the account does not exist or is being deleted (nothing changed).
]]
local accountKey = KEYS[1]

if redis.call('EXISTS', accountKey) == 0 then return 0 end
if redis.call('HEXISTS', accountKey, 'deleting') == 1 then return 0 end

for i = 1, #ARGV, 2 do
  local field = 'limit:' .. ARGV[i]
  if ARGV[i + 1] == '' then
    redis.call('HDEL', accountKey, field)
  else
    redis.call('HSET', accountKey, field, ARGV[i + 1])
  end
end
return 1
