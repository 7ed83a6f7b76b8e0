package sim

import (
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
)

// Direct mode: when no feature can give a request a second attempt or end
// it before its attempt does, the attempt stands for its request.

// newDirect is newRequest and send in direct mode: the request's only
// attempt carries what the request would (its creation time is the
// attempt's, its client is in req). Random draws and their order are
// those of newRequest and send.
func (m *model) newDirect(now time.Duration, client int32) {
	m.serial++
	var key uint32
	if m.trace {
		key = m.tr.Key
	} else if m.keys != nil {
		key = m.keys.Key()
	}
	if m.curK < len(m.series.Offered) {
		m.series.Offered[m.curK]++
	}
	if len(m.demand) == 1 {
		m.draw[0] = m.demand[0].Sample()
	} else {
		for g, d := range m.demand {
			m.draw[g] = d.Sample()
		}
	}
	if m.trace && m.tr.Service >= 0 {
		for g, from := range m.traceDemand {
			if from {
				m.draw[g] = float64(m.tr.Service)
			}
		}
	}
	local, ok := m.pools[0].Pick(now, strategies.Request{Key: uint64(key), Client: uint64(client)})
	if !ok {
		m.account(now, now, now >= m.start, plan.NoUpstream)
		m.thinkAgain(now, now, client)
		return
	}
	measured := now >= m.start
	if measured {
		m.attempts++
	}
	ep := m.poolSrv[0][local]
	s := &m.srv[ep]
	ai := m.newAttempt()
	a := &m.atts[ai]
	a.req, a.reqGen, a.ep, a.pool, a.local, a.sent = client, 0, int32(ep), 0, int32(local), now
	a.serial, a.work, a.pos = m.serial, m.draw[s.group], -1
	a.no, a.retry, a.abandoned = 0, false, false
	if measured && now < m.end {
		s.sent++
	}
	m.arrive(now, ep, ai)
}

// directDone is attemptDone in direct mode: the attempt's end is its
// request's.
func (m *model) directDone(now time.Duration, ai int32, o strategies.Outcome) {
	a := &m.atts[ai]
	m.pools[0].Done(now, int(a.local), now-a.sent, o)
	client, created := a.req, a.sent
	a.gen++
	a.dgen++
	m.freeAtt = append(m.freeAtt, ai)
	if o == strategies.OK {
		// account's common case, inline.
		lat := now - created
		if created >= m.start {
			m.outcomes.OK++
			m.lat.Record(lat)
		}
		if k := m.curK; k < len(m.series.OK) {
			m.series.OK[k]++
			m.bucketLat.Record(lat)
		}
	} else {
		m.account(now, created, created >= m.start, plan.FromAttempt(o))
	}
	if m.think != nil {
		m.thinkAgain(now, created, client)
	}
}
