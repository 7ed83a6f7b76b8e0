package strategies

import (
	"math"
	"time"
)

// Cache is the gateway's cache stage: a least-recently-used cache of request
// keys whose entries expire a fixed TTL after they were stored.
//
// Expiry is not extended by hits: an entry stored at t is served until
// t+TTL however often it is read, as in HTTP caches (Envoy's cache filter
// and NGINX proxy_cache keep a response fresh for its max-age or
// proxy_cache_valid time from when it was stored). Under Poisson requests
// to a key at rate λ and an unbounded cache, the key's hit ratio is then
// λT/(1+λT) (J. Jung, A. W. Berger, H. Balakrishnan, "Modeling TTL-based
// Internet caches", IEEE INFOCOM 2003). Put refreshes the expiry: the
// caller stores the fresh response it fetched after a miss.
//
// Only keys are kept (the simulator needs hit or miss, not bodies). The
// entries live in a slice with a recency list by index over it (lruList),
// plus a map from key to index. They grow with the keys stored, not with
// size: a cache of a million entries that sees a thousand keys holds a
// thousand (an instance per gateway instance, each of size entries, would
// otherwise reserve gigabytes before a request arrives). Once the cache
// has grown to its working size, Get and Put do not allocate.
//
// A Cache is a single-threaded state machine: the caller serializes calls.
type Cache struct {
	ttl    time.Duration // ≤ 0: never expires
	size   int
	idx    map[uint64]int32
	ents   []cacheEntry // grows up to size; capacity size from the start
	lru    lruList      // recency of ents; entries removed on expiry are free
	hits   int64
	misses int64
}

type cacheEntry struct {
	key     uint64
	expires time.Duration // served while now < expires
}

// NewCache returns a cache of at most size entries that live for ttl after
// they are stored. ttl ≤ 0 means entries never expire (pure LRU); size ≤ 0
// means nothing is ever stored (every Get misses). Room for the first
// entries is reserved here; the rest grows as keys are stored.
func NewCache(size int, ttl time.Duration) *Cache {
	size = max(0, min(size, math.MaxInt32))
	reserve := min(size, cacheReserve)
	c := &Cache{
		ttl:  ttl,
		size: size,
		idx:  make(map[uint64]int32, reserve),
		ents: make([]cacheEntry, 0, reserve),
	}
	c.lru.init(reserve)
	return c
}

// cacheReserve is the number of entries a new cache has room for.
const cacheReserve = 1024

// Get reports whether key is cached and fresh at now (a hit), and makes it
// the most recently used. It does not extend the entry's expiry. An expired
// entry is removed and counts as a miss.
func (c *Cache) Get(now time.Duration, key uint64) bool {
	i, ok := c.idx[key]
	if !ok {
		c.misses++
		return false
	}
	if now >= c.ents[i].expires {
		c.lru.release(i)
		delete(c.idx, key)
		c.misses++
		return false
	}
	c.lru.unlink(i)
	c.lru.pushFront(i)
	c.hits++
	return true
}

// Put stores key at now with expiry now+TTL, or refreshes it if present,
// and makes it the most recently used. When the cache is full it first
// evicts the least recently used entry (expired or not).
func (c *Cache) Put(now time.Duration, key uint64) {
	if c.size == 0 {
		return
	}
	expires := time.Duration(math.MaxInt64)
	if c.ttl > 0 && now < math.MaxInt64-c.ttl {
		expires = now + c.ttl
	}
	i, ok := c.idx[key]
	if ok {
		c.lru.unlink(i)
	} else {
		i = c.take()
		c.ents[i].key = key
		c.idx[key] = i
	}
	c.ents[i].expires = expires
	c.lru.pushFront(i)
}

// take returns an unlinked entry for a new key: one removed on expiry, a
// new one, or, when the cache is full, the least recently used one.
func (c *Cache) take() int32 {
	if i := c.lru.reuse(); i >= 0 {
		return i
	}
	if c.lru.len() < c.size {
		c.ents = append(c.ents, cacheEntry{})
		return c.lru.grow()
	}
	i := c.lru.back()
	c.lru.unlink(i)
	delete(c.idx, c.ents[i].key)
	return i
}

// Stats returns the number of Get calls that hit and that missed.
func (c *Cache) Stats() (hits, misses int64) { return c.hits, c.misses }

// Len is the number of entries held, counting expired entries that have
// not been removed yet.
func (c *Cache) Len() int { return len(c.idx) }
