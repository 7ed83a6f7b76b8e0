package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/edgelab/edgelab/workloads"
)

// startHealth starts one active health checker per upstream when the
// scenario asks for active health checking. Probes are staggered evenly
// over one interval from the run's start, as the simulator staggers them.
func (p *proxy) startHealth() {
	a := p.probe
	if a == nil || len(p.ups) == 0 || a.Interval <= 0 {
		return
	}
	n := time.Duration(len(p.ups))
	for ui := range p.ups {
		p.wg.Add(1)
		go p.checker(ui, a.Interval.D()*time.Duration(ui)/n, a)
	}
}

// checker probes upstream ui every interval until the proxy closes and
// reports each result to its pool.
func (p *proxy) checker(ui int, offset time.Duration, a *workloads.ActiveHealth) {
	defer p.wg.Done()
	u := &p.ups[ui]
	iv := a.Interval.D()
	next := p.start.Add(offset)
	t := time.NewTimer(max(time.Until(next), 0))
	defer t.Stop()
	healthy := true
	for {
		select {
		case <-p.stop.Done():
			return
		case <-t.C:
		}
		ok := p.probeOnce(ui, a.Timeout.D())
		if p.stop.Err() != nil {
			return // cancelled by Close: not a verdict on the upstream
		}
		p.mu.Lock()
		pp := p.pools[u.pool]
		pp.pool.ProbeResult(p.now(), u.local, ok)
		up := pp.pool.Health(u.local).ActiveHealthy
		if ok {
			p.signals[ui].downUntil = 0
		}
		p.mu.Unlock()
		if up != healthy {
			healthy = up
			state := "unhealthy"
			if up {
				state = "healthy"
			}
			p.logf("live: gateway %d: upstream %s is %s (active health check)", p.cfg.Instance, u.ID, state)
		}
		// The next probe one interval after this one was due; probes that
		// could not run in time are skipped, not bunched.
		for next = next.Add(iv); time.Until(next) < 0; next = next.Add(iv) {
		}
		t.Reset(time.Until(next))
	}
}

// probeOnce sends GET /healthz to upstream ui; a 2xx within timeout
// passes. Load-signal headers on the answer are noted.
func (p *proxy) probeOnce(ui int, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(p.stop, timeout)
	defer cancel()
	u := &p.ups[ui]
	out := upRequest{method: http.MethodGet, uri: u.path + "/healthz", header: http.Header{"User-Agent": {"edgelab-health"}}, attempt: -1, probe: true}
	in, err := p.client.do(ctx, ui, &u.target, &out, 64<<10)
	if err != nil {
		return false
	}
	p.noteSignal(ui, in.header)
	return in.status >= 200 && in.status < 300
}
