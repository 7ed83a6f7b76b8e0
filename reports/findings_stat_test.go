package reports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

// statScenario is a short fleet of four single-worker servers with
// exponential service (four M/M/1-like queues behind the balancer) at 60%
// load: about 2,600 measured requests per replication.
const statScenario = `
name: paired-check
seed: %d
duration: 10s
warmup: 1s
replications: 5
clients:
  arrival: {process: poisson, rate: 240}
balancer:
  strategy: random
servers:
  - name: s
    count: 4
    concurrency: 1
    discipline: fifo
    service: {dist: exponential, mean: 10ms}
    speed: %s
`

// pairedVerdicts simulates seeds 1..n of the scenario with the given
// speeds for strategies a and b and counts the seeds whose paired
// comparison (b against a, over 5 replications) calls the p99 difference,
// the mean difference, and either, significant.
func pairedVerdicts(t *testing.T, n int, speed, a, b string) (p99, mean, either int, rel float64) {
	t.Helper()
	for seed := 1; seed <= n; seed++ {
		sc, err := workloads.Parse(fmt.Appendf(nil, statScenario, seed, speed), "paired-check.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := sim.Run(context.Background(), sc, sim.Options{Strategies: []string{a, b}})
		if err != nil {
			t.Fatal(err)
		}
		ra, rb := res.Runs[0].Replicates, res.Runs[1].Replicates
		if ra == nil || rb == nil {
			t.Fatal("no replicates with 5 replications")
		}
		if seed == 1 && a == "random" && fmt.Sprint(ra.P99MS) == fmt.Sprint(rb.P99MS) {
			t.Fatalf("%s and %s gave identical p99s %v: the check would test nothing", a, b, ra.P99MS)
		}
		d := reports.PairedDiff(ra.P99MS, rb.P99MS)
		rel += d.Delta / d.A / float64(n)
		sp := d.Significant()
		sm := reports.PairedDiff(ra.MeanMS, rb.MeanMS).Significant()
		if sp {
			p99++
		}
		if sm {
			mean++
		}
		if sp || sm {
			either++
		}
	}
	return p99, mean, either, rel
}

// The paired comparison's false-positive rate and power.
//
// No true difference: random and weighted-random with equal weights both
// send each request to a uniformly chosen server, but they draw
// differently (random takes an integer draw, weighted-random a uniform
// draw below the total weight and a binary search over cumulative
// weights), so in one replication they route the same requests to
// different servers: their difference is noise, not zero (checked: the
// p99s differ). Over 100 seeds each test at the 95% level should call
// about 5 differences significant. The counts are Binomial(100, 0.05)
// under that hypothesis: mean 5, standard deviation 2.2, and P(X > 12)
// ≈ 0.1%, so at most 12 per metric. For either metric (two correlated
// tests, whose union runs above 5%) the bound is 18.
//
// A real difference of modest size: on a fleet with one server at 0.85
// speed, least-request steers load to whichever server is free where
// round-robin keeps sending each a quarter (the slow one then runs at 71%
// of its capacity); least-request's p99 is lower by about a third, and the
// paired comparison must see that in at least 80 of 100 seeds.
func TestPairedComparisonCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 2 × 100 seeds × 5 replications × 2 strategies")
	}
	start := time.Now()
	const n = 100
	p99, mean, either, _ := pairedVerdicts(t, n, "1", "random", "weighted-random")
	t.Logf("no true difference (random vs weighted-random): significant p99 in %d of %d seeds, mean in %d, either in %d",
		p99, n, mean, either)
	if p99 > 12 || mean > 12 || either > 18 {
		t.Errorf("false positives: p99 %d, mean %d, either %d of %d seeds; want ≤ 12, ≤ 12, ≤ 18", p99, mean, either, n)
	}
	p99, mean, _, rel := pairedVerdicts(t, n, "[1, 1, 1, 0.85]", "round-robin", "least-request")
	t.Logf("real difference (round-robin vs least-request, one server at 0.85 speed; p99 %+.0f%% on average): "+
		"significant p99 in %d of %d seeds, mean in %d", 100*rel, p99, n, mean)
	if p99 < 80 {
		t.Errorf("power: the p99 difference is significant in %d of %d seeds, want ≥ 80", p99, n)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}
