package sim

import (
	"math"
	"testing"
)

// A ramp's offered load in the simulator follows its rate: the arrivals in
// each half of a 100 → 1000 req/s ramp over 10 s are Poisson with means
// ∫ rate = 1625 and 3875 (Lewis & Shedler 1979, thinning), and a sine's
// halves are 5000 ± 5000/π.
func TestTimeVaryingArrivalsInSim(t *testing.T) {
	for _, tc := range []struct {
		name, arrival string
		halves        [2]float64
	}{
		{"ramp", "{process: ramp, rate: 100, to: 1000}", [2]float64{1625, 3875}},
		{"sine", "{process: sine, rate: 1000, amplitude: 500, period: 10s}", [2]float64{5000 + 5000/math.Pi, 5000 - 5000/math.Pi}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := `
name: arrivals
duration: 10s
clients:
  arrival: ` + tc.arrival + `
servers:
  - {name: web, count: 4, service: {dist: exponential, mean: 1ms}}
`
			r := simulateYAML(t, []byte(yaml), "arrivals.yaml", "round-robin", nil)
			var got [2]float64
			for k, n := range r.Series.Offered {
				got[k*2/len(r.Series.Offered)] += float64(n)
			}
			for i, want := range tc.halves {
				if math.Abs(got[i]-want) > 4*math.Sqrt(want) {
					t.Errorf("half %d: %v arrivals, want %.0f ± %.0f", i, got[i], want, 4*math.Sqrt(want))
				}
			}
			if total := got[0] + got[1]; float64(r.Requests) != total {
				t.Errorf("requests %d, offered %v", r.Requests, total)
			}
		})
	}
}
