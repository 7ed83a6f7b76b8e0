package sim

import (
	"time"

	"github.com/edgelab/edgelab/reports"
)

// edgeTier is TLS terminated at the edge (gateway.tls.at: edge): the L4
// balancer's CPU, gateway.tls.edge_workers workers in front of one FIFO
// queue, pays every request's TLS (its connection's handshake on its
// first request, its records on each) before the request goes on, in
// plain HTTP, to the gateway instance its connection was placed on. The
// instances then pay no TLS. The queue is an M/G/c one: a request waits
// for a worker, holds it for its TLS cost, and leaves; one that timed out
// meanwhile is dropped from the queue when it comes up (its place is
// taken by the next).
type edgeTier struct {
	workers int
	busy    int
	fifo    ring[int64]     // requests waiting, packed with their generation
	gi      []int16         // per request slot: the instance it goes on to
	at      []time.Duration // per request slot: when it reached the edge

	busyAvg   reports.TimeAverage
	queueAvg  reports.TimeAverage
	finalUtil float64
	finalQ    float64
	queueWait time.Duration // measured requests' wait for a worker
	started   int64         // measured requests that got one
	cpu       float64       // TLS CPU charged to measured requests, ns
}

func newEdge(workers int) *edgeTier { return &edgeTier{workers: workers} }

// reach sends request ri, connected to gateway instance gi, on: through
// the edge's TLS termination first when there is one.
func (m *model) reach(now time.Duration, ri int32, gi int) {
	e := m.edge
	if e == nil {
		m.admit(now, ri, gi)
		return
	}
	for int(ri) >= len(e.gi) {
		e.gi = append(e.gi, 0)
		e.at = append(e.at, 0)
	}
	e.gi[ri], e.at[ri] = int16(gi), now
	if e.busy < e.workers {
		m.edgeStart(now, ri)
		return
	}
	e.fifo.push(pack(ri, m.reqs[ri].gen))
	e.queueAvg.Set(now, float64(e.fifo.len()))
}

// edgeStart gives request ri a worker for its TLS cost.
func (m *model) edgeStart(now time.Duration, ri int32) {
	e := m.edge
	r := &m.reqs[ri]
	e.busy++
	e.busyAvg.Set(now, float64(e.busy))
	cost := m.conn.reqTLS[ri]
	if r.measured {
		e.queueWait += now - e.at[ri]
		e.started++
		e.cpu += float64(cost)
	}
	m.eng.Schedule(now+cost, m.h, evEdgeDone, pack(ri, r.gen))
}

// edgeDone frees a worker, which takes the next live request in line;
// the request whose TLS is done goes on to its instance, if it is still
// waited for.
func (m *model) edgeDone(now time.Duration, ri int32, gen uint32) {
	e := m.edge
	e.busy--
	for e.fifo.len() > 0 {
		next, ngen := unpack(e.fifo.pop())
		e.queueAvg.Set(now, float64(e.fifo.len()))
		if m.reqs[next].gen == ngen {
			m.edgeStart(now, next)
			break
		}
	}
	e.busyAvg.Set(now, float64(e.busy))
	if m.reqs[ri].gen == gen {
		m.admit(now, ri, int(e.gi[ri]))
	}
}

// restart begins the measured window.
func (e *edgeTier) restart(now time.Duration) {
	e.busyAvg.Set(now, e.busyAvg.Value())
	e.busyAvg.Restart(now)
	e.queueAvg.Set(now, e.queueAvg.Value())
	e.queueAvg.Restart(now)
}

// snapshot ends it.
func (e *edgeTier) snapshot(now time.Duration) {
	e.finalUtil = e.busyAvg.Mean(now) / float64(e.workers)
	e.finalQ = e.queueAvg.Mean(now)
}

// stats summarises the edge tier.
func (e *edgeTier) stats() *reports.Edge {
	out := &reports.Edge{Workers: e.workers, Utilization: e.finalUtil, MeanQueue: e.finalQ, TLSShare: 1}
	if e.started > 0 {
		out.QueueMS = float64(e.queueWait) / float64(e.started) / 1e6
		out.CPUPerRequestMS = e.cpu / float64(e.started) / 1e6
	}
	return out
}
