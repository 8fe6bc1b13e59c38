--[[
  The item strings of a page of the account's keys, in one call (one snapshot), until their
  sizes reach a byte budget: a page of large values never builds a reply larger than the budget
  plus one value.

  KEYS[1...] item   the item strings (all of one account, so one slot)

  ARGV[1] maxBytes  stop before the item that would take the total past this (the first always fits)

  Returns { item1|"", item2|"", ... } in KEYS order, "" for an item that is gone (deleted, or
  expired since the index was read); shorter than KEYS when the budget stopped it.
]]

local maxBytes = tonumber(ARGV[1])

local items = {}
local total = 0
for i, itemKey in ipairs(KEYS) do
  local size = redis.call('STRLEN', itemKey)
  if size > 0 and #items > 0 and total + size > maxBytes then
    break
  end
  total = total + size
  items[i] = size > 0 and redis.call('GET', itemKey) or ''
end
return items
