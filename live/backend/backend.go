package backend

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/internal/clock"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// Emulated backends.
//
// A Fleet runs one real HTTP server on loopback per server instance of the
// scenario (plan.Servers) and makes it behave as a simulated server does,
// on wall time; what the two share is plan's (the failure plan and
// Condition, the error dice, the load signal, processor sharing's clock):
//
//   - concurrency workers and a waiting room of queue places (unbounded
//     when the scenario omits it); a request finding the room full is
//     answered 503 with outcome queue_full at once;
//   - fifo serves up to concurrency requests at once in arrival order; ps
//     (processor sharing) serves every admitted request at once, each at
//     speed·min(1, concurrency/n) with n requests present (plan.Sharing)
//     on wall time: one timer per backend for the next departure;
//   - a request holds its worker for its demand (X-Edgelab-Demand, the
//     value of the backend's group) divided by the instance's speed and by
//     active slow factors; retries and hedges (X-Edgelab-Attempt > 0) and
//     requests without the header draw a demand from the group's service
//     distribution, as the simulator does;
//   - a served request answers 500 (outcome error_5xx) with the group's
//     errors probability combined with active errors failures, from the
//     counter-based dice on (seq, attempt) (plan.Condition.AnswersError);
//   - every answer carries X-Edgelab-Server and the load signal headers
//     (plan.Condition.Signal);
//   - the failure schedule plays for real (see Play): a crash closes the
//     listener (connections refused) and resets open connections (requests
//     in flight fail), and the repair listens again on the same port; a
//     hang stops all service progress (requests are still accepted and
//     queued, /healthz does not answer) and service resumes where it
//     stopped when the hang ends; slow latency delays answers without
//     holding a worker, slow factor divides the speed; errors raises the
//     5xx probability.
//
// Differences from the simulator, inherent to wall time:
//
//   - sleeping relies on Go timers, which fire at or after their deadline
//     (typically tens of microseconds late on an idle Linux machine, up to
//     a millisecond or more on a loaded one), and a goroutine needs to be
//     scheduled to answer; short demands are therefore served a little
//     slower than asked;
//   - demands drawn here (no header, or attempt > 0) come from the same
//     streams as the simulator's but in the order requests happen to
//     arrive, so they match the simulator's only in distribution;
//   - requests a connection reset never delivered (refused connections) are
//     not counted in Requests, whereas the simulator counts every attempt
//     sent to a crashed server (edgelab's gateway adds the refused ones;
//     an external gateway's are not seen);
//   - a crashed backend listens again RepairLead (50 ms) before its repair
//     and resets what it accepts until then, so that it is up at its
//     repair time as the simulator's instance is; a request in that lead
//     fails as a refused one does, and is counted as the backend's (its
//     request line read first, health checks left out);
//   - GET /healthz of a hung backend answers when the hang ends (a
//     prober's timeout decides), and one of a slow backend answers after
//     the added latency; the simulator decides at the probe's start;
//   - autoscaling is not live: an autoscaled group serves every instance
//     it may ever have (Slots) from the start; instances beyond its
//     initial count report Spare, so a caller can leave them out.

// maxRequestBody bounds the request body a backend reads (and discards).
const maxRequestBody = 1 << 20

// FleetOptions configures StartFleet.
type FleetOptions struct {
	// Rep is the replication whose random streams the backends draw from
	// (0 for a live run).
	Rep int
	// BasePort, when not 0, is the port of the first backend: backend k
	// in scenario order listens on 127.0.0.1:BasePort+k. 0 picks ephemeral
	// ports.
	BasePort int
	// Logf receives messages about the failures played and server errors
	// (nil = silent).
	Logf func(format string, args ...any)
	// TLS, when set, makes every backend serve HTTPS with it (the
	// balancer re-encrypts: balancer.upstream.tls); URL is then https://.
	TLS *tls.Config
}

// Fleet is the emulated backends of one scenario: one HTTP server per
// server instance, behaving like the simulator's server (the comment at
// the top of backend.go lists how, and where wall time makes it differ).
type Fleet struct {
	epoch    time.Time // the origin of the backends' time integrals
	backends []*Backend
	sc       *workloads.Scenario
	rep      int
	logf     func(format string, args ...any)
	tls      *tls.Config   // nil: plain HTTP
	quit     chan struct{} // closed by Close: stops the failure schedule
	skew     clock.Skew    // the timers' learned overshoot

	mu      sync.Mutex
	played  bool
	closed  bool
	windows []reports.FailureWindow
	wg      sync.WaitGroup // the schedule player and re-listeners
}

