-- Cairn admin update of a 200-byte JSON value to one of 1,000 keys chosen at random. The value
-- carries a per-thread counter: an update that changes nothing is refused (400/40001).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local n = 0
-- `tid` is a global set by setup() (a local here would shadow it: every thread would write the
-- same values and some updates would change nothing).
local pad = string.rep("v", 180)
local counter = 1
threads = {}  -- global: report.lua's done() sums the statuses of every thread
function setup(thread)
  table.insert(threads, thread)
  thread:set("seed", math.random(1, 1000000))
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args) math.randomseed(seed or os.time()) end
function request()
  n = n + 1
  local k = string.format("k%04d", math.random(0, 999))
  -- 1 + 2 + 1 + 14 + 180 + 1 = 199..200 bytes of JSON
  local value = string.format('"t%02d-%014d%s"', tid, n, pad)
  return wrk.format("PUT", "/api/v1/admin/config", { ["Content-Type"] = "application/json" },
    '{"namespace":"bench","key":"' .. k .. '","value":' .. value .. '}')
end
-- Which answers were not 2xx, and the first body of each status (bench.py prints them).
statuses = {}
bodies = {}
function response(status, headers, body)
  if status >= 300 then
    statuses[status] = (statuses[status] or 0) + 1
    if not bodies[status] then bodies[status] = string.sub(body or "", 1, 200) end
  end
end
