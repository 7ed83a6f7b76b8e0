package workloads

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The alias-method Zipf sampler reproduces P(k) ∝ 1/(k+1)^s: the
// frequencies of the most popular keys and of the whole tail match the
// exact probabilities within 4 binomial standard errors.
func TestZipfKeysMatchDistribution(t *testing.T) {
	for _, s := range []float64{0, 0.8, 1.1, 2} {
		k := Keys{Dist: KeysZipf, N: 1000, S: s}
		z := k.KeySampler(rand.New(rand.NewPCG(3, 4)))
		const draws = 400000
		counts := make([]float64, k.N)
		for range draws {
			counts[z.Key()]++
		}
		norm := 0.0
		for i := 0; i < k.N; i++ {
			norm += math.Pow(float64(i+1), -s)
		}
		check := func(what string, got, p float64) {
			se := math.Sqrt(p * (1 - p) / draws)
			if math.Abs(got/draws-p) > 4*se+1e-12 {
				t.Errorf("s=%g %s: frequency %.5f, probability %.5f (±%.5f)", s, what, got/draws, p, 4*se)
			}
		}
		tail, pTail := 0.0, 0.0
		for i := 0; i < k.N; i++ {
			p := math.Pow(float64(i+1), -s) / norm
			if i < 5 {
				check("key "+string(rune('0'+i)), counts[i], p)
			} else if i >= k.N/2 {
				tail += counts[i]
				pTail += p
			}
		}
		check("upper half", tail, pTail)
	}
}
