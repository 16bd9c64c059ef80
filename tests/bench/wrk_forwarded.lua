-- wrk script: GET one path with a fixed (unknown) Bearer token and a
-- different X-Forwarded-For client address on each request.
--
--   wrk ... -s wrk_forwarded.lua URL -- TOKEN PATH [ADDRESSES_PER_THREAD]
--
-- Requests that fail before a key is known (the 401 scenario) are counted
-- per client address. The service runs with --trusted-proxies 127.0.0.1/32,
-- so it takes the address from X-Forwarded-For; rotating over many addresses
-- keeps every address far below its hourly budget, and the scenario measures
-- 401s rather than turning into 429s. Addresses are 10.<thread>.<hi>.<lo>,
-- distinct across threads.

local next_thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

function init(args)
  local token, path = args[1], args[2]
  local count = tonumber(args[3] or "4096")
  if token == nil or path == nil then
    error("usage: wrk ... -s wrk_forwarded.lua URL -- TOKEN PATH [ADDRESSES_PER_THREAD]")
  end
  local t = (thread_id or 0) % 256
  requests = {}
  for i = 0, count - 1 do
    local address = string.format("10.%d.%d.%d", t, math.floor(i / 256) % 256, i % 256)
    requests[#requests + 1] = wrk.format("GET", path, {
      ["Authorization"] = "Bearer " .. token,
      ["X-Forwarded-For"] = address,
    })
  end
  index = 0
end

function request()
  index = index % #requests + 1
  return requests[index]
end
