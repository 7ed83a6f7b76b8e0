package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// Random combinations of every feature — gateway, stages, routes,
// failures of every kind on servers and gateways, health, retries with and
// without budgets, hedging, per-try timeouts, autoscaling, PS and FIFO,
// bounded and unbounded queues — must run without a panic, keep
// ok + failed + rejected = requests, and be deterministic.
func TestFeatureCombinationsSmoke(t *testing.T) {
	rng := rand.New(rand.NewPCG(99, 1))
	pick := func(opts ...string) string { return opts[rng.IntN(len(opts))] }
	for n := 0; n < 60; n++ {
		var b strings.Builder
		fmt.Fprintf(&b, "name: smoke%d\nseed: %d\nduration: 6s\nwarmup: %s\n", n, n+1, pick("0s", "1s"))
		fmt.Fprintf(&b, "clients:\n  arrival: %s\n", pick("{process: poisson, rate: 300}", "{process: constant, rate: 200}", "{process: closed, users: 20, think: 10ms}"))
		b.WriteString("  " + pick("timeout: 200ms", "timeout: 0s", "timeout: 1s") + "\n")
		b.WriteString("  " + pick("retries: {max: 2, backoff: 5ms}", "retries: {max: 3, backoff: 1ms, budget: 0.2, per_try_timeout: 50ms}", "retries: {max: 0}") + "\n")
		b.WriteString("  " + pick("hedge: {after: 20ms, max: 2}", "hedge: {after: 0s}") + "\n")
		b.WriteString("  keys: " + pick("{dist: zipf, n: 500, s: 1.0}", "{dist: uniform, n: 100}") + "\n")
		gateway := rng.IntN(2) == 0
		if gateway {
			b.WriteString("  paths: [{path: /a, weight: 1}, {path: /b, weight: 2}]\n")
		}
		b.WriteString("balancer:\n  strategy: " + pick(strategies.Names()...) + "\n")
		b.WriteString("  health: " + pick("{}", "{active: {interval: 500ms, timeout: 100ms}, outlier: {consecutive_5xx: 3, base_ejection: 1s}, slow_start: 2s}", "{outlier: {consecutive_5xx: 2, base_ejection: 500ms}, panic_threshold: 0}") + "\n")
		if gateway {
			fmt.Fprintf(&b, "gateway:\n  instances: %d\n  l4: %s\n  concurrency: %d\n  queue: %s\n", 1+rng.IntN(3),
				pick("round-robin", "flow-hash", "least-conn"), 1+rng.IntN(8), pick("5", "100"))
			b.WriteString("  stages:\n    - {type: auth, cost: 100us, reject: 0.05}\n")
			b.WriteString("    - {type: ratelimit, rate: " + pick("100", "1000") + ", per: " + pick("global", "client") + ", algorithm: " + pick("token-bucket", "sliding-window", "fixed-window") + "}\n")
			b.WriteString("    - {type: cache, ttl: 1s, size: 50}\n")
			b.WriteString("  routes: [{prefix: /a, to: a}, {prefix: /, to: b}]\n")
			b.WriteString("  health: {interval: 500ms, timeout: 100ms}\n")
			b.WriteString("  failures: [" + pick("{kind: crash, at: 2s, for: 1s, instances: [0]}", "{kind: hang, at: 1s, for: 2s}", "{kind: slow, at: 1s, for: 2s, factor: 3}", "{kind: random-crash, mtbf: 2s, mttr: 300ms}") + "]\n")
		}
		b.WriteString("servers:\n")
		for _, name := range []string{"a", "b"} {
			fmt.Fprintf(&b, "  - name: %s\n    count: %d\n    concurrency: %d\n    discipline: %s\n    errors: %s\n", name, 2+rng.IntN(3), 1+rng.IntN(4),
				pick("fifo", "ps"), pick("0", "0.1"))
			if rng.IntN(2) == 0 {
				b.WriteString("    queue: " + pick("0", "3", "50") + "\n")
			}
			b.WriteString("    service: " + pick("{dist: exponential, mean: 5ms}", "{dist: lognormal, mean: 5ms, p99: 40ms}", "{dist: constant, mean: 3ms}") + "\n")
			b.WriteString("    failures:\n      - " + pick("{kind: crash, at: 2s, for: 1s, instances: [0]}", "{kind: hang, at: 1s, for: 3s, instances: [1]}",
				"{kind: slow, at: 1s, for: 2s, latency: 300ms, factor: 2}", "{kind: errors, at: 1s, for: 3s, rate: 0.5}", "{kind: random-crash, mtbf: 1s, mttr: 200ms}") + "\n")
			if rng.IntN(3) == 0 {
				b.WriteString("    autoscale: {min: 1, max: 6, target_utilization: 0.5, interval: 1s, cooldown: 1s, provision_delay: 500ms}\n")
			}
		}
		yaml := b.String()
		sc, err := workloads.Parse([]byte(yaml), fmt.Sprintf("smoke%d.yaml", n), nil)
		if err != nil {
			t.Fatalf("combination %d does not load: %v\n%s", n, err, yaml)
		}
		run := func() []byte {
			res, err := Run(context.Background(), sc, Options{})
			if err != nil {
				t.Fatalf("combination %d: %v\n%s", n, err, yaml)
			}
			r := &res.Runs[0]
			if r.OK+r.Failed+r.Rejected != r.Requests || r.Requests == 0 {
				t.Fatalf("combination %d: ok %d + failed %d + rejected %d != requests %d\n%s", n, r.OK, r.Failed, r.Rejected, r.Requests, yaml)
			}
			r.Sim.WallS = 0
			data, _ := res.JSON()
			return data
		}
		first, second := run(), run()
		if string(first) != string(second) {
			t.Fatalf("combination %d is not deterministic\n%s", n, yaml)
		}
	}
}
