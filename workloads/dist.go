package workloads

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Service distributions.
const (
	DistExponential = "exponential"
	DistConstant    = "constant"
	DistNormal      = "normal"
	DistLognormal   = "lognormal"
	DistPareto      = "pareto"
	DistGamma       = "gamma"
	DistHyperexp    = "hyperexp"
	DistUniform     = "uniform"

	// FromTrace is Service.From for demands read from the trace.
	FromTrace = "trace"
)

// Service is a distribution of service demand. Which fields apply depends
// on Dist; docs/scenario.md lists them.
type Service struct {
	// From: trace takes each request's demand from the trace it replays
	// (the upstream time its line records); the distribution keys are
	// then not given. Lines without an upstream time get the mean of the
	// trace's head (Mean, filled in when the scenario loads).
	From string `yaml:"from"`
	// Dist names the distribution.
	Dist string `yaml:"dist"`
	// Mean is the mean demand (every distribution except uniform).
	Mean Duration `yaml:"mean"`
	// SD is the normal distribution's standard deviation before truncation.
	SD Duration `yaml:"sd"`
	// Sigma is the lognormal shape: the standard deviation of log demand.
	Sigma float64 `yaml:"sigma"`
	// P99 sets the lognormal shape from the 99th percentile instead.
	P99 Duration `yaml:"p99"`
	// Alpha is the Pareto shape (> 1 so that the mean exists).
	Alpha float64 `yaml:"alpha"`
	// Shape is the gamma shape k (squared coefficient of variation 1/k).
	Shape float64 `yaml:"shape"`
	// SCV is the squared coefficient of variation of hyperexp (≥ 1).
	SCV float64 `yaml:"scv"`
	// Min and Max bound the uniform distribution.
	Min Duration `yaml:"min"`
	// Max bounds the uniform distribution from above.
	Max Duration `yaml:"max"`
}

// z99 is the standard normal 0.99 quantile.
const z99 = 2.3263478740408408

// LognormalSigma returns σ of the lognormal with the given mean and 99th
// percentile: solving ln p99 = μ + z·σ with mean = exp(μ + σ²/2) gives
// σ²/2 − zσ + ln(p99/mean) = 0, of which the smaller root is taken.
func LognormalSigma(mean, p99 float64) (float64, error) {
	if p99 <= mean {
		return 0, fmt.Errorf("p99 (%gs) must be above the mean (%gs)", p99, mean)
	}
	disc := z99*z99 - 2*math.Log(p99/mean)
	if disc < 0 {
		return 0, fmt.Errorf("no lognormal has mean %gs and p99 %gs: p99 can be at most %.1f× the mean", mean, p99, math.Exp(z99*z99/2))
	}
	return z99 - math.Sqrt(disc), nil
}

// Sampler draws values in nanoseconds.
type Sampler interface {
	Sample() float64
}

type distSampler struct{ d distuv.Rander }

func (s distSampler) Sample() float64 { return s.d.Rand() }

type constSampler float64

func (c constSampler) Sample() float64 { return float64(c) }

// truncNormal resamples until the value is ≥ 0.
type truncNormal struct{ d distuv.Normal }

func (t truncNormal) Sample() float64 {
	for i := 0; i < 64; i++ {
		if v := t.d.Rand(); v >= 0 {
			return v
		}
	}
	return 0
}

// hyperexp is a two-phase hyperexponential with balanced means.
type hyperexp struct {
	p      float64
	a, b   distuv.Exponential
	choose *rand.Rand
}

func (h hyperexp) Sample() float64 {
	if h.choose.Float64() < h.p {
		return h.a.Rand()
	}
	return h.b.Rand()
}

// HyperexpParams fits a two-phase hyperexponential with balanced means
// (p1/μ1 = p2/μ2) to a mean and squared coefficient of variation c² ≥ 1:
// p1 = (1 + √((c²−1)/(c²+1)))/2, μi = 2pi/mean (Allen, Probability,
// Statistics and Queueing Theory, 2nd ed., §3.2.4; Whitt 1982).
func HyperexpParams(mean, scv float64) (p1, rate1, rate2 float64) {
	p1 = 0.5 * (1 + math.Sqrt((scv-1)/(scv+1)))
	p2 := 1 - p1
	return p1, 2 * p1 / mean, 2 * p2 / mean
}

// MeanSeconds is the distribution's mean in seconds.
func (s *Service) MeanSeconds() float64 {
	if s.Dist == DistUniform {
		return (s.Min.Seconds() + s.Max.Seconds()) / 2
	}
	if s.Dist == DistNormal {
		// Mean of the normal truncated at 0.
		m, sd := s.Mean.Seconds(), s.SD.Seconds()
		if sd == 0 {
			return m
		}
		a := -m / sd
		n := distuv.UnitNormal
		return m + sd*n.Prob(a)/(1-n.CDF(a))
	}
	return s.Mean.Seconds()
}

