package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// sweepFlags are the flags of sweep and capacity.
type sweepFlags struct {
	runFlags
	vary     []string
	slo      string
	tolerate string
	shard    string
	parallel int
}

// SweepOutput is the content of sweep.json. Key is the first (outermost)
// varied key; Keys lists every varied key and is only written when there
// are several (a grid), in which case each point's Values holds its value
// of each key in the same order (Value stays the first key's).
type SweepOutput struct {
	Key     string           `json:"key"`
	Keys    []string         `json:"keys,omitempty"`
	Partial bool             `json:"partial,omitempty"`
	Points  []sim.SweepPoint `json:"points"`
}

func oneScenario(c *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes one scenario file, got %d arguments", c.Name(), len(args))}
	}
	return nil
}

func addCommonFlags(cmd *cobra.Command, f *sweepFlags) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.vary, "vary", nil, "the key and values to vary: key=from..to[:step] (required)")
	fl.StringVarP(&f.out, "out", "o", "", "output directory")
	fl.StringSliceVarP(&f.strategies, "strategy", "s", nil, "strategies, comma-separated (default: the scenario's)")
	fl.StringVar(&f.seed, "seed", "", "override the scenario's seed")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key, e.g. --set clients.arrival.rate=900 (repeatable)")
	fl.BoolVar(&f.json, "json", false, "print JSON to stdout instead of the table")
	fl.StringVar(&f.shard, "shard", "", "run only shard k of N (k/N) and write a shard file for 'edgelab merge'")
	fl.IntVar(&f.parallel, "parallel", 0, "points simulated at once (default one per CPU)")
}

