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
// entries live in a slice allocated up front with an intrusive doubly linked
// recency list by index, plus a map from key to index sized for the whole
// cache, so Get and Put do not allocate.
//
// A Cache is a single-threaded state machine: the caller serializes calls.
type Cache struct {
	ttl        time.Duration // ≤ 0: never expires
	size       int
	idx        map[uint64]int32
	ents       []cacheEntry // grows up to size; capacity size from the start
	head, tail int32        // most / least recently used; -1 when empty
	free       int32        // entries removed on expiry, through next
	hits       int64
	misses     int64
}

type cacheEntry struct {
	key        uint64
	expires    time.Duration // served while now < expires
	prev, next int32
}

// NewCache returns a cache of at most size entries that live for ttl after
// they are stored. ttl ≤ 0 means entries never expire (pure LRU); size ≤ 0
// means nothing is ever stored (every Get misses). The entries and the map
// are allocated here, for the whole size.
func NewCache(size int, ttl time.Duration) *Cache {
	size = max(0, min(size, math.MaxInt32))
	return &Cache{
		ttl:  ttl,
		size: size,
		idx:  make(map[uint64]int32, size),
		ents: make([]cacheEntry, 0, size),
		head: -1, tail: -1, free: -1,
	}
}

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
		c.unlink(i)
		delete(c.idx, key)
		c.ents[i].next = c.free
		c.free = i
		c.misses++
		return false
	}
	c.unlink(i)
	c.pushFront(i)
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
	switch {
	case ok:
		c.unlink(i)
	case c.free >= 0:
		i = c.free
		c.free = c.ents[i].next
	case len(c.ents) < c.size:
		c.ents = append(c.ents, cacheEntry{})
		i = int32(len(c.ents) - 1)
	default:
		i = c.tail
		c.unlink(i)
		delete(c.idx, c.ents[i].key)
	}
	if !ok {
		c.ents[i].key = key
		c.idx[key] = i
	}
	c.ents[i].expires = expires
	c.pushFront(i)
}

// Stats returns the number of Get calls that hit and that missed.
func (c *Cache) Stats() (hits, misses int64) { return c.hits, c.misses }

// Len is the number of entries held, counting expired entries that have
// not been removed yet.
func (c *Cache) Len() int { return len(c.idx) }

func (c *Cache) unlink(i int32) {
	e := &c.ents[i]
	if e.prev >= 0 {
		c.ents[e.prev].next = e.next
	} else {
		c.head = e.next
	}
	if e.next >= 0 {
		c.ents[e.next].prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (c *Cache) pushFront(i int32) {
	e := &c.ents[i]
	e.prev, e.next = -1, c.head
	if c.head >= 0 {
		c.ents[c.head].prev = i
	} else {
		c.tail = i
	}
	c.head = i
}
