package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/experiment"
	"github.com/edgelab/edgelab/reports"
)

func newReportCmd(stdout io.Writer) *cobra.Command {
	var out, slo string
	cmd := &cobra.Command{
		Use:   "report RESULTS.json | report A.json B.json [C.json...] --out DIR",
		Short: "Re-render a results.json (table, HTML report, CSV), or compare several on one page",
		Long: `Read a results.json written by run (or one element of a sweep), print its
table, and write next to it (or into --out):
  report.html    the self-contained HTML report: summary, latency percentiles
                 and CDF, latency, throughput, errors and instances over time
                 with failure windows, load per instance, gateway stages
                 (charts by Apache ECharts, inlined: it opens offline)
  summary.csv    one row per strategy: counts, rates, availability, percentiles
  series.csv     per strategy and time bucket: offered, outcomes, p50/p99, healthy
  instances.csv  per strategy, instance and bucket: in-flight and utilization
report.html opens with its findings: which strategy has the lowest p99, which
meet an SLO, and which differences between strategies are significant (paired
across replications: every strategy of a replication sees the same requests)
and which are noise. With one replication they carry no confidence interval.

With two files or more — two results.json (sim or live) or two sweep.json —
report compares every file with the first (A) on one page and writes only
report.html, into --out, which is then required (beside a file it would
overwrite that run's own report.html). Findings are written as changes:
  p99 falls from 200.00 ms to 115.00 ms (−42.5%, 95% CI −47.0…−38.0%)
Runs are matched by strategy (two files of one run each are matched whatever
their strategies); sweeps point by point, on equal values of the same keys.
Two simulations of one scenario and seed with the same replications (2 or
more) are paired replication by replication; otherwise, with replications on
both sides, intervals are unpaired (Welch's t); with one replication there is
no interval. The changes are also printed as text.`,
		Example: `  edgelab report out/checkout/results.json
  edgelab run checkout.yaml --set replications=5 --out today
  edgelab run checkout.yaml --set replications=5 --set servers[0].count=12 --out proposed
  edgelab report today/results.json proposed/results.json --out review
  edgelab report today/sweep.json proposed/sweep.json --out review`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("report takes a results.json, or two files or more to compare")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return runCompare(args, out, stdout, c.ErrOrStderr())
			}
			objective, err := parseRunSLO(slo)
			if err != nil {
				return err
			}
			return runReport(args[0], out, objective, stdout, c.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory for report.html and the CSV files (default: beside RESULTS.json; required to compare files)")
	cmd.Flags().StringVar(&slo, "slo", "", "service-level objective the findings and summary check, e.g. p99=200ms,availability=99.9")
	return cmd
}

func runReport(path, out string, slo *reports.SLO, stdout, stderr io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usageError{fmt.Errorf("%s: cannot read: %w", path, err)}
	}
	res, err := reports.ReadResults(data)
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", path, err)}
	}
	if out == "" {
		out = filepath.Dir(path)
	}
	files := []struct {
		name  string
		write func(io.Writer, *reports.Results) error
	}{
		{"report.html", func(w io.Writer, r *reports.Results) error { return writeHTML(w, r, slo) }},
		{"summary.csv", reports.WriteSummaryCSV},
		{"series.csv", reports.WriteSeriesCSV},
		{"instances.csv", reports.WriteInstanceSeriesCSV},
	}
	// Render everything first, so that nothing is written if any fails.
	rendered := make([][]byte, len(files))
	bar := newProgress(stderr, "report "+reports.Printable(res.Scenario), "files", len(files))
	defer bar.finish(true)
	for i, f := range files {
		bar.tick()
		var b bytes.Buffer
		if err := f.write(&b, res); err != nil {
			if errors.Is(err, reports.ErrNoECharts) {
				fmt.Fprintf(stderr, "edgelab: warning: %s not written: %v\n", f.name, err)
				continue
			}
			return err
		}
		rendered[i] = b.Bytes()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	if err := reports.WriteText(stdout, res); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for i, f := range files {
		if rendered[i] == nil {
			continue
		}
		p := filepath.Join(out, f.name)
		if err := reports.WriteFileAtomic(p, rendered[i]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	return nil
}

// writeHTML renders the HTML report of a results.json, with verdicts
// against slo when it is not nil.
func writeHTML(w io.Writer, r *reports.Results, slo *reports.SLO) error {
	return reports.WriteHTML(w, r, reports.HTMLOptions{Version: version(), SLO: slo})
}

// parseRunSLO reads the --slo flag of run and report ("" = none).
func parseRunSLO(s string) (*reports.SLO, error) {
	if s == "" {
		return nil, nil
	}
	slo, err := experiment.ParseSLO(s)
	if err != nil {
		return nil, usageError{err}
	}
	return &slo, nil
}
