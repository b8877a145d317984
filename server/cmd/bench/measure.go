package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Latency is a distribution's summary, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// summarize takes nearest-rank percentiles of lat (which it sorts).
func summarize(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(lat)))) - 1
		return ms(lat[max(i, 0)])
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return Latency{P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: ms(lat[len(lat)-1]), Mean: ms(sum / time.Duration(len(lat)))}
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// usage is what some process(es) spent over a stretch of calls.
type usage struct {
	cpu     time.Duration // user + system
	peakRSS int64         // bytes; the largest of the processes'
}

// meter measures the process(es) doing a back-end's work between start and stop.
type meter interface {
	start()
	stop() usage
}

// selfMeter measures this process: getrusage for CPU (microseconds, where
// /proc counts 10 ms ticks) and the peak RSS since start.
type selfMeter struct{ cpu0 time.Duration }

func (m *selfMeter) start() {
	resetPeak(os.Getpid())
	m.cpu0 = selfCPU()
}

func (m *selfMeter) stop() usage {
	return usage{cpu: selfCPU() - m.cpu0, peakRSS: peakRSS(os.Getpid())}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procMeter measures other processes through /proc.
type procMeter struct {
	pids []int
	cpu0 map[int]time.Duration
}

func newProcMeter(pids ...int) *procMeter { return &procMeter{pids: pids} }

func (m *procMeter) start() {
	m.cpu0 = map[int]time.Duration{}
	for _, pid := range m.pids {
		resetPeak(pid)
		m.cpu0[pid] = procCPU(pid)
	}
}

func (m *procMeter) stop() usage {
	var u usage
	for _, pid := range m.pids {
		u.cpu += procCPU(pid) - m.cpu0[pid]
		u.peakRSS = max(u.peakRSS, peakRSS(pid))
	}
	return u
}

// userHZ is the unit of /proc/<pid>/stat times, fixed at 100 by the kernel ABI.
const userHZ = 100

// procCPU is a process's user + system time from /proc/<pid>/stat (0 if gone).
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)) //nolint:gosec // G703: a /proc path built from an integer pid
	if err != nil {
		return 0
	}
	// The command name is in parentheses and may hold spaces: count fields after it.
	rest := data[bytes.LastIndexByte(data, ')')+1:]
	f := strings.Fields(string(rest)) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / userHZ
}

// procStatus reads a kB field (VmRSS, VmHWM) of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)) //nolint:gosec // G703: a /proc path built from an integer pid
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func rss(pid int) int64     { return procStatus(pid, "VmRSS") }
func peakRSS(pid int) int64 { return procStatus(pid, "VmHWM") }

// resetPeak starts a process's peak RSS (VmHWM) afresh, so a peak belongs to
// one workload rather than the process's whole life (Linux's clear_refs,
// value 5). It reports whether the kernel allowed it.
func resetPeak(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil //nolint:gosec // G703: a /proc path built from an integer pid
}
