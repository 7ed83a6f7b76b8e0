package sim

import (
	"math"
	"time"

	"github.com/edgelab/edgelab/workloads"
)

// scaler is one server group's autoscaler. Instances base..base+active-1
// serve; the group's remaining slots wait to be provisioned.
type scaler struct {
	cfg       *workloads.Autoscale
	group     int
	base      int // first server of the group
	slots     int
	active    int // serving instances
	pending   int // instances being provisioned
	lastScale time.Duration
	lastBusy  []float64 // per slot, busy integral at the last decision
}

// planAutoscale removes every group's spare slots from the pools and
// schedules the first decisions.
func (m *model) planAutoscale() {
	base := 0
	for gi := range m.sc.Servers {
		g := &m.sc.Servers[gi]
		if a := g.Autoscale; a != nil {
			sc := &scaler{cfg: a, group: gi, base: base, slots: g.Slots(), active: g.Count,
				lastScale: -a.Cooldown.D(), lastBusy: make([]float64, g.Slots())}
			for i := g.Count; i < sc.slots; i++ {
				m.setMember(0, base+i, false)
			}
			m.scalers = append(m.scalers, sc)
			if a.Interval.D() < m.end {
				m.eng.Schedule(a.Interval.D(), m.h, evScale, int64(len(m.scalers)-1))
			}
		}
		base += g.Slots()
	}
}

// setMember adds or removes server ep in every pool that holds it.
func (m *model) setMember(now time.Duration, ep int, member bool) {
	m.srv[ep].inactive = !member
	for _, pr := range m.srvPools[ep] {
		m.pools[pr.pool].SetMember(now, int(pr.local), member)
	}
}

// hpaTolerance is the Kubernetes HPA's default tolerance: no scaling while
// utilization is within 10% of the target
// (--horizontal-pod-autoscaler-tolerance).
const hpaTolerance = 0.1

// scale is one autoscaling decision for scalers[i]: the Kubernetes HPA
// rule desired = ceil(active × utilization / target) outside the
// tolerance band, where utilization
// is the active instances' busy time over the last interval, clamped to
// [min, max]; no action within the cooldown of the last one. New
// instances serve after the provisioning delay; retired ones stop
// receiving requests at once and finish what they hold.
func (m *model) scale(now time.Duration, i int) {
	sc := m.scalers[i]
	a := sc.cfg
	busy, capacity := 0.0, 0.0
	for k := 0; k < sc.slots; k++ {
		s := &m.srv[sc.base+k]
		b := s.busyAvg.Integral(now)
		if k < sc.active {
			busy += b - sc.lastBusy[k]
			capacity += float64(s.conc) * float64(a.Interval.D())
		}
		sc.lastBusy[k] = b
	}
	if next := now + a.Interval.D(); next < m.end {
		m.eng.Schedule(next, m.h, evScale, int64(i))
	}
	if capacity == 0 || now-sc.lastScale < a.Cooldown.D() {
		return
	}
	util := busy / capacity
	ratio := util / a.TargetUtilization
	if math.Abs(ratio-1) <= hpaTolerance {
		return
	}
	desired := int(math.Ceil(float64(sc.active)*ratio - 1e-9))
	desired = max(a.Min, min(a.Max, desired))
	switch {
	case desired > sc.active+sc.pending:
		for n := desired - sc.active - sc.pending; n > 0; n-- {
			sc.pending++
			m.eng.Schedule(now+a.ProvisionDelay.D(), m.h, evScaleUp, int64(i))
		}
		sc.lastScale = now
	case desired < sc.active && sc.pending == 0:
		for sc.active > desired {
			sc.active--
			m.setMember(now, sc.base+sc.active, false)
		}
		sc.lastScale = now
	}
}

// scaleUp brings one provisioned instance of scalers[i] into service.
func (m *model) scaleUp(now time.Duration, i int) {
	sc := m.scalers[i]
	sc.pending--
	if sc.active < sc.slots {
		m.setMember(now, sc.base+sc.active, true)
		sc.active++
	}
}

// activeServers is the number of instances serving now.
func (m *model) activeServers() int {
	n := 0
	for i := range m.srv {
		if !m.srv[i].inactive {
			n++
		}
	}
	return n
}
