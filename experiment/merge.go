package experiment

// Merging the shard files of a sharded sweep or capacity search into what
// the unsharded run gives.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/edgelab/edgelab/reports"
)

// ShardError is a problem with the shard files given to ReadShards or
// merged by Shards: a file that cannot be read or is not a shard file,
// shards of different runs, a shard missing, given twice or interrupted.
// It is bad input (the CLI exits 2).
type ShardError struct{ Err error }

// Error returns the underlying error's message.
func (e *ShardError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ShardError) Unwrap() error { return e.Err }

// shardErr returns a ShardError with a formatted message.
func shardErr(format string, args ...any) error {
	return &ShardError{fmt.Errorf(format, args...)}
}

// Shards is every shard file of one sharded run, once each, in shard
// order, their points not yet decoded.
type Shards struct {
	// Run is the run the shards belong to.
	Run   ShardRun
	files []*ShardFile[json.RawMessage]
}

// ReadShards reads the shard files at paths and checks that they are
// every shard of one run, once each and none interrupted. Its errors are
// ShardErrors, except failures to compare the runs.
func ReadShards(paths []string) (*Shards, error) {
	if len(paths) == 0 {
		return nil, shardErr("no shard files")
	}
	files := make([]*ShardFile[json.RawMessage], len(paths))
	for i, p := range paths {
		f, err := readShard(p)
		if err != nil {
			return nil, err
		}
		files[i] = f
	}
	return checkShards(paths, files)
}

// readShard reads one shard file, its points left undecoded.
func readShard(path string) (*ShardFile[json.RawMessage], error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, shardErr("%s: cannot read: %w", path, err)
	}
	var f ShardFile[json.RawMessage]
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil || f.Format == 0 {
		return nil, shardErr("%s: not a shard file written by sweep or capacity --shard (%s)", path, errText(err, "no edgelab_shard field"))
	}
	switch {
	case f.Format != ShardFormat:
		return nil, shardErr("%s: shard format %d; this edgelab reads format %d", path, f.Format, ShardFormat)
	case f.Run.Command != "sweep" && f.Run.Command != "capacity":
		return nil, shardErr("%s: unknown command %q", path, f.Run.Command)
	case f.Run.Shards < 1 || f.Shard < 1 || f.Shard > f.Run.Shards:
		return nil, shardErr("%s: shard %d of %d is out of range", path, f.Shard, f.Run.Shards)
	case f.Partial:
		return nil, shardErr("%s: shard %d/%d was interrupted (partial); run it again", path, f.Shard, f.Run.Shards)
	}
	return &f, nil
}

// errText describes a decoding error in a reader's terms, or returns alt
// when err is nil.
func errText(err error, alt string) string {
	if err != nil {
		return reports.JSONError(err)
	}
	return alt
}

// runDiff names the first field in which two runs differ, "" when none.
func runDiff(a, b ShardRun) (string, error) {
	fields := func(r ShardRun) (map[string]json.RawMessage, error) {
		data, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode shard run: %w", err)
		}
		m := map[string]json.RawMessage{}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("decode shard run: %w", err)
		}
		return m, nil
	}
	fa, err := fields(a)
	if err != nil {
		return "", err
	}
	fb, err := fields(b)
	if err != nil {
		return "", err
	}
	var names []string
	for k := range fa {
		names = append(names, k)
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		if !bytes.Equal(fa[k], fb[k]) {
			show := func(v json.RawMessage) string {
				if v == nil {
					return "none"
				}
				return string(v)
			}
			return fmt.Sprintf("%s differs (%s vs %s)", k, show(fa[k]), show(fb[k])), nil
		}
	}
	return "", nil
}

// checkShards verifies that the files are every shard of one run, once
// each, and returns them in shard order.
func checkShards(paths []string, files []*ShardFile[json.RawMessage]) (*Shards, error) {
	first := files[0]
	for i, f := range files[1:] {
		diff, err := runDiff(first.Run, f.Run)
		if err != nil {
			return nil, err
		}
		if diff != "" {
			return nil, shardErr("%s and %s are shards of different runs: %s", paths[0], paths[i+1], diff)
		}
	}
	n := first.Run.Shards
	byShard := make([]*ShardFile[json.RawMessage], n)
	from := make([]string, n)
	for i, f := range files {
		if prev := byShard[f.Shard-1]; prev != nil {
			return nil, shardErr("shard %d/%d is given twice: %s and %s", f.Shard, n, from[f.Shard-1], paths[i])
		}
		byShard[f.Shard-1], from[f.Shard-1] = f, paths[i]
	}
	var missing []string
	for k, f := range byShard {
		if f == nil {
			missing = append(missing, fmt.Sprintf("%d/%d", k+1, n))
		}
	}
	if len(missing) > 0 {
		return nil, shardErr("missing shard(s) %s of this %s of %s (got %d of %d files)",
			strings.Join(missing, ", "), first.Run.Command, first.Run.Scenario, len(files), n)
	}
	return &Shards{Run: first.Run, files: byShard}, nil
}

