// Package engine is the discrete-event core of edgelab: an integer-nanosecond
// virtual clock, an event queue whose ties break by insertion order, and
// seeded random streams derived from (seed, replication, component name).
//
// The package knows nothing about requests, servers or balancers. A model
// registers Handlers and schedules events carrying two small integer
// arguments; the queue stores events by value in a binary heap, so scheduling
// and dispatching allocate nothing once the heap has grown to its working
// size.
package engine

import (
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

func (e *event) before(o *event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

// Sim is a discrete-event simulator. The zero value is not usable; call New.
type Sim struct {
	now      time.Duration
	seq      uint64
	heap     []event
	handlers []Handler
	events   uint64
	stopped  bool
	// hole is true while the event at heap[0] is being dispatched: it has
	// been copied out but not removed, so that the first event its handler
	// schedules can take its place with one sift-down instead of a pop and
	// a push (the "hold" pattern of most discrete-event models).
	hole bool
}

// New returns a simulator at time zero with room for capacity pending events.
func New(capacity int) *Sim {
	if capacity < 16 {
		capacity = 16
	}
	return &Sim{heap: make([]event, 0, capacity)}
}

// Now is the current virtual time since the start of the run.
func (s *Sim) Now() time.Duration { return s.now }

// Events is the number of events dispatched so far.
func (s *Sim) Events() uint64 { return s.events }

// Pending is the number of scheduled events not yet dispatched.
func (s *Sim) Pending() int {
	if s.hole {
		return len(s.heap) - 1
	}
	return len(s.heap)
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
	e := event{at: at, seq: s.seq, h: h, a: a, b: b}
	if s.hole {
		// Every pending event is at or after now, and so is e: it can
		// replace the dispatched root and sink to its place.
		s.hole = false
		s.down(e)
		return
	}
	s.heap = append(s.heap, e)
	s.up(len(s.heap)-1, e)
}

// After schedules an event for h after delay d from now.
func (s *Sim) After(d time.Duration, h HandlerID, a int32, b int64) {
	s.Schedule(s.now+d, h, a, b)
}

// Stop makes Run return after the event being dispatched.
func (s *Sim) Stop() { s.stopped = true }

// Run dispatches events in time order until the queue is empty, Stop is
// called, or the next event lies after until (until < 0 means no limit).
// It returns the virtual time reached.
func (s *Sim) Run(until time.Duration) time.Duration {
	s.stopped = false
	for len(s.heap) > 0 && !s.stopped {
		top := &s.heap[0]
		if until >= 0 && top.at > until {
			s.now = until
			return s.now
		}
		ev := *top
		s.hole = true
		s.now = ev.at
		s.events++
		s.handlers[ev.h].Handle(ev.at, ev.a, ev.b)
		if s.hole {
			s.hole = false
			s.pop()
		}
	}
	if until >= 0 && len(s.heap) == 0 && s.now < until && !s.stopped {
		s.now = until
	}
	return s.now
}

// up places e at the hole i and lets it rise to its place.
func (s *Sim) up(i int, e event) {
	h := s.heap
	for i > 0 {
		p := (i - 1) / 2
		if !e.before(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
}

// pop removes the root.
func (s *Sim) pop() {
	n := len(s.heap) - 1
	last := s.heap[n]
	s.heap = s.heap[:n]
	if n > 0 {
		s.down(last)
	}
}

// down places e at the root and sifts it to its place, bottom-up (Floyd;
// Wegener 1993): the hole at the root first descends along the path of
// smaller children to a leaf, one comparison per level, and e then rises
// from there. New events mostly belong near the bottom, so this takes
// about half the comparisons of a top-down sift.
func (s *Sim) down(e event) {
	h := s.heap
	n := len(h)
	// A near-term event (the next arrival of a stream) usually belongs at
	// the root itself: then it costs two comparisons instead of a descent
	// to a leaf and a climb back.
	if n == 1 || (e.before(&h[1]) && (n == 2 || e.before(&h[2]))) {
		h[0] = e
		return
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1].before(&h[c]) {
			c++
		}
		h[i] = h[c]
		i = c
	}
	s.up(i, e)
}