// demandSource draws service demands for one server group, for every
// backend of the group.
type demandSource struct {
	mu           sync.Mutex
	first, extra workloads.Sampler
}

// draw returns a demand in nanoseconds at speed 1: from the first-attempt
// stream, or for retries and hedges (extra) from their own.
func (d *demandSource) draw(extra bool) float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if extra {
		return d.extra.Sample()
	}
	return d.first.Sample()
}

// StartFleet binds one listener on 127.0.0.1 per server instance of the
// scenario (ephemeral ports unless opt.BasePort is set) and serves. The
// failure schedule does not play until Play. The scenario must have passed
// validation.
func StartFleet(sc *workloads.Scenario, opt FleetOptions) (*Fleet, error) {
	if sc == nil {
		return nil, errors.New("start fleet: no scenario")
	}
	n := sc.Instances()
	if opt.BasePort != 0 && (opt.BasePort < 1 || opt.BasePort+n-1 > 65535) {
		return nil, fmt.Errorf("start fleet: base port %d leaves no room for %d backends", opt.BasePort, n)
	}
	f := &Fleet{epoch: time.Now(), sc: sc, rep: opt.Rep, logf: opt.Logf, tls: opt.TLS, quit: make(chan struct{})}
	if f.logf == nil {
		f.logf = func(string, ...any) {}
	}
	errKey := engine.Key(sc.Seed, opt.Rep, "errors")
	demand := make([]*demandSource, len(sc.Servers))
	for gi := range sc.Servers {
		g := &sc.Servers[gi]
		demand[gi] = &demandSource{
			first: g.Service.Sampler(engine.Source(sc.Seed, opt.Rep, "demand/"+g.Name)),
			extra: g.Service.Sampler(engine.Source(sc.Seed, opt.Rep, "demand-extra/"+g.Name)),
		}
	}
	for _, sv := range plan.Servers(sc) {
		g := &sc.Servers[sv.Group]
		qc := -1
		if g.Queue != nil {
			qc = *g.Queue
		}
		addr := "127.0.0.1:0"
		if opt.BasePort != 0 {
			addr = plan.BackendAddr(opt.BasePort, len(f.backends))
		}
		b := newBackend(f, backendConfig{
			id: sv.ID, group: sv.Group, spare: sv.Index >= g.Count,
			conc: g.Concurrency, queueCap: qc, ps: g.Discipline == workloads.DisciplinePS,
			speed: sv.Speed, errors: g.Errors, errKey: errKey,
			meanDemand: g.Service.MeanSeconds() * 1e9, demand: demand[sv.Group],
		})
		if err := b.start(addr); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("start backend %s: %w", b.id, err)
		}
		f.backends = append(f.backends, b)
	}
	return f, nil
}

// Backends returns the backends in scenario order (group 0's instances,
// then group 1's, ...), the order of the simulator's servers.
func (f *Fleet) Backends() []*Backend {
	return append([]*Backend(nil), f.backends...)
}

// Windows returns the failure windows Play plays, as the simulator lists
// them in results (nil before Play).
func (f *Fleet) Windows() []reports.FailureWindow {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]reports.FailureWindow(nil), f.windows...)
}

// Close stops the failure schedule and every backend (requests in flight
// fail) and waits for all their goroutines.
func (f *Fleet) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.quit)
	f.mu.Unlock()
	var errs []error
	for _, b := range f.backends {
		if err := b.close(); err != nil {
			errs = append(errs, fmt.Errorf("close backend %s: %w", b.id, err))
		}
	}
	f.wg.Wait()
	return errors.Join(errs...)
}

// Stats are a backend's cumulative counters since StartFleet. The
// difference of two readings covers the span between their At: utilization
// = ΔBusy / (Concurrency · Δt), mean queue = ΔQueue / Δt, as the simulator
// defines them.
type Stats struct {
	// Requests counts the requests the backend received (served, queued or
	// refused with queue_full), as the simulator's per-server requests;
	// health checks are not counted.
	Requests int64
	// Served counts requests that finished service (answered or, with a
	// slow failure's latency, about to be).
	Served int64
	// QueueFull counts requests refused because the waiting room was full.
	QueueFull int64
	// Errors counts 5xx answers (errors probability and errors failures).
	Errors int64
	// Busy is the time integral of busy workers, in worker-seconds.
	Busy float64
	// Queue is the time integral of the waiting-room length (requests
	// waiting for a worker, not those in service), in request-seconds.
	Queue float64
	// Concurrency is the backend's number of workers.
	Concurrency int
	// At is when the counters were read.
	At time.Time
}

