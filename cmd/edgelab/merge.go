package main

// Shards of sweeps and capacity searches, and the merge command that
// combines them into what the unsharded run writes.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

// shardFormat is the version of the shard file format, written as
// "edgelab_shard"; merge refuses other versions.
const shardFormat = 1

// shardRun identifies the run a shard belongs to. Every shard of one run
// carries the same shardRun; merge refuses shards whose runs differ,
// naming the field.
type shardRun struct {
	// Command is "sweep" or "capacity".
	Command string `json:"command"`
	// Scenario is the scenario's name; ScenarioSHA256 the SHA-256 of the
	// scenario file's bytes (files it refers to, such as traces, are not
	// hashed).
	Scenario       string `json:"scenario"`
	ScenarioSHA256 string `json:"scenario_sha256"`
	// Seed is the seed the points ran with (--seed or the scenario's).
	Seed uint64 `json:"seed"`
	// Sets are the --set flags, Strategies the --strategy list.
	Sets       []string `json:"sets,omitempty"`
	Strategies []string `json:"strategies,omitempty"`
	// Vary holds the --vary ranges with explicit steps (sim.Range.String).
	Vary []string `json:"vary"`
	// SLO and Tolerate are capacity's --slo and --tolerate.
	SLO      *sim.SLO `json:"slo,omitempty"`
	Tolerate int      `json:"tolerate_crash,omitempty"`
	// Points is the number of points (values) of the whole run, Shards
	// the N of --shard k/N.
	Points int `json:"points"`
	Shards int `json:"shards"`
}

// shardFile is the content of sweep.shard-k-of-N.json and
// capacity.shard-k-of-N.json: the run's identity and the results of the
// points the shard owns, each with its index in the run.
type shardFile[P any] struct {
	Format int      `json:"edgelab_shard"`
	Shard  int      `json:"shard"`
	Run    shardRun `json:"run"`
	// Partial is true when the shard was interrupted: merge refuses it.
	Partial bool `json:"partial,omitempty"`
	Points  []P  `json:"points"`
}

// sweepShardPoint is one point of a sweep shard.
type sweepShardPoint struct {
	Index int `json:"index"`
	sim.SweepPoint
}

// rawSweepPoint is a sweep point as merge reads it: the results stay the
// bytes the shard wrote, so that merging does not depend on (or alter)
// the results model.
type rawSweepPoint struct {
	Index   int             `json:"index"`
	Value   float64         `json:"value"`
	Values  []float64       `json:"values,omitempty"`
	Results json.RawMessage `json:"results"`
}

// capacityShardPoint is one value of a capacity shard: its probe and the
// monthly cost of the fleet at that value (the capacity answer's
// monthly_cost when it is the answer).
type capacityShardPoint struct {
	Index int `json:"index"`
	sim.Probe
	MonthlyCost float64 `json:"monthly_cost,omitempty"`
}

// shardFileName is the file a shard writes: "sweep.shard-2-of-3.json".
func shardFileName(command string, s sim.Shard) string {
	return fmt.Sprintf("%s.shard-%d-of-%d.json", command, s.Index, s.Count)
}

// newShardRun records the identity of a sharded run of args[0].
func newShardRun(command string, args []string, f sweepFlags, sc *workloads.Scenario, names []string, g sim.Grid) (*shardRun, error) {
	data, err := os.ReadFile(args[0])
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read: %w", args[0], err)
	}
	sum := sha256.Sum256(data)
	run := &shardRun{
		Command:        command,
		Scenario:       sc.Name,
		ScenarioSHA256: hex.EncodeToString(sum[:]),
		Seed:           sc.Seed,
		Sets:           f.sets,
		Strategies:     names,
		Points:         len(g.Points()),
	}
	for _, r := range g {
		run.Vary = append(run.Vary, r.String())
	}
	return run, nil
}

// sweepShardJSON renders a sweep shard's file.
func sweepShardJSON(run *shardRun, s sim.Shard, partial bool, points []sim.SweepPoint) ([]byte, error) {
	r := *run
	r.Shards = s.Count
	file := shardFile[sweepShardPoint]{Format: shardFormat, Shard: s.Index, Run: r, Partial: partial, Points: []sweepShardPoint{}}
	for _, p := range points {
		file.Points = append(file.Points, sweepShardPoint{Index: p.Index, SweepPoint: p})
	}
	return indentJSON(file)
}

// capacityShardJSON renders a capacity shard's file; cost prices the
// fleet at a value.
func capacityShardJSON(run *shardRun, s sim.Shard, partial bool, probes []sim.Probe, cost func(float64) float64) ([]byte, error) {
	r := *run
	r.Shards = s.Count
	file := shardFile[capacityShardPoint]{Format: shardFormat, Shard: s.Index, Run: r, Partial: partial, Points: []capacityShardPoint{}}
	for _, p := range probes {
		file.Points = append(file.Points, capacityShardPoint{Index: p.Index, Probe: p, MonthlyCost: cost(p.Value)})
	}
	return indentJSON(file)
}

