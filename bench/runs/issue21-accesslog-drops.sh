#!/usr/bin/env bash
# One node, access log on, 5 s of wrk c=64 reads; then the access-log counters and the lines in its log.
set -u
d=$(mktemp -d /tmp/wt21-drops.XXXXXX)
echo "lock acquired $(date -u '+%F %T UTC'); load: $(cat /proc/loadavg)"
/tmp/wt21-bin/cairn-d042bfb server --node-id n1 --data-dir $d/data --listen-http 127.0.0.1:19110 \
  --listen-peer 127.0.0.1:19111 --rate-limit-enabled=false > $d/node.log 2>&1 &
pid=$!
for i in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:19110/livez && break; sleep 0.1; done
curl -s -o /dev/null -XPOST -H 'Content-Type: application/json' -d '{"name":"bench"}' http://127.0.0.1:19110/api/v1/admin/namespace
curl -s -o /dev/null -XPOST -H 'Content-Type: application/json' -d '{"namespace":"bench","key":"k0000","value":"v"}' http://127.0.0.1:19110/api/v1/admin/config
wrk -t2 -c64 -d5s 'http://127.0.0.1:19110/api/v1/config/get?namespace=bench&key=k0000' | grep -E "Requests/sec|requests in"
curl -s http://127.0.0.1:19110/api/v1/metrics | grep -E "^config_center_access_log"
kill -TERM $pid; wait $pid
echo "access lines in the node's log after stop: $(grep -c ' info {"request_id":' $d/node.log)"
echo "log bytes: $(stat -c %s $d/node.log)"
rm -rf $d
