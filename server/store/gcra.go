package store

import (
	"fmt"
	"time"
)

// The generic cell rate algorithm (GCRA), shared by Memory (gcraStep) and Redis
// (gcraScript, which must compute the same thing). Package ratelimit documents its
// behaviour for users; this file holds the arithmetic.
//
// A bucket is one number, the theoretical arrival time (TAT): the time at which the bucket
// would be full again if no more calls came. Times are integer microseconds so that
// Lua's doubles hold them exactly (2^53 µs is 285 years).
//
//	interval = window / limit      (rounded down to whole µs: one call's worth of time)
//	horizon  = interval * limit    (the most the TAT may run ahead of now: the burst)
//
// A call at time now is allowed when max(TAT, now) + interval - now <= horizon, and then
// moves TAT to max(TAT, now) + interval. A refused call changes nothing.

// gcraParams turns "limit calls per window" into the interval and horizon in microseconds.
func gcraParams(backend, key string, limit int, window time.Duration) (interval, horizon int64, err error) {
	if limit <= 0 || window <= 0 {
		return 0, 0, fmt.Errorf("store: %s ratelimit %q: limit %d per %v: both must be positive", backend, key, limit, window)
	}
	interval = window.Microseconds() / int64(limit)
	if interval < 1 {
		return 0, 0, fmt.Errorf("store: %s ratelimit %q: limit %d per %v is more than one call per microsecond", backend, key, limit, window)
	}
	return interval, interval * int64(limit), nil
}

// gcraStep runs one call at time now on a bucket whose stored TAT is tat (0 when the
// bucket is new or expired). It returns the new TAT (equal to tat when refused) and
// the result. All times are in microseconds on the same clock.
func gcraStep(now, tat, interval, horizon int64) (int64, RateLimitResult) {
	if tat < now {
		tat = now
	}
	next := tat + interval
	ahead := next - now // how far the bucket would run ahead of now after this call
	if ahead > horizon {
		return tat, RateLimitResult{
			Allowed:    false,
			Remaining:  0,
			RetryAfter: micros(ahead - horizon),
			ResetAfter: micros(tat - now),
		}
	}
	return next, RateLimitResult{
		Allowed:    true,
		Remaining:  int((horizon - ahead) / interval),
		ResetAfter: micros(ahead),
	}
}

func micros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// gcraScript is gcraStep in Lua on Redis's clock, so that every server process sharing a
// Redis agrees on time. KEYS[1] is the bucket; ARGV[1] the interval and ARGV[2] the
// horizon, in µs. It returns {allowed (0|1), remaining, retry after µs, reset after µs}.
// TIME before a write is fine: Redis 5+ replicates scripts by their effects.
// string.format('%.0f') keeps the TAT an exact integer (tostring would print 1.7e+15).
const gcraScript = `
local interval = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local ahead = tat + interval - now
if ahead > horizon then
  return {0, 0, ahead - horizon, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', math.ceil(ahead / 1000))
return {1, math.floor((horizon - ahead) / interval), 0, ahead}
`
