package plan

import (
	"slices"
	"testing"
	"time"

	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

func parse(t *testing.T, yaml string) *workloads.Scenario {
	t.Helper()
	sc, err := workloads.Parse([]byte(yaml), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

const twoGroups = `
name: two
seed: 7
duration: 10s
clients: {arrival: {process: poisson, rate: 100}, paths: [{path: /api, weight: 1}, {path: /, weight: 1}]}
balancer: {strategy: p2c, compare: [round-robin, p2c, least-request]}
gateway:
  instances: 2
  routes: [{prefix: /api, to: api}, {prefix: /, to: web}]
servers:
  - {name: web, count: 3, weight: [1, 2, 3], speed: 2, service: {dist: exponential, mean: 10ms}}
  - {name: api, count: 2, service: {dist: exponential, mean: 10ms},
     failures: [{kind: slow, at: 1s, for: 2s, factor: 4, instances: [1]}, {kind: random-crash, mtbf: 2s, mttr: 500ms}]}
`

// The strategy list is the command line's, else balancer.strategy then
// balancer.compare without repeats: one list for both worlds.
func TestStrategies(t *testing.T) {
	sc := parse(t, twoGroups)
	if got, want := Strategies(sc, nil), []string{"p2c", "round-robin", "least-request"}; !slices.Equal(got, want) {
		t.Errorf("Strategies(nil) = %v, want %v", got, want)
	}
	if got := Strategies(sc, []string{"random"}); !slices.Equal(got, []string{"random"}) {
		t.Errorf("Strategies([random]) = %v", got)
	}
	if err := Check(sc); err != nil {
		t.Errorf("Check: %v", err)
	}
	bad := parse(t, `
name: bad
duration: 1s
clients: {arrival: {process: poisson, rate: 10}}
balancer: {strategy: round-robin, compare: [nope]}
servers: [{name: web, count: 1, service: {dist: exponential, mean: 1ms}}]
`)
	if err := Check(bad); err == nil || !workloads.IsInputError(err) {
		t.Errorf("Check(unknown compare) = %v, want an input error", err)
	}
}

// Servers are numbered across groups, with per-instance weights and
// speeds; routed pools hold one group each, with per-instance streams.
func TestServersAndPools(t *testing.T) {
	sc := parse(t, twoGroups)
	srv := Servers(sc)
	var ids []string
	var groups []int
	for _, s := range srv {
		ids = append(ids, s.ID)
		groups = append(groups, s.Group)
	}
	if want := []string{"web-0", "web-1", "web-2", "api-0", "api-1"}; !slices.Equal(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
	if srv[2].Weight != 3 || srv[3].Weight != 1 || srv[1].Speed != 2 || srv[4].Speed != 1 {
		t.Errorf("weights/speeds: %+v", srv)
	}
	if GroupBase(sc, 1) != 3 || TotalSlots(sc) != 5 {
		t.Errorf("GroupBase(1) = %d, TotalSlots = %d", GroupBase(sc, 1), TotalSlots(sc))
	}
	pools := Pools(sc, 1, groups)
	if len(pools) != 2 || pools[0].Stream != "balancer/1/web" || pools[1].Stream != "balancer/1/api" ||
		!slices.Equal(pools[0].Members, []int{0, 1, 2}) || !slices.Equal(pools[1].Members, []int{3, 4}) {
		t.Errorf("routed pools: %+v", pools)
	}
	sc.Gateway.Routes = nil
	if p := Pools(sc, 0, groups); len(p) != 1 || p[0].Stream != "balancer/0" || p[0].Group != -1 || len(p[0].Members) != 5 {
		t.Errorf("unrouted pools: %+v", p)
	}
	sc.Gateway = nil
	if p := Pools(sc, 0, groups); len(p) != 1 || p[0].Stream != "balancer" {
		t.Errorf("pools without a gateway: %+v", p)
	}
	p, uses, err := NewPool(sc, "ring-hash", 0, Pools(sc, 0, groups)[0], ids, []float64{1, 2, 3, 1, 1}, func(int) strategies.Signal { return strategies.Signal{} })
	if err != nil || !uses || p.Len() != 5 {
		t.Errorf("NewPool(ring-hash): len %d, usesRequest %v, err %v", p.Len(), uses, err)
	}
	if _, _, err := NewPool(sc, "nope", 0, Pools(sc, 0, groups)[0], ids, nil, nil); err == nil {
		t.Error("NewPool(unknown strategy) did not fail")
	}
	if _, uses, err := NewL4(workloads.L4FlowHash, nil, 3, 1, 0); err != nil || !uses {
		t.Errorf("NewL4(flow-hash): uses %v, err %v", uses, err)
	}
	if _, _, err := NewL4("bogus", nil, 3, 1, 0); err == nil {
		t.Error("NewL4(bogus) did not fail")
	}
}

// The failure plan lists scheduled and random failures per instance in
// scenario order; the same seed and replication give the same windows.
func TestFailures(t *testing.T) {
	sc := parse(t, twoGroups)
	end := 10 * time.Second
	fails := Failures(sc, 0, end)
	if len(fails) < 2 || fails[0].ID != "api-1" || fails[0].Kind != workloads.FailSlow || fails[0].Factor != 4 ||
		fails[0].Start != time.Second || fails[0].End != 3*time.Second || fails[0].Target != 4 {
		t.Fatalf("first failure %+v", fails[0])
	}
	for _, f := range fails[1:] {
		if f.Kind != workloads.FailCrash || f.Label != workloads.FailRandomCrash || f.Start >= end || f.End <= f.Start {
			t.Errorf("random crash window %+v", f)
		}
	}
	if again := Failures(sc, 0, end); !slices.Equal(fails, again) {
		t.Error("the failure plan is not reproducible")
	}
	w := Windows(fails, end)
	if len(w) != len(fails) || w[0].Server != "api-1" || w[0].StartS != 1 || w[0].EndS != 3 {
		t.Errorf("windows %+v", w)
	}
	for _, x := range w {
		if x.EndS > end.Seconds() {
			t.Errorf("window %+v ends after the run", x)
		}
	}
}

// Overlapping failures compose and each end undoes its own start.
func TestCondition(t *testing.T) {
	c := Healthy()
	crash := &Failure{Kind: workloads.FailCrash}
	slow := &Failure{Kind: workloads.FailSlow, Factor: 4, Latency: 50 * time.Millisecond}
	slow2 := &Failure{Kind: workloads.FailSlow, Latency: 10 * time.Millisecond}
	hang := &Failure{Kind: workloads.FailHang}
	errs := &Failure{Kind: workloads.FailErrors, Rate: 0.5}
	steps := []struct {
		do   func() Change
		want Change
		rate float64 // at speed 2
		errR float64 // with an own error rate of 0.1
	}{
		{func() Change { return c.Start(crash) }, Crashed, 2, 0.1},
		{func() Change { return c.Start(crash) }, Unchanged, 2, 0.1},
		{func() Change { return c.End(crash) }, Unchanged, 2, 0.1},
		{func() Change { return c.Start(slow) }, RateChanged, 0.5, 0.1},
		{func() Change { return c.Start(slow2) }, RateChanged, 0.5, 0.1},
		{func() Change { return c.Start(hang) }, RateChanged, 0, 0.1},
		{func() Change { return c.Start(errs) }, ErrorsChanged, 0, 1 - 0.9*0.5},
		{func() Change { return c.End(hang) }, RateChanged, 0.5, 1 - 0.9*0.5},
		{func() Change { return c.End(slow) }, RateChanged, 2, 1 - 0.9*0.5},
		{func() Change { return c.End(errs) }, ErrorsChanged, 2, 0.1},
		{func() Change { return c.End(crash) }, Repaired, 2, 0.1},
	}
	for i, s := range steps {
		if got := s.do(); got != s.want {
			t.Errorf("step %d: change %d, want %d", i, got, s.want)
		}
		if got := c.Rate(2); got != s.rate {
			t.Errorf("step %d: rate %v, want %v", i, got, s.rate)
		}
		if got := c.ErrorRate(0.1); got-s.errR > 1e-12 || s.errR-got > 1e-12 {
			t.Errorf("step %d: error rate %v, want %v", i, got, s.errR)
		}
	}
	if c.Latency != 10*time.Millisecond || c.Down != 0 {
		t.Errorf("after the steps: %+v", c)
	}
	c.End(slow2)
	if c.Down != 0 || c.Hung != 0 || c.Factor != 1 || c.Latency != 0 || len(c.Errors) != 0 {
		t.Errorf("not healthy again: %+v", c)
	}
}

// Outcome names round-trip, match the balancer's, and only failures a
// server could recover from are retried.
func TestOutcomes(t *testing.T) {
	for o := OK; o < NumOutcomes; o++ {
		if got, ok := OutcomeNamed(o.String()); !ok || got != o {
			t.Errorf("OutcomeNamed(%q) = %v, %v", o, got, ok)
		}
	}
	if _, ok := OutcomeNamed("cancelled"); ok {
		t.Error("cancelled is not a request outcome")
	}
	for _, a := range []strategies.Outcome{strategies.OK, strategies.Error5xx, strategies.Timeout, strategies.QueueFull, strategies.ConnectFail} {
		if FromAttempt(a).String() != a.String() {
			t.Errorf("FromAttempt(%v) = %v", a, FromAttempt(a))
		}
	}
	// The default retry policy: what Envoy's retry_on 5xx covers.
	retried := map[Outcome]bool{Error5xx: true, ConnectFailure: true, QueueFull: true, Timeout: true}
	def := NewRetryPolicy(workloads.Retries{Max: 2})
	for o := OK; o < NumOutcomes; o++ {
		if def.Retries(o) != retried[o] {
			t.Errorf("default policy retries %v: %v", o, def.Retries(o))
		}
	}
	// NGINX's proxy_next_upstream error timeout; nothing for on: [].
	nginx := NewRetryPolicy(workloads.Retries{Max: 2, On: []string{"connect_failure", "timeout"}})
	none := NewRetryPolicy(workloads.Retries{Max: 2, On: []string{}})
	for o := OK; o < NumOutcomes; o++ {
		if nginx.Retries(o) != (o == ConnectFailure || o == Timeout) || none.Retries(o) {
			t.Errorf("%v: nginx %v, none %v", o, nginx.Retries(o), none.Retries(o))
		}
	}
}
