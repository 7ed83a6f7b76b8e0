package strategies

import "time"

// Pool is a set of endpoints behind one balancer. It keeps the in-flight
// counts and applies health filtering in one place before the balancer
// picks, so no algorithm has to re-implement it.
type Pool struct {
	eps   []Endpoint
	cand  []int
	dirty bool
	b     Balancer
}

// NewPool returns a pool of healthy endpoints with the given names and
// weights (a weight ≤ 0 counts as 1).
func NewPool(b Balancer, names []string, weights []float64) *Pool {
	p := &Pool{b: b, eps: make([]Endpoint, len(names)), cand: make([]int, 0, len(names)), dirty: true}
	for i, n := range names {
		w := 1.0
		if i < len(weights) && weights[i] > 0 {
			w = weights[i]
		}
		p.eps[i] = Endpoint{Name: n, Weight: w, Healthy: true}
	}
	return p
}

// Len is the number of endpoints.
func (p *Pool) Len() int { return len(p.eps) }

// Endpoint returns the state of endpoint i.
func (p *Pool) Endpoint(i int) Endpoint { return p.eps[i] }

// SetHealthy marks endpoint i healthy or not.
func (p *Pool) SetHealthy(i int, healthy bool) {
	if p.eps[i].Healthy != healthy {
		p.eps[i].Healthy = healthy
		p.dirty = true
	}
}

func (p *Pool) candidates() []int {
	if !p.dirty {
		return p.cand
	}
	p.cand = p.cand[:0]
	for i := range p.eps {
		if p.eps[i].Healthy {
			p.cand = append(p.cand, i)
		}
	}
	p.dirty = false
	return p.cand
}

// Pick chooses an endpoint for a new attempt and counts it in flight. ok is
// false when no endpoint is eligible.
func (p *Pool) Pick(now time.Duration, req Request) (i int, ok bool) {
	cand := p.candidates()
	if len(cand) == 0 {
		return -1, false
	}
	i = p.b.Pick(now, req, p.eps, cand)
	p.eps[i].InFlight++
	return i, true
}

// Done ends an attempt on endpoint i: it leaves the in-flight count and the
// balancer learns its outcome and latency.
func (p *Pool) Done(now time.Duration, i int, latency time.Duration, o Outcome) {
	if p.eps[i].InFlight > 0 {
		p.eps[i].InFlight--
	}
	p.b.Done(now, i, latency, o)
}
