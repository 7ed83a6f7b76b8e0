// Package fit fits what a scenario needs from an access log: the arrival
// rate over time (constant, ramp, sine or per-step rates) and, per
// upstream, the service-time distribution, by maximum likelihood among
// the families a scenario can express (exponential, lognormal, gamma,
// Pareto, hyperexponential), chosen by Akaike's information criterion
// (H. Akaike, "A new look at the statistical model identification", IEEE
// Transactions on Automatic Control 19(6), 1974) with the
// Kolmogorov–Smirnov distance reported beside it.
package fit

import (
	"fmt"
	"math"
	"sort"
	"time"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/edgelab/edgelab/workloads"
)

// Candidate is one family fitted to a sample.
type Candidate struct {
	// Family is the workloads distribution name (workloads.DistLognormal…).
	Family string `json:"family"`
	// Service is the fitted distribution as a scenario writes it.
	Service workloads.Service `json:"-"`
	// Params is the number of parameters fitted, LogLik the maximised log
	// likelihood (samples in milliseconds), AIC = 2·Params − 2·LogLik.
	Params int     `json:"params"`
	LogLik float64 `json:"loglik"`
	AIC    float64 `json:"aic"`
	// KS is the Kolmogorov–Smirnov distance between the sample's and the
	// fitted CDF.
	KS float64 `json:"ks"`
	// YAML is the service as scenario YAML ({dist: …, mean: …}).
	YAML string `json:"service"`

	pdf, cdf func(ms float64) float64
}

// PDF is the fitted density at x milliseconds.
func (c *Candidate) PDF(ms float64) float64 { return c.pdf(ms) }

// ServiceFit is the fit of one upstream's service times.
type ServiceFit struct {
	// Name is the upstream's name; Instances how many distinct servers
	// answered for it.
	Name      string `json:"name"`
	Instances int    `json:"instances"`
	// N is the number of times fitted, MeanMS their mean.
	N      int     `json:"n"`
	MeanMS float64 `json:"mean_ms"`
	// Resolution is the log's time resolution detected (1 ms for NGINX
	// and HAProxy logs): times are spread uniformly within it before
	// fitting, so that rounding is not taken for a shape.
	ResolutionMS float64 `json:"resolution_ms"`
	// Candidates are the families that fit, best (lowest AIC) first.
	Candidates []Candidate `json:"candidates"`
	// Samples are the times fitted (ms, sorted), for plots.
	Samples []float64 `json:"-"`
}

// Best is the family AIC chooses.
func (f *ServiceFit) Best() *Candidate { return &f.Candidates[0] }

// FitService fits the service times (any order) of one upstream: each
// family by maximum likelihood, sorted by AIC. It needs at least 10 times.
func FitService(name string, times []time.Duration) (*ServiceFit, error) {
	if len(times) < 10 {
		return nil, fmt.Errorf("%s: %d service times; a fit needs at least 10", name, len(times))
	}
	x := make([]float64, len(times))
	for i, t := range times {
		x[i] = float64(t) / 1e6
	}
	res := resolution(x)
	dequantize(x, res)
	sort.Float64s(x)
	f := &ServiceFit{Name: name, N: len(x), ResolutionMS: res, Samples: x}
	var sum, sumLog float64
	for _, v := range x {
		sum += v
		sumLog += math.Log(v)
	}
	n := float64(len(x))
	mean, meanLog := sum/n, sumLog/n
	f.MeanMS = mean
	for _, c := range []*Candidate{exponential(mean), lognormal(x, meanLog), gamma(x, mean, meanLog), pareto(x), hyperexp(x, mean)} {
		if c == nil {
			continue
		}
		c.LogLik = 0
		for _, v := range x {
			c.LogLik += math.Log(c.pdf(v))
		}
		if math.IsNaN(c.LogLik) || math.IsInf(c.LogLik, 0) {
			continue
		}
		c.AIC = 2*float64(c.Params) - 2*c.LogLik
		c.KS = ks(x, c.cdf)
		c.YAML = serviceYAML(&c.Service)
		f.Candidates = append(f.Candidates, *c)
	}
	if len(f.Candidates) == 0 {
		return nil, fmt.Errorf("%s: no family fits these times", name)
	}
	sort.SliceStable(f.Candidates, func(i, j int) bool { return f.Candidates[i].AIC < f.Candidates[j].AIC })
	parsimony(len(f.Candidates), func(i int) (float64, int) { return f.Candidates[i].AIC, f.Candidates[i].Params },
		func(i int) { c := f.Candidates[i]; copy(f.Candidates[1:i+1], f.Candidates[:i]); f.Candidates[0] = c })
	return f, nil
}

