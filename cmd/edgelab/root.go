package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "edgelab",
		Short: "A lab for load balancers and API gateways",
		Long: `edgelab runs one YAML scenario — clients, a balancing strategy and servers that
slow down and fail — as a fast, seeded discrete-event simulation, and reports
latency percentiles, availability and per-server load for each strategy.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("edgelab {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newRunCmd(stdout, stderr), newStrategiesCmd(stdout), newPresetsCmd(stdout), newExportCmd(stdout, stderr), newImportCmd(stdout, stderr), newFitCmd(stdout, stderr), newTLSCostCmd(stdout), newSweepCmd(stdout), newCapacityCmd(stdout),
		newReportCmd(stdout), newLiveCmd(stdout, stderr), newServeCmd(stdout, stderr))
	root.AddCommand(newMergeCmd(stdout))
	return root
}

type runFlags struct {
	out        string
	strategies []string
	seed       string
	sets       []string
	json       bool
	force      bool
	slo        string
	cpuprofile string
	accessLog  string
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [SCENARIO.yaml]",
		Short: "Simulate a scenario and compare strategies",
		Long: `Simulate SCENARIO.yaml (or the embedded quick-start when none is given) once
per strategy, on the same requests, and print the results side by side.
results.json is written to --out (default out/<scenario-name>/).`,
		Example: `  edgelab run
  edgelab run examples/mm1.yaml --strategy round-robin,p2c --seed 7
  edgelab run examples/mm1.yaml --set clients.arrival.rate=900 --json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("run takes at most one scenario file, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runSim(c, args, f, stdout, stderr)
		},
	}
	addRunFlags(cmd.Flags(), &f, "out/<scenario-name>", "clients.arrival.rate=900")
	cmd.Flags().BoolVar(&f.force, "force", false, "run a scenario whose estimated work or memory is over edgelab's limits")
	cmd.Flags().StringVar(&f.slo, "slo", "", "service-level objective report.html checks, e.g. p99=200ms,availability=99.9")
	return cmd
}

// addRunFlags registers the flags run and live share.
func addRunFlags(fl *pflag.FlagSet, f *runFlags, outDefault, setExample string) {
	fl.StringVarP(&f.out, "out", "o", "", "output directory (default "+outDefault+")")
	fl.StringSliceVarP(&f.strategies, "strategy", "s", nil, "strategies to compare, comma-separated (default: the scenario's)")
	fl.StringVar(&f.seed, "seed", "", "override the scenario's seed")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key, e.g. --set "+setExample+" (repeatable)")
	fl.BoolVar(&f.json, "json", false, "print results.json to stdout instead of the table")
	fl.StringVar(&f.accessLog, "access-log", "", "write every request of each strategy (the first replication) to access-<strategy>.log (.csv) in --out: nginx, haproxy or csv")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a Go CPU profile of the run to this file")
	_ = fl.MarkHidden("cpuprofile")
}

func loadScenario(args []string, f runFlags) (*workloads.Scenario, error) {
	sets := append([]string(nil), f.sets...)
	if f.seed != "" {
		if _, err := strconv.ParseUint(f.seed, 10, 64); err != nil {
			return nil, usageError{fmt.Errorf("--seed: want a non-negative integer, got %q", f.seed)}
		}
		sets = append(sets, "seed="+f.seed)
	}
	if len(args) == 0 {
		return workloads.Parse(workloads.Quickstart(), workloads.QuickstartName, sets)
	}
	return workloads.Load(args[0], sets)
}

func runSim(c *cobra.Command, args []string, f runFlags, stdout, stderr io.Writer) error {
	sc, err := loadScenario(args, f)
	if err != nil {
		return err
	}
	names, err := scenarioStrategies(sc, f.strategies)
	if err != nil {
		return err
	}
	dir := outDir(f.out, sc.Name, "")
	if err := checkWritable(dir); err != nil {
		return err
	}
	slo, err := parseRunSLO(f.slo)
	if err != nil {
		return err
	}
	logs, err := newAccessLogs(dir, f.accessLog)
	if err != nil {
		return err
	}
	stop, err := startCPUProfile(f.cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	// A bar on a terminal: ProgressSteps per replication of each strategy.
	n := len(plan.Strategies(sc, names)) * sc.Replications * sim.ProgressSteps
	bar := newProgress(stderr, "run "+reports.Printable(sc.Name), "steps", n)
	opt := sim.Options{Strategies: names, Progress: bar.tick, Force: f.force}
	if logs != nil {
		opt.AccessLog, opt.AccessLogFormat = logs.open, logs.format
	}
	res, err := sim.Run(c.Context(), sc, opt)
	bar.finish(err == nil && !res.Partial)
	var wrote []string
	if err == nil {
		wrote, err = logs.commit()
	} else {
		logs.abort()
	}
	if err != nil {
		if workloads.IsInputError(err) {
			return err // it names its file and line
		}
		return fmt.Errorf("simulate %s: %w", reports.Printable(sc.Name), err)
	}
	res.Input = inputOf("run", sc, names)
	return publish(stdout, stderr, publication{dir: dir, name: "results.json", file: res, json: f.json, also: wrote,
		interrupted: res.Partial, html: resultsHTML(res, slo), text: func(w io.Writer) error { return reports.WriteText(w, res) }})
}

// errInterrupted reports a run stopped by a signal after it wrote its
// partial results (exit code 130, as a shell reports SIGINT).
type errInterrupted struct{ path string }

func (e errInterrupted) Error() string {
	return "interrupted; partial results written to " + e.path
}

// safeName turns a scenario name into a directory name: letters and
// digits of any script, '.', '_' and '-' are kept, every other run of
// characters becomes one '-'. A name with nothing left (only symbols or
// punctuation) gets "scenario-" and a short hash of the name, so that two
// such scenarios do not share a directory.
func safeName(name string) string {
	const maxNameRunes = 100 // a directory name stays well under 255 bytes
	var b strings.Builder
	dash := false
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-.")
	if r := []rune(s); len(r) > maxNameRunes {
		s = strings.Trim(string(r[:maxNameRunes]), "-.")
	}
	if s == "" {
		sum := sha256.Sum256([]byte(name))
		return "scenario-" + hex.EncodeToString(sum[:4])
	}
	return s
}

func newStrategiesCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "strategies",
		Short: "List the balancing strategies and their parameters",
		Long: `List every balancing strategy with a one-line summary, its source, and
the parameters it takes in balancer.params (e.g. params: {ring-hash: {vnodes: 160}, peak-ewma: {decay: 5}}).`,
		Args: func(c *cobra.Command, args []string) error {
			if err := cobra.NoArgs(c, args); err != nil {
				return usageError{err}
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			for _, s := range strategies.Catalogue() {
				fmt.Fprintf(stdout, "%-22s %s  [%s]\n", s.Name, s.Summary, s.Source)
				for _, p := range s.Params {
					kind := ""
					if p.Integer {
						kind = ", whole number"
					}
					fmt.Fprintf(stdout, "%-22s   param %s (default %g, %g..%g%s): %s\n", "", p.Name, p.Default, p.Min, p.Max, kind, p.Doc)
				}
			}
			return nil
		},
	}
}
