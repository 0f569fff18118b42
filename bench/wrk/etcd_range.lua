-- etcd grpc-gateway range of one key; ETCD_SERIALIZABLE=1 for a local (serializable) read.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local ser = os.getenv("ETCD_SERIALIZABLE") == "1"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- "bench/k0000" in base64
wrk.body = '{"key":"YmVuY2gvazAwMDA="' .. (ser and ',"serializable":true' or '') .. '}'
