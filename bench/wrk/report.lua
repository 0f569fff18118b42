-- Shared by every script: one machine-readable line that bench/bench.py parses.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
  -- Scripts that count statuses per thread (a `threads` list and a `statuses` table each).
  if threads then
    local total, body = {}, {}
    for _, t in ipairs(threads) do
      for code, n in pairs(t:get("statuses") or {}) do total[code] = (total[code] or 0) + n end
      for code, b in pairs(t:get("bodies") or {}) do body[code] = body[code] or b end
    end
    for code, n in pairs(total) do
      io.write(string.format("STATUS %d count=%d body=%s\n", code, n, body[code] or ""))
    end
  end
end