// SecondMoment is E[S²] in seconds², used by Pollaczek–Khinchine checks.
func (s *Service) SecondMoment() float64 {
	m := s.Mean.Seconds()
	switch s.Dist {
	case DistExponential:
		return 2 * m * m
	case DistConstant:
		return m * m
	case DistNormal:
		// The normal truncated at 0: Var = σ²(1 + aλ − λ²) with a = −μ/σ
		// and λ = φ(a)/(1 − Φ(a)); E[S²] = Var + E[S]².
		sd := s.SD.Seconds()
		if sd == 0 {
			return m * m
		}
		a := -m / sd
		n := distuv.UnitNormal
		lambda := n.Prob(a) / (1 - n.CDF(a))
		mean := m + sd*lambda
		return sd*sd*(1+a*lambda-lambda*lambda) + mean*mean
	case DistHyperexp:
		return m * m * (1 + s.SCV)
	case DistGamma:
		return m * m * (1 + 1/s.Shape)
	case DistLognormal:
		sig := s.sigma()
		return m * m * math.Exp(sig*sig)
	case DistUniform:
		a, b := s.Min.Seconds(), s.Max.Seconds()
		return (a*a + a*b + b*b) / 3
	case DistPareto:
		if s.Alpha <= 2 {
			return math.Inf(1)
		}
		xm := m * (s.Alpha - 1) / s.Alpha
		return s.Alpha * xm * xm / (s.Alpha - 2)
	}
	return math.NaN()
}

func (s *Service) sigma() float64 {
	if s.P99 > 0 {
		sig, _ := LognormalSigma(s.Mean.Seconds(), s.P99.Seconds())
		return sig
	}
	return s.Sigma
}

// Sampler returns a sampler of demands in nanoseconds drawing from src.
// The service must have passed validation.
func (s *Service) Sampler(src *rand.PCG) Sampler {
	m := float64(s.Mean)
	if s.From == FromTrace {
		return constSampler(m)
	}
	switch s.Dist {
	case DistConstant:
		return constSampler(m)
	case DistNormal:
		return truncNormal{distuv.Normal{Mu: m, Sigma: float64(s.SD), Src: src}}
	case DistLognormal:
		sig := s.sigma()
		return distSampler{distuv.LogNormal{Mu: math.Log(m) - sig*sig/2, Sigma: sig, Src: src}}
	case DistPareto:
		return distSampler{distuv.Pareto{Xm: m * (s.Alpha - 1) / s.Alpha, Alpha: s.Alpha, Src: src}}
	case DistGamma:
		return distSampler{distuv.Gamma{Alpha: s.Shape, Beta: s.Shape / m, Src: src}}
	case DistHyperexp:
		p, r1, r2 := HyperexpParams(m, s.SCV)
		return hyperexp{p: p, a: distuv.Exponential{Rate: r1, Src: src}, b: distuv.Exponential{Rate: r2, Src: src}, choose: rand.New(src)}
	case DistUniform:
		return distSampler{distuv.Uniform{Min: float64(s.Min), Max: float64(s.Max), Src: src}}
	}
	return distSampler{distuv.Exponential{Rate: 1 / m, Src: src}}
}

// KeySampler draws request keys in [0, n).
type KeySampler interface {
	Key() uint32
}

type uniformKeys struct {
	n int
	r *rand.Rand
}

func (u uniformKeys) Key() uint32 { return uint32(u.r.IntN(u.n)) }

// zipfKeys draws from a Zipf distribution over 0..n-1 (any exponent
// s ≥ 0; math/rand's Zipf needs s > 1) with Walker's alias method, as
// Vose builds it: O(n) tables, O(1) per draw from one 64-bit number (Vose,
// "A linear algorithm for generating random numbers with a given
// distribution", IEEE TSE 1991).
type zipfKeys struct {
	prob  []uint32 // threshold of keeping column i, out of 2^32
	alias []uint32
	r     *rand.Rand
}

func (z zipfKeys) Key() uint32 {
	x := z.r.Uint64()
	i := uint32((x >> 32) * uint64(len(z.prob)) >> 32)
	if uint32(x) < z.prob[i] {
		return i
	}
	return z.alias[i]
}

// KeySampler returns a sampler of request keys drawing from r.
func (k *Keys) KeySampler(r *rand.Rand) KeySampler {
	if k.Dist != KeysZipf {
		return uniformKeys{n: k.N, r: r}
	}
	n := k.N
	w := make([]float64, n)
	sum := 0.0
	for i := range w {
		w[i] = math.Pow(float64(i+1), -k.S)
		sum += w[i]
	}
	z := zipfKeys{prob: make([]uint32, n), alias: make([]uint32, n), r: r}
	var small, large []int
	for i := range w {
		w[i] *= float64(n) / sum // mean 1
		if w[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		z.prob[s] = uint32(math.Min(w[s], 1) * (1<<32 - 1))
		z.alias[s] = uint32(l)
		w[l] -= 1 - w[s]
		if w[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// What is left has probability 1 up to rounding.
	for _, i := range append(small, large...) {
		z.prob[i] = math.MaxUint32
		z.alias[i] = uint32(i)
	}
	return z
}

// Interarrival returns a sampler of open-loop gaps between requests in
// nanoseconds.
func (a *Arrival) Interarrival(src *rand.PCG) Sampler {
	mean := float64(time.Second) / a.Rate
	if a.Process == ProcessConstant {
		return constSampler(mean)
	}
	return distSampler{distuv.Exponential{Rate: 1 / mean, Src: src}}
}

// ThinkSampler returns a sampler of closed-loop think times in nanoseconds.
func (a *Arrival) ThinkSampler(src *rand.PCG) Sampler {
	if a.Think == 0 {
		return constSampler(0)
	}
	return distSampler{distuv.Exponential{Rate: 1 / float64(a.Think), Src: src}}
}
