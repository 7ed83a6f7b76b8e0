package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/experiment"
	"github.com/edgelab/edgelab/plan"
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
	fl.BoolVar(&f.force, "force", false, "run points whose estimated work or memory is over edgelab's limits")
}

// checkStrategies validates --strategy and drops duplicates.
// scenarioStrategies is checkStrategies under the scenario's preset: the
// system's own algorithm names work too (plan.MapStrategies).
func scenarioStrategies(sc *workloads.Scenario, list []string) ([]string, error) {
	mapped, err := plan.MapStrategies(sc, list)
	if err != nil {
		return nil, usageError{fmt.Errorf("--strategy: %w", err)}
	}
	return checkStrategies(mapped)
}

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

// job is what sweep and capacity (sharded or not) share: the scenario,
// the runner of its points, and where and how the output goes.
type job struct {
	c        *cobra.Command
	command  string // "sweep" or "capacity"
	args     []string
	flags    sweepFlags
	scenario *workloads.Scenario
	runner   experiment.Runner
	stdout   io.Writer
}

// newJob validates the flags sweep and capacity share and loads the
// scenario at the grid's first point (to fail fast on bad input and to
// learn its name).
func newJob(c *cobra.Command, command string, args []string, f sweepFlags, g experiment.Grid, stdout io.Writer) (*job, error) {
	shard, err := parseShard(f.shard)
	if err != nil {
		return nil, err
	}
	names, err := checkStrategies(f.strategies)
	if err != nil {
		return nil, err
	}
	if f.parallel < 0 {
		return nil, usageError{fmt.Errorf("--parallel: want a positive number, got %d", f.parallel)}
	}
	load := func(extra []string) (*workloads.Scenario, error) {
		rf := f.runFlags
		rf.sets = append(append([]string(nil), f.sets...), extra...)
		return loadScenario(args, rf)
	}
	sc, err := load(g.Sets(g.Points()[0]))
	if err != nil {
		return nil, err
	}
	if err := checkWritable(outDir(f.out, sc.Name, "-"+command)); err != nil {
		return nil, err
	}
	return &job{c: c, command: command, args: args, flags: f, scenario: sc, stdout: stdout,
		runner: experiment.Runner{Load: load, Sim: sim.Options{Strategies: names, Force: f.force}, Parallel: f.parallel, Shard: shard}}, nil
}

// run runs fn with a progress bar on stderr counting total units
// ("points", "probes"; an estimate that may grow when estimate is set).
// It returns whether fn was interrupted, and fn's error when it is
// anything else.
func (j *job) run(unit string, total int, estimate bool, fn func(experiment.Runner) error) (interrupted bool, err error) {
	bar := newProgress(j.c.ErrOrStderr(), progressLabel(j.command, reports.Printable(j.scenario.Name), j.runner.Shard), unit, total)
	if estimate {
		bar = bar.estimate()
	}
	r := j.runner
	r.Progress = bar.tick
	err = fn(r)
	bar.finish(err == nil)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, experiment.ErrInterrupted):
		return true, nil
	case workloads.IsInputError(err):
		return false, err
	}
	return false, fmt.Errorf("%s %s: %w", j.command, reports.Printable(j.scenario.Name), err)
}

// shardRun identifies the sharded run of the job's scenario file.
func (j *job) shardRun() (experiment.ShardRun, error) {
	return experiment.NewShardRun(j.args[0], j.scenario, j.flags.sets)
}

// publish publishes p into the job's output directory (--out, default
// out/<scenario-name>-<command>/), honouring --json.
func (j *job) publish(p publication) error {
	p.dir = outDir(j.flags.out, j.scenario.Name, "-"+j.command)
	p.json = j.flags.json
	return publish(j.stdout, j.c.ErrOrStderr(), p)
}

// parseShard reads --shard ("" = the whole run).
func parseShard(s string) (experiment.Shard, error) {
	if s == "" {
		return experiment.Shard{}, nil
	}
	sh, err := experiment.ParseShard(s)
	if err != nil {
		return sh, usageError{err}
	}
	return sh, nil
}

