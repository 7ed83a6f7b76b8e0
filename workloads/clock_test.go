package workloads

import (
	"math"
	"testing"
	"time"

	"github.com/edgelab/edgelab/engine"
)

// countArrivals counts a clock's arrivals in consecutive windows of width w
// up to end.
func countArrivals(c *ArrivalClock, w, end time.Duration) []float64 {
	n := make([]float64, end/w)
	for t := c.Next(); t < end; t = c.Next() {
		n[t/w]++
	}
	return n
}

// Time-varying rates are non-homogeneous Poisson processes: the count in
// [a, b) is Poisson with mean ∫ rate (Lewis & Shedler 1979; Ross,
// Simulation, 5th ed., §5.5). Each window must hold within 4 standard
// deviations of its expected count.
func TestClockTimeVaryingRates(t *testing.T) {
	sine := Arrival{Process: ProcessSine, Rate: 1000, Amplitude: 500, Period: Duration(10 * time.Second)}
	ramp := Arrival{Process: ProcessRamp, Rate: 100, To: 1000, Over: Duration(10 * time.Second)}
	for _, tc := range []struct {
		name string
		a    Arrival
		want []float64 // expected counts per 5 s window
	}{
		// ∫ 1000 + 500 sin(2πt/10) over [0,5) = 5000 + 500·10/π.
		{"sine", sine, []float64{5000 + 5000/math.Pi, 5000 - 5000/math.Pi, 5000 + 5000/math.Pi, 5000 - 5000/math.Pi}},
		// ∫ 100 + 90 t over [0,5) = 1625, over [5,10) = 3875, then 1000/s.
		{"ramp", ramp, []float64{1625, 3875, 5000, 5000}},
		// Peaking at 7.5 s: 1000 + 500 cos(2π(t−7.5)/10) = 1000 − 500 sin(2πt/10).
		{"sine with a peak", Arrival{Process: ProcessSine, Rate: 1000, Amplitude: 500, Period: Duration(10 * time.Second), Peak: Duration(7500 * time.Millisecond)},
			[]float64{5000 - 5000/math.Pi, 5000 + 5000/math.Pi, 5000 - 5000/math.Pi, 5000 + 5000/math.Pi}},
		// A rate per step; the last holds after them.
		{"steps", Arrival{Process: ProcessSteps, Rates: []float64{100, 1000, 0}, Step: Duration(5 * time.Second)},
			[]float64{500, 5000, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.a.Clock(engine.Source(1, 0, "arrivals"))
			got := countArrivals(c, 5*time.Second, 20*time.Second)
			for i, want := range tc.want {
				if d := math.Abs(got[i] - want); d > 4*math.Sqrt(want) {
					t.Errorf("window %d: %v arrivals, want %.0f ± %.0f", i, got[i], want, 4*math.Sqrt(want))
				}
			}
			if m, want := tc.a.MeanRate(0, 10*time.Second), (tc.want[0]+tc.want[1])/10; math.Abs(m-want) > 1e-6*want {
				t.Errorf("MeanRate = %g, want %g", m, want)
			}
		})
	}
}

// The clock of a homogeneous process adds rounded gaps, as the simulator
// always has: a constant 300/s process arrives every 3333333 ns.
func TestClockConstant(t *testing.T) {
	a := Arrival{Process: ProcessConstant, Rate: 300}
	c := a.Clock(engine.Source(1, 0, "arrivals"))
	for i := 1; i <= 3; i++ {
		if got, want := c.Next(), time.Duration(i)*3333333; got != want {
			t.Fatalf("arrival %d at %v, want %v", i, got, want)
		}
	}
}

// Arrival times never go backwards, whatever the process.
func TestClockMonotone(t *testing.T) {
	for _, a := range []Arrival{
		{Process: ProcessPoisson, Rate: 5000},
		{Process: ProcessSine, Rate: 5000, Amplitude: 5000, Period: Duration(time.Second)},
		{Process: ProcessRamp, Rate: 5000, To: 10, Over: Duration(time.Second)},
	} {
		c := a.Clock(engine.Source(2, 0, "arrivals"))
		last := time.Duration(0)
		for range 20000 {
			n := c.Next()
			if n < last {
				t.Fatalf("%s: arrival at %v after one at %v", a.Process, n, last)
			}
			last = n
		}
	}
}

// A two-state MMPP (bursts at rate λ1 of mean length 1/r1, calm spells at
// λ2 of mean length 1/r2) has the stationary rate
// λ̄ = (λ1 r2 + λ2 r1)/(r1 + r2) and, for counts in windows of length t,
// the index of dispersion
//
//	IDC(t) = 1 + 2(λ1−λ2)² r1 r2 / ((r1+r2)³ λ̄) · [1 − (1 − e^{−(r1+r2)t})/((r1+r2)t)]
//
// (Fischer and Meier-Hellstern, "The Markov-modulated Poisson process
// (MMPP) cookbook", Performance Evaluation 18(2), 1993, §4). Bursts at
// 100/s for 2 s on average, 10/s for 8 s between them: λ̄ = 28/s and, in
// 100 s windows, IDC ≈ 146 — a Poisson process has 1. Over 2000 windows
// the mean is within 4 standard errors (Var = IDC·λ̄·T) and the IDC within
// 15 % (its sample standard error is √(2/1999) ≈ 3 %).
func TestClockMMPP(t *testing.T) {
	a := Arrival{Process: ProcessMMPP, Rate: 100, Low: 10, Burst: Duration(2 * time.Second), Calm: Duration(8 * time.Second)}
	const w, n = 100 * time.Second, 2000
	counts := countArrivals(a.Clock(engine.Source(3, 0, "arrivals")), w, n*w)
	l1, l2, r1, r2 := 100.0, 10.0, 0.5, 0.125
	mean := (l1*r2 + l2*r1) / (r1 + r2)
	x := (r1 + r2) * w.Seconds()
	idc := 1 + 2*(l1-l2)*(l1-l2)*r1*r2/math.Pow(r1+r2, 3)/mean*(1-(1-math.Exp(-x))/x)
	var sum, sq float64
	for _, c := range counts {
		sum += c
		sq += c * c
	}
	m := sum / n
	v := (sq - n*m*m) / (n - 1)
	total := n * w.Seconds()
	if se := math.Sqrt(idc * mean * total); math.Abs(sum-mean*total) > 4*se {
		t.Errorf("rate %.3f/s, want %.3f (±%.3f)", sum/total, mean, 4*se/total)
	}
	if got := v / m; math.Abs(got-idc)/idc > 0.15 {
		t.Errorf("index of dispersion %.1f, want %.1f", got, idc)
	}
	if got := a.RateAt(0); math.Abs(got-mean) > 1e-9 {
		t.Errorf("RateAt %g, want the stationary %g", got, mean)
	}
	// On/off: nothing arrives between bursts, and the rate is rate·burst/(burst+calm).
	onoff := Arrival{Process: ProcessMMPP, Rate: 100, Burst: Duration(time.Second), Calm: Duration(time.Second)}
	if got := onoff.RateAt(0); got != 50 {
		t.Errorf("on/off RateAt %g, want 50", got)
	}
}