// supportAIC is the ΔAIC within which models are equally supported
// (K. P. Burnham and D. R. Anderson, Model Selection and Multimodel
// Inference, 2nd ed., 2002, §2.6: "models having Δi ≤ 2 have substantial
// support").
const supportAIC = 2

// parsimony moves to the front, among the n models sorted by AIC, the one
// with the fewest parameters of those within supportAIC of the best: a
// slightly better likelihood does not earn a model more parameters.
func parsimony(n int, at func(i int) (aic float64, params int), toFront func(i int)) {
	best, _ := at(0)
	pick, fewest := 0, math.MaxInt
	for i := range n {
		aic, k := at(i)
		if aic-best > supportAIC {
			break
		}
		if k < fewest {
			pick, fewest = i, k
		}
	}
	if pick > 0 {
		toFront(pick)
	}
}

// resolution is the grid the times lie on: 1 ms when every time is a
// whole number of milliseconds, 1 µs when of microseconds, else 0.
func resolution(x []float64) float64 {
	for _, r := range []float64{1, 1e-3} {
		on := true
		for _, v := range x {
			if q := v / r; math.Abs(q-math.Round(q)) > 1e-6 {
				on = false
				break
			}
		}
		if on {
			return r
		}
	}
	return 0
}

// dequantize spreads times rounded to res over their rounding interval
// with a low-discrepancy sequence (deterministic), and keeps every time
// above zero: a continuous family cannot fit a grid, and no positive
// family has mass at 0.
func dequantize(x []float64, res float64) {
	const phi = 0.6180339887498949
	floor := 1e-6 // 1 ns, in ms
	for i := range x {
		if res > 0 {
			u := math.Mod(float64(i+1)*phi, 1)
			lo := math.Max(x[i]-res/2, 0)
			x[i] = lo + u*(x[i]+res/2-lo)
		}
		x[i] = math.Max(x[i], floor)
	}
}

// ms converts milliseconds to a scenario Duration, to the microsecond.
func ms(v float64) workloads.Duration { return workloads.Duration(math.Round(v*1e3) * 1e3) }

func exponential(mean float64) *Candidate {
	d := distuv.Exponential{Rate: 1 / mean}
	return &Candidate{Family: workloads.DistExponential, Params: 1,
		Service: workloads.Service{Dist: workloads.DistExponential, Mean: ms(mean)}, pdf: d.Prob, cdf: d.CDF}
}

func lognormal(x []float64, meanLog float64) *Candidate {
	var ss float64
	for _, v := range x {
		d := math.Log(v) - meanLog
		ss += d * d
	}
	sigma := math.Sqrt(ss / float64(len(x)))
	if !(sigma > 0) {
		return nil
	}
	d := distuv.LogNormal{Mu: meanLog, Sigma: sigma}
	return &Candidate{Family: workloads.DistLognormal, Params: 2,
		Service: workloads.Service{Dist: workloads.DistLognormal, Mean: ms(math.Exp(meanLog + sigma*sigma/2)), Sigma: round(sigma, 4)},
		pdf:     d.Prob, cdf: d.CDF}
}

// gamma fits the shape k by Newton's method on ln k − ψ(k) = ln(mean) −
// mean(ln x), from Minka's closed-form start (T. P. Minka, "Estimating a
// Gamma distribution", 2002); the rate is k/mean.
func gamma(x []float64, mean, meanLog float64) *Candidate {
	s := math.Log(mean) - meanLog
	if !(s > 0) {
		return nil
	}
	k := (3 - s + math.Sqrt((s-3)*(s-3)+24*s)) / (12 * s)
	for range 50 {
		g := math.Log(k) - mathext.Digamma(k) - s
		h := 1e-6 * k
		dg := (math.Log(k+h) - mathext.Digamma(k+h) - math.Log(k-h) + mathext.Digamma(k-h)) / (2 * h)
		next := k - g/dg
		if !(next > 0) {
			next = k / 2
		}
		if math.Abs(next-k) < 1e-10*k {
			k = next
			break
		}
		k = next
	}
	d := distuv.Gamma{Alpha: k, Beta: k / mean}
	return &Candidate{Family: workloads.DistGamma, Params: 2,
		Service: workloads.Service{Dist: workloads.DistGamma, Mean: ms(mean), Shape: round(k, 4)}, pdf: d.Prob, cdf: d.CDF}
}

