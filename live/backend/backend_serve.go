package backend

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// job is one request at a backend.
type job struct {
	work    float64       // remaining demand at speed 1 (ns), as of upd
	demand  float64       // the whole demand (ns at speed 1)
	upd     time.Duration // FIFO: when work was last booked
	pos     int           // FIFO: index in inSvc, -1 when not in service
	seq     uint64        // request serial (error dice)
	attempt uint64        // attempt number (error dice)
	ready   chan struct{} // closed when a queued FIFO job gets a worker, or a PS job departs
	crash   chan struct{} // the backend's crash channel when the job arrived
	lat     time.Duration // added latency the answer waits after service
	failed  bool          // the answer is a 5xx (decided at delivery)
	sig     strategies.Signal
}

// crashed reports whether the backend crashed (or closed) since the job
// arrived.
func (j *job) crashed() bool {
	select {
	case <-j.crash:
		return true
	default:
		return false
	}
}

// errCrashed aborts a handler whose backend crashed: the connection is
// reset without an answer.
var errCrashed = http.ErrAbortHandler

func (b *Backend) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !b.enter() {
		panic(errCrashed)
	}
	defer b.wg.Done()
	if r.URL.Path == "/healthz" {
		b.health(w, r)
		return
	}
	if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxRequestBody)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			b.plain(w, http.StatusRequestEntityTooLarge, "", "request body too large\n")
			return
		}
		// The client went away or the connection broke: a real server
		// would not see the request either.
		panic(errCrashed)
	}
	j, err := b.parse(r)
	if err != nil {
		b.plain(w, http.StatusBadRequest, "", err.Error()+"\n")
		return
	}
	b.serve(w, j)
}

// enter admits a handler unless the backend is down or closed: a request
// read just before a crash is reset like the others.
func (b *Backend) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.cond.Down > 0 {
		return false
	}
	b.wg.Add(1)
	return true
}

// parse reads the request's serial, attempt and demand from its headers,
// drawing the demand when the request carries none or is a retry or hedge.
func (b *Backend) parse(r *http.Request) (*job, error) {
	j := &job{pos: -1}
	if s := r.Header.Get(wire.HeaderAttempt); s != "" {
		a, err := wire.ParseNumber(strings.TrimSpace(s), 32)
		if err != nil {
			return nil, fmt.Errorf("bad %s %q: want a number from 0", wire.HeaderAttempt, s)
		}
		j.attempt = a
	}
	if s := r.Header.Get(wire.HeaderSeq); s != "" {
		q, err := wire.ParseNumber(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("bad %s %q: want a request number from 1", wire.HeaderSeq, s)
		}
		j.seq = q
	}
	d, ok, err := wire.GroupDemand(r.Header.Get(wire.HeaderDemand), b.group)
	if err != nil {
		return nil, err
	}
	if ok && j.attempt == 0 {
		j.work = d
	} else {
		// A retry or hedge takes an independent service time, as in the
		// simulator; so does a request that brings none.
		j.work = b.demand.draw(j.attempt > 0)
	}
	j.demand = j.work
	return j, nil
}

// serve admits job j, serves it and answers.
func (b *Backend) serve(w http.ResponseWriter, j *job) {
	arrived := time.Now()
	b.mu.Lock()
	if b.cond.Down > 0 || b.closed {
		b.mu.Unlock()
		panic(errCrashed)
	}
	now := b.now()
	b.requests++
	if j.seq == 0 {
		b.seq++
		j.seq = b.seq
	}
	j.crash = b.crashCh
	var admitted bool
	if b.ps {
		admitted = b.psArrive(now, j)
	} else {
		admitted = b.fifoArrive(now, j)
	}
	if !admitted {
		b.full++
		sig := b.signal()
		b.mu.Unlock()
		b.answer(w, http.StatusServiceUnavailable, plan.QueueFull.String(), sig, "queue full\n")
		return
	}
	b.mu.Unlock()

	if j.ready != nil {
		// Queued (FIFO) or in the PS pool: wait to be started or served.
		select {
		case <-j.ready:
		case <-j.crash:
			select {
			case <-j.ready: // served just before: its answer stands
			default:
				panic(errCrashed)
			}
		}
	}
	if !b.ps && !b.fifoService(j) {
		panic(errCrashed)
	}
	if j.lat > 0 {
		// A slow failure's latency holds the answer back, not the worker.
		t := time.NewTimer(j.lat)
		select {
		case <-t.C:
		case <-j.crash:
			t.Stop()
			panic(errCrashed)
		}
		b.mu.Lock()
		if j.crashed() {
			b.mu.Unlock()
			panic(errCrashed)
		}
		b.deliver--
		b.decide(j)
		b.mu.Unlock()
	}
	// What an access log records of the answer: its demand and its time
	// here.
	h := w.Header()
	h.Set(wire.HeaderWork, strconv.FormatInt(int64(j.demand), 10))
	h.Set(wire.HeaderUpstreamTime, strconv.FormatInt(int64(time.Since(arrived)), 10))
	if j.failed {
		b.answer(w, http.StatusInternalServerError, plan.Error5xx.String(), j.sig, "error\n")
		return
	}
	b.answer(w, http.StatusOK, "", j.sig, "ok\n")
}

