package strategies

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"
)

// The hashing family. Every strategy here is deterministic: it ignores the
// injected random stream and maps a request to an endpoint by hashing the
// request key (or, for ip-hash, the client) together with the endpoints'
// names, so that the same key reaches the same endpoint while the candidate
// set is stable, and — for the consistent ones — only a small share of keys
// move when it changes.
//
// Tables (ring, Maglev lookup table) are built from the candidate set and
// the candidates' weights, and rebuilt only when those change; candSnapshot
// below describes how a change is noticed without an O(n) scan per pick.

// hashCatalogue registers the hashing family: ip-hash, ring-hash, maglev, rendezvous, bounded-hash.
var hashCatalogue = []Info{
	{Name: "ip-hash", Summary: "client hash mod the number of candidates (no consistency)",
		Source: "NGINX ip_hash; HAProxy balance source",
		New:    func(*rand.Rand, Params) Balancer { return IPHash{} }},
	{Name: "ring-hash", Summary: "consistent hashing on a ring of weighted virtual nodes, by request key",
		Source: "Karger et al., STOC 1997; libketama; Envoy RING_HASH",
		Params: []Param{vnodesParam},
		New:    func(_ *rand.Rand, p Params) Balancer { return NewRingHash(p["vnodes"]) }},
	{Name: "maglev", Summary: "Maglev lookup table (weighted), by request key",
		Source: "Eisenbud et al., NSDI 2016; Envoy MAGLEV",
		Params: []Param{{Name: "table_size", Default: 65537, Min: 2, Max: 5000011,
			Doc: "lookup table size M; raised to the next prime if it is not one (Envoy's default and maximum)"}},
		New: func(_ *rand.Rand, p Params) Balancer { return NewMaglev(int(math.Ceil(p["table_size"]))) }},
	{Name: "rendezvous", Summary: "highest random weight, weighted (score -w/ln u), O(n) per pick, by request key",
		Source: "Thaler & Ravishankar 1998; Schindelhauer & Schomaker 2005 (weighted)",
		New:    func(*rand.Rand, Params) Balancer { return &Rendezvous{} }},
	{Name: "bounded-hash", Summary: "ring hash with bounded loads: first endpoint on the ring under ceil((1+ε)·average) in flight",
		Source: "Mirrokni, Thorup & Zadimoghaddam, SODA 2018; HAProxy hash-balance-factor",
		Params: []Param{
			{Name: "epsilon", Default: 0.25, Min: 0, Max: 100,
				Doc: "load slack ε: an endpoint takes a request only while its in-flight count stays within ceil((1+ε)·average)"},
			vnodesParam,
		},
		New: func(_ *rand.Rand, p Params) Balancer { return NewBoundedHash(p["epsilon"], p["vnodes"]) }},
}

// vnodesParam is the ring size parameter shared by ring-hash and
// bounded-hash.
var vnodesParam = Param{Name: "vnodes", Default: 160, Min: 1, Max: 10000,
	Doc: "ring points per endpoint of average weight (scaled by weight: libketama's 160)"}

// mix64 is the output function of SplitMix64 (Steele, Lea & Flood, "Fast
// splittable pseudorandom number generators", OOPSLA 2014; the constants of
// Stafford's Mix13 as in java.util.SplittableRandom): mix64(s + j·γ) is the
// j-th output of SplitMix64 seeded with s. It is a bijection of uint64 with
// full avalanche, so sequential keys spread evenly.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// goldenGamma is SplitMix64's increment (2^64/φ, odd).
const goldenGamma = 0x9e3779b97f4a7c15

