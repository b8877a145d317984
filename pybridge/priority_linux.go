package pybridge

import "syscall"

// lowerThreadPriority raises the calling OS thread's nice value by n (to at
// most 19). On Linux a nice value belongs to a thread, and the threads it
// starts (torch's OpenMP team) inherit it.
func lowerThreadPriority(n int) error {
	tid := syscall.Gettid()
	// The raw system call answers 20 - nice.
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return err
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(20-prio+n, 19))
}
