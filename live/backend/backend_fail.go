package backend

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// failEvent starts or ends failure f of backend b at a time of the run,
// or (prelisten) binds b's address shortly before a crash ends.
type failEvent struct {
	at        time.Duration
	f         *plan.Failure
	b         *Backend
	start     bool
	prelisten bool
}

// RepairLead is how long before a crash's end its backend listens again,
// resetting what it accepts until the end itself. The simulator handles a
// repair before anything else at the same instant, so a balancer that
// takes the instance back then finds it up; the lead makes the backend
// listen by its repair time whatever the lateness of timers and of the
// listen call, so a gateway's return from ejection just after the repair
// finds it up live too (without it, one run lost the instance for the
// rest of the run). A connection in the lead fails as a refused one would.
const RepairLead = 50 * time.Millisecond

// Play starts the scenario's failure schedule, its times counted from
// start (warm-up included), for a run ending at end (warm-up plus
// duration): windows starting at or after end are dropped; a window that
// ends after end still ends at its time while the run drains (as in the
// simulator), or lasts until Close, whichever comes first. The
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

// plan lays out the failure plan (plan.Failures, the simulator's) as
// timed events, in the order the simulator schedules them (ties keep that
// order), and the windows it lists.
func (f *Fleet) plan(end time.Duration) ([]failEvent, []reports.FailureWindow) {
	var events []failEvent
	var fails []plan.Failure
	for _, x := range plan.Failures(f.sc, f.rep, end) {
		if !x.Gateway { // gateway instances' failures are not played live (live.Check)
			fails = append(fails, x)
		}
	}
	for i := range fails {
		x := &fails[i]
		b := f.backends[x.Target]
		events = append(events, failEvent{at: x.Start, f: x, b: b, start: true})
		if x.End >= 0 { // also after end, while the run drains, as the simulator does
			events = append(events, failEvent{at: x.End, f: x, b: b})
			if x.Kind == workloads.FailCrash {
				events = append(events, failEvent{at: max(x.Start, x.End-RepairLead), f: x, b: b, prelisten: true})
			}
		}
	}
	slices.SortStableFunc(events, func(a, b failEvent) int { return cmp.Compare(a.at, b.at) })
	return events, plan.Windows(fails, end)
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
		if ev.prelisten {
			ev.b.prelisten()
			continue
		}
		if ev.start {
			f.logf("live: %s: %s starts at %v", ev.b.id, ev.f.Kind, ev.at)
		} else {
			f.logf("live: %s: %s ends at %v", ev.b.id, ev.f.Kind, ev.at)
		}
		ev.b.applyFailure(ev.f, ev.start)
	}
}

// applyFailure applies the start (or end) of failure x: the backend's
// condition changes and the backend acts on the change, as
// plan.Condition says — a crash empties it and closes its listener, the
// end of the last crash listens again on the same port, a rate change
// re-plans the work under way.
func (b *Backend) applyFailure(x *plan.Failure, starts bool) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	now := b.now()
	old := b.rate()
	change := b.cond.End
	if starts {
		change = b.cond.Start
	}
	switch change(x) {
	case plan.Crashed:
		ln, conns := b.crashLocked(now)
		b.mu.Unlock()
		if ln != nil {
			_ = ln.Close()
		}
		for _, c := range conns {
			resetConn(c)
		}
		return
	case plan.Repaired:
		b.mu.Unlock()
		b.repair()
		return
	case plan.Unchanged:
		// A crash that starts while another ends listens already
		// (prelisten): it refuses again.
		if ln := b.ln; starts && ln != nil {
			b.ln = nil
			b.mu.Unlock()
			_ = ln.Close()
			return
		}
	case plan.RateChanged:
		b.rateChanged(now, old)
	}
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
// refuse resets a connection accepted while the backend is down (in its
// repair's lead), after reading its request line, for up to refuseRead:
// a request (not a health check) is counted as the backend's, refused,
// as the simulator counts every attempt sent to a crashed server, and as
// edgelab's gateway counts the connections a closed listener refused.
func (b *Backend) refuse(c net.Conn) {
	defer resetConn(c)
	_ = c.SetReadDeadline(time.Now().Add(refuseRead))
	var r io.Reader = c
	if b.fleet.tls != nil {
		r = tls.Server(c, b.fleet.tls) // the request line is inside TLS
	}
	line, err := bufio.NewReaderSize(r, 512).ReadSlice('\n')
	if err != nil {
		return // nothing, or not a request line, in time
	}
	f := bytes.Fields(line)
	if len(f) < 2 || bytes.HasPrefix(f[1], []byte("/healthz")) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.requests++
	}
}

// refuseRead bounds the wait for a refused connection's request line.
const refuseRead = 100 * time.Millisecond

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

// prelisten binds the backend's address RepairLead before its last crash
// ends (Down is 1), so that it listens at the repair; until then its
// listener resets what it accepts (trackListener). If the address cannot
// be bound now, the repair tries again.
func (b *Backend) prelisten() {
	b.mu.Lock()
	ready := !b.closed && b.ln == nil && b.cond.Down == 1
	b.mu.Unlock()
	if !ready {
		return
	}
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.ln != nil || b.cond.Down != 1 {
		_ = ln.Close()
		return
	}
	b.serveLocked(ln)
}

// relisten binds the backend's address and serves, unless it crashed
// again or closed meanwhile, or already listens (prelisten); false when
// the address could not be bound.
func (b *Backend) relisten() bool {
	b.mu.Lock()
	listening := b.ln != nil || b.closed
	b.mu.Unlock()
	if listening {
		return true
	}
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		b.fleet.logf("live: %s: listen on %s after repair: %v", b.id, b.addr, err)
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.cond.Down > 0 || b.ln != nil {
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
		var l net.Listener = &trackListener{Listener: ln, b: b}
		if b.fleet.tls != nil {
			l = tls.NewListener(l, b.fleet.tls)
		}
		err := b.srv.Serve(l)
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
		if b.cond.Down > 0 || b.closed {
			closed := b.closed
			b.mu.Unlock()
			if closed {
				resetConn(c)
			} else {
				go b.refuse(c)
			}
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
