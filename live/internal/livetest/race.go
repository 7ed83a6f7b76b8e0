//go:build race

package livetest

// Race is true when the race detector is on.
const Race = true
