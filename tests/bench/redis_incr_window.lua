-- Not a wrk script: the rate limiter's Redis script (kIncrScript in
-- src/ratelimit/redis_window_counter.cc), for the redis-benchmark reference.
-- tests/bench/run normally takes the script from that source file; this copy
-- (without these comment lines) is the fallback when it cannot be found.
local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[1]) end return n
