package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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
	vary     string
	slo      string
	tolerate string
	parallel int
}

// SweepOutput is the content of sweep.json.
type SweepOutput struct {
	Key     string           `json:"key"`
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
	fl.StringVar(&f.vary, "vary", "", "the key and values to vary: key=from..to[:step] (required)")
	fl.StringVarP(&f.out, "out", "o", "", "output directory")
	fl.StringSliceVarP(&f.strategies, "strategy", "s", nil, "strategies, comma-separated (default: the scenario's)")
	fl.StringVar(&f.seed, "seed", "", "override the scenario's seed")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key, e.g. --set clients.arrival.rate=900 (repeatable)")
	fl.BoolVar(&f.json, "json", false, "print JSON to stdout instead of the table")
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
// scenario at the range's first value (to fail fast on bad input and to
// learn its name). It returns the loader of the scenario with extra sets.
func prepare(args []string, f sweepFlags, r sim.Range) (sim.Loader, *workloads.Scenario, []string, error) {
	names, err := checkStrategies(f.strategies)
	if err != nil {
		return nil, nil, nil, err
	}
	load := func(extra []string) (*workloads.Scenario, error) {
		rf := f.runFlags
		rf.sets = append(append([]string(nil), f.sets...), extra...)
		return loadScenario(args, rf)
	}
	sc, err := load([]string{r.Set(r.From)})
	if err != nil {
		return nil, nil, nil, err
	}
	return load, sc, names, nil
}

func newSweepCmd(stdout io.Writer) *cobra.Command {
	var f sweepFlags
	cmd := &cobra.Command{
		Use:   "sweep SCENARIO.yaml --vary key=from..to[:step]",
		Short: "Run a scenario over a range of values of one key",
		Long: `Simulate SCENARIO.yaml once per value of one numeric key (applied like
--set key=value) and print, per value and strategy, p50, p99, availability
and throughput. Without a step the range has 10 evenly spaced values; give
a step for integer keys (servers[0].count=2..20:2). Points run in parallel
(--parallel, default one per CPU); results do not depend on it.
sweep.json ({"key", "points": [{"value", "results"}]}) is written to --out
(default out/<scenario-name>-sweep/).`,
		Example: `  edgelab sweep examples/mm1.yaml --vary clients.arrival.rate=10..90:10
  edgelab sweep examples/mm1.yaml --vary servers[0].count=2..8:1 --strategy round-robin,p2c --json`,
		Args: oneScenario,
		RunE: func(c *cobra.Command, args []string) error {
			return runSweep(c, args, f, stdout)
		},
	}
	addCommonFlags(cmd, &f)
	cmd.Flags().IntVar(&f.parallel, "parallel", 0, "points simulated at once (default one per CPU)")
	return cmd
}

func runSweep(c *cobra.Command, args []string, f sweepFlags, stdout io.Writer) error {
	if f.vary == "" {
		return usageError{errors.New("--vary is required, e.g. --vary clients.arrival.rate=100..1000:100")}
	}
	r, err := sim.ParseVary(f.vary)
	if err != nil {
		return usageError{err}
	}
	if f.parallel < 0 {
		return usageError{fmt.Errorf("--parallel: want a positive number, got %d", f.parallel)}
	}
	load, sc, names, err := prepare(args, f, r)
	if err != nil {
		return err
	}
	points, err := sim.Sweep(c.Context(), load, r, sim.Options{Strategies: names}, f.parallel)
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
	data, err := indentJSON(SweepOutput{Key: r.Key, Partial: interrupted, Points: points})
	if err != nil {
		return err
	}
	return publish(stdout, outDir, "sweep.json", data, f.json, interrupted, func(w io.Writer) error {
		writeSweepText(w, r.Key, points)
		return nil
	})
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

func writeSweepText(w io.Writer, key string, points []sim.SweepPoint) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tstrategy\tp50 ms\tp99 ms\tavailability %%\tthroughput rps\t\n", key)
	for _, p := range points {
		for i, run := range p.Results.Runs {
			v := sim.FormatValue(p.Value)
			if i > 0 {
				v = ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.3f\t%.1f\t\n", v, run.Strategy,
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
(default out/<scenario-name>-capacity/).`,
		Example: `  edgelab capacity examples/mm1.yaml --slo p99=200ms,availability=99.9 --vary servers[0].count=1..20`,
		Args:    oneScenario,
		RunE: func(c *cobra.Command, args []string) error {
			return runCapacity(c, args, f, stdout)
		},
	}
	addCommonFlags(cmd, &f)
	cmd.Flags().StringVar(&f.slo, "slo", "", "the objective: p99=200ms,mean=50ms,availability=99.9 (required)")
	cmd.Flags().StringVar(&f.tolerate, "tolerate", "", "N+k planning: crash=k keeps k instances of the varied group down for the whole run")
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
	if f.vary == "" {
		return usageError{errors.New("--vary is required, e.g. --vary servers[0].count=1..20")}
	}
	r, err := sim.ParseCapacityVary(f.vary)
	if err != nil {
		return usageError{err}
	}
	k, err := parseTolerate(f.tolerate)
	if err != nil {
		return usageError{err}
	}
	load, sc, names, err := prepare(args, f, r)
	if err != nil {
		return err
	}
	ans, err := sim.Capacity(c.Context(), tolerating(load, r.Key, k), r, slo, sim.Options{Strategies: names})
	ans.Tolerate = k
	if ans.Answer != nil {
		if at, err := load([]string{r.Set(*ans.Answer)}); err == nil {
			ans.MonthlyCost = math.Round(at.MonthlyCost()*100) / 100
		}
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
	return publish(stdout, outDir, "capacity.json", data, f.json, interrupted, func(w io.Writer) error {
		writeCapacityText(w, r, ans, interrupted)
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
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tp99 ms\tmean ms\tavailability %%\tmeets\t\n", ans.Key)
	for _, p := range ans.Probes {
		meets := "no"
		if p.Meets {
			meets = "yes"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.3f\t%s\t\n", sim.FormatValue(p.Value), p.P99MS, p.MeanMS, p.Availability, meets)
	}
	tw.Flush()
}
