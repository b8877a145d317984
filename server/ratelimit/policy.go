package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Policy is the limit of one endpoint class: at most Limit calls per Window per client
// (see the package doc for what that means exactly). Limit 0 switches the policy off.
type Policy struct {
	Name   string        // endpoint class, e.g. "training"; part of every bucket key
	Limit  int           // calls per Window; 0 means unlimited
	Window time.Duration // ignored when Limit is 0
}

// maxRate is the fastest policy the backends can represent: one call per microsecond.
const maxRate = int64(time.Second / time.Microsecond)

// Validate reports what is wrong with p, if anything: an empty or odd name, a negative
// limit, a non-positive window with a positive limit, or more than one call per
// microsecond.
func (p Policy) Validate() error {
	switch {
	case p.Name == "" || strings.ContainsAny(p.Name, ": \t\r\n"):
		return fmt.Errorf("ratelimit: policy name %q: want a non-empty name without spaces or ':'", p.Name)
	case p.Limit < 0:
		return fmt.Errorf("ratelimit: policy %q: negative limit %d", p.Name, p.Limit)
	case p.Limit == 0:
		return nil
	case p.Window <= 0:
		return fmt.Errorf("ratelimit: policy %q: window %v must be positive", p.Name, p.Window)
	case p.Window.Microseconds()/int64(p.Limit) < 1:
		return fmt.Errorf("ratelimit: policy %q: %d per %v is faster than %d per second", p.Name, p.Limit, p.Window, maxRate)
	}
	return nil
}

// String is the policy in the form ParseRate reads, e.g. "40/1h0m0s", or "0".
func (p Policy) String() string {
	if p.Limit == 0 {
		return "0"
	}
	return strconv.Itoa(p.Limit) + "/" + p.Window.String()
}

// units are the period names ParseRate accepts after the slash.
var units = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParseRate reads a rate such as "40/hour", "5/h", "100/minute", "10/30s", or "0" to
// switch limiting off ("0/hour" too). The period after the slash is a unit (s, sec,
// second, m, min, minute, h, hr, hour, d, day, plurals too; any case) or a Go duration
// ("90s", "1h30m"). Spaces around the parts are ignored. It returns the limit and the
// window; window is 0 when the limit is 0.
func ParseRate(s string) (limit int, window time.Duration, err error) {
	fail := func(why string) (int, time.Duration, error) {
		return 0, 0, fmt.Errorf("ratelimit: parse rate %q: %s", s, why)
	}
	text := strings.TrimSpace(s)
	if text == "" {
		return fail(`empty; want LIMIT/PERIOD such as "40/hour", or "0" to switch limiting off`)
	}
	num, period, hasPeriod := strings.Cut(text, "/")
	num, period = strings.TrimSpace(num), strings.ToLower(strings.TrimSpace(period))
	limit, err = strconv.Atoi(num)
	if err != nil || limit < 0 {
		return fail(fmt.Sprintf("limit %q is not a whole number >= 0", num))
	}
	if !hasPeriod {
		if limit == 0 {
			return 0, 0, nil
		}
		return fail(`no period; want LIMIT/PERIOD such as "40/hour", or "0" to switch limiting off`)
	}
	window, ok := units[period]
	if !ok {
		d, err := time.ParseDuration(period)
		if err != nil {
			return fail(fmt.Sprintf("period %q is neither a unit (s, m, h, d, second, minute, hour, day) nor a duration such as 90s", period))
		}
		window = d
	}
	switch {
	case window <= 0:
		return fail(fmt.Sprintf("period %v must be positive", window))
	case limit == 0:
		return 0, 0, nil
	case window.Microseconds()/int64(limit) < 1:
		return fail(fmt.Sprintf("more than %d calls per second", maxRate))
	}
	return limit, window, nil
}

// ParsePolicy reads a rate with ParseRate and names it.
func ParsePolicy(name, rate string) (Policy, error) {
	limit, window, err := ParseRate(rate)
	if err != nil {
		return Policy{}, err
	}
	p := Policy{Name: name, Limit: limit, Window: window}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}
