-- wrk: GET /v1/me, each request with the next of KEYS_FILE's keys (one per line).
local keys = {}
for line in io.lines(os.getenv("KEYS_FILE")) do
  keys[#keys + 1] = line
end
local i = 0
request = function()
  i = i % #keys + 1
  return wrk.format("GET", "/v1/me", { ["Authorization"] = "Bearer " .. keys[i] })
end
