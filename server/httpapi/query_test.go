package httpapi

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// FuzzQueryLimit: any text is either an integer within the bounds or a 422 that says so.
func FuzzQueryLimit(f *testing.F) {
	for _, s := range []string{"50", "abc", "", "0", "-1", "500", "501", "1e3", " 5", "+5", "0x10", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := parseBoundedInt("limit", raw, 1, 500)
		var fe *fiber.Error
		switch {
		case err == nil && (n < 1 || n > 500):
			t.Fatalf("%q accepted as %d, outside [1, 500]", raw, n)
		case err == nil && strconv.Itoa(n) != raw && "+"+strconv.Itoa(n) != raw && !isZeroPadded(raw, n):
			t.Fatalf("%q accepted as %d", raw, n)
		case err != nil && (!errors.As(err, &fe) || fe.Code != fiber.StatusUnprocessableEntity):
			t.Fatalf("%q: %v, want a 422", raw, err)
		}
	})
}

func isZeroPadded(raw string, n int) bool {
	for len(raw) > 1 && (raw[0] == '0' || raw[0] == '+') {
		raw = raw[1:]
	}
	return raw == strconv.Itoa(n)
}

// FuzzDateParam: any text is either a real date from EarliestDate to today or a 422.
func FuzzDateParam(f *testing.F) {
	for _, s := range []string{"2016-01-01", "1950-01-01", "1949-12-31", "2016-02-30", "9999-12-31", "", "2016-1-1", "0000-00-00"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := parseDate("start_date", raw, now)
		var fe *fiber.Error
		switch {
		case err == nil && (d.Format(time.DateOnly) != raw || raw < EarliestDate || d.After(now)):
			t.Fatalf("%q accepted as %s", raw, d)
		case err != nil && (!errors.As(err, &fe) || fe.Code != fiber.StatusUnprocessableEntity):
			t.Fatalf("%q: %v, want a 422", raw, err)
		}
	})
}