// collect decodes every shard's points into P and places each at its
// index, checking that every index of the run is there exactly once and
// in the shard that owns it.
func collect[P any](s *Shards, index func(*P) int) ([]*P, error) {
	run := s.Run
	out := make([]*P, run.Points)
	for _, f := range s.files {
		sh := Shard{Index: f.Shard, Count: run.Shards}
		for _, raw := range f.Points {
			p := new(P)
			if err := json.Unmarshal(raw, p); err != nil {
				return nil, shardErr("shard %s: bad point: %s", sh, reports.JSONError(err))
			}
			i := index(p)
			switch {
			case i < 0 || i >= run.Points || !sh.Owns(i):
				return nil, shardErr("shard %s holds point %d, which is not its own", sh, i)
			case out[i] != nil:
				return nil, shardErr("shard %s holds point %d twice", sh, i)
			}
			out[i] = p
		}
	}
	for i, p := range out {
		if p == nil {
			return nil, shardErr("point %d is in no shard (shard %s lacks it)", i, Shard{Index: i%run.Shards + 1, Count: run.Shards})
		}
	}
	return out, nil
}

// errNotSweep and errNotCapacity are returned when shards are merged as
// the other command's.
var (
	errNotSweep    = errors.New("shard run: not a sweep")
	errNotCapacity = errors.New("shard run: not a capacity search")
)

// Sweep combines the shards of a sweep into the content of the sweep.json
// the unsharded sweep writes: the same bytes once encoded, each point's
// results as the shard ran them.
func (s *Shards) Sweep() (*reports.SweepReport, error) {
	run := s.Run
	if run.Command != "sweep" {
		return nil, &ShardError{errNotSweep}
	}
	var ranges []Range
	for _, v := range run.Vary {
		r, err := ParseVary(v)
		if err != nil {
			return nil, shardErr("shard run: %w", err)
		}
		ranges = append(ranges, r)
	}
	g, err := NewGrid(ranges...)
	if err != nil {
		return nil, shardErr("shard run: %w", err)
	}
	all := g.Points()
	if len(all) != run.Points {
		return nil, shardErr("shard run: %d points, but its --vary gives %d", run.Points, len(all))
	}
	points, err := collect(s, func(p *SweepShardPoint) int { return p.Index })
	if err != nil {
		return nil, err
	}
	rep := &reports.SweepReport{Key: g[0].Key}
	if len(g) > 1 {
		rep.Keys = g.Keys()
	}
	for i, p := range points {
		want := all[i]
		if p.Value != want[0] || (len(g) > 1 && !slices.Equal(p.Values, want)) {
			return nil, shardErr("point %d has values %v, but the run's --vary gives %v", i, p.Values, want)
		}
		if p.Results == nil {
			return nil, shardErr("point %d: no results", i)
		}
		pt := p.SweepPoint
		pt.Index = i
		rep.Points = append(rep.Points, pt)
	}
	return rep, nil
}

// Capacity replays the capacity search on the shards' probes of every
// value (CapacitySearch) and returns the content of the capacity.json the
// unsharded search writes, and the range searched.
func (s *Shards) Capacity() (*reports.CapacityReport, Range, error) {
	run := s.Run
	if run.Command != "capacity" {
		return nil, Range{}, &ShardError{errNotCapacity}
	}
	if len(run.Vary) != 1 || run.SLO == nil {
		return nil, Range{}, shardErr("shard run: a capacity shard needs one vary range and an slo")
	}
	r, err := ParseVary(run.Vary[0])
	if err != nil {
		return nil, Range{}, shardErr("shard run: %w", err)
	}
	values := r.Points()
	if len(values) != run.Points {
		return nil, Range{}, shardErr("shard run: %d values, but its --vary gives %d", run.Points, len(values))
	}
	probes, err := collect(s, func(p *CapacityShardPoint) int { return p.Index })
	if err != nil {
		return nil, Range{}, err
	}
	for i, p := range probes {
		if p.Value != values[i] {
			return nil, Range{}, shardErr("value %d is %g, but the run's --vary gives %g", i, p.Value, values[i])
		}
	}
	obj := Objective{SLO: *run.SLO, Tolerate: run.Tolerate}
	ans, err := CapacitySearch(r, obj, func(i int) (reports.CapacityProbe, error) { return probes[i].CapacityProbe, nil })
	if err != nil {
		return nil, Range{}, fmt.Errorf("replay the capacity search: %w", err)
	}
	if ans.Answer != nil {
		ans.MonthlyCost = probes[slices.Index(values, *ans.Answer)].MonthlyCost
	}
	return ans, r, nil
}