// parseGrid reads the --vary flags of a sweep.
func parseGrid(varies []string) (experiment.Grid, error) {
	if len(varies) == 0 {
		return nil, usageError{errors.New("--vary is required, e.g. --vary clients.arrival.rate=100..1000:100")}
	}
	ranges := make([]experiment.Range, len(varies))
	for i, v := range varies {
		r, err := experiment.ParseVary(v)
		if err != nil {
			return nil, usageError{err}
		}
		ranges[i] = r
	}
	g, err := experiment.NewGrid(ranges...)
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
and throughput. Without a step, a whole-number key (servers[0].count=2..20)
takes every whole number in the range and any other key 10 evenly spaced
values, as in capacity. Repeat --vary to sweep
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
	j, err := newJob(c, "sweep", args, f, g, stdout)
	if err != nil {
		return err
	}
	if !j.runner.Shard.Whole() {
		return runSweepShard(j, g)
	}
	var rep *reports.SweepReport
	interrupted, err := j.run("points", len(g.Points()), false, func(r experiment.Runner) (err error) {
		rep, err = r.Sweep(c.Context(), g)
		return err
	})
	if err != nil {
		return err
	}
	return j.publish(publication{name: "sweep.json", file: rep, interrupted: interrupted, html: sweepHTML(rep),
		text: func(w io.Writer) error { return writeSweepText(w, rep) }})
}

// runSweepShard runs the shard's points of g and writes them to
// sweep.shard-k-of-N.json for 'edgelab merge'.
func runSweepShard(j *job, g experiment.Grid) error {
	id, err := j.shardRun()
	if err != nil {
		return err
	}
	shard, total := j.runner.Shard, len(g.Points())
	var file *experiment.ShardFile[experiment.SweepShardPoint]
	interrupted, err := j.run("points", shard.Size(total), false, func(r experiment.Runner) (err error) {
		file, err = r.SweepShard(j.c.Context(), g, id)
		return err
	})
	if err != nil {
		return err
	}
	return j.publish(publication{name: experiment.ShardFileName("sweep", shard), file: file, interrupted: interrupted,
		text: func(w io.Writer) error {
			points := make([]reports.SweepPoint, len(file.Points))
			for i, p := range file.Points {
				points[i] = p.SweepPoint
			}
			if err := writeSweepText(w, &reports.SweepReport{Key: g[0].Key, Keys: g.Keys(), Points: points}); err != nil {
				return err
			}
			_, err := fmt.Fprintf(w, "\nshard %s: %d of the %d points; combine every shard's file with 'edgelab merge'\n", shard, len(points), total)
			return err
		}})
}

