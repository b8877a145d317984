//go:build !linux

package pybridge

// lowerThreadPriority does nothing where a nice value belongs to the whole
// process rather than to one thread.
func lowerThreadPriority(int) error { return nil }
