package strategies

// lruList is a recency list over slots 0..len()-1 of a slice its owner keeps
// alongside it (Cache's entries, clientLimiter's client states): an
// intrusive doubly linked list by index, most recently used at the front,
// plus a free list of released slots for reuse. The owner appends to its
// slice exactly when it calls grow, so slot i of both always match.
//
// Indexes are int32 to keep a link to 8 bytes; -1 ends a list. No method
// allocates but grow, which appends to links (amortized, and not at all
// while len() < the capacity given to init).
type lruList struct {
	links      []lruLink
	head, tail int32 // most / least recently used; -1 when empty
	free       int32 // released slots, through next; -1 when empty
}

// lruLink is one slot's neighbours: toward the front and toward the back
// of the recency list, or, for a released slot, the next free one in next.
type lruLink struct{ prev, next int32 }

// init empties l and reserves room for capacity slots.
func (l *lruList) init(capacity int) {
	*l = lruList{links: make([]lruLink, 0, capacity), head: -1, tail: -1, free: -1}
}

// len is the number of slots grown so far, linked or free.
func (l *lruList) len() int { return len(l.links) }

// grow adds a slot, unlinked and not free, and returns its index.
func (l *lruList) grow() int32 {
	l.links = append(l.links, lruLink{-1, -1})
	return int32(len(l.links) - 1)
}

// back is the least recently used slot, -1 when the list is empty.
func (l *lruList) back() int32 { return l.tail }

// unlink takes linked slot i out of the recency list.
func (l *lruList) unlink(i int32) {
	e := &l.links[i]
	if e.prev >= 0 {
		l.links[e.prev].next = e.next
	} else {
		l.head = e.next
	}
	if e.next >= 0 {
		l.links[e.next].prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

// pushFront makes unlinked slot i the most recently used.
func (l *lruList) pushFront(i int32) {
	e := &l.links[i]
	e.prev, e.next = -1, l.head
	if l.head >= 0 {
		l.links[l.head].prev = i
	} else {
		l.tail = i
	}
	l.head = i
}

// release unlinks slot i and puts it on the free list.
func (l *lruList) release(i int32) {
	l.unlink(i)
	l.links[i].next = l.free
	l.free = i
}

// reuse takes the most recently released slot off the free list, unlinked,
// or returns -1 when there is none.
func (l *lruList) reuse() int32 {
	i := l.free
	if i >= 0 {
		l.free = l.links[i].next
		l.links[i].next = -1
	}
	return i
}
