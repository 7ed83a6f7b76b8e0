package strategies

import (
	"testing"
	"time"
)

func passivePool(n int) *Pool {
	names := make([]string, n)
	for i := range names {
		names[i] = string(rune('a' + i))
	}
	p := NewPool(&RoundRobin{}, names, nil)
	p.SetHealth(HealthConfig{Passive: &PassiveHealth{MaxFails: 1, FailTimeout: 10 * time.Second, Fails: 1<<ConnectFail | 1<<Timeout}})
	return p
}

// picks returns the endpoints of n picks at now, each answered ok.
func picks(p *Pool, now time.Duration, n int) map[int]int {
	got := map[int]int{}
	for range n {
		i, ok := p.Pick(now, Request{})
		if !ok {
			got[-1]++
			continue
		}
		got[i]++
		p.Done(now, i, 0, OK)
	}
	return got
}

// NGINX's window (ngx_http_upstream_round_robin.c): one failure at 0.4 s
// (second 0) takes a server out while now − checked ≤ 10 on the seconds
// clock, so through 10.999 s; at 11 s exactly one request probes it and,
// answered, brings it back.
func TestPassiveWindow(t *testing.T) {
	p := passivePool(3)
	i, _ := p.Pick(400*time.Millisecond, Request{})
	p.Done(400*time.Millisecond, i, 0, ConnectFail)
	for _, at := range []time.Duration{time.Second, 5 * time.Second, 10*time.Second + 999*time.Millisecond} {
		if got := picks(p, at, 30); got[i] != 0 {
			t.Fatalf("at %v the failed server got %d of 30 picks", at, got[i])
		}
	}
	// The probe: the first pick that reaches it at 11 s sets checked, and
	// the others skip it until the probe's answer.
	probe := -1
	for k := 0; k < 3 && probe < 0; k++ {
		j, _ := p.Pick(11*time.Second, Request{})
		if j == i {
			probe = j
		} else {
			p.Done(11*time.Second, j, 0, OK)
		}
	}
	if probe != i {
		t.Fatal("no probe of the failed server at 11 s")
	}
	if got := picks(p, 11*time.Second, 20); got[i] != 0 {
		t.Errorf("while its probe is out the server got %d picks", got[i])
	}
	p.Done(11500*time.Millisecond, i, 0, OK)
	if got := picks(p, 12*time.Second, 30); got[i] != 10 {
		t.Errorf("after a good probe the server got %d of 30 round-robin picks, want 10", got[i])
	}
}

// A failed probe starts a new window; the count is not forgotten with
// time, only by a success of a pick made after the last failure.
func TestPassiveFailedProbeAndMemory(t *testing.T) {
	p := passivePool(2)
	p.SetHealth(HealthConfig{Passive: &PassiveHealth{MaxFails: 2, FailTimeout: 10 * time.Second, Fails: 1 << ConnectFail}})
	p.Pick(0, Request{})
	p.Done(0, 0, 0, ConnectFail) // one failure of two: still in
	p.Pick(0, Request{})
	p.Done(5*time.Second, 1, 0, OK)
	// A success of the same server in the same window does not clear it
	// (accessed == checked), so a second failure 30 s later takes it out.
	if got := picks(p, 6*time.Second, 2); got[0] != 1 {
		t.Fatalf("picks %v", got)
	}
	i, _ := p.Pick(30*time.Second, Request{})
	for i != 0 {
		p.Done(30*time.Second, i, 0, OK)
		i, _ = p.Pick(30*time.Second, Request{})
	}
	p.Done(30*time.Second, 0, 0, ConnectFail)
	if got := picks(p, 31*time.Second, 10); got[0] != 0 {
		t.Fatalf("two failures 30 s apart did not take the server out: %v", got)
	}
	// Probe at 41 s fails: out again until 52 s.
	j, _ := p.Pick(41*time.Second, Request{})
	for j != 0 {
		p.Done(41*time.Second, j, 0, OK)
		j, _ = p.Pick(41*time.Second, Request{})
	}
	p.Done(41*time.Second, 0, 0, ConnectFail)
	if got := picks(p, 51*time.Second, 10); got[0] != 0 {
		t.Errorf("a failed probe did not start a new window: %v", got)
	}
	if got := picks(p, 52*time.Second, 10); got[0] == 0 {
		t.Errorf("no probe after the new window: %v", got)
	}
}

// A pool of one server never takes it out, and outcomes NGINX does not
// count (a 5xx without http_5xx in proxy_next_upstream) leave it in.
func TestPassiveSingleAndUncounted(t *testing.T) {
	p := passivePool(1)
	for k := range 5 {
		i, ok := p.Pick(time.Duration(k)*time.Second, Request{})
		if !ok || i != 0 {
			t.Fatalf("single server out after %d failures", k)
		}
		p.Done(time.Duration(k)*time.Second, i, 0, ConnectFail)
	}
	q := passivePool(2)
	for k := range 10 {
		i, _ := q.Pick(time.Duration(k)*time.Second, Request{})
		q.Done(time.Duration(k)*time.Second, i, 0, Error5xx)
	}
	if q.HealthyCount() != 2 {
		t.Errorf("5xx answers took a server out: %d healthy", q.HealthyCount())
	}
}
