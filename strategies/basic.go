package strategies

import (
	"math/rand/v2"
	"time"
)

// RoundRobin sends each attempt to the next candidate in turn, starting
// Skip candidates in.
type RoundRobin struct {
	next int
	// Skip is the starting offset: the first pick is candidate Skip mod n
	// (Caddy's round_robin starts at its second upstream: 1).
	Skip int
}

// Pick implements Balancer.
func (b *RoundRobin) Pick(_ time.Duration, _ Request, _ []Endpoint, cand []int) int {
	if b.Skip > 0 {
		b.next, b.Skip = b.Skip%len(cand), 0
	}
	if b.next >= len(cand) {
		b.next = 0
	}
	i := cand[b.next]
	b.next++
	return i
}

// Done implements Balancer.
func (b *RoundRobin) Done(time.Duration, int, time.Duration, Outcome) {}

// SmoothWRR is NGINX's smooth weighted round robin: every pick adds each
// candidate's weight to its current weight, takes the candidate with the
// highest current weight and subtracts the total from it. Weights 5,1,1
// give a a b a c a a rather than a a a a a b c.
type SmoothWRR struct {
	current []float64
	// Skip is the starting offset: the first pick is the one that would
	// follow Skip picks.
	Skip int
}

// Pick implements Balancer.
func (b *SmoothWRR) Pick(_ time.Duration, _ Request, eps []Endpoint, cand []int) int {
	if len(b.current) != len(eps) {
		b.current = make([]float64, len(eps))
	}
	for ; b.Skip > 0; b.Skip-- {
		b.pick(eps, cand)
	}
	return b.pick(eps, cand)
}

func (b *SmoothWRR) pick(eps []Endpoint, cand []int) int {
	total := 0.0
	best := -1
	for _, i := range cand {
		w := eps[i].Weight
		b.current[i] += w
		total += w
		if best < 0 || b.current[i] > b.current[best] {
			best = i
		}
	}
	b.current[best] -= total
	return best
}

// Done implements Balancer.
func (b *SmoothWRR) Done(time.Duration, int, time.Duration, Outcome) {}

// Random picks a uniformly random candidate.
type Random struct {
	R *rand.Rand
}

// Pick implements Balancer.
func (b *Random) Pick(_ time.Duration, _ Request, _ []Endpoint, cand []int) int {
	return cand[b.R.IntN(len(cand))]
}

// Done implements Balancer.
func (b *Random) Done(time.Duration, int, time.Duration, Outcome) {}

// lessLoaded reports whether endpoint a carries less load per unit of weight
// than b, comparing (in-flight+1)/weight: the load the endpoint would carry
// with this attempt added, as Envoy's weighted least-request scales weight by
// 1/(active+1). With equal weights this is simply fewer in-flight attempts.
func lessLoaded(a, b *Endpoint) (less, equal bool) {
	if a.Weight == b.Weight {
		return a.InFlight < b.InFlight, a.InFlight == b.InFlight
	}
	la := float64(a.InFlight+1) * b.Weight
	lb := float64(b.InFlight+1) * a.Weight
	return la < lb, la == lb
}

// LeastRequest scans every candidate and picks the one with the fewest
// in-flight attempts (weighted), breaking ties uniformly at random.
type LeastRequest struct {
	R *rand.Rand
}

// Pick implements Balancer.
func (b *LeastRequest) Pick(_ time.Duration, _ Request, eps []Endpoint, cand []int) int {
	return leastLoadedIn(b.R, eps, cand)
}

