package strategies

import (
	"math/rand/v2"
	"testing"
)

// A removed member is never a candidate, not even in panic mode, and does
// not count towards the panic threshold (service discovery, as an
// autoscaler retiring an instance, unlike a failing health check).
func TestSetMember(t *testing.T) {
	p := NewPool(&Random{R: rand.New(rand.NewPCG(1, 1))}, names(4), nil)
	p.SetHealth(HealthConfig{PanicThreshold: 50})
	p.SetMember(0, 2, false)
	p.SetMember(0, 3, false)
	if p.Panicking() || p.HealthyCount() != 2 {
		t.Fatalf("two members of two eligible: panicking %v, healthy %d", p.Panicking(), p.HealthyCount())
	}
	for range 200 {
		if i, _ := p.Pick(0, Request{}); i >= 2 {
			t.Fatalf("picked removed endpoint %d", i)
		}
	}
	// One of the two members fails its checks: 1 of 2 is not below 50%.
	p.SetHealthyAt(0, 1, false)
	if p.Panicking() {
		t.Fatal("1 of 2 members healthy is not below 50%")
	}
	p.SetHealthyAt(0, 0, false)
	if !p.Panicking() {
		t.Fatal("0 of 2 members healthy should panic")
	}
	for range 200 {
		if i, _ := p.Pick(0, Request{}); i >= 2 {
			t.Fatalf("panic mode picked removed endpoint %d", i)
		}
	}
	p.SetHealthyAt(0, 0, true)
	p.SetMember(0, 3, true)
	seen := map[int]bool{}
	for range 400 {
		i, _ := p.Pick(0, Request{})
		seen[i] = true
	}
	if !seen[0] || !seen[3] || seen[1] || seen[2] {
		t.Fatalf("after re-adding e3: picked %v", seen)
	}
}

// PickAvoiding picks among the endpoints not tried while one is
// eligible, and among all of them once every one was tried, unless strict
// (NGINX's tried set: then none).
func TestPickAvoiding(t *testing.T) {
	p := NewPool(&RoundRobin{}, []string{"a", "b", "c"}, nil)
	var a Avoid
	seen := map[int]bool{}
	for range 3 {
		i, ok := p.PickAvoiding(0, Request{}, &a, true)
		if !ok || seen[i] {
			t.Fatalf("picked %d again (tried %v)", i, seen)
		}
		seen[i] = true
		a.Add(i)
		p.Done(0, i, 0, OK)
	}
	if i, ok := p.PickAvoiding(0, Request{}, &a, false); !ok || i < 0 || i > 2 {
		t.Errorf("every endpoint tried: picked %d, %v; want any", i, ok)
	}
	if i, ok := p.PickAvoiding(0, Request{}, &a, true); ok {
		t.Errorf("every endpoint tried, strict (once_per_host): picked %d; want none", i)
	}
	if a.Tried() != 3 {
		t.Errorf("Tried = %d, want 3", a.Tried())
	}
	a.Reset()
	if a.Has(0) || a.Has(1) {
		t.Error("Reset left endpoints")
	}
}
