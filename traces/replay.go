package traces

import (
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultReorder is how far out of order a log's arrivals may be and
// still replay in order: logs are written when requests end, so a request
// that took d appears after those that arrived up to d after it.
const DefaultReorder = 30 * time.Second

// ReplayOptions choose how a log replays.
type ReplayOptions struct {
	Options
	// Speed divides the log's times (2 replays its traffic at twice the
	// rate); 0 means 1.
	Speed float64
	// From and To pick a window of the log, measured from its first
	// arrival; To 0 is the end of the log.
	From, To time.Duration
	// Reorder bounds how far out of order the log's arrivals are
	// (DefaultReorder when 0). An arrival later than that is replayed at
	// the time of the one before it and counted as late.
	Reorder time.Duration
	// Route maps a request's path to a route (nil: every request 0).
	Route func(path []byte) int
	// Group, when set, puts each record in a group (Arrival.Group): by
	// upstream, say, for fitting each upstream's service times.
	Group func(r *Record) int
}

// Arrival is one replayed request.
type Arrival struct {
	// At is its arrival since the window began, divided by Speed.
	At time.Duration
	// Service is the time the log says the upstream took (-1 unknown).
	Service time.Duration
	// Line is its line in the log.
	Line int64
	// Key hashes the record's key (FNV-1a) and Route is Route(path).
	Key   uint32
	Route int32
	// Group is ReplayOptions.Group's group (0 without it).
	Group int32
}

// maxAt caps a replayed time, far beyond any run (a log spanning
// centuries replayed slowly would overflow a Duration).
const maxAt = float64(1 << 60)

// item is a record waiting in the reorder heap.
type item struct {
	start int64
	Arrival
}

// Replay yields a log's arrivals in time order, holding only the records
// within the reorder window: memory is O(arrivals per Reorder), whatever
// the log's length.
type Replay struct {
	rd     *Reader
	closer io.Closer
	opt    ReplayOptions
	heap   []item
	rec    Record
	// maxStart is the latest arrival read; origin the first replayed one.
	maxStart, origin, last int64
	started, eof           bool
	err                    error
	stats                  ReplayStats
}

// ReplayStats count what a replay read.
type ReplayStats struct {
	// Records is how many records were read; Replayed how many came out
	// (those in the window).
	Records, Replayed int64
	// Skipped counts malformed lines; FirstBad is the first (file:line:
	// why).
	Skipped  int64
	FirstBad string
	// Late counts arrivals further out of order than the reorder window.
	Late int64
	// Span is the time from the window's start to the last replayed
	// arrival, in the log's time (before Speed).
	Span time.Duration
}

// OpenReplay opens the log at path for replay.
func OpenReplay(path string, opt ReplayOptions) (*Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p, err := NewReplay(f, path, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	p.closer = f
	return p, nil
}

// NewReplay replays the log r, named name in messages.
func NewReplay(r io.Reader, name string, opt ReplayOptions) (*Replay, error) {
	rd, err := NewReader(r, name, opt.Options)
	if err != nil {
		return nil, err
	}
	if opt.Speed <= 0 {
		opt.Speed = 1
	}
	if opt.Reorder <= 0 {
		opt.Reorder = DefaultReorder
	}
	return &Replay{rd: rd, opt: opt}, nil
}

// Format is the log's format.
func (p *Replay) Format() string { return p.rd.Format() }

// Next fills a with the next arrival; false at the end of the log or the
// window, or on an error (Err).
func (p *Replay) Next(a *Arrival) bool {
	for {
		if len(p.heap) > 0 && (p.eof || p.heap[0].start <= p.maxStart-int64(p.opt.Reorder)) {
			it := p.pop()
			if !p.started {
				p.started, p.origin, p.last = true, it.start, it.start
			}
			if it.start < p.last {
				it.start = p.last
				p.stats.Late++
			}
			p.last = it.start
			t := time.Duration(it.start - p.origin)
			if t < p.opt.From {
				continue
			}
			if p.opt.To > 0 && t >= p.opt.To {
				p.eof, p.heap = true, p.heap[:0]
				return false
			}
			*a = it.Arrival
			a.At = time.Duration(min(float64(t-p.opt.From)/p.opt.Speed, maxAt))
			p.stats.Replayed++
			p.stats.Span = t - p.opt.From
			return true
		}
		if p.eof {
			return false
		}
		err := p.rd.Next(&p.rec)
		if err == io.EOF {
			p.eof = true
			continue
		}
		if err != nil {
			p.err, p.eof, p.heap = err, true, p.heap[:0]
			return false
		}
		p.stats.Records++
		r := &p.rec
		it := item{start: r.Start, Arrival: Arrival{Service: r.Service, Line: p.rd.Line(), Key: hash32(r.Key)}}
		if p.opt.Route != nil {
			it.Route = int32(p.opt.Route(r.Path))
		}
		if p.opt.Group != nil {
			it.Group = int32(p.opt.Group(r))
		}
		if p.stats.Records == 1 || r.Start > p.maxStart {
			p.maxStart = r.Start
		}
		p.push(it)
	}
}

// Err is the error that stopped the replay, if any.
func (p *Replay) Err() error { return p.err }

// Stats returns what the replay has read so far.
func (p *Replay) Stats() ReplayStats {
	s := p.stats
	var bad error
	s.Skipped, bad = p.rd.Skipped()
	if bad != nil {
		s.FirstBad = bad.Error()
	}
	return s
}

// Close closes the log opened by OpenReplay.
func (p *Replay) Close() error {
	if p.closer != nil {
		return p.closer.Close()
	}
	return nil
}

// String describes the replay for messages.
func (p *Replay) String() string {
	return fmt.Sprintf("%s (%s)", p.rd.name, p.rd.Format())
}

// hash32 is FNV-1a over b.
func hash32(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// The reorder heap: a binary min-heap on (start, line), so that equal
// times keep their log order.

func (p *Replay) less(i, j int) bool {
	a, b := &p.heap[i], &p.heap[j]
	return a.start < b.start || a.start == b.start && a.Line < b.Line
}

func (p *Replay) push(it item) {
	p.heap = append(p.heap, it)
	i := len(p.heap) - 1
	for i > 0 {
		up := (i - 1) / 2
		if !p.less(i, up) {
			break
		}
		p.heap[i], p.heap[up] = p.heap[up], p.heap[i]
		i = up
	}
}

func (p *Replay) pop() item {
	h := p.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	p.heap = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && p.less(r, l) {
			m = r
		}
		if !p.less(m, i) {
			break
		}
		p.heap[i], p.heap[m] = p.heap[m], p.heap[i]
		i = m
	}
	return top
}