// leastLoadedIn scans cand for the endpoint with the least load per unit
// of weight (lessLoaded), breaking ties uniformly at random.
func leastLoadedIn(r *rand.Rand, eps []Endpoint, cand []int) int {
	best := cand[0]
	ties := 1
	for _, i := range cand[1:] {
		less, equal := lessLoaded(&eps[i], &eps[best])
		switch {
		case less:
			best, ties = i, 1
		case equal:
			// Reservoir sampling: each of the k tied endpoints ends up
			// chosen with probability 1/k.
			ties++
			if r.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// Done implements Balancer.
func (b *LeastRequest) Done(time.Duration, int, time.Duration, Outcome) {}

// P2C is the power of d choices: it samples Choices candidates uniformly at
// random and sends the attempt to the one with the fewest in-flight
// attempts (weighted); a tie goes to any of the tied with equal
// probability. The zero value samples two distinct candidates
// (Mitzenmacher's model and NGINX's `random two`); WithReplacement draws
// every sample independently, so one candidate may be drawn twice, as
// Envoy's LEAST_REQUEST (choice_count) and HAProxy's `balance random(d)`
// do. Pick allocates nothing: distinct samples with Choices > 2 use Floyd's
// algorithm on a scratch slice kept in the struct.
type P2C struct {
	R *rand.Rand
	// Choices is d, the number of samples per pick; 0 means 2. Distinct
	// samples from no more than d candidates scan them all.
	Choices int
	// WithReplacement draws the samples independently instead of distinct.
	WithReplacement bool

	positions []int // scratch for distinct samples when Choices > 2
}

// Pick implements Balancer.
func (b *P2C) Pick(_ time.Duration, _ Request, eps []Endpoint, cand []int) int {
	n := len(cand)
	if n == 1 {
		return cand[0]
	}
	d := b.Choices
	if d == 0 {
		d = 2
	}
	switch {
	case d == 2 && !b.WithReplacement:
		// The common case without scratch: the second index is drawn
		// from the n − 1 others, so no rejection loop.
		x := b.R.IntN(n)
		y := b.R.IntN(n - 1)
		if y >= x {
			y++
		}
		i, j := cand[x], cand[y]
		less, equal := lessLoaded(&eps[j], &eps[i])
		if less || (equal && b.R.IntN(2) == 0) {
			return j
		}
		return i
	case b.WithReplacement:
		// Every draw counts, repeats included: among equally loaded
		// draws each is kept with equal probability, which matches
		// Envoy's "first drawn wins ties" and HAProxy's "last drawn
		// wins ties" in distribution (the draws are exchangeable).
		best, ties := cand[b.R.IntN(n)], 1
		for range d - 1 {
			best, ties = b.better(eps, best, cand[b.R.IntN(n)], ties)
		}
		return best
	default:
		k := min(d, n)
		if cap(b.positions) < k {
			b.positions = make([]int, 0, d)
		}
		b.positions = sigSample(b.R, b.positions, n, k)
		best, ties := cand[b.positions[0]], 1
		for _, x := range b.positions[1:] {
			best, ties = b.better(eps, best, cand[x], ties)
		}
		return best
	}
}

// better folds sample i into the running choice best, of which ties
// samples so far were equally loaded, breaking ties by reservoir sampling.
func (b *P2C) better(eps []Endpoint, best, i, ties int) (int, int) {
	less, equal := lessLoaded(&eps[i], &eps[best])
	switch {
	case less:
		return i, 1
	case equal:
		ties++
		if b.R.IntN(ties) == 0 {
			return i, ties
		}
	}
	return best, ties
}

// Done implements Balancer.
func (b *P2C) Done(time.Duration, int, time.Duration, Outcome) {}

// FlowHash pins each client to one candidate by hashing its identity, as
// an L4 balancer hashing a connection's source does; when the candidate set
// changes, clients are re-spread (plain modulo hashing, no consistency).
type FlowHash struct{}

// Pick implements Balancer.
func (FlowHash) Pick(_ time.Duration, req Request, _ []Endpoint, cand []int) int {
	h := req.Client*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return cand[h%uint64(len(cand))]
}

// Done implements Balancer.
func (FlowHash) Done(time.Duration, int, time.Duration, Outcome) {}

// UsesRequest implements RequestAware: FlowHash reads the client.
func (FlowHash) UsesRequest() bool { return true }
