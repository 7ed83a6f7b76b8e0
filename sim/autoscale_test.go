package sim

import (
	"strconv"
	"testing"
)

// The autoscaler follows the Kubernetes HPA rule desired =
// ceil(active × utilization / target): 400 req/s of 10 ms work is 4
// busy workers, so at a 50% target the group settles at 8 instances,
// starting from 5 (scale up) or from 16 (scale down), and its
// utilization settles near the target.
func TestAutoscalerSettlesAtHPADesired(t *testing.T) {
	for _, c := range []struct {
		count, min int
	}{{5, 2}, {16, 2}} {
		yaml := `
name: autoscale
seed: 6
duration: 600s
clients:
  arrival: {process: poisson, rate: 400}
  timeout: 2s
servers:
  - name: s
    count: ` + strconv.Itoa(c.count) + `
    queue: 200
    service: {dist: exponential, mean: 10ms}
    autoscale: {min: ` + strconv.Itoa(c.min) + `, max: 20, target_utilization: 0.5, interval: 10s, cooldown: 30s, provision_delay: 20s}
`
		r := simulate(t, yaml, "least-request")
		s := r.Series
		if s.Instances[0] != c.count {
			t.Errorf("start with %d instances, want %d", s.Instances[0], c.count)
		}
		last := s.Instances[len(s.Instances)-1]
		var every60 []int
		for k := 0; k < len(s.Instances); k += 60 {
			every60 = append(every60, s.Instances[k])
		}
		t.Logf("from %d: instances every minute %v, at the end %d", c.count, every60, last)
		// Within the HPA's 10% tolerance band no action is taken, so the
		// group settles where 4 busy workers are within 10% of half of
		// it: 8 instances (9 would be 0.44, outside the band, and
		// scale back).
		for k := len(s.T) - 120; k < len(s.T); k++ {
			if s.Instances[k] != 8 {
				t.Fatalf("from %d instances: %d at %vs, want 8 for the last two minutes", c.count, s.Instances[k], s.T[k])
			}
		}
		// Utilization of a serving instance in the last minute.
		busy, n := 0.0, 0
		for i := range s.Utilization {
			for k := len(s.T) - 60; k < len(s.T); k++ {
				if s.Utilization[i][k] > 0 {
					busy += s.Utilization[i][k]
					n++
				}
			}
		}
		if u := busy / float64(n); u < 0.4 || u > 0.6 {
			t.Errorf("from %d instances: utilization settled at %.2f, want near 0.5", c.count, u)
		}
	}
}
