-- wrk: each request carries the next of KEYS_FILE's keys (one per line) to BENCH_PATH
-- (default /v1/me). The baseline /healthz run uses the same script, so both sides of the
-- ratio cost the client (and the server's header parsing) the same.
local keys = {}
for line in io.lines(os.getenv("KEYS_FILE")) do
  keys[#keys + 1] = line
end
local path = os.getenv("BENCH_PATH") or "/v1/me"
local i = 0
request = function()
  i = i % #keys + 1
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. keys[i] })
end
