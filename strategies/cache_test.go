package strategies

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"testing"
	"time"
)

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := NewCache(3, 0)
	for k := uint64(1); k <= 3; k++ {
		c.Put(0, k)
	}
	c.Get(0, 1) // order now 1 3 2: 2 is least recently used
	c.Put(0, 4) // evicts 2
	if c.Get(0, 2) {
		t.Fatal("2 should have been evicted")
	}
	c.Put(0, 3) // refresh: order 3 4 1
	c.Put(0, 5) // evicts 1
	for k, want := range map[uint64]bool{1: false, 3: true, 4: true, 5: true} {
		if got := c.Get(0, k); got != want {
			t.Errorf("key %d cached %v, want %v", k, got, want)
		}
	}
	if c.Len() != 3 {
		t.Fatalf("len %d, want 3", c.Len())
	}
	if h, m := c.Stats(); h != 4 || m != 2 {
		t.Fatalf("stats %d hits %d misses, want 4 and 2", h, m)
	}
}

// Entries live for the TTL from when they were stored; hits do not extend
// it, Put does.
func TestCacheTTL(t *testing.T) {
	c := NewCache(10, 10*time.Second)
	c.Put(0, 1)
	if !c.Get(5*time.Second, 1) || !c.Get(10*time.Second-1, 1) {
		t.Fatal("entry should be fresh before its TTL")
	}
	if c.Get(10*time.Second, 1) {
		t.Fatal("a hit must not extend the expiry: entry stored at 0 expires at 10s")
	}
	if c.Len() != 0 {
		t.Fatal("an expired entry found by Get should be removed")
	}
	c.Put(11*time.Second, 1)
	c.Put(15*time.Second, 1) // refreshed: now expires at 25s
	if !c.Get(24*time.Second, 1) || c.Get(25*time.Second, 1) {
		t.Fatal("Put should restart the TTL")
	}
	// A removed entry's slot is reused and the cache stays consistent.
	for k := uint64(0); k < 100; k++ {
		c.Put(30*time.Second+time.Duration(k), k)
	}
	if c.Len() != 10 || !c.Get(31*time.Second, 99) || c.Get(31*time.Second, 89) {
		t.Fatalf("after churn: len %d", c.Len())
	}

	z := NewCache(0, time.Second)
	z.Put(0, 1)
	if z.Get(0, 1) || z.Len() != 0 {
		t.Fatal("a cache of size 0 stores nothing")
	}
}

// cacheZipf draws keys 0..n-1 with P(k) ∝ (k+1)^-s by inverting the CDF.
type cacheZipf struct {
	p, cdf []float64
	rng    *rand.Rand
}

func newCacheZipf(n int, s float64, seed uint64) *cacheZipf {
	z := &cacheZipf{p: make([]float64, n), cdf: make([]float64, n), rng: rand.New(rand.NewPCG(seed, 99))}
	sum := 0.0
	for k := range n {
		z.p[k] = math.Pow(float64(k+1), -s)
		sum += z.p[k]
	}
	acc := 0.0
	for k := range n {
		z.p[k] /= sum
		acc += z.p[k]
		z.cdf[k] = acc
	}
	z.cdf[n-1] = 1
	return z
}

func (z *cacheZipf) next() uint64 {
	return uint64(sort.SearchFloat64s(z.cdf, z.rng.Float64()))
}

// cacheChe is the Che approximation of an LRU cache of C entries under
// independent requests with popularities p (H. Che, Y. Tung, Z. Wang,
// "Hierarchical Web caching systems: modeling, design and experimental
// results", IEEE JSAC 20(7), 2002; C. Fricker, P. Robert, J. Roberts, "A
// versatile and accurate approximation for LRU cache performance", ITC 24,
// 2012): a key stays cached for a characteristic time T_C after its last
// request, where Σ_k (1 - e^{-p_k T_C}) = C (T_C in requests), so the hit
// ratio is Σ_k p_k (1 - e^{-p_k T_C}). T_C is found by bisection: the sum
// grows from 0 to n with T_C.
func cacheChe(p []float64, c int) (hit, tc float64) {
	occupancy := func(t float64) float64 {
		s := 0.0
		for _, pk := range p {
			s += -math.Expm1(-pk * t)
		}
		return s
	}
	lo, hi := 0.0, 1.0
	for occupancy(hi) < float64(c) {
		hi *= 2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if occupancy(mid) < float64(c) {
			lo = mid
		} else {
			hi = mid
		}
	}
	tc = (lo + hi) / 2
	for _, pk := range p {
		hit += pk * -math.Expm1(-pk*tc)
	}
	return hit, tc
}

// The LRU hit ratio under a Zipf key stream matches the Che approximation
// within 2 percentage points (it is usually far closer: Fricker et al.
// show it is asymptotically exact for large caches).
func TestCacheLRUMatchesCheApproximation(t *testing.T) {
	const n, warm, measured = 10000, 200_000, 1_000_000
	for _, s := range []float64{0.8, 1.1} {
		for _, size := range []int{100, 1000} {
			t.Run(fmt.Sprintf("s=%v/C=%d", s, size), func(t *testing.T) {
				t.Parallel()
				z := newCacheZipf(n, s, uint64(size))
				want, tc := cacheChe(z.p, size)
				c := NewCache(size, 0)
				for range warm {
					if k := z.next(); !c.Get(0, k) {
						c.Put(0, k)
					}
				}
				h0, m0 := c.Stats()
				for range measured {
					if k := z.next(); !c.Get(0, k) {
						c.Put(0, k)
					}
				}
				h1, m1 := c.Stats()
				got := float64(h1-h0) / float64(h1-h0+m1-m0)
				t.Logf("hit ratio %.4f, Che %.4f (T_C = %.0f requests)", got, want, tc)
				if math.Abs(got-want) > 0.02 {
					t.Errorf("hit ratio %.4f, Che approximation %.4f", got, want)
				}
			})
		}
	}
}

