// Package engine is the discrete-event core of edgelab: an integer-nanosecond
// virtual clock, an event queue whose ties break by insertion order, and
// seeded random streams derived from (seed, replication, component name).
//
// The package knows nothing about requests, servers or balancers. A model
// registers Handlers and schedules events carrying two small integer
// arguments; the queue stores events by value in a 4-ary heap (plus one
// "lane" slot for a near-term event), so scheduling and dispatching
// allocate nothing once the heap has grown to its working size.
package engine

import (
	"math"
	"math/bits"
	"time"
)

// Handler receives the events scheduled for it. a and b are the arguments
// given to Schedule; their meaning belongs to the handler.
type Handler interface {
	Handle(now time.Duration, a int32, b int64)
}

// HandlerID names a Handler registered with Sim.Register.
type HandlerID uint32

// event is stored by value in the heap: 32 bytes, no pointers.
type event struct {
	at  time.Duration
	seq uint64
	b   int64
	h   HandlerID
	a   int32
}

// earlier is 1 if x comes before y (earlier time, or the same time and
// scheduled first), else 0: the borrow of the 128-bit subtraction
// (x.at, x.seq) − (y.at, y.seq), computed without a branch. Times are never
// negative (Schedule clamps them to now ≥ 0), so they compare as unsigned
// numbers.
func earlier(x, y *event) uint {
	_, b := bits.Sub64(x.seq, y.seq, 0)
	_, b = bits.Sub64(uint64(x.at), uint64(y.at), b)
	return uint(b)
}

// Sim is a discrete-event simulator. The zero value is not usable; call New.
type Sim struct {
	now time.Duration
	seq uint64
	// heap holds the n pending events in a 4-ary heap, followed by
	// arity-1 sentinels (events at the end of time), so that every node
	// with a child has four without a check.
	heap     []event
	n        int
	handlers []Handler
	events   uint64
	stopped  bool
	stopAt   uint64 // Run returns when events reaches it (Stop, RunLimit)
	// hole is true while the event at heap[0] is being dispatched: it has
	// been copied out but not removed, so that the first event its handler
	// schedules can take its place with one sift-down instead of a pop and
	// a push (the "hold" pattern of most discrete-event models).
	hole bool
	// lane holds one pending event outside the heap (when full is true),
	// and Run dispatches whichever of it and the heap's root comes first.
	// A new event takes the lane if the lane is free and no hole is open,
	// or if it comes before the lane's event (which then goes to the
	// heap instead). So the lane holds a near-term event, and a stream
	// that schedules its next event first thing in its handler (an
	// arrival process) keeps it there: those events never touch the heap.
	lane event
	full bool
}

// The heap is 4-ary: an event's children are at 4i+1 … 4i+4. Half the
// depth of a binary heap means half the levels and 32-byte moves per sift;
// the earliest of four children is found with a branch-free tournament of
// three comparisons.
const arity = 4

// sentinel pads the heap after its last event: it sorts after every event.
var sentinel = event{at: math.MaxInt64, seq: math.MaxUint64}

// New returns a simulator at time zero with room for capacity pending events.
func New(capacity int) *Sim {
	if capacity < 16 {
		capacity = 16
	}
	s := &Sim{heap: make([]event, 0, capacity+arity-1)}
	for range arity - 1 {
		s.heap = append(s.heap, sentinel)
	}
	return s
}

// Now is the current virtual time since the start of the run.
func (s *Sim) Now() time.Duration { return s.now }

// Events is the number of events dispatched so far.
func (s *Sim) Events() uint64 { return s.events }

// Pending is the number of scheduled events not yet dispatched.
func (s *Sim) Pending() int {
	n := s.n
	if s.hole {
		n--
	}
	if s.full {
		n++
	}
	return n
}

// Register adds a handler and returns the id to schedule its events with.
func (s *Sim) Register(h Handler) HandlerID {
	s.handlers = append(s.handlers, h)
	return HandlerID(len(s.handlers) - 1)
}

