package fit

import (
	"fmt"
	"math"
	"math/cmplx"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/optimize"

	"github.com/edgelab/edgelab/workloads"
)

// RateModel is one model of the arrival rate over time, fitted as a
// non-homogeneous Poisson process by maximum likelihood: the log
// likelihood of arrivals t₁…tₙ on [0, T] is Σ ln λ(tᵢ) − ∫₀ᵀ λ(t) dt
// (D. R. Cox and P. A. W. Lewis, The Statistical Analysis of Series of
// Events, 1966).
type RateModel struct {
	// Model is constant, ramp, sine or steps.
	Model string `json:"model"`
	// Arrival is the fitted process as a scenario writes it.
	Arrival workloads.Arrival `json:"-"`
	// Params, LogLik and AIC as for a Candidate.
	Params int     `json:"params"`
	LogLik float64 `json:"loglik"`
	AIC    float64 `json:"aic"`
	// YAML is clients.arrival as scenario YAML.
	YAML string `json:"arrival"`

	rate func(t float64) float64
}

// Rate is the fitted rate (per second) t seconds after the first arrival.
func (m *RateModel) Rate(t float64) float64 { return m.rate(t) }

// ArrivalFit is the fit of a log's arrival times.
type ArrivalFit struct {
	// N is the number of arrivals, SpanS the time from the first to the
	// last (seconds), MeanRate N/SpanS.
	N        int     `json:"n"`
	SpanS    float64 `json:"span_s"`
	MeanRate float64 `json:"mean_rate"`
	// Models are the models fitted, best (lowest AIC) first.
	Models []RateModel `json:"models"`
	// StepS and Counts are the arrivals per step (the steps model's
	// bins), for plots.
	StepS  float64 `json:"step_s"`
	Counts []int   `json:"-"`
}

// Best is the model AIC chooses.
func (f *ArrivalFit) Best() *RateModel { return &f.Models[0] }

// maxSteps bounds the steps model's bins.
const maxSteps = 3600

// FitArrivals fits arrival times (since any origin, in order) with a
// constant rate (a Poisson process), a linear ramp, a sinusoid and
// piecewise-constant rates per step (1 s, or longer for logs over an
// hour so that there are at most 3600 steps).
func FitArrivals(times []time.Duration) (*ArrivalFit, error) {
	if len(times) < 10 {
		return nil, fmt.Errorf("%d arrivals; a fit needs at least 10", len(times))
	}
	t := make([]float64, len(times))
	for i, v := range times {
		t[i] = float64(v-times[0]) / 1e9
	}
	if !sort.Float64sAreSorted(t) {
		sort.Float64s(t)
	}
	T := t[len(t)-1]
	if !(T > 0) {
		return nil, fmt.Errorf("all %d arrivals at one instant: no rate to fit", len(t))
	}
	n := float64(len(t))
	f := &ArrivalFit{N: len(t), SpanS: T, MeanRate: n / T}
	f.StepS = math.Max(1, math.Ceil(T/maxSteps))
	f.Counts = make([]int, int(math.Ceil(T/f.StepS+1e-9)))
	for _, v := range t {
		f.Counts[min(int(v/f.StepS), len(f.Counts)-1)]++
	}
	models := []RateModel{constant(n, T), ramp(t, T), steps(f.Counts, f.StepS, T, n)}
	if s, ok := sine(t, T, f.Counts, f.StepS); ok {
		models = append(models, s)
	}
	for i := range models {
		m := &models[i]
		m.AIC = 2*float64(m.Params) - 2*m.LogLik
		m.YAML = arrivalYAML(&m.Arrival)
	}
	sort.SliceStable(models, func(i, j int) bool { return models[i].AIC < models[j].AIC })
	parsimony(len(models), func(i int) (float64, int) { return models[i].AIC, models[i].Params },
		func(i int) { m := models[i]; copy(models[1:i+1], models[:i]); models[0] = m })
	f.Models = models
	return f, nil
}

func constant(n, T float64) RateModel {
	l := n / T
	return RateModel{Model: "constant", Params: 1, LogLik: n*math.Log(l) - n,
		Arrival: workloads.Arrival{Process: workloads.ProcessPoisson, Rate: round(l, 6)},
		rate:    func(float64) float64 { return l }}
}

// ramp fits λ(t) = r₀ + (r₁ − r₀)·t/T, r₀, r₁ > 0, by Nelder–Mead on
// (ln r₀, ln r₁) from the constant rate.
func ramp(t []float64, T float64) RateModel {
	nll := func(x []float64) float64 {
		r0, r1 := math.Exp(x[0]), math.Exp(x[1])
		s := -(r0 + r1) * T / 2
		for _, v := range t {
			s += math.Log(r0 + (r1-r0)*v/T)
		}
		return -s
	}
	l := math.Log(float64(len(t)) / T)
	x := minimize(nll, []float64{l, l})
	r0, r1 := math.Exp(x[0]), math.Exp(x[1])
	return RateModel{Model: "ramp", Params: 2, LogLik: -nll(x),
		Arrival: workloads.Arrival{Process: workloads.ProcessRamp, Rate: round(r0, 6), To: round(r1, 6), Over: workloads.Duration(T * 1e9)},
		rate:    func(v float64) float64 { return r0 + (r1-r0)*math.Min(v, T)/T }}
}