// pareto fits x_m = min x and α = n / Σ ln(x/x_m); a scenario's Pareto
// needs α > 1 (a finite mean).
func pareto(x []float64) *Candidate {
	xm := x[0]
	var sum float64
	for _, v := range x {
		sum += math.Log(v / xm)
	}
	alpha := float64(len(x)) / sum
	if !(alpha > 1) || math.IsInf(alpha, 0) {
		return nil
	}
	d := distuv.Pareto{Xm: xm, Alpha: alpha}
	return &Candidate{Family: workloads.DistPareto, Params: 2,
		Service: workloads.Service{Dist: workloads.DistPareto, Mean: ms(alpha * xm / (alpha - 1)), Alpha: round(alpha, 4)},
		pdf:     d.Prob, cdf: d.CDF}
}

// hyperexp fits the balanced two-phase hyperexponential a scenario
// writes as (mean, scv): the mean by moments, the squared coefficient of
// variation (≥ 1) by maximum likelihood (golden-section search on its
// logarithm).
func hyperexp(x []float64, mean float64) *Candidate {
	ll := func(scv float64) float64 {
		p, r1, r2 := workloads.HyperexpParams(mean, scv)
		var s float64
		for _, v := range x {
			s += math.Log(p*r1*math.Exp(-r1*v) + (1-p)*r2*math.Exp(-r2*v))
		}
		return s
	}
	lo, hi := 0.0, math.Log(1000)
	const g = 0.6180339887498949
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := ll(math.Exp(a)), ll(math.Exp(b))
	for range 60 {
		if fa > fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = ll(math.Exp(a))
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = ll(math.Exp(b))
		}
	}
	scv := math.Exp((lo + hi) / 2)
	if scv < 1+1e-6 {
		return nil // the exponential, counted once
	}
	p, r1, r2 := workloads.HyperexpParams(mean, scv)
	pdf := func(v float64) float64 { return p*r1*math.Exp(-r1*v) + (1-p)*r2*math.Exp(-r2*v) }
	cdf := func(v float64) float64 { return 1 - p*math.Exp(-r1*v) - (1-p)*math.Exp(-r2*v) }
	return &Candidate{Family: workloads.DistHyperexp, Params: 2,
		Service: workloads.Service{Dist: workloads.DistHyperexp, Mean: ms(mean), SCV: round(scv, 4)}, pdf: pdf, cdf: cdf}
}

// ks is the Kolmogorov–Smirnov distance of sorted x from cdf.
func ks(x []float64, cdf func(float64) float64) float64 {
	n := float64(len(x))
	d := 0.0
	for i, v := range x {
		f := cdf(v)
		d = math.Max(d, math.Max(float64(i+1)/n-f, f-float64(i)/n))
	}
	return d
}

func round(v float64, digits int) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	p := math.Pow(10, float64(digits-1-int(math.Floor(math.Log10(math.Abs(v))))))
	return math.Round(v*p) / p
}

// serviceYAML writes a service as a scenario does.
func serviceYAML(s *workloads.Service) string {
	out := fmt.Sprintf("{dist: %s, mean: %s", s.Dist, s.Mean)
	switch s.Dist {
	case workloads.DistLognormal:
		out += fmt.Sprintf(", sigma: %g", s.Sigma)
	case workloads.DistGamma:
		out += fmt.Sprintf(", shape: %g", s.Shape)
	case workloads.DistPareto:
		out += fmt.Sprintf(", alpha: %g", s.Alpha)
	case workloads.DistHyperexp:
		out += fmt.Sprintf(", scv: %g", s.SCV)
	}
	return out + "}"
}
