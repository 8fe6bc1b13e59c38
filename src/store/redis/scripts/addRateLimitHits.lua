--[[
  Adds the hits one replica counted to the shared counter of one rate-limit window, and answers
  the window's total across replicas. The first add of a window sets its expiry.

  KEYS[1] counter  hits in one fixed window of one limiter and account

  ARGV[1] hits     hits to add (> 0)
  ARGV[2] ttlMs    how long the counter outlives its first add

  Returns the window's total.
]]

local counterKey = KEYS[1]
local hits = tonumber(ARGV[1])
local ttlMs = tonumber(ARGV[2])

local total = redis.call('INCRBY', counterKey, hits)
if total == hits then
  redis.call('PEXPIRE', counterKey, ttlMs)
end
return total
