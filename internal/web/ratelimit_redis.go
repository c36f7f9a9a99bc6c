package web

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimiter keeps token buckets in Redis, so every replica draws from
// the same buckets. One Lua script reads, refills and takes atomically, on
// Redis's clock, so replicas' clocks do not matter.
type RedisLimiter struct {
	Client redis.Scripter
	// Prefix starts every key (default "atrium:ratelimit:").
	Prefix string
}

var takeScript = redis.NewScript(`
local rate = tonumber(ARGV[1]) / 1000000
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(v[1]) or burst
local ts = tonumber(v[2]) or now
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
end
local ok, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil(burst / rate / 1000) + 1000))
return {ok, wait}
`)

// Take implements Limiter.
func (l *RedisLimiter) Take(ctx context.Context, key string, b Budget) (bool, time.Duration, error) {
	prefix := l.Prefix
	if prefix == "" {
		prefix = "atrium:ratelimit:"
	}
	res, err := takeScript.Run(ctx, l.Client, []string{prefix + key}, b.Rate, b.Burst).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(res) != 2 {
		return false, 0, redis.Nil
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}
