-- Cairn admin update of a 200-byte JSON value to one of 1,000 keys chosen at random. The value
-- carries a per-thread counter: an update that changes nothing is refused (400/40001).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local n = 0
local tid = 0
local pad = string.rep("v", 180)
local counter = 1
function setup(thread)
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
