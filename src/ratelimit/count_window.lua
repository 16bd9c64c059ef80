-- Adds ARGV[2] (a count, default 1) to the window's key and, when this call
-- created the key, sets it to expire at ARGV[1] (a minute after the window
-- ends), so the count outlives every request of the window and then frees
-- itself; returns the new total. Atomic in Redis, which is what makes the
-- limit exact across instances. A single count uses INCR, so a Redis ACL that
-- grants +incr but not +incrby still serves uncontended keys (grouped counts
-- need +incrby).
--   KEYS[1] the window's key, ARGV[1] expiry (unix seconds), ARGV[2] count
local n = tonumber(ARGV[2]) or 1
local t
if n == 1 then
  t = redis.call('INCR', KEYS[1])
else
  t = redis.call('INCRBY', KEYS[1], n)
end
if t == n then redis.call('EXPIREAT', KEYS[1], ARGV[1]) end
return t
