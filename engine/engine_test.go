package engine

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

type recorder struct {
	sim  *Sim
	id   HandlerID
	seen []int64
	at   []time.Duration
}

func (r *recorder) Handle(now time.Duration, a int32, b int64) {
	r.seen = append(r.seen, b)
	r.at = append(r.at, now)
	if a > 0 { // chain: schedule a follow-up a-1 times
		r.sim.After(time.Duration(b%7), r.id, a-1, b+1000)
	}
}

func TestOrderAndTieBreak(t *testing.T) {
	s := New(0)
	r := &recorder{sim: s}
	r.id = s.Register(r)
	// Same time: insertion order. Different times: time order.
	s.Schedule(5, r.id, 0, 1)
	s.Schedule(3, r.id, 0, 2)
	s.Schedule(5, r.id, 0, 3)
	s.Schedule(3, r.id, 0, 4)
	s.Schedule(0, r.id, 0, 5)
	s.Run(-1)
	if want := []int64{5, 2, 4, 1, 3}; !slices.Equal(r.seen, want) {
		t.Fatalf("order %v, want %v", r.seen, want)
	}
	if s.Events() != 5 || s.Now() != 5 {
		t.Fatalf("events %d now %v", s.Events(), s.Now())
	}
}

// The heap must agree with a simple sort by (time, insertion order) for any
// mix of scheduling, including events scheduled by handlers while one is
// being dispatched (the hole-filling path).
func TestMatchesReferenceOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		s := New(0)
		r := &recorder{sim: s}
		r.id = s.Register(r)
		type ev struct {
			at  time.Duration
			seq int
			b   int64
		}
		var ref []ev
		for i := 0; i < 200; i++ {
			at := time.Duration(rng.IntN(50))
			s.Schedule(at, r.id, 0, int64(i))
			ref = append(ref, ev{at, i, int64(i)})
		}
		slices.SortStableFunc(ref, func(a, b ev) int { return int(a.at - b.at) })
		s.Run(-1)
		for i := range ref {
			if r.seen[i] != ref[i].b {
				t.Fatalf("trial %d: event %d is %d, want %d", trial, i, r.seen[i], ref[i].b)
			}
		}
		if !slices.IsSorted(r.at) {
			t.Fatal("time went backwards")
		}
	}
}

// follower schedules 0–3 follow-ups per event, at delays (often zero, so
// with ties) derived from the event's id alone, so that any correct event
// queue produces the same run.
type follower struct {
	sim    *Sim
	id     HandlerID
	next   int64
	budget int
	seen   []int64
}

func mix(x uint64) uint64 { return splitmix(x) }

func (f *follower) Handle(now time.Duration, a int32, b int64) {
	f.seen = append(f.seen, b)
	h := mix(uint64(b))
	for k := 0; k < int(h%4) && f.budget > 0; k++ {
		f.budget--
		f.next++
		d := time.Duration(mix(h+uint64(k)) % 40)
		if d > 30 {
			d = -5 // in the past: runs now
		}
		f.sim.Schedule(now+d, f.id, 0, f.next)
	}
}

// reference is a plain list scan by (time, insertion order).
type reference struct {
	now     time.Duration
	pending []refEvent
	seq     int
}

type refEvent struct {
	at  time.Duration
	seq int
	b   int64
}

func (r *reference) schedule(at time.Duration, b int64) {
	r.seq++
	r.pending = append(r.pending, refEvent{max(at, r.now), r.seq, b})
}

