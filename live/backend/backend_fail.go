package backend

import (
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// failure is one failure window of one backend, as played.
type failure struct {
	b          *Backend
	kind       string
	start, end time.Duration // end < 0: until the run is over
	factor     float64
	latency    time.Duration
	rate       float64
}

// failEvent starts or ends a failure at a time of the run.
type failEvent struct {
	at    time.Duration
	f     *failure
	start bool
}

// Play starts the scenario's failure schedule, its times counted from
// start (warm-up included), for a run ending at end (warm-up plus
// duration): windows starting at or after end are dropped, and so are
// ends after it (a failure still active at end lasts until Close). The
// schedule is the simulator's: the same windows, random crashes drawn
// from the same streams (workloads.Failure.Windows), started and ended in
// the same order. Play does nothing the second time or after Close.
func (f *Fleet) Play(start time.Time, end time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.played || f.closed {
		return
	}
	f.played = true
	events, windows := f.plan(end)
	f.windows = windows
	if len(events) == 0 {
		return
	}
	f.wg.Add(1)
	go f.play(start, events)
}

// plan expands every group's failure schedule into timed events, in the
// order the simulator schedules them (ties keep that order), and the
// windows it lists.
func (f *Fleet) plan(end time.Duration) ([]failEvent, []reports.FailureWindow) {
	var events []failEvent
	var windows []reports.FailureWindow
	base := 0
	for gi := range f.sc.Servers {
		g := &f.sc.Servers[gi]
		for fi := range g.Failures {
			fl := &g.Failures[fi]
			for i := 0; i < g.Slots(); i++ {
				if !fl.Affects(i) {
					continue
				}
				b := f.backends[base+i]
				for _, w := range fl.Windows(f.sc.Seed, f.rep, workloads.FailureStream(g.Name, fi, i), end) {
					x := &failure{b: b, kind: w.Kind, start: w.Start, end: w.End}
					if fl.Kind != workloads.FailRandomCrash {
						x.factor, x.latency, x.rate = fl.Factor, fl.Latency.D(), fl.Rate
					}
					events = append(events, failEvent{at: x.start, f: x, start: true})
					if x.end >= 0 && x.end <= end {
						events = append(events, failEvent{at: x.end, f: x})
					}
					if len(windows) < maxWindows {
						e := x.end
						if e < 0 || e > end {
							e = end
						}
						windows = append(windows, reports.FailureWindow{
							Server: b.id, Kind: w.Label, StartS: x.start.Seconds(), EndS: e.Seconds(),
						})
					}
				}
			}
		}
		base += g.Slots()
	}
	slices.SortStableFunc(events, func(a, b failEvent) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	return events, windows
}

// play applies the events at their times until they run out or Close.
func (f *Fleet) play(start time.Time, events []failEvent) {
	defer f.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for _, ev := range events {
		if d := time.Until(start.Add(ev.at)); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-f.quit:
				return
			}
		}
		select {
		case <-f.quit:
			return
		default:
		}
		if ev.start {
			f.logf("live: %s: %s starts at %v", ev.f.b.id, ev.f.kind, ev.at)
			ev.f.b.failStart(ev.f)
		} else {
			f.logf("live: %s: %s ends at %v", ev.f.b.id, ev.f.kind, ev.at)
			ev.f.b.failEnd(ev.f)
		}
	}
}

// failStart applies the start of failure x, as the simulator's failStart.
func (b *Backend) failStart(x *failure) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	now := b.now()
	old := b.rate()
	switch x.kind {
	case workloads.FailCrash:
		b.down++
		if b.down > 1 {
			b.mu.Unlock()
			return
		}
		ln, conns := b.crashLocked(now)
		b.mu.Unlock()
		if ln != nil {
			_ = ln.Close()
		}
		for _, c := range conns {
			resetConn(c)
		}
		return
	case workloads.FailHang:
		b.hung++
	case workloads.FailSlow:
		if x.factor > 0 {
			b.factor *= x.factor
		}
		b.latency += x.latency
	case workloads.FailErrors:
		b.errFail = append(b.errFail, x.rate)
		b.mu.Unlock()
		return
	}
	b.rateChanged(now, old)
	b.mu.Unlock()
}