// hashName hashes an endpoint name: 64-bit FNV-1a (Fowler, Noll & Vo;
// draft-eastlake-fnv) finished with mix64, as FNV alone mixes its last
// bytes poorly. Tables hash names, not indices, so that an endpoint keeps
// its place whatever its position in the pool.
func hashName(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// hashWeight is the weight a hashing table gives an endpoint: its weight,
// or 1 if that is not a positive finite number (as NewPool treats ≤ 0).
func hashWeight(w float64) float64 {
	if w > 0 && w <= math.MaxFloat64 {
		return w
	}
	return 1
}

// weightSlack is the relative change of a candidate's weight that makes a
// table stale. Effective weights move continuously during slow start; with
// a 10% slack an endpoint ramping from 10% to 100% of its weight causes
// about 25 rebuilds instead of one per pick, and its share is never off by
// more than 10% of its weight.
const weightSlack = 0.1

// candSnapshot remembers the candidate set (and weights) a table was built
// for, and decides cheaply whether the table is still valid.
//
// Tables map to positions in the candidate list, and a pick returns
// cand[k] for the position k the table gives, after checking that cand[k]
// is still the endpoint the table was built with (and its weight within
// weightSlack). So a pick always returns a current candidate, and is
// consistent with a table built from scratch whenever the check passes.
// A change of len(cand) or of the pool (len(eps), &eps[0]) is seen at
// once; a change that keeps the length (one endpoint out, another in
// between two picks, or a weight drifting) is seen as soon as a key maps to
// a changed position, and at the latest after len(cand) picks, because
// every pick also audits one more position in turn. Each pick therefore
// costs O(1) for the check.
type candSnapshot struct {
	eps0  *Endpoint // &eps[0] of the pool the table was built for
	neps  int       // len(eps) then
	idx   []int     // cand at build time
	w     []float64 // hashWeight of each candidate at build time
	audit int       // next position to audit
}

// shape reports whether the pool and the number of candidates are the ones
// the table was built for.
func (s *candSnapshot) shape(eps []Endpoint, cand []int) bool {
	return len(s.idx) != 0 && len(cand) == len(s.idx) && len(eps) == s.neps && &eps[0] == s.eps0
}

// holds reports whether position k still holds the same endpoint with a
// weight within the slack. k must be < len(cand) (true when shape holds).
func (s *candSnapshot) holds(eps []Endpoint, cand []int, k int) bool {
	i := cand[k]
	if i != s.idx[k] {
		return false
	}
	w0 := s.w[k]
	d := hashWeight(eps[i].Weight) - w0
	return d <= weightSlack*w0 && -d <= weightSlack*w0
}

// fresh is the per-pick check: same shape, and the audited position holds.
func (s *candSnapshot) fresh(eps []Endpoint, cand []int) bool {
	if !s.shape(eps, cand) {
		return false
	}
	k := s.audit
	if s.audit++; s.audit == len(s.idx) {
		s.audit = 0
	}
	return s.holds(eps, cand, k)
}

// take records the current candidate set, reusing its buffers.
func (s *candSnapshot) take(eps []Endpoint, cand []int) {
	s.eps0, s.neps = &eps[0], len(eps)
	s.idx = append(s.idx[:0], cand...)
	s.w = s.w[:0]
	for _, i := range cand {
		s.w = append(s.w, hashWeight(eps[i].Weight))
	}
	s.audit = 0
}

// IPHash pins each client to a candidate: a hash of Request.Client modulo
// the number of candidates, as NGINX ip_hash and HAProxy "balance source"
// do (both also weight the modulus; this one does not, every candidate
// gets an equal share). It is not consistent: when the candidate set
// changes most clients move. O(1) per pick, no table.
type IPHash struct{}

// Pick implements Balancer.
func (IPHash) Pick(_ time.Duration, req Request, _ []Endpoint, cand []int) int {
	return cand[mix64(req.Client)%uint64(len(cand))]
}

// Done implements Balancer.
func (IPHash) Done(time.Duration, int, time.Duration, Outcome) {}

// UsesRequest implements RequestAware: IPHash reads the client.
func (IPHash) UsesRequest() bool { return true }

// ringPoint is one virtual node: its hash and the candidate position that
// owns it.
type ringPoint struct {
	h uint64
	k int32
}

// hashRing is a Ketama ring over the candidates (Karger et al., "Consistent
// hashing and random trees", STOC 1997; libketama, last.fm 2007; Envoy
// RING_HASH). Each candidate of weight w gets round(vnodes·w/mean weight)
// points (at least one), so a pool of n endpoints has about vnodes·n points;
// point j of an endpoint is the j-th SplitMix64 output seeded with the hash
// of its name, so an endpoint's points do not depend on the others.
// Rebuild cost: O(P) expected for P ≈ vnodes·n points (see sortPoints),
// about 0.4 ms for 100 endpoints at vnodes 160 (BenchmarkHashRebuild);
// 32·P bytes (two point buffers) plus the bucket offsets.
type hashRing struct {
	vnodes float64
	set    candSnapshot
	pts    []ringPoint // sorted by hash
	spare  []ringPoint // the other buffer of sortPoints
	count  []int       // bucket offsets of sortPoints
}

// rebuild builds the ring for the current candidates.
func (r *hashRing) rebuild(eps []Endpoint, cand []int) {
	r.set.take(eps, cand)
	sum := 0.0
	for _, w := range r.set.w {
		sum += w
	}
	mean := sum / float64(len(cand))
	r.pts = r.pts[:0]
	for k, i := range cand {
		n := max(int(math.Round(r.vnodes*r.set.w[k]/mean)), 1)
		seed := hashName(eps[i].Name)
		for j := range n {
			r.pts = append(r.pts, ringPoint{h: mix64(seed + uint64(j)*goldenGamma), k: int32(k)})
		}
	}
	r.sortPoints()
}

// sortPoints sorts the points by hash (then position, for ties): a
// counting sort on the top ⌈log2 P⌉ bits of the hash into a second buffer,
// then an insertion sort that only has to order points within a bucket.
// The hashes are uniform, so buckets hold about one point and the whole is
// O(P) expected, several times faster than a comparison sort.
func (r *hashRing) sortPoints() {
	n := len(r.pts)
	width := bits.Len(uint(n))
	shift := uint(64 - width)
	nb := 1 << width
	if len(r.count) != nb+1 {
		r.count = make([]int, nb+1)
	}
	clear(r.count)
	for _, p := range r.pts {
		r.count[p.h>>shift+1]++
	}
	for b := 1; b <= nb; b++ {
		r.count[b] += r.count[b-1]
	}
	r.spare = slices.Grow(r.spare[:0], n)[:n]
	for _, p := range r.pts {
		b := p.h >> shift
		r.spare[r.count[b]] = p
		r.count[b]++
	}
	r.pts, r.spare = r.spare, r.pts
	pts := r.pts
	for i := 1; i < n; i++ {
		p := pts[i]
		j := i
		for ; j > 0 && (pts[j-1].h > p.h || pts[j-1].h == p.h && pts[j-1].k > p.k); j-- {
			pts[j] = pts[j-1]
		}
		pts[j] = p
	}
}

// search returns the index of the first point at or after h, wrapping
// past the end to 0 (binary search, as Envoy's ring lookup).
func (r *hashRing) search(h uint64) int {
	lo, hi := 0, len(r.pts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.pts[m].h < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(r.pts) {
		return 0
	}
	return lo
}

// RingHash is Ketama consistent hashing keyed by Request.Key: the key's
// hash is placed on the ring and the request goes to the owner of the
// next point clockwise. Removing an endpoint moves only the keys it owned.
// O(log P) per pick (P ≈ vnodes·n); the ring is rebuilt when the candidate
// set or a weight changes (see candSnapshot), at O(P) (see hashRing).
type RingHash struct {
	ring hashRing
}

// NewRingHash returns a ring with vnodes points per endpoint of average
// weight (at least 1).
func NewRingHash(vnodes float64) *RingHash {
	return &RingHash{ring: hashRing{vnodes: max(vnodes, 1)}}
}

// Pick implements Balancer.
func (b *RingHash) Pick(_ time.Duration, req Request, eps []Endpoint, cand []int) int {
	r := &b.ring
	if !r.set.fresh(eps, cand) {
		r.rebuild(eps, cand)
	}
	h := mix64(req.Key)
	k := int(r.pts[r.search(h)].k)
	if !r.set.holds(eps, cand, k) {
		r.rebuild(eps, cand)
		k = int(r.pts[r.search(h)].k)
	}
	return cand[k]
}

// Done implements Balancer.
func (b *RingHash) Done(time.Duration, int, time.Duration, Outcome) {}

// UsesRequest implements RequestAware: RingHash reads the key.
func (b *RingHash) UsesRequest() bool { return true }

// maglevEntry is one candidate while a Maglev table is being filled.
type maglevEntry struct {
	cur    uint64  // next slot of its permutation: offset + skip·next mod M
	skip   uint64  // in [1, M-1]
	w      float64 // weight relative to the largest
	target float64 // Envoy's target_weight_
}

// Maglev is Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable
// Software Network Load Balancer", NSDI 2016, §3.4, Pseudocode 1) keyed by
// Request.Key: a lookup table of prime size M in which each candidate
// fills slots along its own permutation (offset + j·skip mod M, offset and
// skip from the hash of its name), candidates taking turns; a pick is
// table[hash(key) mod M]. Weights are honoured as Envoy does
// (maglev_lb.cc): with weights relative to the largest, a candidate takes
// its turn in iteration t only if t·w ≥ its target, which then grows by 1,
// so its share of slots is proportional to its weight. With equal weights
// every candidate gets ⌊M/n⌋ or ⌈M/n⌉ slots.
//
// O(1) per pick. The table is rebuilt when the candidate set or a weight
// changes (see candSnapshot): about M·ln M probes (§3.4; 0.7 million for
// M = 65537) plus O(iterations·n) turn checks, 3–5 ms for M = 65537 and
// 100 endpoints (BenchmarkHashRebuild); 4·M bytes.
type Maglev struct {
	m     uint64
	set   candSnapshot
	table []int32 // candidate position per slot
	build []maglevEntry
}

// NewMaglev returns a Maglev balancer whose table size is the smallest
// prime ≥ size (and ≥ 2): the permutations need a prime M.
func NewMaglev(size int) *Maglev {
	return &Maglev{m: uint64(nextPrime(size))}
}

// TableSize is the table size M in use (a prime).
func (b *Maglev) TableSize() int { return int(b.m) }

// nextPrime returns the smallest prime ≥ n (2 for n < 2), by trial
// division.
func nextPrime(n int) int {
	if n <= 2 {
		return 2
	}
	for ; ; n++ {
		prime := n%2 == 1
		for d := 3; prime && d*d <= n; d += 2 {
			prime = n%d != 0
		}
		if prime {
			return n
		}
	}
}

// rebuild fills the table for the current candidates (Pseudocode 1 of
// the paper with Envoy's weighting). Candidates are taken in pool order,
// which is stable for a given set (Envoy sorts by address for the same
// reason).
func (b *Maglev) rebuild(eps []Endpoint, cand []int) {
	b.set.take(eps, cand)
	m := b.m
	if uint64(len(b.table)) != m {
		b.table = make([]int32, m)
	}
	for t := range b.table {
		b.table[t] = -1
	}
	maxw := 0.0
	for _, w := range b.set.w {
		maxw = max(maxw, w)
	}
	b.build = b.build[:0]
	for k, i := range cand {
		seed := hashName(eps[i].Name)
		b.build = append(b.build, maglevEntry{cur: seed % m, skip: mix64(seed)%(m-1) + 1, w: b.set.w[k] / maxw})
	}
	filled := uint64(0)
	for iter := 1; filled < m; iter++ {
		for k := range b.build {
			if filled == m {
				break
			}
			e := &b.build[k]
			if float64(iter)*e.w < e.target {
				continue
			}
			e.target++
			for b.table[e.cur] >= 0 {
				if e.cur += e.skip; e.cur >= m {
					e.cur -= m
				}
			}
			b.table[e.cur] = int32(k)
			if e.cur += e.skip; e.cur >= m {
				e.cur -= m
			}
			filled++
		}
	}
}

// Pick implements Balancer.
func (b *Maglev) Pick(_ time.Duration, req Request, eps []Endpoint, cand []int) int {
	if !b.set.fresh(eps, cand) {
		b.rebuild(eps, cand)
	}
	slot := mix64(req.Key) % b.m
	k := int(b.table[slot])
	if !b.set.holds(eps, cand, k) {
		b.rebuild(eps, cand)
		k = int(b.table[slot])
	}
	return cand[k]
}

// Done implements Balancer.
func (b *Maglev) Done(time.Duration, int, time.Duration, Outcome) {}

// UsesRequest implements RequestAware: Maglev reads the key.
func (b *Maglev) UsesRequest() bool { return true }

// Rendezvous is highest-random-weight hashing (Thaler & Ravishankar, "Using
// name-based mappings to increase hit rates", IEEE/ACM ToN 1998) keyed by
// Request.Key, in its weighted form: each candidate scores
// -w / ln(u), u in (0, 1) a hash of the key and the candidate's name, and
// the highest score wins. -ln(u)/w is exponential with rate w, so candidate
// i wins with probability w_i / Σw exactly (Schindelhauer & Schomaker,
// "Weighted distributed hash tables", SPAA 2005; the "logarithmic method").
// A key moves only when its winner leaves (or a newcomer outscores it):
// removing an endpoint moves exactly its keys.
//
// O(n) per pick: one hash per candidate, and a logarithm only for the
// few (about ln n) that could still win; no table. Name hashes are cached
// per endpoint and recomputed (O(len(eps))) only when the pool changes.
type Rendezvous struct {
	eps0  *Endpoint
	seeds []uint64 // hashName of each endpoint, by pool index
}

// Pick implements Balancer.
func (b *Rendezvous) Pick(_ time.Duration, req Request, eps []Endpoint, cand []int) int {
	if len(eps) != len(b.seeds) || &eps[0] != b.eps0 {
		b.eps0 = &eps[0]
		b.seeds = b.seeds[:0]
		for i := range eps {
			b.seeds = append(b.seeds, hashName(eps[i].Name))
		}
	}
	hk := mix64(req.Key)
	seeds := b.seeds
	best, bestV := cand[0], math.Inf(1)
	for _, i := range cand {
		h := mix64(hk ^ seeds[i])
		u := (float64(h>>11) + 0.5) * 0x1p-53 // in (0, 1)
		w := hashWeight(eps[i].Weight)
		// The winner has the least -ln(u)/w (the highest score -w/ln u).
		// As -ln u ≥ 1-u, a candidate whose 1-u already loses cannot win
		// and needs no logarithm; the 1e-12 margin covers rounding, so
		// the result is that of computing every logarithm. Only about
		// ln n candidates get past this test.
		if (1-u)*(1-1e-12) > bestV*w {
			continue
		}
		if v := -math.Log(u) / w; v < bestV {
			best, bestV = i, v
		}
	}
	return best
}

// Done implements Balancer.
func (b *Rendezvous) Done(time.Duration, int, time.Duration, Outcome) {}

// UsesRequest implements RequestAware: Rendezvous reads the key.
func (b *Rendezvous) UsesRequest() bool { return true }

// BoundedHash is consistent hashing with bounded loads (Mirrokni, Thorup &
// Zadimoghaddam, "Consistent Hashing with Bounded Loads", SODA 2018; in
// HAProxy as hash-balance-factor, contributed by Vimeo — A. Rodland,
// "Improving load balancing with a new consistent-hashing algorithm",
// Vimeo Engineering Blog, 2016). The key is placed on the same ring as
// RingHash; walking clockwise, the request goes to the first endpoint whose
// in-flight count with this request added stays within
// ceil((1+ε)·average), average = (total in-flight over the candidates +
// 1) / number of candidates. Some endpoint always qualifies (the least
// loaded has at most ⌊total/n⌋ in flight), so a key leaves its own
// endpoint only while that one is overloaded. The cap is the same for
// every endpoint, as in the paper; weights only shape the ring (HAProxy
// scales the cap by weight).
//
// Per pick: O(n) to sum the in-flight counts (the same pass checks the
// whole candidate set, so a change is seen at once), O(log P) to find the
// key, then one step per ring point passed over (few unless most endpoints
// are at the cap). Rebuilds as RingHash.
type BoundedHash struct {
	ring hashRing
	eps  float64
}

// NewBoundedHash returns a bounded-load ring with slack epsilon (≥ 0) and
// vnodes points per endpoint of average weight.
func NewBoundedHash(epsilon, vnodes float64) *BoundedHash {
	return &BoundedHash{ring: hashRing{vnodes: max(vnodes, 1)}, eps: max(epsilon, 0)}
}

// boundedCap is ceil((1+ε)·(total+1)/n), the most attempts an endpoint may
// have in flight with the new one counted. A value within 1e-9 (relative)
// above an integer is taken as that integer, so that rounding noise never
// loosens the cap.
func boundedCap(eps float64, total, n int) int {
	x := (1 + eps) * float64(total+1) / float64(n)
	c := math.Ceil(x)
	if c-1 >= x-1e-9*max(x, 1) {
		c--
	}
	return int(c)
}

// Pick implements Balancer.
func (b *BoundedHash) Pick(_ time.Duration, req Request, eps []Endpoint, cand []int) int {
	r := &b.ring
	fresh := r.set.shape(eps, cand)
	total := 0
	for k, i := range cand {
		total += eps[i].InFlight
		if fresh && !r.set.holds(eps, cand, k) {
			fresh = false
		}
	}
	if !fresh {
		r.rebuild(eps, cand)
	}
	limit := boundedCap(b.eps, total, len(cand))
	p := r.search(mix64(req.Key))
	for range r.pts {
		if i := cand[r.pts[p].k]; eps[i].InFlight+1 <= limit {
			return i
		}
		if p++; p == len(r.pts) {
			p = 0
		}
	}
	// Not reached with ε ≥ 0 (see the type comment); the least loaded
	// candidate keeps Pick total anyway.
	best := cand[0]
	for _, i := range cand {
		if eps[i].InFlight < eps[best].InFlight {
			best = i
		}
	}
	return best
}

// Done implements Balancer.
func (b *BoundedHash) Done(time.Duration, int, time.Duration, Outcome) {}

// UsesRequest implements RequestAware: BoundedHash reads the key.
func (b *BoundedHash) UsesRequest() bool { return true }