// The heap must agree with the reference for events scheduled up front,
// by handlers while one is being dispatched (the hole-filling path, then
// appends), and in the past, for queues from empty to a few hundred.
func TestMatchesReferenceWithFollowUps(t *testing.T) {
	for trial := 0; trial < 40; trial++ {
		s := New(0)
		f := &follower{sim: s, budget: 3000}
		f.id = s.Register(f)
		ref := &reference{}
		initial := 1 + trial*7
		for i := 0; i < initial; i++ {
			at := time.Duration(mix(uint64(trial*1000+i)) % 60)
			f.next++
			s.Schedule(at, f.id, 0, f.next)
			ref.schedule(at, f.next)
		}
		s.Run(-1)
		// Replay with the reference queue and the same handler logic.
		budget, next := 3000, int64(initial)
		var want []int64
		for len(ref.pending) > 0 {
			k := 0
			for j, e := range ref.pending {
				m := ref.pending[k]
				if e.at < m.at || (e.at == m.at && e.seq < m.seq) {
					k = j
				}
			}
			e := ref.pending[k]
			ref.pending = append(ref.pending[:k], ref.pending[k+1:]...)
			ref.now = e.at
			want = append(want, e.b)
			h := mix(uint64(e.b))
			for j := 0; j < int(h%4) && budget > 0; j++ {
				budget--
				next++
				d := time.Duration(mix(h+uint64(j)) % 40)
				if d > 30 {
					d = -5
				}
				ref.schedule(e.at+d, next)
			}
		}
		if !slices.Equal(f.seen, want) {
			t.Fatalf("trial %d: %d events dispatched, order differs from the reference (%d events)", trial, len(f.seen), len(want))
		}
		if s.Pending() != 0 {
			t.Fatalf("trial %d: %d pending", trial, s.Pending())
		}
	}
}

func TestChainedEventsKeepTimeOrder(t *testing.T) {
	s := New(0)
	r := &recorder{sim: s}
	r.id = s.Register(r)
	for i := 0; i < 100; i++ {
		s.Schedule(time.Duration(i%13), r.id, 20, int64(i))
	}
	s.Run(-1)
	if len(r.seen) != 100*21 {
		t.Fatalf("dispatched %d events, want %d", len(r.seen), 100*21)
	}
	if !slices.IsSorted(r.at) {
		t.Fatal("time went backwards")
	}
}

func TestRunUntilAndStop(t *testing.T) {
	s := New(0)
	r := &recorder{sim: s}
	r.id = s.Register(r)
	for i := 1; i <= 10; i++ {
		s.Schedule(time.Duration(i)*time.Second, r.id, 0, int64(i))
	}
	if now := s.Run(5 * time.Second); now != 5*time.Second || len(r.seen) != 5 {
		t.Fatalf("Run(5s) reached %v after %d events", now, len(r.seen))
	}
	if s.Pending() != 5 {
		t.Fatalf("pending %d", s.Pending())
	}
	s.Run(-1)
	if len(r.seen) != 10 {
		t.Fatalf("dispatched %d", len(r.seen))
	}
	// Past events run now, never before.
	s.Schedule(0, r.id, 0, 99)
	s.Run(-1)
	if r.at[len(r.at)-1] != 10*time.Second {
		t.Fatalf("past event ran at %v", r.at[len(r.at)-1])
	}
}

type stopper struct{ s *Sim }

func (h stopper) Handle(time.Duration, int32, int64) { h.s.Stop() }

func TestStop(t *testing.T) {
	s := New(0)
	id := s.Register(stopper{s})
	s.Schedule(1, id, 0, 0)
	s.Schedule(2, id, 0, 0)
	s.Run(-1)
	if s.Events() != 1 || s.Pending() != 1 {
		t.Fatalf("events %d pending %d", s.Events(), s.Pending())
	}
}

func TestStreamsAreReproducibleAndIndependent(t *testing.T) {
	draw := func(seed uint64, rep int, name string) []uint64 {
		r := Stream(seed, rep, name)
		out := make([]uint64, 8)
		for i := range out {
			out[i] = r.Uint64()
		}
		return out
	}
	a := draw(1, 0, "arrivals")
	if !slices.Equal(a, draw(1, 0, "arrivals")) {
		t.Fatal("same (seed, replication, name) gave different numbers")
	}
	for _, other := range [][]uint64{draw(2, 0, "arrivals"), draw(1, 1, "arrivals"), draw(1, 0, "arrivalz")} {
		if slices.Equal(a, other) {
			t.Fatal("different (seed, replication, name) gave the same numbers")
		}
	}
}

