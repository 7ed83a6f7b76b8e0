package plan

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/edgelab/edgelab/workloads"
)

// Limits of what a simulation may ask of the machine before it starts
// (Estimate.Check); an explicit override (edgelab's --force) lifts them.
const (
	// MaxRequests bounds the simulated client requests of a run, all
	// strategies and replications together: about an hour at the
	// simulator's measured 5–6 million requests per second on two cores
	// (docs/performance.md).
	MaxRequests = 2e10
	// MaxBytes bounds the memory a run takes apart from its requests in
	// flight (which sim bounds as it runs): instances, pools, hash rings
	// and lookup tables of the replications running at once, and the
	// per-instance time series that results.json and report.html carry.
	MaxBytes = 8 << 30
)

// Sizes used by the estimate, measured on this machine with `edgelab run`
// and its peak RSS (docs/performance.md, "Limits"): 100,000 servers take
// about 1.9 KB each on a short run; a ring-hash ring about 64 bytes a
// point; each instance's two time series about 70 bytes a bucket apiece
// once written to results.json and report.html (8 GB for 100,000
// instances over 600 buckets).
const (
	bytesPerServer   = 2048
	bytesPerEndpoint = 256
	bytesPerRingPt   = 64
	bytesPerBucket   = 70
	maxBuckets       = 600 // sim's bound on a series' length
)

// Estimate is what simulating a scenario will ask of the machine, worked
// out from its keys before anything runs.
type Estimate struct {
	// Requests is the number of client requests, all strategies and
	// replications together; RequestsWhy says which keys make it.
	Requests    float64
	RequestsWhy string
	// Bytes is the memory the run takes apart from its requests in
	// flight; BytesWhy names the largest share.
	Bytes    float64
	BytesWhy string
}

// EstimateRun estimates a simulation of sc comparing strategies (as
// Strategies returns them) with up to parallel replications at once (0 =
// one per CPU).
func EstimateRun(sc *workloads.Scenario, strategies []string, parallel int) Estimate {
	var e Estimate
	run := sc.Warmup.D() + sc.Duration.D()
	reps, n := float64(sc.Replications), float64(len(strategies))
	a := &sc.Clients.Arrival
	if a.Process == workloads.ProcessClosed {
		// Each user sends at most one request per think time; without
		// thinking, one per answer: the fastest group's mean service time
		// at its highest speed, or a 1 ms round trip (sim.MinResend) when
		// answers take no time.
		cycle := a.Think.D()
		if cycle <= 0 {
			cycle = fastestService(sc)
		}
		if cycle <= 0 {
			cycle = time.Millisecond
		}
		perRep := float64(a.Users) * run.Seconds() / cycle.Seconds()
		e.Requests = perRep * reps * n
		e.RequestsWhy = fmt.Sprintf("clients.arrival.users %d × (warmup + duration) %v / think %v × replications %d × strategies %d",
			a.Users, run, cycle, sc.Replications, len(strategies))
	} else {
		rate := a.MeanRate(0, run)
		e.Requests = rate * run.Seconds() * reps * n
		e.RequestsWhy = fmt.Sprintf("clients.arrival.rate %.3g/s × (warmup + duration) %v × replications %d × strategies %d",
			rate, run, sc.Replications, len(strategies))
	}

	// Memory before the first request, per replication: the largest of
	// the strategies' set-ups.
	slots := float64(TotalSlots(sc))
	inst := 1.0
	if sc.Gateway != nil {
		inst = float64(sc.Gateway.Instances)
	}
	buckets := min(maxBuckets, math.Ceil(run.Seconds()))
	series := share{slots * 2 * buckets * bytesPerBucket * n,
		fmt.Sprintf("%.0f server instances × %.0f buckets of (warmup + duration) %v × strategies %d in results.json's per-instance series", slots, buckets, run, len(strategies))}
	shares := []share{
		{slots * bytesPerServer, fmt.Sprintf("%.0f server instances (servers[].count, or autoscale.max)", slots)},
		{slots * inst * bytesPerEndpoint, fmt.Sprintf("%.0f server instances × gateway.instances %.0f pools", slots, inst)},
	}
	if g := sc.Gateway; g != nil {
		shares = append(shares, share{float64(g.Instances) * float64(g.Concurrency) * 32,
			fmt.Sprintf("gateway.instances %d × gateway.concurrency %d workers", g.Instances, g.Concurrency)})
	}
	if sc.Connections() {
		// Each client's list of idle connections, and a connection (24
		// bytes) per client at least.
		shares = append(shares, share{float64(sc.Clients.Count) * 28,
			fmt.Sprintf("clients.count %d clients' connections (clients.keepalive, gateway.tls)", sc.Clients.Count)})
	}
	var worst share
	for _, s := range strategies {
		p := sc.Balancer.Params[s]
		switch s {
		case "ring-hash", "bounded-hash":
			vnodes := param(p, "vnodes", 160)
			worst = bigger(worst, share{slots * inst * vnodes * bytesPerRingPt,
				fmt.Sprintf("%s: %.0f server instances × gateway.instances %.0f × balancer.params.%s.vnodes %.0f ring points", s, slots, inst, s, vnodes)})
		case "maglev":
			m := param(p, "table_size", 65537)
			pools := inst * float64(max(1, len(sc.Servers)))
			worst = bigger(worst, share{pools * m * 4 * 2,
				fmt.Sprintf("maglev: %.0f pools × balancer.params.maglev.table_size %.0f", pools, m)})
		}
	}
	shares = append(shares, worst)
	per, top := 0.0, share{}
	for _, s := range shares {
		per += s.bytes
		top = bigger(top, s)
	}
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	at := float64(min(parallel, sc.Replications))
	e.Bytes = per*at + series.bytes
	e.BytesWhy = top.why
	if at > 1 {
		e.BytesWhy += fmt.Sprintf(", × %.0f replications at once", at)
	}
	if series.bytes > top.bytes*at {
		e.BytesWhy = series.why
	}
	return e
}

