package sim

import (
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/traces"
)

// reqLog is what the access log says of a request besides its record:
// the server that answered its last attempt, how long that took there
// (queueing included, as real balancers log it) and its demand.
type reqLog struct {
	ep       int32 // -1: no server answered
	path     int32 // index in the path mix
	upstream time.Duration
	demand   time.Duration
}

// logStart readies request ri's log record.
func (m *model) logStart(ri int32) {
	for int(ri) >= len(m.logReq) {
		m.logReq = append(m.logReq, reqLog{})
	}
	m.logReq[ri] = reqLog{ep: -1, path: m.lastPath, upstream: -1, demand: -1}
}

// logAnswer records an attempt's answer from its server: any outcome but
// a timeout, a cancellation or a crash's reset.
func (m *model) logAnswer(now time.Duration, ai int32, o strategies.Outcome) {
	if o != strategies.OK && o != strategies.Error5xx && o != strategies.QueueFull {
		return
	}
	a := &m.atts[ai]
	m.logReq[a.req] = reqLog{ep: a.ep, path: m.logReq[a.req].path, upstream: now - a.sent, demand: time.Duration(a.work)}
}

// logFinish writes the line of request ri, ended now with o.
func (m *model) logFinish(now time.Duration, ri int32, o plan.Outcome) {
	if m.logErr != nil {
		return
	}
	r := &m.reqs[ri]
	l := &m.logReq[ri]
	e := &m.logEntry
	*e = traces.Entry{Start: traces.SimOrigin + int64(r.created), Total: now - r.created, Service: -1, Demand: -1,
		Client: uint32(r.client), Key: r.key, Status: o.Status(), Tries: int(r.tries)}
	if l.ep >= 0 {
		e.Server, e.Service, e.Demand = m.srv[l.ep].id, l.upstream, l.demand
	}
	if m.gw != nil && m.gw.routed {
		if m.trace {
			if r.group >= 0 {
				e.Path = m.gw.prefix[r.group]
			}
		} else {
			e.Path = m.gw.paths.Paths[l.path]
		}
	}
	m.logErr = m.log.Write(e)
}