// With a TTL, no eviction (size ≥ number of keys) and Poisson requests at
// rate λ_k to key k, each miss starts a TTL period of length T during which
// the λ_k T requests expected are hits; so the hit ratio of key k is
// λ_k T / (1 + λ_k T) (Jung, Berger, Balakrishnan, INFOCOM 2003). This
// holds because a hit does not extend the expiry.
func TestCacheTTLMatchesJungBergerBalakrishnan(t *testing.T) {
	const n, total, ttl, requests = 1000, 1000.0, 100 * time.Millisecond, 1_000_000
	z := newCacheZipf(n, 0.8, 7)
	arrivals := rand.New(rand.NewPCG(8, 9))
	c := NewCache(n, ttl)
	hits := make([]int, n)
	reqs := make([]int, n)
	var now time.Duration
	for range requests {
		now += rlExpGap(arrivals, total) // superposed Poisson streams
		k := z.next()
		reqs[k]++
		if c.Get(now, k) {
			hits[k]++
		} else {
			c.Put(now, k)
		}
	}
	predict := func(k int) float64 {
		x := total * z.p[k] * ttl.Seconds()
		return x / (1 + x)
	}
	want, got := 0.0, 0.0
	for k := range n {
		want += z.p[k] * predict(k)
		got += float64(hits[k])
	}
	got /= requests
	t.Logf("hit ratio %.4f, predicted %.4f", got, want)
	if math.Abs(got-want) > 0.005 {
		t.Errorf("overall hit ratio %.4f, TTL model predicts %.4f", got, want)
	}
	for _, k := range []int{0, 1, 2, 9, 99} {
		h := float64(hits[k]) / float64(reqs[k])
		// Each TTL period contributes one miss: the per-key count of
		// misses is a renewal count, so allow 5 binomial errors.
		tol := 5 * math.Sqrt(predict(k)*(1-predict(k))/float64(reqs[k]))
		if math.Abs(h-predict(k)) > tol {
			t.Errorf("key %d: hit ratio %.4f over %d requests, want %.4f ± %.4f", k, h, reqs[k], predict(k), tol)
		}
	}
}

func TestCacheDoesNotAllocate(t *testing.T) {
	c := NewCache(1000, time.Second)
	rng := rand.New(rand.NewPCG(1, 1))
	var now time.Duration
	step := func() {
		now += 50 * time.Microsecond
		if k := rng.Uint64N(5000); !c.Get(now, k) {
			c.Put(now, k)
		}
	}
	for range 100_000 {
		step()
	}
	if a := testing.AllocsPerRun(100_000, step); a != 0 {
		t.Fatalf("%v allocations per Get/Put", a)
	}
}

// BenchmarkCache measures a Get and, on a miss, a Put (docs/performance.md).
func BenchmarkCache(b *testing.B) {
	z := newCacheZipf(100_000, 0.9, 1)
	keys := make([]uint64, 1<<16)
	for i := range keys {
		keys[i] = z.next()
	}
	c := NewCache(10_000, time.Minute)
	b.ReportAllocs()
	var now time.Duration
	for i := 0; b.Loop(); i++ {
		now += time.Microsecond
		if k := keys[i&(len(keys)-1)]; !c.Get(now, k) {
			c.Put(now, k)
		}
	}
}

func ExampleCache() {
	// Two entries, each fresh for 30s after it is stored.
	c := NewCache(2, 30*time.Second)
	lookup := func(now time.Duration, key uint64) {
		if c.Get(now, key) {
			fmt.Printf("%v key %d: hit\n", now, key)
			return
		}
		fmt.Printf("%v key %d: miss\n", now, key)
		c.Put(now, key) // store the response fetched from upstream
	}
	lookup(0, 1)
	lookup(time.Second, 1)
	lookup(2*time.Second, 2)
	lookup(3*time.Second, 3)  // evicts 1, the least recently used
	lookup(4*time.Second, 1)  // so this misses, and evicts 2
	lookup(35*time.Second, 3) // stored at 3s: expired at 33s, hits or not
	hits, misses := c.Stats()
	fmt.Println(hits, "hits,", misses, "misses")
	// Output:
	// 0s key 1: miss
	// 1s key 1: hit
	// 2s key 2: miss
	// 3s key 3: miss
	// 4s key 1: miss
	// 35s key 3: miss
	// 1 hits, 5 misses
}

// A large cache reserves room for what it stores, not for its size: a
// gateway tier of caches with a hundred million entries each used to
// take gigabytes before the first request.
func TestCacheGrowsWithItsKeys(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c := NewCache(100_000_000, time.Minute)
	for k := range uint64(5000) {
		c.Put(0, k)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("a cache of size 1e8 holding 5000 keys allocated %d bytes", grew)
	}
	for k := range uint64(5000) {
		if !c.Get(time.Second, k) {
			t.Fatalf("key %d missing", k)
		}
	}
}
