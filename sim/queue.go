package sim

// ring is a growable FIFO; it allocates only when it grows past its
// largest size so far. Its length is a power of two, so indices wrap with
// a mask.
type ring[T any] struct {
	buf  []T
	head int
	n    int
}

func (r *ring[T]) len() int { return r.n }

// front is the oldest element; the ring must not be empty.
func (r *ring[T]) front() T { return r.buf[r.head] }

func (r *ring[T]) push(v T) {
	if r.n == len(r.buf) {
		nb := make([]T, max(8, 2*len(r.buf)))
		for i := 0; i < r.n; i++ {
			nb[i] = r.buf[(r.head+i)&(len(r.buf)-1)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = v
	r.n++
}

func (r *ring[T]) pop() T {
	v := r.buf[r.head]
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return v
}

// tagHeap is a min-heap of processor-sharing jobs ordered by finish tag
// (ties by attempt index, for determinism).
type tagHeap struct {
	tag []float64
	att []int32
}

func (h *tagHeap) len() int { return len(h.tag) }

func (h *tagHeap) less(i, j int) bool {
	if h.tag[i] != h.tag[j] {
		return h.tag[i] < h.tag[j]
	}
	return h.att[i] < h.att[j]
}

func (h *tagHeap) swap(i, j int) {
	h.tag[i], h.tag[j] = h.tag[j], h.tag[i]
	h.att[i], h.att[j] = h.att[j], h.att[i]
}

func (h *tagHeap) push(tag float64, att int32) {
	h.tag = append(h.tag, tag)
	h.att = append(h.att, att)
	i := len(h.tag) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h *tagHeap) min() (float64, int32) { return h.tag[0], h.att[0] }

func (h *tagHeap) popMin() {
	n := len(h.tag) - 1
	h.swap(0, n)
	h.tag, h.att = h.tag[:n], h.att[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
}
