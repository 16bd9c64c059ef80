-- wrk script: GET one path with "Authorization: Bearer <key>", rotating over
-- the keys of a file (one token a line), so that no key's hourly limit caps
-- the run.
--
--   wrk ... -s wrk_keys.lua URL -- KEYS_FILE PATH [IF_NONE_MATCH [ACCEPT_ENCODING]]
--
-- With IF_NONE_MATCH (not empty), every request carries it as If-None-Match;
-- with ACCEPT_ENCODING, as Accept-Encoding. (wrk's -H headers do not reach
-- requests a script formats with headers of its own.)
-- Each thread starts at its own offset in the key list and walks it in
-- order. The requests are formatted once, in init, so that the Lua cost per
-- request is a table lookup: the client must not be the bottleneck.

local next_thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

function init(args)
  local keys_file, path, if_none_match, accept_encoding = args[1], args[2], args[3], args[4]
  if keys_file == nil or path == nil then
    error("usage: wrk ... -s wrk_keys.lua URL -- KEYS_FILE PATH")
  end
  requests = {}
  for token in io.lines(keys_file) do
    if #token > 0 then
      local headers = { ["Authorization"] = "Bearer " .. token }
      if if_none_match ~= nil and #if_none_match > 0 then
        headers["If-None-Match"] = if_none_match
      end
      if accept_encoding ~= nil then headers["Accept-Encoding"] = accept_encoding end
      requests[#requests + 1] = wrk.format("GET", path, headers)
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
