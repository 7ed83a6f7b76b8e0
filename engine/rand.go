package engine

import (
	"math/rand/v2"
)

// Stream returns an independent random stream for one component of one
// replication. The same (seed, replication, name) always yields the same
// sequence, and different names yield unrelated sequences, so adding a
// component never shifts the numbers another component draws.
func Stream(seed uint64, replication int, name string) *rand.Rand {
	return rand.New(Source(seed, replication, name))
}

// Source is Stream's underlying PCG source, for libraries (such as gonum's
// distuv) that take a rand.Source.
func Source(seed uint64, replication int, name string) *rand.PCG {
	h := fnv64(name)
	hi := splitmix(seed ^ splitmix(uint64(replication)+0x9e3779b97f4a7c15))
	lo := splitmix(h ^ hi)
	return rand.NewPCG(hi, lo)
}

func fnv64(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}

// splitmix is the SplitMix64 finaliser (Steele, Lea, Flood 2014), used to
// spread seeds over the PCG state space.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Key derives a 64-bit key for counter-based draws (see Uniform) of one
// component of one replication.
func Key(seed uint64, replication int, name string) uint64 {
	return splitmix(seed ^ splitmix(uint64(replication)+0x9e3779b97f4a7c15) ^ fnv64(name))
}

// Uniform returns a number in [0, 1) that depends only on (key, i, j): a
// counter-based draw for properties that must not depend on the order in
// which they are drawn, such as whether the j-th attempt of the i-th
// request fails, whatever the strategy made of the attempts before it.
func Uniform(key, i, j uint64) float64 {
	x := splitmix(key ^ splitmix(i^splitmix(j+0x632be59bd9b4e019)))
	return float64(x>>11) / (1 << 53)
}