// checkStrategies validates --strategy and drops duplicates.
func checkStrategies(list []string) ([]string, error) {
	var names []string
	for _, s := range list {
		if !strategies.Known(s) {
			return nil, usageError{fmt.Errorf("--strategy: unknown strategy %q (known: %s)", s, strings.Join(strategies.Names(), ", "))}
		}
		if !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	return names, nil
}

// prepare validates the flags shared by sweep and capacity and loads the
// scenario at the grid's first point (to fail fast on bad input and to
// learn its name). It returns the loader of the scenario with extra sets.
func prepare(args []string, f sweepFlags, g sim.Grid) (sim.Loader, *workloads.Scenario, []string, error) {
	names, err := checkStrategies(f.strategies)
	if err != nil {
		return nil, nil, nil, err
	}
	if f.parallel < 0 {
		return nil, nil, nil, usageError{fmt.Errorf("--parallel: want a positive number, got %d", f.parallel)}
	}
	load := func(extra []string) (*workloads.Scenario, error) {
		rf := f.runFlags
		rf.sets = append(append([]string(nil), f.sets...), extra...)
		return loadScenario(args, rf)
	}
	sc, err := load(g.Sets(g.Points()[0]))
	if err != nil {
		return nil, nil, nil, err
	}
	return load, sc, names, nil
}

// parseShard reads --shard ("" = the whole run).
func parseShard(s string) (sim.Shard, error) {
	if s == "" {
		return sim.Shard{}, nil
	}
	sh, err := sim.ParseShard(s)
	if err != nil {
		return sh, usageError{err}
	}
	return sh, nil
}

// parseGrid reads the --vary flags of a sweep.
func parseGrid(varies []string) (sim.Grid, error) {
	if len(varies) == 0 {
		return nil, usageError{errors.New("--vary is required, e.g. --vary clients.arrival.rate=100..1000:100")}
	}
	ranges := make([]sim.Range, len(varies))
	for i, v := range varies {
		r, err := sim.ParseVary(v)
		if err != nil {
			return nil, usageError{err}
		}
		ranges[i] = r
	}
	g, err := sim.NewGrid(ranges...)
	if err != nil {
		return nil, usageError{err}
	}
	return g, nil
}

func newSweepCmd(stdout io.Writer) *cobra.Command {
	var f sweepFlags
	cmd := &cobra.Command{
		Use:   "sweep SCENARIO.yaml --vary key=from..to[:step]...",
		Short: "Run a scenario over a range (or a grid) of values of numeric keys",
		Long: `Simulate SCENARIO.yaml once per value of one numeric key (applied like
--set key=value) and print, per value and strategy, p50, p99, availability
and throughput. Without a step the range has 10 evenly spaced values; give
a step for integer keys (servers[0].count=2..20:2). Repeat --vary to sweep
the grid of every combination, the first --vary outermost. Points run in
parallel (--parallel, default one per CPU); results do not depend on it.
sweep.json ({"key", "points": [{"value", "results"}]}, plus "keys" and per
point "values" for a grid) is written to --out (default
out/<scenario-name>-sweep/).

--shard k/N runs only the points i with i mod N = k-1 and writes
sweep.shard-k-of-N.json instead; 'edgelab merge' combines the N shard files
into the sweep.json the whole sweep writes. A progress bar goes to stderr
when it is a terminal.`,
		Example: `  edgelab sweep examples/mm1.yaml --vary clients.arrival.rate=10..90:10
  edgelab sweep examples/mm1.yaml --vary servers[0].count=2..8:1 --strategy round-robin,p2c --json
  edgelab sweep examples/mm1.yaml --vary servers[0].count=1..4:1 --vary clients.arrival.rate=50..150:50
  edgelab sweep examples/mm1.yaml --vary clients.arrival.rate=10..90:10 --shard 2/3 --out shards/`,
		Args: oneScenario,
		RunE: func(c *cobra.Command, args []string) error {
			return runSweep(c, args, f, stdout)
		},
	}
	addCommonFlags(cmd, &f)
	cmd.Flags().Lookup("vary").Usage = "a key and its values: key=from..to[:step] (required; repeat for a grid, the first outermost)"
	return cmd
}

func runSweep(c *cobra.Command, args []string, f sweepFlags, stdout io.Writer) error {
	g, err := parseGrid(f.vary)
	if err != nil {
		return err
	}
	shard, err := parseShard(f.shard)
	if err != nil {
		return err
	}
	load, sc, names, err := prepare(args, f, g)
	if err != nil {
		return err
	}
	var run *shardRun
	if !shard.Whole() {
		if run, err = newShardRun("sweep", args, f, sc, names, g); err != nil {
			return err
		}
	}
	total := len(g.Points())
	bar := newProgress(c.ErrOrStderr(), progressLabel("sweep", sc.Name, shard), "points", shard.Size(total))
	points, err := sim.Sweep(c.Context(), load, g, sim.Options{Strategies: names},
		sim.SweepOptions{Parallel: f.parallel, Shard: shard, Progress: bar.tick})
	bar.finish(err == nil)
	interrupted := errors.Is(err, sim.ErrInterrupted)
	if err != nil && !interrupted {
		if workloads.IsInputError(err) {
			return err
		}
		return fmt.Errorf("sweep %s: %w", sc.Name, err)
	}
	outDir := f.out
	if outDir == "" {
		outDir = filepath.Join("out", safeName(sc.Name)+"-sweep")
	}
	keys := g.Keys()
	if run != nil {
		data, err := sweepShardJSON(run, shard, interrupted, points)
		if err != nil {
			return err
		}
		return publish(stdout, outDir, shardFileName("sweep", shard), data, f.json, interrupted, func(w io.Writer) error {
			writeSweepText(w, keys, points)
			fmt.Fprintf(w, "\nshard %s: %d of the %d points; combine every shard's file with 'edgelab merge'\n", shard, len(points), total)
			return nil
		})
	}
	out := SweepOutput{Key: keys[0], Partial: interrupted, Points: points}
	if len(keys) > 1 {
		out.Keys = keys
	}
	data, err := indentJSON(out)
	if err != nil {
		return err
	}
	return publishWithReport(stdout, c.ErrOrStderr(), outDir, "sweep.json", data, f.json, interrupted, func(w io.Writer) error {
		writeSweepText(w, keys, points)
		return nil
	}, sweepHTML(data))
}

func indentJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}

