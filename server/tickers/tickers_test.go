package tickers

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := map[string]struct {
		in, want string
		ok       bool
	}{
		"plain":          {"aapl", "AAPL", true},
		"trimmed":        {"  msft ", "MSFT", true},
		"index":          {"^GSPC", "^GSPC", true},
		"class share":    {"BRK.B", "BRK.B", true},
		"future":         {"ES=F", "ES=F", true},
		"twelve":         {"ABCDEFGHIJKL", "ABCDEFGHIJKL", true},
		"empty":          {"", "", false},
		"spaces":         {"   ", "", false},
		"thirteen":       {"ABCDEFGHIJKLM", "", false},
		"path traversal": {"../../x", "", false},
		"leading dot":    {".AAPL", "", false},
		"double dot":     {"A..B", "", false},
		"slash":          {"A/B", "", false},
		"only symbols":   {"^-=", "", false},
		"reserved":       {"parent", "", false},
		"unicode":        {"ÄPPL", "", false},
		"null byte":      {"A\x00B", "", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("Normalize(%q) = %q, %v", tc.in, got, err)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestTaskIDs(t *testing.T) {
	if TaskID(Parent) != "parent_training" || TaskID("AAPL") != "aapl" {
		t.Fatal("task ids")
	}
	for in, want := range map[string]string{"parent": "parent_training", "parent_training": "parent_training", "AAPL": "aapl", "brk.b": "brk.b"} {
		if got, err := FromTaskID(in); err != nil || got != want {
			t.Errorf("FromTaskID(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := FromTaskID("../x"); err == nil {
		t.Error("FromTaskID accepted a path")
	}
}
