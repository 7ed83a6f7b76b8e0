package gateway

import (
	"container/list"
	"hash/maphash"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/strategies"
)

// Bounds on what the response cache holds, besides the stage's size.
const (
	// maxCacheEntry is the largest body stored; larger answers pass
	// through uncached.
	maxCacheEntry = 1 << 20
	// maxCacheBytes bounds one instance's cache in bytes: a new answer
	// that would exceed it is not stored.
	maxCacheBytes = 256 << 20
)

// respCache is a gateway instance's response cache. strategies.Cache (the
// simulator's) decides hits, expiry (ttl after the store, not extended by
// hits) and LRU eviction over request keys; the answers live in an LRU
// list beside it that mirrors its recency exactly (the same Get and Put
// calls in the same order, under one mutex), so that an evicted or
// expired key's answer is dropped when the key is.
type respCache struct {
	mu    sync.Mutex
	keys  *strategies.Cache
	size  int
	lru   *list.List               // of *cachedResp; front = most recently used
	byKey map[uint64]*list.Element // by cacheID.slot
	bytes int64
	seed  maphash.Seed // of derived slots: a client cannot aim at one
}

// cacheID is what a stored answer answers. A lab key (X-Edgelab-Key, set
// by the client) and a key derived from the request live in separate
// spaces: lab tells them apart, and a derived key carries the whole
// request target (method, host and request URI as sent), so that neither
// a chosen X-Edgelab-Key nor a hash collision between two targets can
// make one request's answer another's. slot is the uint64 that
// strategies.Cache tracks (recency, expiry, eviction); two identities may
// share a slot (a lab key equal to a derived hash), in which case they
// evict each other but a lookup only hits an answer stored for the same
// identity.
type cacheID struct {
	slot   uint64
	lab    bool
	target string // derived keys only: "METHOD host request-uri"
}

// cachedResp is one stored answer.
type cachedResp struct {
	id     cacheID
	status int
	header http.Header
	body   []byte
	cost   int64 // bytes accounted
}

func newRespCache(size int, ttl time.Duration) *respCache {
	return &respCache{keys: strategies.NewCache(size, ttl), size: size, lru: list.New(), byKey: make(map[uint64]*list.Element), seed: maphash.MakeSeed()}
}

// get returns the fresh answer stored for id at now, or nil (a miss).
func (c *respCache) get(now time.Duration, id cacheID) *cachedResp {
	c.mu.Lock()
	defer c.mu.Unlock()
	hit := c.keys.Get(now, id.slot)
	el := c.byKey[id.slot]
	if !hit {
		if el != nil { // expired: strategies.Cache dropped it too
			c.remove(el)
		}
		return nil
	}
	if el == nil {
		return nil // not stored (cannot happen while the mirror is exact)
	}
	c.lru.MoveToFront(el) // as strategies.Cache did for the slot
	if e := el.Value.(*cachedResp); e.id == id {
		return e
	}
	return nil // another identity in the same slot
}

// put stores an answer for key at now, evicting the least recently used
// one when the cache is full, as strategies.Cache does.
func (c *respCache) put(now time.Duration, e *cachedResp) {
	if c.size <= 0 || len(e.body) > maxCacheEntry {
		return
	}
	e.cost = int64(len(e.body)) + 64
	for k, vs := range e.header {
		e.cost += int64(len(k))
		for _, v := range vs {
			e.cost += int64(len(v))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byKey[e.id.slot]
	if el == nil && c.bytes+e.cost > maxCacheBytes {
		return // neither stored nor told to strategies.Cache: the mirror stays exact
	}
	c.keys.Put(now, e.id.slot)
	if el != nil {
		c.bytes += e.cost - el.Value.(*cachedResp).cost
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	if c.lru.Len() >= c.size {
		c.remove(c.lru.Back())
	}
	c.byKey[e.id.slot] = c.lru.PushFront(e)
	c.bytes += e.cost
}

func (c *respCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cachedResp)
	delete(c.byKey, e.id.slot)
	c.bytes -= e.cost
}

// len is the number of answers held.
func (c *respCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// id is the request's cache identity: its X-Edgelab-Key, as the
// simulator's cache keys requests (path and query are ignored, the key
// names the resource), or, without one, its whole target: method, Host
// and request URI as sent, hashed into a slot with the cache's secret
// seed. The two spaces never meet (see cacheID): a client that chooses
// its X-Edgelab-Key cannot store an answer another request will get
// without one.
func (c *respCache) id(r *http.Request) cacheID {
	if k, err := wire.ParseNumber(r.Header.Get(wire.HeaderKey), 64); err == nil {
		return cacheID{slot: k, lab: true}
	}
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	target := r.Method + " " + r.Host + " " + uri
	return cacheID{slot: maphash.String(c.seed, target) | 1<<63, target: target}
}

// cacheLookup is the cache stage. Only GET requests use the cache; they
// get X-Edgelab-Cache: hit or miss. A hit is answered from the cache
// without calling upstream; a miss goes on and its answer is stored if
// it is a 2xx. Other methods pass with X-Edgelab-Cache: miss and are not
// counted.
func (s *Stages) cacheLookup(w http.ResponseWriter, r *http.Request, rs *reqState) bool {
	if r.Method != http.MethodGet {
		w.Header().Set(wire.HeaderCache, wire.CacheMiss)
		return false
	}
	rs.cacheID = s.cache.id(r)
	e := s.cache.get(rs.now, rs.cacheID)
	if e == nil {
		if rs.measured {
			s.misses.Add(1)
		}
		rs.store = true
		w.Header().Set(wire.HeaderCache, wire.CacheMiss)
		return false
	}
	if rs.measured {
		s.hits.Add(1)
	}
	h := w.Header()
	for k, vs := range e.header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set(wire.HeaderCache, wire.CacheHit)
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body)
	return true
}

// store keeps a 2xx answer captured from upstream, without the headers
// that describe one upstream exchange rather than the resource (server,
// attempts, load signal, outcome, cache status, request id).
func (c *respCache) store(now time.Duration, id cacheID, cw *captureWriter) {
	if cw.header == nil || cw.over {
		return
	}
	if cl := cw.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(cw.body)) {
		return // cut short
	}
	for _, k := range [...]string{wire.HeaderServer, wire.HeaderAttempts, wire.HeaderInFlight, wire.HeaderUtilization,
		wire.HeaderServiceTime, wire.HeaderOutcome, wire.HeaderCache, "X-Request-Id"} {
		cw.header.Del(k)
	}
	c.put(now, &cachedResp{id: id, status: cw.status, header: cw.header, body: cw.body})
}

// captureWriter passes an answer through while keeping a copy of a 2xx
// answer's status, headers and body (up to maxCacheEntry bytes).
type captureWriter struct {
	http.ResponseWriter
	status int
	header http.Header // snapshot at WriteHeader; nil unless 2xx
	body   []byte
	over   bool // the body exceeded maxCacheEntry
}

// WriteHeader implements http.ResponseWriter.
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
		if code/100 == 2 {
			c.header = c.ResponseWriter.Header().Clone()
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.header != nil && !c.over {
		if len(c.body)+len(p) > maxCacheEntry {
			c.over, c.body = true, nil
		} else {
			c.body = append(c.body, p...)
		}
	}
	return c.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (c *captureWriter) Flush() {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
