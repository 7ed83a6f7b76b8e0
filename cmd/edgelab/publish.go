package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// publication is one output file of a command and how to show it.
type publication struct {
	// dir and name say where the file goes.
	dir, name string
	// file is the file's content.
	file interface{ JSON() ([]byte, error) }
	// json prints the file itself on stdout (--json) instead of text and
	// the paths written.
	json bool
	// interrupted marks partial output: it is still published, then
	// reported as errInterrupted (exit 130).
	interrupted bool
	// text prints the human-readable rendering.
	text func(io.Writer) error
	// html, when not nil, renders the report.html written beside the file.
	html func(io.Writer) error
	// also lists files the command wrote before publishing (live's
	// vegeta.bin and access logs), listed with the rest.
	also []string
}

// publish writes p's file to p.dir/p.name atomically, then prints either
// the file itself (--json: nothing else on stdout, and the paths written
// on stderr) or the text rendering followed by the paths written. With p.html, the report goes first:
// rendered in memory (a failure writes nothing), then written atomically,
// then the file is published; if publishing fails before the file is on
// disk, the new report is removed again, so that the directory never
// holds a report without its data. An interrupted run still publishes,
// then reports errInterrupted (exit 130).
func publish(stdout, stderr io.Writer, p publication) error {
	data, err := p.file.JSON()
	if err != nil {
		return err
	}
	var htmlPath string
	if p.html != nil {
		if htmlPath, err = writeReportHTML(p.dir, p.html, stderr); err != nil {
			return err
		}
	}
	path, err := writeData(stdout, p, data)
	if err != nil {
		if htmlPath != "" && !fileHolds(filepath.Join(p.dir, p.name), data) {
			os.Remove(htmlPath)
		}
		return err
	}
	// What was written: after the text on stdout, or on stderr beside
	// --json, so that overwriting a directory is never silent.
	list, prefix := stdout, ""
	if p.json {
		list, prefix = stderr, "edgelab: "
		fmt.Fprintf(list, "%swrote %s\n", prefix, path)
	}
	if htmlPath != "" {
		fmt.Fprintf(list, "%swrote %s\n", prefix, htmlPath)
	}
	for _, f := range p.also {
		fmt.Fprintf(list, "%swrote %s\n", prefix, f)
	}
	if p.interrupted {
		return errInterrupted{path}
	}
	return nil
}

// writeData writes the file and prints it or its text and path.
func writeData(stdout io.Writer, p publication, data []byte) (string, error) {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return "", fmt.Errorf("create output directory: %w", err)
	}
	path := filepath.Join(p.dir, p.name)
	if err := reports.WriteFileAtomic(path, data); err != nil {
		return "", err
	}
	if p.json {
		if _, err := stdout.Write(data); err != nil {
			return "", fmt.Errorf("print %s: %w", p.name, err)
		}
		return path, nil
	}
	if err := p.text(stdout); err != nil {
		return "", fmt.Errorf("print %s: %w", p.name, err)
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", path)
	return path, nil
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

// fileHolds reports whether the file at path holds exactly data.
func fileHolds(path string, data []byte) bool {
	got, err := os.ReadFile(path)
	return err == nil && bytes.Equal(got, data)
}

// outDir is --out, or by default out/<scenario-name><suffix>.
func outDir(out, scenario, suffix string) string {
	if out != "" {
		return out
	}
	return filepath.Join("out", safeName(scenario)+suffix)
}

// resultsHTML renders a results.json's report.
func resultsHTML(res *reports.Results, slo *reports.SLO) func(io.Writer) error {
	return func(w io.Writer) error { return writeHTML(w, res, slo) }
}

// sweepHTML renders a sweep's report.
func sweepHTML(rep *reports.SweepReport) func(io.Writer) error {
	return func(w io.Writer) error {
		return reports.WriteSweepHTML(w, rep, reports.HTMLOptions{Version: version()})
	}
}

// capacityHTML renders a capacity search's report, with its SLO's
// verdicts.
func capacityHTML(ans *reports.CapacityReport) func(io.Writer) error {
	return func(w io.Writer) error {
		return reports.WriteCapacityHTML(w, ans, reports.HTMLOptions{SLO: &ans.SLO, Version: version()})
	}
}

// checkWritable reports, before any work, whether outputs can be written
// to dir: the directory if it exists, else the nearest existing parent it
// would be created in. It writes (and removes) a probe file but creates no
// directory, so that a refusal leaves nothing behind.
func checkWritable(dir string) error {
	d := dir
	for {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return usageError{fmt.Errorf("--out %s: %s is not a directory", dir, d)}
			}
			break
		}
		if !os.IsNotExist(err) && !errors.Is(err, syscall.ENOTDIR) {
			return usageError{fmt.Errorf("--out %s: %w", dir, unwrapPath(err))}
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	f, err := os.CreateTemp(d, ".edgelab-probe-*")
	if err != nil {
		return usageError{fmt.Errorf("--out %s: cannot write there: %w", dir, unwrapPath(err))}
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// unwrapPath drops the path os errors repeat.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// inputOf records what produced results: command, the scenario as given
// and the strategies asked for.
func inputOf(command string, sc *workloads.Scenario, strategies []string) *reports.Input {
	file, text, sets := sc.Source()
	if file == workloads.QuickstartName {
		file = ""
	}
	return &reports.Input{Command: command, File: file, Scenario: string(text), Sets: sets, Strategies: strategies}
}
