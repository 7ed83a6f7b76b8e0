package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/reports"
)

func newReportCmd(stdout io.Writer) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report RESULTS.json",
		Short: "Re-render a results.json: the text table, the HTML report and CSV exports",
		Long: `Read a results.json written by run (or one element of a sweep), print its
table, and write next to it (or into --out):
  report.html    the self-contained HTML report: summary, latency percentiles
                 and CDF, latency, throughput, errors and instances over time
                 with failure windows, load per instance, gateway stages
                 (charts by Apache ECharts, inlined: it opens offline)
  summary.csv    one row per strategy: counts, rates, availability, percentiles
  series.csv     per strategy and time bucket: offered, outcomes, p50/p99, healthy
  instances.csv  per strategy, instance and bucket: in-flight and utilization`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("report takes one results.json, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runReport(args[0], out, stdout, c.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory for report.html and the CSV files (default: beside RESULTS.json)")
	return cmd
}

func runReport(path, out string, stdout, stderr io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usageError{fmt.Errorf("%s: cannot read: %w", path, err)}
	}
	var res reports.Results
	if err := json.Unmarshal(data, &res); err != nil {
		return usageError{fmt.Errorf("%s: not a results.json: %v", path, err)}
	}
	if res.Scenario == "" || len(res.Runs) == 0 {
		return usageError{fmt.Errorf("%s: not a results.json: no scenario or runs", path)}
	}
	if out == "" {
		out = filepath.Dir(path)
	}
	files := []struct {
		name  string
		write func(io.Writer, *reports.Results) error
	}{
		{"report.html", writeHTML},
		{"summary.csv", reports.WriteSummaryCSV},
		{"series.csv", reports.WriteSeriesCSV},
		{"instances.csv", reports.WriteInstanceSeriesCSV},
	}
	// Render everything first, so that nothing is written if any fails.
	rendered := make([][]byte, len(files))
	for i, f := range files {
		var b bytes.Buffer
		if err := f.write(&b, &res); err != nil {
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
	if err := reports.WriteText(stdout, &res); err != nil {
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

// writeHTML renders the HTML report of a results.json with the default
// options (no SLO).
func writeHTML(w io.Writer, r *reports.Results) error {
	return reports.WriteHTML(w, r, reports.HTMLOptions{})
}

// writeReportHTML renders a report.html in memory and writes it
// atomically to dir, returning its path. A binary built without ECharts
// (no make assets) still runs: it warns on stderr and returns "" so that
// the results are not lost for want of a chart library.
func writeReportHTML(dir string, render func(io.Writer) error, stderr io.Writer) (string, error) {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		if errors.Is(err, reports.ErrNoECharts) {
			fmt.Fprintf(stderr, "edgelab: warning: report.html not written: %v\n", err)
			return "", nil
		}
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create output directory: %w", err)
	}
	path := filepath.Join(dir, "report.html")
	if err := reports.WriteFileAtomic(path, b.Bytes()); err != nil {
		return "", err
	}
	return path, nil
}

// publishWithReport is publish with a report.html beside the data file.
// The report goes first: rendered in memory (a failure writes nothing),
// then written atomically, then the data file is published. If publishing
// fails before the data file is on disk, the new report is removed again,
// so that the directory never holds a report without its data.
func publishWithReport(stdout, stderr io.Writer, dir, name string, data []byte, asJSON, interrupted bool,
	text, render func(io.Writer) error) error {
	htmlPath, err := writeReportHTML(dir, render, stderr)
	if err != nil {
		return err
	}
	err = publish(stdout, dir, name, data, asJSON, interrupted, text)
	var stopped errInterrupted
	if err != nil && !errors.As(err, &stopped) {
		if htmlPath != "" && !fileHolds(filepath.Join(dir, name), data) {
			os.Remove(htmlPath)
		}
		return err
	}
	if htmlPath != "" && !asJSON {
		fmt.Fprintf(stdout, "wrote %s\n", htmlPath)
	}
	return err
}

// resultsHTML renders a results.json's report.
func resultsHTML(res *reports.Results) func(io.Writer) error {
	return func(w io.Writer) error { return writeHTML(w, res) }
}

// sweepHTML renders the report of a sweep.json (its bytes: the report's
// model has the same shape).
func sweepHTML(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		var s reports.SweepReport
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("sweep report: %w", err)
		}
		return reports.WriteSweepHTML(w, &s, reports.HTMLOptions{})
	}
}

// capacityHTML renders the report of a capacity.json, with its SLO's
// verdicts.
func capacityHTML(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		var c reports.CapacityReport
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("capacity report: %w", err)
		}
		return reports.WriteCapacityHTML(w, &c, reports.HTMLOptions{SLO: &c.SLO})
	}
}

// fileHolds reports whether the file at path holds exactly data.
func fileHolds(path string, data []byte) bool {
	got, err := os.ReadFile(path)
	return err == nil && bytes.Equal(got, data)
}
