// Package pyproc holds the ways to reach Python without the embedded
// interpreter that the benchmark harness compares with it: persistent worker
// processes over pipes (Workers) and a process per call (Subprocess).
package pyproc
