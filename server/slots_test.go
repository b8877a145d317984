package main

import (
	"testing"

	"stockagent/server/config"
)

// A process claims no more trainings than its long-work lanes run: MAX_TASKS
// above LONG_WORKERS would hold entries another trainer could start.
func TestTrainingSlots(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{}, 1}, // MAX_TASKS 4, LONG_WORKERS 1
		{map[string]string{"LONG_WORKERS": "3"}, 3},
		{map[string]string{"LONG_WORKERS": "8", "MAX_TASKS": "2"}, 2},
	} {
		cfg, err := config.Load(func(k string) string { return c.env[k] }, "python3")
		if err != nil {
			t.Fatal(err)
		}
		if got := trainingSlots(cfg); got != c.want {
			t.Errorf("%v: %d slots, want %d", c.env, got, c.want)
		}
	}
}
