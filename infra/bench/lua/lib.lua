-- Shared by every wrk case: the X-Vault-Token header and one machine-readable summary line.
-- bench.py parses the BENCH_RESULT line instead of wrk's human text, so units stay exact
-- (microseconds) and error counts cannot be missed.
local M = {}

function M.token_header()
  local token = os.getenv("VAULT_TOKEN")
  if token == nil or token == "" then
    error("VAULT_TOKEN is not set")
  end
  wrk.headers["X-Vault-Token"] = token
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"mean_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end

return M
