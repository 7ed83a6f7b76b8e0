package strategies

import (
	"math/rand/v2"
	"testing"
)

// Sticky sessions (HAProxy stick tables, Envoy stateful sessions): a key
// keeps going to the endpoint that first served it, falls back to the
// balancer when that endpoint is unhealthy, and stays on the new one.
func TestAffinityPinsAndFallsBack(t *testing.T) {
	p := NewPool(&RoundRobin{}, names(4), nil)
	p.SetAffinity(AffinityKey, 0)
	first := map[uint64]int{}
	for k := uint64(0); k < 20; k++ {
		i, _ := p.Pick(0, Request{Key: k})
		first[k] = i
	}
	for range 3 {
		for k := uint64(0); k < 20; k++ {
			if i, _ := p.Pick(0, Request{Key: k}); i != first[k] {
				t.Fatalf("key %d moved from e%d to e%d", k, first[k], i)
			}
		}
	}
	// Take e1 out: its keys move, the others stay.
	p.SetHealthyAt(0, 1, false)
	moved := map[uint64]int{}
	for k := uint64(0); k < 20; k++ {
		i, _ := p.Pick(0, Request{Key: k})
		if first[k] == 1 {
			if i == 1 {
				t.Fatalf("key %d still sent to unhealthy e1", k)
			}
			moved[k] = i
		} else if i != first[k] {
			t.Fatalf("key %d of healthy e%d moved to e%d", k, first[k], i)
		}
	}
	// e1 returns: moved keys stay where they are now.
	p.SetHealthyAt(0, 1, true)
	for k, i := range moved {
		if j, _ := p.Pick(0, Request{Key: k}); j != i {
			t.Fatalf("key %d went back from e%d to e%d", k, i, j)
		}
	}
}

func TestAffinityByClientAndCap(t *testing.T) {
	p := NewPool(&Random{R: rand.New(rand.NewPCG(1, 2))}, names(8), nil)
	p.SetAffinity(AffinityClient, 5)
	for c := uint64(0); c < 10; c++ {
		p.Pick(0, Request{Client: c, Key: 99})
	}
	if len(p.affinity.pins) != 5 {
		t.Fatalf("%d pins, want the cap of 5", len(p.affinity.pins))
	}
	want, _ := p.Pick(0, Request{Client: 2, Key: 1})
	for k := uint64(0); k < 50; k++ {
		if i, _ := p.Pick(0, Request{Client: 2, Key: k}); i != want {
			t.Fatal("client affinity must ignore the key")
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		i, _ := p.Pick(0, Request{Client: 3})
		p.Done(0, i, 0, OK)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per pinned pick", allocs)
	}
}
