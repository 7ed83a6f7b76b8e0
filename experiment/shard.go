package experiment

// Shards: the share of a sweep's points (or of a capacity range's values)
// that one machine runs.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// Shard selects a deterministic share of the points of a sweep (or of the
// values of a capacity range) so that Count machines can each run one
// share: shard Index (1-based) of Count owns point i (0-based) when
// i mod Count = Index − 1. Dealing points round-robin rather than in
// blocks spreads cheap and expensive points (few and many instances,
// low and high load) evenly over the shards. The zero Shard owns every
// point.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// ParseShard parses the --shard flag "k/N", 1 ≤ k ≤ N.
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(strings.TrimSpace(k))
	ni, err2 := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("--shard %q: want k/N, e.g. --shard 2/3 for the second of three shards", s)
	}
	if ni < 1 || ki < 1 || ki > ni {
		return Shard{}, fmt.Errorf("--shard %q: want 1 ≤ k ≤ N", s)
	}
	if ni > MaxGridPoints {
		return Shard{}, fmt.Errorf("--shard %q: at most %d shards", s, MaxGridPoints)
	}
	return Shard{Index: ki, Count: ni}, nil
}

// Whole reports whether s is the zero Shard, which owns every point.
func (s Shard) Whole() bool { return s.Count == 0 }

// Owns reports whether point i belongs to the shard.
func (s Shard) Owns(i int) bool { return s.Whole() || i%s.Count == s.Index-1 }

// Size returns how many of n points the shard owns.
func (s Shard) Size(n int) int {
	if s.Whole() {
		return n
	}
	if s.Index > n {
		return 0
	}
	return (n-s.Index)/s.Count + 1
}

// String renders the shard as "k/N" ("" for the zero Shard).
func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}

// ShardFormat is the version of the shard file format, written as
// "edgelab_shard"; ReadShards refuses other versions.
const ShardFormat = 1

// ShardRun identifies the run a shard belongs to. Every shard of one run
// carries the same ShardRun; ReadShards refuses shards whose runs differ,
// naming the field.
type ShardRun struct {
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
	// Vary holds the --vary ranges with explicit steps (Range.String).
	Vary []string `json:"vary"`
	// SLO and Tolerate are capacity's --slo and --tolerate.
	SLO      *reports.SLO `json:"slo,omitempty"`
	Tolerate int          `json:"tolerate_crash,omitempty"`
	// Points is the number of points (values) of the whole run, Shards
	// the N of --shard k/N.
	Points int `json:"points"`
	Shards int `json:"shards"`
}

// NewShardRun starts the identity of a sharded run of the scenario file
// at path, loaded as sc with the user's overrides sets (--set, not
// --seed, which sc.Seed records). Runner.SweepShard and
// Runner.CapacityShard complete it with what they run.
func NewShardRun(path string, sc *workloads.Scenario, sets []string) (ShardRun, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ShardRun{}, fmt.Errorf("%s: cannot read: %w", path, err)
	}
	sum := sha256.Sum256(data)
	return ShardRun{Scenario: sc.Name, ScenarioSHA256: hex.EncodeToString(sum[:]), Seed: sc.Seed, Sets: sets}, nil
}

// complete fills in what a run of command over g with r runs.
func (run ShardRun) complete(command string, g Grid, r Runner) ShardRun {
	run.Command = command
	run.Strategies = r.Sim.Strategies
	run.Vary = nil
	for _, rng := range g {
		run.Vary = append(run.Vary, rng.String())
	}
	run.Points = len(g.Points())
	run.Shards = r.Shard.Count
	return run
}

// ShardFile is the content of sweep.shard-k-of-N.json (P is
// SweepShardPoint) and capacity.shard-k-of-N.json (P is
// CapacityShardPoint): the run's identity and the results of the points
// the shard owns, each with its index in the run. ReadShards reads any
// shard file as a ShardFile[json.RawMessage].
type ShardFile[P any] struct {
	Format int      `json:"edgelab_shard"`
	Shard  int      `json:"shard"`
	Run    ShardRun `json:"run"`
	// Partial is true when the shard was interrupted: ReadShards refuses
	// it.
	Partial bool `json:"partial,omitempty"`
	Points  []P  `json:"points"`
}

// JSON renders the shard file's bytes.
func (f *ShardFile[P]) JSON() ([]byte, error) { return reports.IndentJSON("shard file", f) }

// SweepShardPoint is one point of a sweep shard.
type SweepShardPoint struct {
	Index int `json:"index"`
	reports.SweepPoint
}

// CapacityShardPoint is one value of a capacity shard: its probe and the
// monthly cost of the fleet at that value (the capacity answer's
// monthly_cost when it is the answer).
type CapacityShardPoint struct {
	Index int `json:"index"`
	reports.CapacityProbe
	MonthlyCost float64 `json:"monthly_cost,omitempty"`
}

// ShardFileName is the file a shard writes: "sweep.shard-2-of-3.json".
func ShardFileName(command string, s Shard) string {
	return fmt.Sprintf("%s.shard-%d-of-%d.json", command, s.Index, s.Count)
}

// errWhole is returned when a shard is run without a shard.
var errWhole = errors.New("a shard run needs a shard k/N")

// SweepShard runs the points of g that r.Shard (not the zero Shard) owns,
// as Sweep does, and returns the content of sweep.shard-k-of-N.json; run
// identifies the run (NewShardRun). When ctx is cancelled the file holds
// the points that finished and is marked Partial, and the error wraps
// ErrInterrupted.
func (r Runner) SweepShard(ctx context.Context, g Grid, run ShardRun) (*ShardFile[SweepShardPoint], error) {
	if r.Shard.Whole() {
		return nil, fmt.Errorf("sweep: %w", errWhole)
	}
	rep, err := r.Sweep(ctx, g)
	if rep == nil {
		return nil, err
	}
	file := &ShardFile[SweepShardPoint]{Format: ShardFormat, Shard: r.Shard.Index, Run: run.complete("sweep", g, r),
		Partial: rep.Partial, Points: []SweepShardPoint{}}
	for _, p := range rep.Points {
		file.Points = append(file.Points, SweepShardPoint{Index: p.Index, SweepPoint: p})
	}
	return file, err
}

// CapacityShard evaluates the values of rng that r.Shard (not the zero
// Shard) owns (CapacityProbes), prices the fleet at each, and returns the
// content of capacity.shard-k-of-N.json; run identifies the run
// (NewShardRun). When ctx is cancelled the file holds the values that
// finished and is marked Partial, and the error wraps ErrInterrupted.
func (r Runner) CapacityShard(ctx context.Context, rng Range, obj Objective, run ShardRun) (*ShardFile[CapacityShardPoint], error) {
	if r.Shard.Whole() {
		return nil, fmt.Errorf("capacity: %w", errWhole)
	}
	probes, err := r.CapacityProbes(ctx, rng, obj)
	if err != nil && !errors.Is(err, ErrInterrupted) {
		return nil, err
	}
	id := run.complete("capacity", Grid{rng}, r)
	id.SLO, id.Tolerate = &obj.SLO, obj.Tolerate
	file := &ShardFile[CapacityShardPoint]{Format: ShardFormat, Shard: r.Shard.Index, Run: id,
		Partial: err != nil, Points: []CapacityShardPoint{}}
	for _, p := range probes {
		file.Points = append(file.Points, CapacityShardPoint{Index: p.Index, CapacityProbe: p, MonthlyCost: monthlyCost(r.Load, rng, p.Value)})
	}
	return file, err
}
