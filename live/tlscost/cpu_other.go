//go:build !linux

package tlscost

import "time"

const threadCPUAvailable = false

var origin = time.Now()

// cpuNow is wall time where no per-thread CPU clock is read.
func cpuNow() time.Duration { return time.Since(origin) }
