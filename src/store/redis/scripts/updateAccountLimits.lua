--[[
  Sets or clears limit overrides of an existing account, atomically.

  KEYS[1] account   hash: id, name, createdAt, limit:<name> overrides

  ARGV[1...] overrides   name, value pairs; value "" clears that override

  Returns 1 when updated, 0 when the account does not exist (nothing changed).
]]
local accountKey = KEYS[1]

if redis.call('EXISTS', accountKey) == 0 then return 0 end

for i = 1, #ARGV, 2 do
  local field = 'limit:' .. ARGV[i]
  if ARGV[i + 1] == '' then
    redis.call('HDEL', accountKey, field)
  else
    redis.call('HSET', accountKey, field, ARGV[i + 1])
  end
end
return 1