// depart books the end of j's service (b.mu held): its answer is decided
// now, or after the active slow latency.
func (b *Backend) depart(j *job) {
	b.served++
	if b.cond.Latency > 0 {
		j.lat = b.cond.Latency
		b.deliver++
		return
	}
	b.decide(j)
}

// decide draws j's answer and takes the load signal it carries (b.mu
// held): 5xx with the errors probability combined with active errors
// failures, from the dice plan.Condition.AnswersError throws for (seq,
// attempt) in both worlds.
func (b *Backend) decide(j *job) {
	if b.cond.AnswersError(b.errors, b.errKey, j.seq, j.attempt) {
		j.failed = true
		b.errs++
	}
	j.sig = b.signal()
}

// rate is the work done per nanosecond by one busy worker (0 when hung).
func (b *Backend) rate() float64 { return b.cond.Rate(b.speed) }

// signal is the backend's load now (b.mu held), as a simulated server
// reports it (plan.Condition.Signal): requests queued, in service or held
// back by a latency, busy workers, and the mean service time at the
// current speed plus the added latency.
func (b *Backend) signal() strategies.Signal {
	inFlight, busy := b.busy+len(b.queue), b.busy
	if b.ps {
		n := b.jobs.Len()
		inFlight, busy = n, min(n, b.conc)
	}
	return b.cond.Signal(inFlight+b.deliver, busy, b.conc, b.speed, b.meanDemand)
}

// answer writes an answer with the backend's id and load signal.
func (b *Backend) answer(w http.ResponseWriter, code int, outcome string, sig strategies.Signal, body string) {
	wire.SetSignal(w.Header(), sig)
	b.plain(w, code, outcome, body)
}

