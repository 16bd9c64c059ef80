-- wrk script: GET one path with "Authorization: Bearer <key>", rotating over
-- the keys of a file (one token a line), so that no key's hourly limit caps
-- the run.
--
--   wrk ... -s wrk_keys.lua URL -- KEYS_FILE PATH
--
-- Each thread starts at its own offset in the key list and walks it in
-- order. The requests are formatted once, in init, so that the Lua cost per
-- request is a table lookup: the client must not be the bottleneck.

local next_thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

function init(args)
  local keys_file, path = args[1], args[2]
  if keys_file == nil or path == nil then
    error("usage: wrk ... -s wrk_keys.lua URL -- KEYS_FILE PATH")
  end
  requests = {}
  for token in io.lines(keys_file) do
    if #token > 0 then
      requests[#requests + 1] =
        wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
    end
  end
  if #requests == 0 then
    error("no keys in " .. keys_file)
  end
  -- thread_id is 0, 1, ...: spread the threads over the list.
  index = ((thread_id or 0) * 7919) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end
