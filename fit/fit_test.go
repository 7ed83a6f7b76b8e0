package fit

import (
	"math"
	"testing"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/workloads"
)

func dur(d time.Duration) workloads.Duration { return workloads.Duration(d) }

// Maximum likelihood and AIC find the family each sample was drawn from,
// and its parameters: 20,000 times, rounded to the millisecond as NGINX
// and HAProxy log them (dequantized before the fit).
func TestFitServiceFindsTheFamily(t *testing.T) {
	for _, c := range []struct {
		s     workloads.Service
		param func(*workloads.Service) float64
	}{
		{workloads.Service{Dist: workloads.DistExponential, Mean: dur(10 * time.Millisecond)}, nil},
		{workloads.Service{Dist: workloads.DistLognormal, Mean: dur(20 * time.Millisecond), Sigma: 0.8}, func(s *workloads.Service) float64 { return s.Sigma }},
		{workloads.Service{Dist: workloads.DistGamma, Mean: dur(40 * time.Millisecond), Shape: 3}, func(s *workloads.Service) float64 { return s.Shape }},
		{workloads.Service{Dist: workloads.DistPareto, Mean: dur(30 * time.Millisecond), Alpha: 2.5}, func(s *workloads.Service) float64 { return s.Alpha }},
		{workloads.Service{Dist: workloads.DistHyperexp, Mean: dur(15 * time.Millisecond), SCV: 4}, func(s *workloads.Service) float64 { return s.SCV }},
	} {
		t.Run(c.s.Dist, func(t *testing.T) {
			smp := c.s.Sampler(engine.Source(7, 0, c.s.Dist))
			times := make([]time.Duration, 20000)
			for i := range times {
				times[i] = workloads.Nanos(smp.Sample()).Round(time.Millisecond)
			}
			f, err := FitService("s", times)
			if err != nil {
				t.Fatal(err)
			}
			for _, cand := range f.Candidates {
				t.Logf("%-12s AIC %+10.1f  KS %.4f  %s", cand.Family, cand.AIC-f.Best().AIC, cand.KS, cand.YAML)
			}
			b := f.Best()
			if b.Family != c.s.Dist {
				t.Fatalf("AIC chose %s, the sample is %s", b.Family, c.s.Dist)
			}
			if rel := math.Abs(b.Service.MeanSeconds()/c.s.MeanSeconds() - 1); rel > 0.05 {
				t.Errorf("mean %v, want %v (%.1f %% off)", b.Service.Mean, c.s.Mean, 100*rel)
			}
			if c.param != nil {
				if got, want := c.param(&b.Service), c.param(&c.s); math.Abs(got/want-1) > 0.1 {
					t.Errorf("shape %g, want %g", got, want)
				}
			}
			// Rounding to the millisecond blurs a Pareto's sharp minimum
			// (18 ms here), where its CDF rises fastest: the KS distance
			// measures the rounding there, not the fit.
			limit := 0.02
			if c.s.Dist == workloads.DistPareto {
				limit = 0.07
			}
			if b.KS > limit {
				t.Errorf("KS distance %.4f to the family it was drawn from", b.KS)
			}
		})
	}
}

// arrivals draws a process's arrival times over span.
func arrivals(a workloads.Arrival, span time.Duration) []time.Duration {
	c := a.Clock(engine.Source(5, 0, "arrivals"))
	var out []time.Duration
	for t := c.Next(); t < span; t = c.Next() {
		out = append(out, t)
	}
	return out
}

// Each rate model is found from arrivals of its own kind, with its
// parameters: the rate within 2 %, a sine's period within 5 %.
func TestFitArrivalsFindsTheModel(t *testing.T) {
	sec := func(s float64) workloads.Duration { return workloads.Duration(s * 1e9) }
	for _, c := range []struct {
		name  string
		a     workloads.Arrival
		model string
		check func(t *testing.T, a *workloads.Arrival)
	}{
		{"poisson", workloads.Arrival{Process: workloads.ProcessPoisson, Rate: 400}, "constant", func(t *testing.T, a *workloads.Arrival) {
			if math.Abs(a.Rate/400-1) > 0.02 {
				t.Errorf("rate %g, want 400", a.Rate)
			}
		}},
		{"ramp", workloads.Arrival{Process: workloads.ProcessRamp, Rate: 100, To: 500, Over: sec(60)}, "ramp", func(t *testing.T, a *workloads.Arrival) {
			if math.Abs(a.Rate/100-1) > 0.1 || math.Abs(a.To/500-1) > 0.05 {
				t.Errorf("ramp %g → %g, want 100 → 500", a.Rate, a.To)
			}
		}},
		{"sine", workloads.Arrival{Process: workloads.ProcessSine, Rate: 300, Amplitude: 150, Period: sec(20)}, "sine", func(t *testing.T, a *workloads.Arrival) {
			if math.Abs(a.Rate/300-1) > 0.02 || math.Abs(a.Amplitude/150-1) > 0.1 || math.Abs(a.Period.Seconds()/20-1) > 0.05 {
				t.Errorf("sine %g ± %g, period %v; want 300 ± 150, 20s", a.Rate, a.Amplitude, a.Period)
			}
			// sin(2πt/20) peaks at 5 s.
			if d := math.Abs(a.Peak.Seconds() - 5); d > 0.5 {
				t.Errorf("peak at %v, want 5s", a.Peak)
			}
		}},
		{"steps", workloads.Arrival{Process: workloads.ProcessSteps, Rates: []float64{100, 900, 50, 600, 200, 1000}, Step: sec(10)}, "steps", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := FitArrivals(arrivals(c.a, 60*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range f.Models {
				t.Logf("%-9s AIC %+10.1f  %.120s", m.Model, m.AIC-f.Best().AIC, m.YAML)
			}
			if b := f.Best(); b.Model != c.model {
				t.Errorf("AIC chose %s, the arrivals are %s", b.Model, c.model)
			} else if c.check != nil {
				c.check(t, &b.Arrival)
			}
		})
	}
}

func TestFitNeedsData(t *testing.T) {
	if _, err := FitService("s", make([]time.Duration, 3)); err == nil {
		t.Error("3 times fitted")
	}
	if _, err := FitArrivals(make([]time.Duration, 20)); err == nil {
		t.Error("20 arrivals at one instant fitted")
	}
}
