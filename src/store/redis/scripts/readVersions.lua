--[[
  The versions of a page of the account's items, read from their headers in one call.

  KEYS[1...] item   the item strings (all of one account, so one slot)

  Returns { version1|"", version2|"", ... } in KEYS order; "" for an item that is gone (deleted,
  or expired since the index was read).
]]
-- @include items

local versions = {}
for i, itemKey in ipairs(KEYS) do
  local header = readHeader(itemKey)
  versions[i] = header and header.version or ''
end
return versions
