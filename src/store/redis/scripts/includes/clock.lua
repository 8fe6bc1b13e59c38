-- The server's clock in ms: the same clock that native PX/PXAT expiry uses.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