// Schedule arranges for the handler h to be called with (at, a, b) at
// virtual time at. An event scheduled in the past runs at the current time.
// Events at the same time run in the order they were scheduled.
func (s *Sim) Schedule(at time.Duration, h HandlerID, a int32, b int64) {
	if at < s.now {
		at = s.now
	}
	s.seq++
	var e event
	e.at, e.seq, e.h, e.a, e.b = at, s.seq, h, a, b
	if s.full && earlier(&e, &s.lane) != 0 {
		// The lane keeps the earlier of the two.
		e, s.lane = s.lane, e
	}
	if s.hole {
		// Every pending event is at or after now, and so is e: it can
		// replace the dispatched root and sink to its place.
		s.hole = false
		s.down(&e)
		return
	}
	if !s.full {
		s.lane, s.full = e, true
		return
	}
	s.heap = append(s.heap, sentinel)
	s.n++
	s.up(s.n-1, &e)
}

// After schedules an event for h after delay d from now.
func (s *Sim) After(d time.Duration, h HandlerID, a int32, b int64) {
	s.Schedule(s.now+d, h, a, b)
}

// Stop makes Run return after the event being dispatched.
func (s *Sim) Stop() { s.stopped, s.stopAt = true, s.events }

// Run dispatches events in time order until the queue is empty, Stop is
// called, or the next event lies after until (until < 0 means no limit).
// It returns the virtual time reached.
func (s *Sim) Run(until time.Duration) time.Duration {
	now, _ := s.RunLimit(until, math.MaxUint64)
	return now
}

// RunLimit is Run that also returns once it has dispatched max events, so
// that a caller can look up between bounded amounts of work — at a
// cancellation, or at virtual time that no longer advances — however many
// events fall on one instant. more reports that it stopped for max, with
// events left to dispatch up to until; the clock then stays at the last
// event dispatched.
func (s *Sim) RunLimit(until time.Duration, max uint64) (now time.Duration, more bool) {
	s.stopped = false
	// One comparison per event serves both Stop and max: Stop moves the
	// bound to the events dispatched so far.
	s.stopAt = s.events + max
	if s.stopAt < s.events {
		s.stopAt = math.MaxUint64
	}
	for s.events != s.stopAt {
		if s.full && (s.n == 0 || earlier(&s.lane, &s.heap[0]) != 0) {
			at := s.lane.at
			if until >= 0 && at > until {
				s.now = until
				return s.now, false
			}
			h, a, b := s.lane.h, s.lane.a, s.lane.b
			s.full = false
			s.now = at
			s.events++
			s.handlers[h].Handle(at, a, b)
			continue
		}
		if s.n == 0 {
			break
		}
		top := &s.heap[0]
		at := top.at
		if until >= 0 && at > until {
			s.now = until
			return s.now, false
		}
		h, a, b := top.h, top.a, top.b
		s.hole = true
		s.now = at
		s.events++
		s.handlers[h].Handle(at, a, b)
		if s.hole {
			s.hole = false
			s.pop()
		}
	}
	if s.events == s.stopAt {
		return s.now, !s.stopped
	}
	if until >= 0 && s.n == 0 && !s.full && s.now < until {
		s.now = until
	}
	return s.now, false
}

// up places e at the hole i and lets it rise to its place.
func (s *Sim) up(i int, e *event) {
	h := s.heap
	for i > 0 {
		p := int(uint(i-1) / arity)
		if earlier(e, &h[p]) == 0 {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = *e
}

// pop removes the root.
func (s *Sim) pop() {
	s.n--
	n := s.n
	last := s.heap[n]
	s.heap[n] = sentinel
	s.heap = s.heap[:n+arity-1]
	if n > 0 {
		s.down(&last)
	}
}

// down places e at the root and sifts it down to its place (top-down):
// while the earliest child of the hole comes before e, that child moves up
// into the hole, so a near-term event stops after a level or two.
//
// The earliest of four children is found with a branch-free tournament of
// three comparisons (sentinels stand in for missing children), so the only
// unpredictable branch per level is the comparison with e. Measured on the
// bare model (before the lane existed) against a bottom-up sift, which
// descends to a leaf and climbs back: 4% fewer instructions and 27% fewer
// mispredicted branches for the whole run.
func (s *Sim) down(e *event) {
	h := s.heap
	n := s.n
	hole := &h[0]
	for i := 0; ; {
		c := arity*i + 1
		if c >= n {
			break
		}
		q := (*[arity]event)(h[c : c+arity])
		a := earlier(&q[1], &q[0])
		b := 2 + earlier(&q[3], &q[2])
		a ^= (a ^ b) & -earlier(&q[b&3], &q[a&3])
		a &= 3
		if earlier(e, &q[a]) != 0 {
			break
		}
		*hole = q[a]
		hole = &q[a]
		i = c + int(a)
	}
	*hole = *e
}
