//go:build race

package live

// atkRace is true when the race detector is on.
const atkRace = true
