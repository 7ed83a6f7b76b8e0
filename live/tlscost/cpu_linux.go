//go:build linux

package tlscost

import (
	"syscall"
	"time"
)

// rusageThread is RUSAGE_THREAD (linux/resource.h).
const rusageThread = 1

const threadCPUAvailable = true

// cpuNow is the calling OS thread's CPU time (user and system).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