func newMergeCmd(stdout io.Writer) *cobra.Command {
	var out string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "merge SHARD.json...",
		Short: "Combine the shard files of a sharded sweep or capacity search",
		Long: `Combine the files written by 'edgelab sweep --shard k/N' or 'edgelab
capacity --shard k/N' (sweep.shard-k-of-N.json, capacity.shard-k-of-N.json),
one per shard, all N of them, into the sweep.json or capacity.json that the
same command without --shard writes: the same bytes, apart from each
point's sim.wall_s, which is the wall time the point took where it ran.
For capacity, the search is replayed on the shards' evaluations of every
value, so the answer and the probes listed are those of the unsharded
search.

Shards of different runs (scenario file, seed, --set, --strategy, --vary,
--slo, --tolerate or N), a shard given twice, a missing shard or an
interrupted one are refused (exit 2). The output goes to --out (default
out/<scenario-name>-sweep/ or -capacity/, as the unsharded run).`,
		Example: `  edgelab merge out/mm1-sweep/sweep.shard-*-of-3.json
  edgelab merge shards/capacity.shard-*.json --out results/ --json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("merge takes the shard files to combine, e.g. edgelab merge out/x-sweep/sweep.shard-*.json")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runMerge(args, out, asJSON, stdout, c.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory (default that of the unsharded run)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged JSON to stdout instead of the table")
	return cmd
}

// readShard reads one shard file, its points left undecoded.
func readShard(path string) (*shardFile[json.RawMessage], error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: cannot read: %w", path, err)}
	}
	var f shardFile[json.RawMessage]
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil || f.Format == 0 {
		return nil, usageError{fmt.Errorf("%s: not a shard file written by sweep or capacity --shard (%v)", path, errText(err, "no edgelab_shard field"))}
	}
	switch {
	case f.Format != shardFormat:
		return nil, usageError{fmt.Errorf("%s: shard format %d; this edgelab reads format %d", path, f.Format, shardFormat)}
	case f.Run.Command != "sweep" && f.Run.Command != "capacity":
		return nil, usageError{fmt.Errorf("%s: unknown command %q", path, f.Run.Command)}
	case f.Run.Shards < 1 || f.Shard < 1 || f.Shard > f.Run.Shards:
		return nil, usageError{fmt.Errorf("%s: shard %d of %d is out of range", path, f.Shard, f.Run.Shards)}
	case f.Partial:
		return nil, usageError{fmt.Errorf("%s: shard %d/%d was interrupted (partial); run it again", path, f.Shard, f.Run.Shards)}
	}
	return &f, nil
}

// errText returns err's text, or alt when err is nil.
func errText(err error, alt string) string {
	if err != nil {
		return err.Error()
	}
	return alt
}

// runDiff names the first field in which two runs differ, "" when none.
func runDiff(a, b shardRun) (string, error) {
	fields := func(r shardRun) (map[string]json.RawMessage, error) {
		data, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		m := map[string]json.RawMessage{}
		return m, json.Unmarshal(data, &m)
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
func checkShards(paths []string, files []*shardFile[json.RawMessage]) ([]*shardFile[json.RawMessage], error) {
	first := files[0]
	for i, f := range files[1:] {
		diff, err := runDiff(first.Run, f.Run)
		if err != nil {
			return nil, err
		}
		if diff != "" {
			return nil, usageError{fmt.Errorf("%s and %s are shards of different runs: %s", paths[0], paths[i+1], diff)}
		}
	}
	n := first.Run.Shards
	byShard := make([]*shardFile[json.RawMessage], n)
	from := make([]string, n)
	for i, f := range files {
		if prev := byShard[f.Shard-1]; prev != nil {
			return nil, usageError{fmt.Errorf("shard %d/%d is given twice: %s and %s", f.Shard, n, from[f.Shard-1], paths[i])}
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
		return nil, usageError{fmt.Errorf("missing shard(s) %s of this %s of %s (got %d of %d files)",
			strings.Join(missing, ", "), first.Run.Command, first.Run.Scenario, len(files), n)}
	}
	return byShard, nil
}

// collect decodes every shard's points into P and places each at its
// index, checking that every index of the run is there exactly once and
// in the shard that owns it.
func collect[P any](shards []*shardFile[json.RawMessage], index func(*P) int) ([]*P, error) {
	run := shards[0].Run
	out := make([]*P, run.Points)
	for _, f := range shards {
		sh := sim.Shard{Index: f.Shard, Count: run.Shards}
		for _, raw := range f.Points {
			p := new(P)
			if err := json.Unmarshal(raw, p); err != nil {
				return nil, usageError{fmt.Errorf("shard %s: bad point: %v", sh, err)}
			}
			i := index(p)
			switch {
			case i < 0 || i >= run.Points || !sh.Owns(i):
				return nil, usageError{fmt.Errorf("shard %s holds point %d, which is not its own", sh, i)}
			case out[i] != nil:
				return nil, usageError{fmt.Errorf("shard %s holds point %d twice", sh, i)}
			}
			out[i] = p
		}
	}
	for i, p := range out {
		if p == nil {
			return nil, usageError{fmt.Errorf("point %d is in no shard (shard %s lacks it)", i, sim.Shard{Index: i%run.Shards + 1, Count: run.Shards})}
		}
	}
	return out, nil
}

func runMerge(paths []string, out string, asJSON bool, stdout, stderr io.Writer) error {
	files := make([]*shardFile[json.RawMessage], len(paths))
	for i, p := range paths {
		f, err := readShard(p)
		if err != nil {
			return err
		}
		files[i] = f
	}
	shards, err := checkShards(paths, files)
	if err != nil {
		return err
	}
	run := shards[0].Run
	if out == "" {
		out = filepath.Join("out", safeName(run.Scenario)+"-"+run.Command)
	}
	if run.Command == "sweep" {
		return mergeSweep(shards, out, asJSON, stdout, stderr)
	}
	return mergeCapacity(shards, out, asJSON, stdout, stderr)
}

// mergeSweep writes the sweep.json of the whole sweep.
func mergeSweep(shards []*shardFile[json.RawMessage], out string, asJSON bool, stdout, stderr io.Writer) error {
	run := shards[0].Run
	var ranges []sim.Range
	for _, v := range run.Vary {
		r, err := sim.ParseVary(v)
		if err != nil {
			return usageError{fmt.Errorf("shard run: %w", err)}
		}
		ranges = append(ranges, r)
	}
	g, err := sim.NewGrid(ranges...)
	if err != nil {
		return usageError{fmt.Errorf("shard run: %w", err)}
	}
	all := g.Points()
	if len(all) != run.Points {
		return usageError{fmt.Errorf("shard run: %d points, but its --vary gives %d", run.Points, len(all))}
	}
	points, err := collect(shards, func(p *rawSweepPoint) int { return p.Index })
	if err != nil {
		return err
	}
	// The same layout as SweepOutput, with the results as the shards
	// wrote them.
	type rawPoint struct {
		Value   float64         `json:"value"`
		Values  []float64       `json:"values,omitempty"`
		Results json.RawMessage `json:"results"`
	}
	doc := struct {
		Key    string     `json:"key"`
		Keys   []string   `json:"keys,omitempty"`
		Points []rawPoint `json:"points"`
	}{Key: g[0].Key}
	if len(g) > 1 {
		doc.Keys = g.Keys()
	}
	text := make([]sim.SweepPoint, len(points))
	for i, p := range points {
		want := all[i]
		if p.Value != want[0] || (len(g) > 1 && !slices.Equal(p.Values, want)) {
			return usageError{fmt.Errorf("point %d has values %v, but the run's --vary gives %v", i, p.Values, want)}
		}
		doc.Points = append(doc.Points, rawPoint{Value: p.Value, Values: p.Values, Results: p.Results})
		var res reports.Results
		if err := json.Unmarshal(p.Results, &res); err != nil {
			return usageError{fmt.Errorf("point %d: bad results: %v", i, err)}
		}
		text[i] = sim.SweepPoint{Index: i, Value: p.Value, Values: p.Values, Results: &res}
	}
	data, err := indentJSON(doc)
	if err != nil {
		return err
	}
	return publishWithReport(stdout, stderr, out, "sweep.json", data, asJSON, false, func(w io.Writer) error {
		writeSweepText(w, g.Keys(), text)
		return nil
	}, sweepHTML(data))
}

// mergeCapacity replays the capacity search on the shards' probes and
// writes the capacity.json of the unsharded search.
func mergeCapacity(shards []*shardFile[json.RawMessage], out string, asJSON bool, stdout, stderr io.Writer) error {
	run := shards[0].Run
	if len(run.Vary) != 1 || run.SLO == nil {
		return usageError{errors.New("shard run: a capacity shard needs one vary range and an slo")}
	}
	r, err := sim.ParseCapacityVary(run.Vary[0])
	if err != nil {
		return usageError{fmt.Errorf("shard run: %w", err)}
	}
	values := r.Points()
	if len(values) != run.Points {
		return usageError{fmt.Errorf("shard run: %d values, but its --vary gives %d", run.Points, len(values))}
	}
	probes, err := collect(shards, func(p *capacityShardPoint) int { return p.Index })
	if err != nil {
		return err
	}
	for i, p := range probes {
		if p.Value != values[i] {
			return usageError{fmt.Errorf("value %d is %g, but the run's --vary gives %g", i, p.Value, values[i])}
		}
	}
	ans, err := sim.CapacitySearch(r, *run.SLO, func(i int) (sim.Probe, error) { return probes[i].Probe, nil })
	if err != nil {
		return err
	}
	ans.Tolerate = run.Tolerate
	if ans.Answer != nil {
		ans.MonthlyCost = probes[slices.Index(values, *ans.Answer)].MonthlyCost
	}
	data, err := indentJSON(ans)
	if err != nil {
		return err
	}
	return publishWithReport(stdout, stderr, out, "capacity.json", data, asJSON, false, func(w io.Writer) error {
		writeCapacityText(w, r, ans, false)
		return nil
	}, capacityHTML(data))
}