func writeOut(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create output directory: %w", err)
	}
	path := filepath.Join(dir, name)
	return path, reports.WriteFileAtomic(path, data)
}

// publish writes data to dir/name atomically, then prints either the data
// itself (--json: nothing else on stdout) or the text rendering followed
// by the path written. An interrupted run still publishes, then reports
// errInterrupted (exit 130).
func publish(stdout io.Writer, dir, name string, data []byte, asJSON, interrupted bool, text func(io.Writer) error) error {
	path, err := writeOut(dir, name, data)
	if err != nil {
		return err
	}
	if asJSON {
		if _, err := stdout.Write(data); err != nil {
			return err
		}
	} else {
		if err := text(stdout); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", path)
	}
	if interrupted {
		return errInterrupted{path}
	}
	return nil
}

// writeSweepText prints one line per point and strategy, with a column
// per varied key.
func writeSweepText(w io.Writer, keys []string, points []sim.SweepPoint) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tstrategy\tp50 ms\tp99 ms\tavailability %%\tthroughput rps\t\n", strings.Join(keys, "\t"))
	for _, p := range points {
		vals := p.Values
		if len(vals) == 0 {
			vals = []float64{p.Value}
		}
		cells := make([]string, len(vals))
		for i, run := range p.Results.Runs {
			for j, v := range vals {
				cells[j] = ""
				if i == 0 {
					cells[j] = sim.FormatValue(v)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.3f\t%.1f\t\n", strings.Join(cells, "\t"), run.Strategy,
				run.LatencyMS.P50, run.LatencyMS.P99, 100*run.Availability, run.ThroughputRPS)
		}
	}
	tw.Flush()
}

func newCapacityCmd(stdout io.Writer) *cobra.Command {
	var f sweepFlags
	cmd := &cobra.Command{
		Use:   "capacity SCENARIO.yaml --slo p99=200ms[,mean=50ms][,availability=99.9] --vary key=lo..hi[:step]",
		Short: "Find the smallest value of a key that meets an SLO",
		Long: `Find the smallest value of one numeric key (instances, concurrency...) in
lo..hi at which SCENARIO.yaml meets the service-level objective, by binary
search assuming more never hurts, then checking that assumption on the
probes (if a larger value failed where a smaller one passed, the answer is
marked non-monotonic and comes from a linear scan). Without a step, integer
bounds step by 1. The SLO must hold for every --strategy; by default only
the scenario's balancer.strategy is run. Latencies are of ok requests;
availability is in percent.

Exit status is 0 when the search ran, whether or not a value meets the SLO
(the output then says "no value meets"); capacity.json is written to --out
(default out/<scenario-name>-capacity/).

--shard k/N evaluates every value i of the range with i mod N = k-1 (a
search cannot be split, so the shards evaluate the whole range between
them, --parallel at once) and writes capacity.shard-k-of-N.json; 'edgelab
merge' then replays the search on the shards' evaluations and writes the
capacity.json the unsharded search writes. A progress bar goes to stderr
when it is a terminal.`,
		Example: `  edgelab capacity examples/mm1.yaml --slo p99=200ms,availability=99.9 --vary servers[0].count=1..20
  edgelab capacity examples/mm1.yaml --slo p99=200ms --vary servers[0].count=1..20 --shard 1/4 --out shards/`,
		Args: oneScenario,
		RunE: func(c *cobra.Command, args []string) error {
			return runCapacity(c, args, f, stdout)
		},
	}
	addCommonFlags(cmd, &f)
	cmd.Flags().StringVar(&f.slo, "slo", "", "the objective: p99=200ms,mean=50ms,availability=99.9 (required)")
	cmd.Flags().StringVar(&f.tolerate, "tolerate", "", "N+k planning: crash=k keeps k instances of the varied group down for the whole run")
	cmd.Flags().Lookup("parallel").Usage = "with --shard, values simulated at once (default one per CPU); the search itself is sequential"
	return cmd
}

var groupIndexRE = regexp.MustCompile(`^servers\[(\d+)\]`)