// failEnd applies the end of failure x, as the simulator's failEnd; the
// end of the last crash listens again on the same port.
func (b *Backend) failEnd(x *failure) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	now := b.now()
	old := b.rate()
	switch x.kind {
	case workloads.FailCrash:
		b.down--
		up := b.down == 0
		b.mu.Unlock()
		if up {
			b.repair()
		}
		return
	case workloads.FailHang:
		b.hung--
	case workloads.FailSlow:
		if x.factor > 0 {
			b.factor /= x.factor
		}
		b.latency -= x.latency
	case workloads.FailErrors:
		if k := slices.Index(b.errFail, x.rate); k >= 0 {
			b.errFail = slices.Delete(b.errFail, k, k+1)
		}
		b.mu.Unlock()
		return
	}
	b.rateChanged(now, old)
	b.mu.Unlock()
}

// rateChanged books the work in service at the old rate up to now and
// wakes whatever waits on the rate (b.mu held): FIFO handlers re-plan
// their departures, the PS loop its next one, /healthz the end of a hang.
func (b *Backend) rateChanged(now time.Duration, old float64) {
	if b.ps {
		b.psAdvanceAt(now, old)
		b.wake()
	} else {
		for _, j := range b.inSvc {
			j.work = max(0, j.work-old*float64(now-j.upd))
			j.upd = now
		}
	}
	close(b.rateCh)
	b.rateCh = make(chan struct{})
}

// crashLocked empties the backend (b.mu held): every request it holds
// fails, and it returns the listener and connections to close.
func (b *Backend) crashLocked(now time.Duration) (net.Listener, []net.Conn) {
	close(b.crashCh)
	b.crashCh = make(chan struct{})
	clear(b.queue)
	b.queue = b.queue[:0]
	clear(b.inSvc)
	b.inSvc = b.inSvc[:0]
	b.busy = 0
	b.jobs.reset()
	b.deliver = 0
	b.busyAvg.Set(now, 0)
	b.queueAvg.Set(now, 0)
	b.wake()
	ln := b.ln
	b.ln = nil
	conns := make([]net.Conn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	clear(b.conns)
	return ln, conns
}

// resetConn closes c with a TCP reset, as a process dying would.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// repair listens again on the backend's address. Should the port be
// briefly unavailable, it retries for a while in the background.
func (b *Backend) repair() {
	if b.relisten() {
		return
	}
	f := b.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTimer(0)
		defer t.Stop()
		for try := 0; try < 100; try++ {
			t.Reset(20 * time.Millisecond)
			select {
			case <-t.C:
			case <-f.quit:
				return
			}
			if b.relisten() {
				return
			}
		}
		f.logf("live: %s: could not listen on %s again after its crash; it stays down", b.id, b.addr)
	}()
}

// relisten binds the backend's address and serves, unless it crashed
// again or closed meanwhile; false when the address could not be bound.
func (b *Backend) relisten() bool {
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		b.fleet.logf("live: %s: listen on %s after repair: %v", b.id, b.addr, err)
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.down > 0 || b.ln != nil {
		_ = ln.Close()
		return true
	}
	b.serveLocked(ln)
	return true
}

// serveLocked serves on ln (b.mu held) until a crash or Close closes it.
func (b *Backend) serveLocked(ln net.Listener) {
	b.ln = ln
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		err := b.srv.Serve(&trackListener{Listener: ln, b: b})
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			b.fleet.logf("live: %s: serve: %v", b.id, err)
		}
	}()
}

// trackListener registers every accepted connection with its backend, so
// that a crash can reset them, and resets those accepted while down.
type trackListener struct {
	net.Listener
	b *Backend
}

// Accept waits for the next connection of an up backend.
func (l *trackListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		b := l.b
		b.mu.Lock()
		if b.down > 0 || b.closed {
			b.mu.Unlock()
			resetConn(c)
			continue
		}
		tc := &trackedConn{Conn: c, b: b}
		b.conns[c] = struct{}{}
		b.mu.Unlock()
		return tc, nil
	}
}

// trackedConn forgets itself when closed.
type trackedConn struct {
	net.Conn
	b    *Backend
	once sync.Once
}

// Close closes the connection and unregisters it.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.b.mu.Lock()
		delete(c.b.conns, c.Conn)
		c.b.mu.Unlock()
	})
	return c.Conn.Close()
}