// backendConfig is what a backend takes from its group.
type backendConfig struct {
	id         string
	group      int
	spare      bool
	conc       int
	queueCap   int // -1: unbounded
	ps         bool
	speed      float64
	errors     float64
	errKey     uint64
	meanDemand float64 // ns at speed 1, for the service-time signal
	demand     *demandSource
}

// Backend is one emulated server instance.
type Backend struct {
	backendConfig
	fleet *Fleet
	srv   *http.Server
	addr  string // 127.0.0.1:port, fixed at start (a repair listens on it again)
	kick  chan struct{}

	mu       sync.Mutex
	closed   bool
	ln       net.Listener          // nil while crashed
	conns    map[net.Conn]struct{} // open connections, reset by a crash
	cond     plan.Condition        // what active failures do to the backend
	rateCh   chan struct{}         // closed and replaced when rate or hang changes
	crashCh  chan struct{}         // closed and replaced by a crash (and Close)
	busy     int                   // FIFO: busy workers
	queue    []*job                // FIFO: waiting requests
	inSvc    []*job                // FIFO: requests in service
	jobs     psHeap                // PS: requests present, by finish tag
	share    plan.Sharing          // PS: the work every present request received
	deliver  int                   // served requests a slow latency still holds back
	busyAvg  reports.TimeAverage   // busy workers
	queueAvg reports.TimeAverage   // waiting requests
	seq      uint64                // fallback request serial when X-Edgelab-Seq is absent
	requests int64
	served   int64
	full     int64
	errs     int64
	wg       sync.WaitGroup // handlers, Serve loops and the PS loop
}

func newBackend(f *Fleet, c backendConfig) *Backend {
	b := &Backend{
		backendConfig: c, fleet: f, kick: make(chan struct{}, 1),
		conns: make(map[net.Conn]struct{}), cond: plan.Healthy(),
		rateCh: make(chan struct{}), crashCh: make(chan struct{}),
	}
	b.srv = &http.Server{
		Handler:           http.HandlerFunc(b.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(logWriter(f.logf), "live: backend "+c.id+": ", 0),
	}
	return b
}

// logWriter adapts a Logf function to an io.Writer for log.Logger.
type logWriter func(format string, args ...any)

// Write logs p, one message per call.
func (w logWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// start binds addr and serves (and, for ps, starts the scheduler).
func (b *Backend) start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	b.addr = ln.Addr().String()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.serveLocked(ln)
	if b.ps {
		b.wg.Add(1)
		go b.psLoop()
	}
	return nil
}

// ID returns the instance id, "<group>-<i>" as in the simulator.
func (b *Backend) ID() string { return b.id }

// URL returns the backend's base URL, http://127.0.0.1:port (https://
// with FleetOptions.TLS).
func (b *Backend) URL() string {
	if b.fleet.tls != nil {
		return "https://" + b.addr
	}
	return "http://" + b.addr
}

// Addr returns the backend's listening address, 127.0.0.1:port.
func (b *Backend) Addr() string { return b.addr }

// Group returns the index of the backend's server group in the scenario.
func (b *Backend) Group() int { return b.group }

// Spare reports whether the instance is beyond its group's initial count:
// a slot only an autoscaler would fill (autoscaling is not live; the
// backend serves anyway).
func (b *Backend) Spare() bool { return b.spare }

// Stats returns the backend's cumulative counters; safe to call
// concurrently with serving.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	at := time.Now()
	now := at.Sub(b.fleet.epoch)
	return Stats{
		Requests: b.requests, Served: b.served, QueueFull: b.full, Errors: b.errs,
		Busy:        b.busyAvg.Integral(now) / 1e9,
		Queue:       b.queueAvg.Integral(now) / 1e9,
		Concurrency: b.conc,
		At:          at,
	}
}

// now is the backend's clock: time since the fleet started. Read it with
// b.mu held so that the time integrals see non-decreasing times.
func (b *Backend) now() time.Duration { return time.Since(b.fleet.epoch) }

// close stops the backend: requests in flight fail, goroutines end.
func (b *Backend) close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.crashCh) // every waiting handler gives up
	b.ln = nil
	b.mu.Unlock()
	b.wake()
	err := b.srv.Close() // closes the listener and every connection
	b.wg.Wait()
	return err
}