// fastestService is the shortest mean service time of any server group
// at its highest speed.
func fastestService(sc *workloads.Scenario) time.Duration {
	best := time.Duration(-1)
	for gi := range sc.Servers {
		g := &sc.Servers[gi]
		speed := 1.0
		for i := 0; i < g.Slots(); i++ {
			speed = max(speed, g.Speed.At(i, 1))
		}
		d := time.Duration(g.Service.MeanSeconds() / speed * 1e9)
		if best < 0 || d < best {
			best = d
		}
	}
	return max(best, 0)
}

func param(p map[string]float64, name string, def float64) float64 {
	if v, ok := p[name]; ok {
		return v
	}
	return def
}

// share is a part of a set-up's memory and the keys behind it.
type share struct {
	bytes float64
	why   string
}

// bigger returns the larger share.
func bigger(a, b share) share {
	if b.bytes > a.bytes {
		return b
	}
	return a
}

// Check refuses an estimate over MaxRequests or MaxSetupBytes with an
// input error at the key most responsible, saying what to change.
func (e Estimate) Check(sc *workloads.Scenario) error {
	if e.Requests > MaxRequests {
		field := "clients.arrival.rate"
		if sc.Clients.Arrival.Process == workloads.ProcessClosed {
			field = "clients.arrival.users"
		}
		return sc.FieldError(field, "the run asks for about %.2g simulated requests (%s), more than %.0g (about an hour of simulation); lower them, or pass --force to run it anyway",
			e.Requests, e.RequestsWhy, float64(MaxRequests))
	}
	if e.Bytes > MaxBytes {
		field := "servers"
		if strings.Contains(e.BytesWhy, "balancer.params") {
			field = "balancer.params"
		} else if strings.HasPrefix(e.BytesWhy, "gateway.") {
			field = "gateway"
		}
		return sc.FieldError(field, "the run needs about %.1f GiB (%s), more than %d GiB; lower them, or pass --force to run it anyway",
			e.Bytes/math.Exp2(30), e.BytesWhy, MaxBytes>>30)
	}
	return nil
}