// writeSweepText prints one line per point and strategy, with a column
// per varied key.
func writeSweepText(w io.Writer, rep *reports.SweepReport) error {
	keys := rep.Keys
	if len(keys) == 0 {
		keys = []string{rep.Key}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tstrategy\tp50 ms\tp99 ms\tavailability %%\tthroughput rps\t\n", strings.Join(keys, "\t"))
	for _, p := range rep.Points {
		vals := p.Values
		if len(vals) == 0 {
			vals = []float64{p.Value}
		}
		cells := make([]string, len(vals))
		for i, run := range p.Results.Runs {
			for j, v := range vals {
				cells[j] = ""
				if i == 0 {
					cells[j] = experiment.FormatValue(v)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.3f\t%.1f\t\n", strings.Join(cells, "\t"), run.Strategy,
				run.LatencyMS.P50, run.LatencyMS.P99, 100*run.Availability, run.ThroughputRPS)
		}
	}
	return tw.Flush()
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
marked non-monotonic and comes from a linear scan). Without a step, a
whole-number key takes every whole number in the range and any other key
10 evenly spaced values, as in sweep. The SLO must hold for every
--strategy; by default only
the scenario's balancer.strategy is run. Latencies are of ok requests;
availability is in percent (availability=99.9; a fraction such as 0.999 is
refused).

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

// parseCapacity reads the --slo, --vary and --tolerate flags of a
// capacity search.
func parseCapacity(f sweepFlags) (experiment.Range, experiment.Objective, error) {
	var obj experiment.Objective
	if f.slo == "" {
		return experiment.Range{}, obj, usageError{errors.New("--slo is required, e.g. --slo p99=200ms,availability=99.9")}
	}
	slo, err := experiment.ParseSLO(f.slo)
	if err != nil {
		return experiment.Range{}, obj, usageError{err}
	}
	if len(f.vary) == 0 {
		return experiment.Range{}, obj, usageError{errors.New("--vary is required, e.g. --vary servers[0].count=1..20")}
	}
	if len(f.vary) > 1 {
		return experiment.Range{}, obj, usageError{fmt.Errorf("--vary: capacity searches one key, got %d --vary flags", len(f.vary))}
	}
	r, err := experiment.ParseVary(f.vary[0])
	if err != nil {
		return experiment.Range{}, obj, usageError{err}
	}
	k, err := parseTolerate(f.tolerate)
	if err != nil {
		return experiment.Range{}, obj, usageError{err}
	}
	return r, experiment.Objective{SLO: slo, Tolerate: k}, nil
}

func runCapacity(c *cobra.Command, args []string, f sweepFlags, stdout io.Writer) error {
	r, obj, err := parseCapacity(f)
	if err != nil {
		return err
	}
	j, err := newJob(c, "capacity", args, f, experiment.Grid{r}, stdout)
	if err != nil {
		return err
	}
	if !j.runner.Shard.Whole() {
		return runCapacityShard(j, r, obj)
	}
	var ans *reports.CapacityReport
	interrupted, err := j.run("probes", experiment.SearchProbes(len(r.Points())), true, func(run experiment.Runner) (err error) {
		ans, err = run.Capacity(c.Context(), r, obj)
		return err
	})
	if err != nil {
		return err
	}
	return j.publish(publication{name: "capacity.json", file: ans, interrupted: interrupted, html: capacityHTML(ans),
		text: func(w io.Writer) error { return writeCapacityText(w, r, ans) }})
}

// runCapacityShard evaluates the shard's values of r and writes them to
// capacity.shard-k-of-N.json for 'edgelab merge'.
func runCapacityShard(j *job, r experiment.Range, obj experiment.Objective) error {
	id, err := j.shardRun()
	if err != nil {
		return err
	}
	shard, total := j.runner.Shard, len(r.Points())
	var file *experiment.ShardFile[experiment.CapacityShardPoint]
	interrupted, err := j.run("values", shard.Size(total), false, func(run experiment.Runner) (err error) {
		file, err = run.CapacityShard(j.c.Context(), r, obj, id)
		return err
	})
	if err != nil {
		return err
	}
	return j.publish(publication{name: experiment.ShardFileName("capacity", shard), file: file, interrupted: interrupted,
		text: func(w io.Writer) error {
			probes := make([]reports.CapacityProbe, len(file.Points))
			for i, p := range file.Points {
				probes[i] = p.CapacityProbe
			}
			if err := writeProbes(w, r.Key, probes); err != nil {
				return err
			}
			_, err := fmt.Fprintf(w, "\nshard %s: %d of the %d values of %s; combine every shard's file with 'edgelab merge'\n", shard, len(probes), total, r.Key)
			return err
		}})
}

// writeCapacityText prints a capacity search's answer over r and its
// probes.
func writeCapacityText(w io.Writer, r experiment.Range, ans *reports.CapacityReport) error {
	switch {
	case ans.Partial:
		fmt.Fprintf(w, "interrupted: no answer for %s meeting %s\n", ans.Key, ans.SLO)
	case ans.Answer == nil:
		fmt.Fprintf(w, "no %s in %s..%s meets %s\n", ans.Key, experiment.FormatValue(r.From), experiment.FormatValue(r.To), ans.SLO)
	default:
		fmt.Fprintf(w, "smallest %s meeting %s: %s\n", ans.Key, ans.SLO, experiment.FormatValue(*ans.Answer))
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
	return writeProbes(w, ans.Key, ans.Probes)
}

// writeProbes prints one line per probe.
func writeProbes(w io.Writer, key string, probes []reports.CapacityProbe) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tp99 ms\tmean ms\tavailability %%\tmeets\t\n", key)
	for _, p := range probes {
		meets := "no"
		if p.Meets {
			meets = "yes"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.3f\t%s\t\n", experiment.FormatValue(p.Value), p.P99MS, p.MeanMS, p.Availability, meets)
	}
	return tw.Flush()
}