type nop struct {
	s    *Sim
	id   HandlerID
	left int
}

func (n *nop) Handle(now time.Duration, a int32, b int64) {
	n.s.Schedule(now+time.Duration(b), n.id, a, b)
	if n.left--; n.left <= 0 {
		n.s.Stop()
	}
}

// The hold model: every dispatched event schedules one more, at a random
// distance, over a queue of 1000 pending events.
func BenchmarkHold1000(b *testing.B) {
	s := New(2048)
	h := &nop{s: s}
	h.id = s.Register(h)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 1000; i++ {
		s.Schedule(time.Duration(rng.IntN(1e6)), h.id, 0, int64(1+rng.IntN(1e6)))
	}
	h.left = b.N
	b.ReportAllocs()
	b.ResetTimer()
	s.Run(-1)
}

func TestNoAllocationsPerEvent(t *testing.T) {
	s := New(2048)
	h := &nop{s: s}
	h.id = s.Register(h)
	for i := 0; i < 1000; i++ {
		s.Schedule(time.Duration(i), h.id, 0, int64(1000+i))
	}
	allocs := testing.AllocsPerRun(100, func() { h.left = 1000; s.Run(-1) })
	if allocs != 0 {
		t.Fatalf("%.1f allocations per run slice", allocs)
	}
}

func TestUniformIsCounterBased(t *testing.T) {
	k := Key(1, 0, "errors")
	if Uniform(k, 5, 1) != Uniform(k, 5, 1) {
		t.Fatal("not a function of its arguments")
	}
	if k == Key(1, 1, "errors") || k == Key(2, 0, "errors") || k == Key(1, 0, "error") {
		t.Fatal("keys collide")
	}
	// Mean and variance of 200k draws match U(0,1): 1/2 and 1/12.
	sum, sq := 0.0, 0.0
	const n = 200000
	for i := uint64(0); i < n; i++ {
		u := Uniform(k, i, i%3)
		if u < 0 || u >= 1 {
			t.Fatalf("draw %v out of [0,1)", u)
		}
		sum += u
		sq += u * u
	}
	mean := sum / n
	if v := sq/n - mean*mean; abs(mean-0.5) > 0.003 || abs(v-1.0/12) > 0.002 {
		t.Fatalf("mean %v variance %v", mean, v)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// spinner schedules itself again at the same instant: a model whose clock
// has stopped.
type spinner struct {
	s *Sim
	h HandlerID
}

func (p *spinner) Handle(now time.Duration, a int32, b int64) { p.s.Schedule(now, p.h, a, b) }

// RunLimit returns after max events even when they all fall on one
// instant, and goes on where it stopped; with time to spare it behaves as
// Run and reports no more work.
func TestRunLimit(t *testing.T) {
	s := New(16)
	p := &spinner{s: s}
	p.h = s.Register(p)
	s.Schedule(5, p.h, 0, 0)
	for i := 1; i <= 3; i++ {
		now, more := s.RunLimit(100, 1000)
		if !more || now != 5 || s.Events() != uint64(1000*i) {
			t.Fatalf("call %d: now %v, more %v, events %d", i, now, more, s.Events())
		}
	}
	q := New(16)
	r := &recorder{}
	h := q.Register(r)
	for i := range 10 {
		q.Schedule(time.Duration(i), h, 0, int64(i))
	}
	if now, more := q.RunLimit(4, 100); more || now != 4 || q.Events() != 5 {
		t.Errorf("RunLimit(4, 100) = %v, %v after %d events; want 4, false after 5", now, more, q.Events())
	}
	if now, more := q.RunLimit(-1, 3); !more || now != 7 || q.Events() != 8 {
		t.Errorf("RunLimit(-1, 3) = %v, %v after %d events; want 7, true after 8", now, more, q.Events())
	}
}