// plain writes a small text answer naming the backend.
func (b *Backend) plain(w http.ResponseWriter, code int, outcome, body string) {
	h := w.Header()
	h.Set(wire.HeaderServer, b.id)
	if outcome != "" {
		h.Set(wire.HeaderOutcome, outcome)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// health answers GET /healthz: at once when up, after the added latency
// when slow, not before the hang ends when hung; a crashed backend
// refuses the connection (or resets it).
func (b *Backend) health(w http.ResponseWriter, r *http.Request) {
	for {
		b.mu.Lock()
		if b.cond.Hung == 0 {
			lat, sig, crash := b.cond.Latency, b.signal(), b.crashCh
			b.mu.Unlock()
			if lat > 0 {
				t := time.NewTimer(lat)
				select {
				case <-t.C:
				case <-crash:
					t.Stop()
					panic(errCrashed)
				case <-r.Context().Done():
					t.Stop()
					return
				}
			}
			b.answer(w, http.StatusOK, "", sig, "ok\n")
			return
		}
		change, crash := b.rateCh, b.crashCh
		b.mu.Unlock()
		select {
		case <-change:
		case <-crash:
			panic(errCrashed)
		case <-r.Context().Done():
			return // the prober gave up
		}
	}
}

// FIFO: up to conc requests in service, the others wait in arrival order.

// fifoArrive admits j (b.mu held): into service, into the waiting room,
// or not at all (false) when the room is full.
func (b *Backend) fifoArrive(now time.Duration, j *job) bool {
	if b.busy < b.conc {
		b.busy++
		b.busyAvg.Set(now, float64(b.busy))
		b.startService(now, j)
		return true
	}
	if b.queueCap >= 0 && len(b.queue) >= b.queueCap {
		return false
	}
	j.ready = make(chan struct{})
	b.queue = append(b.queue, j)
	b.queueAvg.Set(now, float64(len(b.queue)))
	return true
}

func (b *Backend) startService(now time.Duration, j *job) {
	j.upd = now
	j.pos = len(b.inSvc)
	b.inSvc = append(b.inSvc, j)
	if j.ready != nil {
		close(j.ready)
	}
}

// fifoService holds a worker for j's remaining work at the backend's
// current rate, re-planning when the rate changes (slow factor, hang);
// false when the backend crashed meanwhile.
//
// Go timers fire at or after their deadline, by up to a millisecond on
// Linux; the timer aims early by the fleet's learned overshoot (skew), and
// a departure is booked when it fires.
func (b *Backend) fifoService(j *job) bool {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	fired := false
	var change chan struct{}
	for {
		b.mu.Lock()
		if j.crashed() {
			b.mu.Unlock()
			return false
		}
		now := b.now()
		r := b.rate()
		wait := time.Duration(-1)
		if r > 0 {
			left := j.work - r*float64(now-j.upd)
			// A timer that fired with no rate change since it was set
			// means done, whatever rounding left over.
			if left <= 0 || (fired && change == b.rateCh) {
				b.fifoDone(now, j)
				b.mu.Unlock()
				return true
			}
			wait = workloads.Nanos(left / r)
		}
		change = b.rateCh
		b.mu.Unlock()
		fired = false
		var timeout <-chan time.Time
		var aimed time.Duration
		var set time.Time
		if wait >= 0 {
			aimed, set = b.fleet.skew.Aim(wait), time.Now()
			if t == nil {
				t = time.NewTimer(aimed)
			} else {
				t.Reset(aimed)
			}
			timeout = t.C
		}
		select {
		case <-timeout:
			b.fleet.skew.Observe(aimed, time.Since(set))
			fired = true
		case <-change:
		case <-j.crash:
			return false
		}
	}
}

// fifoDone ends j's service (b.mu held): its worker takes the next
// waiting request, if any.
func (b *Backend) fifoDone(now time.Duration, j *job) {
	last := b.inSvc[len(b.inSvc)-1]
	b.inSvc[j.pos] = last
	last.pos = j.pos
	b.inSvc[len(b.inSvc)-1] = nil
	b.inSvc = b.inSvc[:len(b.inSvc)-1]
	j.pos = -1
	if len(b.queue) > 0 {
		next := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		b.queueAvg.Set(now, float64(len(b.queue)))
		b.startService(now, next)
	} else {
		b.busy--
		b.busyAvg.Set(now, float64(b.busy))
	}
	b.depart(j)
}

// Processor sharing, as the simulator: n requests share the conc workers,
// each progressing at rate·min(1, conc/n). v is the work every request
// present has received; one arriving when v = v0 with demand d leaves
// when v reaches v0 + d. One goroutine per backend (psLoop) sleeps until
// the next departure and is woken when arrivals or failures change it.

// psArrive admits j into the pool (b.mu held), or refuses it (false) when
// conc + queue requests are already present.
func (b *Backend) psArrive(now time.Duration, j *job) bool {
	if b.queueCap >= 0 && b.jobs.Len() >= b.conc+b.queueCap {
		return false
	}
	b.psAdvance(now)
	j.ready = make(chan struct{})
	heap.Push(&b.jobs, psEntry{tag: b.share.V + j.work, job: j})
	b.psGauges(now)
	b.wake()
	return true
}

// psAdvanceAt books the work done since the last advance at rate (b.mu
// held).
func (b *Backend) psAdvanceAt(now time.Duration, rate float64) {
	b.share.Advance(now, b.jobs.Len(), b.conc, rate)
}

func (b *Backend) psAdvance(now time.Duration) { b.psAdvanceAt(now, b.rate()) }

func (b *Backend) psGauges(now time.Duration) {
	n := b.jobs.Len()
	b.busyAvg.Set(now, float64(min(n, b.conc)))
	b.queueAvg.Set(now, float64(max(0, n-b.conc)))
}

// wake nudges the PS loop to re-plan its next departure.
func (b *Backend) wake() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// psLoop departs PS requests when the virtual time reaches their tags.
func (b *Backend) psLoop() {
	defer b.wg.Done()
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return
		}
		now := b.now()
		b.psAdvance(now)
		wait := time.Duration(-1)
		for b.jobs.Len() > 0 {
			r := plan.Share(b.jobs.Len(), b.conc, b.rate())
			if r <= 0 {
				break // hung: nothing progresses
			}
			e := b.jobs.min()
			// Within a microsecond counts as done: the timer is set for
			// the tag and fires at or after it.
			if left := (e.tag - b.share.V) / r; left > float64(time.Microsecond) {
				wait = workloads.Nanos(left)
				break
			}
			heap.Pop(&b.jobs)
			b.share.V = max(b.share.V, e.tag)
			b.psGauges(now)
			b.depart(e.job)
			close(e.job.ready)
		}
		b.mu.Unlock()
		var timeout <-chan time.Time
		if wait >= 0 {
			t.Reset(wait)
			timeout = t.C
		} else {
			t.Stop()
		}
		select {
		case <-timeout:
		case <-b.kick:
		}
	}
}

// psEntry is a PS request and its finish tag.
type psEntry struct {
	tag float64
	seq uint64 // arrival order, breaks ties
	job *job
}

// psHeap orders PS requests by finish tag, then arrival.
type psHeap struct {
	e    []psEntry
	next uint64
}

func (h *psHeap) Len() int { return len(h.e) }
func (h *psHeap) Less(i, k int) bool {
	if h.e[i].tag != h.e[k].tag {
		return h.e[i].tag < h.e[k].tag
	}
	return h.e[i].seq < h.e[k].seq
}
func (h *psHeap) Swap(i, k int) { h.e[i], h.e[k] = h.e[k], h.e[i] }

// Push adds x (a psEntry); for container/heap.
func (h *psHeap) Push(x any) {
	e := x.(psEntry)
	e.seq = h.next
	h.next++
	h.e = append(h.e, e)
}

// Pop removes the last entry; for container/heap.
func (h *psHeap) Pop() any {
	n := len(h.e) - 1
	e := h.e[n]
	h.e[n] = psEntry{}
	h.e = h.e[:n]
	return e
}

func (h *psHeap) min() psEntry { return h.e[0] }

func (h *psHeap) reset() {
	clear(h.e)
	h.e = h.e[:0]
}