// parseTolerate reads --tolerate crash=k.
func parseTolerate(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	k, v, ok := strings.Cut(s, "=")
	n, err := strconv.Atoi(v)
	if !ok || k != "crash" || err != nil || n < 1 || n > 10000 {
		return 0, fmt.Errorf("--tolerate: want crash=k with k ≥ 1 instances, got %q", s)
	}
	return n, nil
}

// tolerating wraps a loader so that the first k instances of the group
// named by key (servers[i]...; the first group otherwise) crash at time
// zero and stay down: the SLO must then hold on the remaining instances,
// as N+k capacity planning requires.
func tolerating(load sim.Loader, key string, k int) sim.Loader {
	if k == 0 {
		return load
	}
	g := 0
	if m := groupIndexRE.FindStringSubmatch(key); m != nil {
		g, _ = strconv.Atoi(m[1])
	}
	return func(sets []string) (*workloads.Scenario, error) {
		sc, err := load(sets)
		if err != nil || g >= len(sc.Servers) {
			return sc, err
		}
		down := make([]int, k)
		for i := range down {
			down[i] = i
		}
		sc.Servers[g].Failures = append(sc.Servers[g].Failures, workloads.Failure{Kind: workloads.FailCrash, Instances: down})
		return sc, nil
	}
}

func runCapacity(c *cobra.Command, args []string, f sweepFlags, stdout io.Writer) error {
	if f.slo == "" {
		return usageError{errors.New("--slo is required, e.g. --slo p99=200ms,availability=99.9")}
	}
	slo, err := sim.ParseSLO(f.slo)
	if err != nil {
		return usageError{err}
	}
	if len(f.vary) == 0 {
		return usageError{errors.New("--vary is required, e.g. --vary servers[0].count=1..20")}
	}
	if len(f.vary) > 1 {
		return usageError{fmt.Errorf("--vary: capacity searches one key, got %d --vary flags", len(f.vary))}
	}
	r, err := sim.ParseCapacityVary(f.vary[0])
	if err != nil {
		return usageError{err}
	}
	k, err := parseTolerate(f.tolerate)
	if err != nil {
		return usageError{err}
	}
	shard, err := parseShard(f.shard)
	if err != nil {
		return err
	}
	load, sc, names, err := prepare(args, f, sim.Grid{r})
	if err != nil {
		return err
	}
	if !shard.Whole() {
		return runCapacityShard(c, args, f, stdout, sc, names, load, r, slo, k, shard)
	}
	n := len(r.Points())
	bar := newProgress(c.ErrOrStderr(), progressLabel("capacity", sc.Name, shard), "probes", searchProbes(n)).estimate()
	ans, err := sim.Capacity(c.Context(), tolerating(load, r.Key, k), r, slo, sim.Options{Strategies: names}, bar.tick)
	bar.finish(err == nil)
	ans.Tolerate = k
	if ans.Answer != nil {
		ans.MonthlyCost = monthlyCost(load, r, *ans.Answer)
	}
	interrupted := errors.Is(err, sim.ErrInterrupted)
	if err != nil && !interrupted {
		if workloads.IsInputError(err) {
			return err
		}
		return fmt.Errorf("capacity %s: %w", sc.Name, err)
	}
	outDir := f.out
	if outDir == "" {
		outDir = filepath.Join("out", safeName(sc.Name)+"-capacity")
	}
	data, err := indentJSON(ans)
	if err != nil {
		return err
	}
	return publishWithReport(stdout, c.ErrOrStderr(), outDir, "capacity.json", data, f.json, interrupted, func(w io.Writer) error {
		writeCapacityText(w, r, ans, interrupted)
		return nil
	}, capacityHTML(data))
}

// monthlyCost prices the fleet at value v of r with the scenario's cost
// block, rounded to cents (0 without one).
func monthlyCost(load sim.Loader, r sim.Range, v float64) float64 {
	at, err := load([]string{r.Set(v)})
	if err != nil {
		return 0
	}
	return math.Round(at.MonthlyCost()*100) / 100
}

