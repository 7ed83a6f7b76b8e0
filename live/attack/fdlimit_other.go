//go:build !unix

package attack

// openFileLimit cannot read a limit on this system: 0 (unknown).
func openFileLimit() uint64 { return 0 }