// steps is the rate per step: cᵢ/w, the maximum-likelihood piecewise
// constant rate (one parameter per step).
func steps(counts []int, w, T, n float64) RateModel {
	ll := -n
	rates := make([]float64, len(counts))
	for i, c := range counts {
		width := math.Min(w, T-float64(i)*w)
		if i == len(counts)-1 && width <= 0 {
			width = w
		}
		rates[i] = round(float64(c)/w, 6)
		if c > 0 {
			ll += float64(c) * math.Log(float64(c)/width)
		}
	}
	return RateModel{Model: "steps", Params: len(counts), LogLik: ll,
		Arrival: workloads.Arrival{Process: workloads.ProcessSteps, Step: workloads.Duration(w * 1e9), Rates: rates},
		rate: func(v float64) float64 {
			return rates[min(max(int(v/w), 0), len(rates)-1)]
		}}
}

// sine fits λ(t) = m + A·cos(2π(t − peak)/P), 0 ≤ A ≤ m, P ≤ T: the period
// and phase start from the strongest frequency of the counts'
// periodogram, then all four are refined by Nelder–Mead.
func sine(t []float64, T float64, counts []int, w float64) (RateModel, bool) {
	if len(counts) < 8 {
		return RateModel{}, false
	}
	seq := make([]float64, len(counts))
	for i, c := range counts {
		seq[i] = float64(c)
	}
	coef := fourier.NewFFT(len(seq)).Coefficients(nil, seq)
	best, bestK := 0.0, 0
	for k := 1; k < len(coef); k++ {
		if p := cmplx.Abs(coef[k]); p > best {
			best, bestK = p, k
		}
	}
	if bestK == 0 {
		return RateModel{}, false
	}
	n := float64(len(t))
	P0 := float64(len(seq)) * w / float64(bestK)
	A0 := 2 * best / float64(len(seq)) / w
	m0 := n / T
	peak0 := -cmplx.Phase(coef[bestK]) / (2 * math.Pi) * P0
	integral := func(m, A, P, peak float64) float64 {
		k := 2 * math.Pi / P
		return m*T + A/k*(math.Sin(k*(T-peak))-math.Sin(k*(-peak)))
	}
	unpack := func(x []float64) (m, A, P, peak float64) {
		m = math.Exp(x[0])
		A = m / (1 + math.Exp(-x[1]))
		P = math.Min(math.Exp(x[2]), T)
		return m, A, P, x[3]
	}
	nll := func(x []float64) float64 {
		m, A, P, peak := unpack(x)
		k := 2 * math.Pi / P
		s := -integral(m, A, P, peak)
		for _, v := range t {
			l := m + A*math.Cos(k*(v-peak))
			if !(l > 0) {
				return math.Inf(1)
			}
			s += math.Log(l)
		}
		return -s
	}
	a := math.Min(math.Max(A0/m0, 0.01), 0.99)
	x := minimize(nll, []float64{math.Log(m0), math.Log(a / (1 - a)), math.Log(P0), peak0})
	ll := -nll(x)
	if math.IsInf(ll, 0) || math.IsNaN(ll) {
		return RateModel{}, false
	}
	m, A, P, peak := unpack(x)
	peak = math.Mod(math.Mod(peak, P)+P, P)
	if math.Round(peak*1e3) == 0 {
		peak = P // a peak at the start: peak 0 would mean period/4
	}
	k := 2 * math.Pi / P
	return RateModel{Model: "sine", Params: 4, LogLik: ll,
		Arrival: workloads.Arrival{Process: workloads.ProcessSine, Rate: round(m, 6), Amplitude: round(A, 6),
			Period: workloads.Duration(math.Round(P*1e3) * 1e6), Peak: workloads.Duration(math.Round(peak*1e3) * 1e6)},
		rate: func(v float64) float64 { return m + A*math.Cos(k*(v-peak)) }}, true
}

// minimize runs Nelder–Mead from x0 and returns the best point found.
func minimize(f func([]float64) float64, x0 []float64) []float64 {
	res, err := optimize.Minimize(optimize.Problem{Func: f}, x0, &optimize.Settings{FuncEvaluations: 4000}, &optimize.NelderMead{})
	if err != nil || res == nil || math.IsInf(res.F, 0) || math.IsNaN(res.F) || res.F > f(x0) {
		return x0
	}
	return res.X
}

// arrivalYAML writes clients.arrival as a scenario does.
func arrivalYAML(a *workloads.Arrival) string {
	switch a.Process {
	case workloads.ProcessRamp:
		return fmt.Sprintf("{process: ramp, rate: %g, to: %g, over: %s}", a.Rate, a.To, a.Over)
	case workloads.ProcessSine:
		return fmt.Sprintf("{process: sine, rate: %g, amplitude: %g, period: %s, peak: %s}", a.Rate, a.Amplitude, a.Period, a.Peak)
	case workloads.ProcessSteps:
		var b strings.Builder
		fmt.Fprintf(&b, "{process: steps, step: %s, rates: [", a.Step)
		for i, r := range a.Rates {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%g", r)
		}
		b.WriteString("]}")
		return b.String()
	}
	return fmt.Sprintf("{process: poisson, rate: %g}", a.Rate)
}
