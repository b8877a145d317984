package httpapi

import (
	"fmt"
	"strconv"
	"time"
)

// optionalInt reads the optional integer query parameter name, raw as sent (the document
// gives such parameters the Go type string, so a bad value reaches this check): def when
// absent, else a base-10 integer in [lo, hi] or a 422 that states the bounds.
func optionalInt(name string, raw *string, def, lo, hi int) (int, error) {
	if raw == nil {
		return def, nil
	}
	return parseBoundedInt(name, *raw, lo, hi)
}

func parseBoundedInt(name, raw string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, unprocessable(fmt.Sprintf("%s must be an integer from %d to %d, got %s", name, lo, hi, quote(raw)))
	}
	return n, nil
}

// EarliestDate is the first day a date parameter may name: the index's prices start in 1927,
// and no model needs more.
const EarliestDate = "1950-01-01"

// parseDate reads a YYYY-MM-DD date from EarliestDate to today (at now).
func parseDate(name, raw string, now time.Time) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, raw)
	if err != nil {
		return d, unprocessable(fmt.Sprintf("%s must be a date YYYY-MM-DD, got %s", name, quote(raw)))
	}
	if d.After(now) {
		return d, unprocessable(fmt.Sprintf("%s %s is after today", name, raw))
	}
	if d.Format(time.DateOnly) < EarliestDate {
		return d, unprocessable(fmt.Sprintf("%s %s is before %s, the earliest date served", name, raw, EarliestDate))
	}
	return d, nil
}
