package sim

import "time"

// timerQueue holds timers that all run for the same duration (a client
// timeout, a per-try timeout, a hedge delay). Started in time order, they
// expire in the same order, so a FIFO replaces the event heap for them:
// only the earliest has an engine event, and a timer whose request or
// attempt has moved on is dropped when it reaches the head, with no
// search. This keeps the heap at O(in-flight work) instead of
// O(rate × timeout).
type timerQueue struct {
	kind int32 // the model event kind that handles expiry
	buf  []timer
	head int
	n    int
}

type timer struct {
	at  time.Duration
	idx int32
	gen uint32
}

func (q *timerQueue) push(m *model, at time.Duration, idx int32, gen uint32) {
	if q.n == len(q.buf) {
		nb := make([]timer, max(16, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	i := q.head + q.n
	if i >= len(q.buf) {
		i -= len(q.buf)
	}
	q.buf[i] = timer{at: at, idx: idx, gen: gen}
	q.n++
	if q.n == 1 {
		m.eng.Schedule(at, m.h, evTimers, int64(q.kind))
	}
}

// expire fires every timer due at now, in order, drops the timers after
// them whose request or attempt has already moved on (most have: requests
// usually finish long before their timeout), and schedules an event for
// the first timer still live. So a timer costs an engine event only when
// it can still fire.
func (q *timerQueue) expire(m *model, now time.Duration) {
	for q.n > 0 {
		t := q.buf[q.head]
		if t.at > now && m.timerLive(q.kind, t.idx, t.gen) {
			m.eng.Schedule(t.at, m.h, evTimers, int64(q.kind))
			return
		}
		q.head++
		if q.head == len(q.buf) {
			q.head = 0
		}
		q.n--
		if t.at <= now {
			m.Handle(now, q.kind, pack(t.idx, t.gen))
		}
	}
}

// timerLive reports whether a timer of the given kind can still fire.
func (m *model) timerLive(kind int32, idx int32, gen uint32) bool {
	switch kind {
	case evPerTry:
		a := &m.atts[idx]
		return a.gen == gen && !a.abandoned
	default: // evTimeout, evHedge
		return m.reqs[idx].gen == gen
	}
}