// searchProbes is the number of probes a monotonic capacity search over n
// values makes at most (the ends, the bisection, the neighbour above):
// the progress bar's total, completed early or extended as the search
// goes.
func searchProbes(n int) int {
	if n <= 2 {
		return n
	}
	return min(n, 3+bits.Len(uint(n-2)))
}

// runCapacityShard evaluates the shard's values of r and writes them to
// capacity.shard-k-of-N.json for 'edgelab merge'.
func runCapacityShard(c *cobra.Command, args []string, f sweepFlags, stdout io.Writer, sc *workloads.Scenario, names []string,
	load sim.Loader, r sim.Range, slo sim.SLO, k int, shard sim.Shard) error {
	run, err := newShardRun("capacity", args, f, sc, names, sim.Grid{r})
	if err != nil {
		return err
	}
	run.SLO, run.Tolerate = &slo, k
	total := len(r.Points())
	bar := newProgress(c.ErrOrStderr(), progressLabel("capacity", sc.Name, shard), "values", shard.Size(total))
	probes, err := sim.CapacityProbes(c.Context(), tolerating(load, r.Key, k), r, slo, sim.Options{Strategies: names},
		sim.SweepOptions{Parallel: f.parallel, Shard: shard, Progress: bar.tick})
	bar.finish(err == nil)
	interrupted := errors.Is(err, sim.ErrInterrupted)
	if err != nil && !interrupted {
		if workloads.IsInputError(err) {
			return err
		}
		return fmt.Errorf("capacity %s: %w", sc.Name, err)
	}
	outDir := f.out
	if outDir == "" {
		outDir = filepath.Join("out", safeName(sc.Name)+"-capacity")
	}
	data, err := capacityShardJSON(run, shard, interrupted, probes, func(v float64) float64 { return monthlyCost(load, r, v) })
	if err != nil {
		return err
	}
	return publish(stdout, outDir, shardFileName("capacity", shard), data, f.json, interrupted, func(w io.Writer) error {
		writeProbes(w, r.Key, probes)
		fmt.Fprintf(w, "\nshard %s: %d of the %d values of %s; combine every shard's file with 'edgelab merge'\n", shard, len(probes), total, r.Key)
		return nil
	})
}

func writeCapacityText(w io.Writer, r sim.Range, ans sim.CapacityAnswer, interrupted bool) {
	switch {
	case interrupted:
		fmt.Fprintf(w, "interrupted: no answer for %s meeting %s\n", ans.Key, ans.SLO)
	case ans.Answer == nil:
		fmt.Fprintf(w, "no %s in %s..%s meets %s\n", ans.Key, sim.FormatValue(r.From), sim.FormatValue(r.To), ans.SLO)
	default:
		fmt.Fprintf(w, "smallest %s meeting %s: %s\n", ans.Key, ans.SLO, sim.FormatValue(*ans.Answer))
	}
	if ans.MonthlyCost > 0 {
		fmt.Fprintf(w, "monthly cost of that fleet: %.2f (instances × per_instance_hour × 730 h)\n", ans.MonthlyCost)
	}
	if ans.Tolerate > 0 {
		fmt.Fprintf(w, "with %d instance(s) of the group down for the whole run (N+%d)\n", ans.Tolerate, ans.Tolerate)
	}
	if !ans.Monotonic {
		fmt.Fprintf(w, "warning: not monotonic (a larger value failed where a smaller one met the SLO); answer from a linear scan\n")
	}
	fmt.Fprintln(w)
	writeProbes(w, ans.Key, ans.Probes)
}

// writeProbes prints one line per probe.
func writeProbes(w io.Writer, key string, probes []sim.Probe) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tp99 ms\tmean ms\tavailability %%\tmeets\t\n", key)
	for _, p := range probes {
		meets := "no"
		if p.Meets {
			meets = "yes"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.3f\t%s\t\n", sim.FormatValue(p.Value), p.P99MS, p.MeanMS, p.Availability, meets)
	}
	tw.Flush()
}
