-- etcd put of a 200-byte value to one of 1,000 keys, chosen at random per request.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local b64chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function b64(data)
  return ((data:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
local value = b64(string.rep("v", 200))
local keys = {}
for i = 0, 999 do keys[i] = b64(string.format("bench/k%04d", i)) end
function setup(thread) thread:set("seed", math.random(1, 1000000)) end
function init(args) math.randomseed(seed or os.time()) end
function request()
  local k = keys[math.random(0, 999)]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
    '{"key":"' .. k .. '","value":"' .. value .. '"}')
end
