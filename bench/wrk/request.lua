-- wrk script for every throughput run: one request shape per run, the status each response was
-- expected to have counted, and the results printed as one JSON line for bench/lib/wrk.js.
--
-- Arguments (after `--`): method path expect mode body_file connections [header ...]
--   method, path   the request; in modes "unique" and "cas" path is a prefix the key is appended to
--   expect         the status every response must have (others count as unexpected)
--   mode           static  the same request every time
--                  unique  a new key per request (path .. thread .. "-" .. n): PUT create
--                  cas     compare-and-set: each key is written with If-Match set to the ETag of
--                          its previous write (its first write with If-None-Match: *)
--                  nocheck the same request, response() left undefined so wrk neither buffers
--                          nor parses bodies (1 MiB runs); only wrk's own status > 399 count
--   body_file      a file holding the request body, or "-" for none
--   connections    connections per thread: the cas key pool size
--   header         "Name: value", any number
--
-- wrk's Lua API has no connection handle, so "this connection's previous ETag" is kept per key
-- instead: a pool of keys, one write in flight per key, each response returning its key (read
-- from the body) and ETag to the pool. With at least as many keys as connections, every key
-- always carries the ETag of its own last write, which is what a CAS loop does.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("id", thread_count)
   table.insert(threads, thread)
end

ok = 0
unexpected = 0

local function read_file(name)
   local file = assert(io.open(name, "rb"))
   local text = file:read("*a")
   file:close()
   return text
end

function init(args)
   local method, path, expect, mode, body_file, connections = args[1], args[2], tonumber(args[3]), args[4], args[5], tonumber(args[6])
   wrk.method = method
   wrk.path = path
   if body_file ~= "-" then wrk.body = read_file(body_file) end
   for i = 7, #args do
      local name, value = args[i]:match("^([^:]+):%s*(.*)$")
      wrk.headers[name] = value
   end

   local cas_returned -- set below in mode "cas"
   if mode ~= "nocheck" then
      -- Defined only when wanted: with response() present wrk buffers every body for Lua.
      response = function(status, headers, body)
         -- A CAS chain's first write creates its key (If-None-Match: *): 201.
         if status == expect or (mode == "cas" and status == 201) then ok = ok + 1 else unexpected = unexpected + 1 end
         if mode == "cas" then cas_returned(status, headers, body) end
      end
   end

   local n = 0
   if mode == "unique" then
      request = function()
         n = n + 1
         return wrk.format(nil, path .. id .. "-" .. n)
      end
   elseif mode == "cas" then
      -- FIFO of keys ready for their next write: { key, etag } with etag nil before the first.
      local ready, head, tail = {}, 1, 0
      local function push(key, etag)
         tail = tail + 1
         ready[tail] = { key, etag }
      end
      for i = 1, connections do push(id .. "-" .. i, nil) end
      local extra = 0
      -- The body names the whole key; the pool holds what follows the path's last segment.
      local key_prefix = path:match("([^/]*)$")
      cas_returned = function(status, headers, body)
         local key = status < 300 and body:match('"key":"([^"]*)"')
         local etag = headers["ETag"] or headers["etag"]
         if key and etag and key:sub(1, #key_prefix) == key_prefix then
            push(key:sub(#key_prefix + 1), etag)
         else
            -- Already counted as unexpected; a fresh key keeps the connection busy.
            extra = extra + 1
            push(id .. "-x" .. extra, nil)
         end
      end
      local conditional = {}
      for name, value in pairs(wrk.headers) do conditional[name] = value end
      request = function()
         local entry
         if head <= tail then
            entry = ready[head]
            ready[head] = nil
            head = head + 1
         else
            extra = extra + 1
            entry = { id .. "-x" .. extra, nil }
         end
         conditional["If-Match"] = entry[2]
         conditional["If-None-Match"] = entry[2] == nil and "*" or nil
         return wrk.format(nil, path .. entry[1], conditional)
      end
   end
end

function done(summary, latency, requests)
   local counted_ok, counted_unexpected, checked = 0, 0, false
   for _, thread in ipairs(threads) do
      counted_ok = counted_ok + thread:get("ok")
      counted_unexpected = counted_unexpected + thread:get("unexpected")
   end
   checked = counted_ok + counted_unexpected > 0
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   -- Without response() only wrk's own count (status > 399) is known.
   local bad = checked and counted_unexpected or e.status
   io.write(string.format(
      'WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"unexpected":%d,"checked":%s,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latencyMs":{"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f}}\n',
      summary.requests, summary.duration, summary.bytes, bad + socket_errors, tostring(checked),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
