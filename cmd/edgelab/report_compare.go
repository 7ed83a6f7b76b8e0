package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/edgelab/edgelab/reports"
)

// runCompare is report with two files or more: one report.html comparing
// every file with the first, written into out (required: the default, a
// file's own directory, would overwrite that file's report.html), and the
// changes printed on stdout.
func runCompare(paths []string, out string, stdout, stderr io.Writer) error {
	if out == "" {
		return usageError{errors.New("report with several files needs --out DIR for the comparison's report.html " +
			"(beside a file it would overwrite that run's own report.html)")}
	}
	labels := compareLabels(paths)
	sides := make([]reports.DiffSide, len(paths))
	for i, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return usageError{fmt.Errorf("%s: cannot read: %w", path, err)}
		}
		res, sweep, err := reports.ReadComparable(data)
		if err != nil {
			return usageError{fmt.Errorf("%s: %w", path, err)}
		}
		sides[i] = reports.DiffSide{Label: labels[i], Results: res, Sweep: sweep}
		if i > 0 && (sweep != nil) != (sides[0].Sweep != nil) {
			return usageError{fmt.Errorf("%s is a %s but %s is a %s: compare results.json files with each other, "+
				"or sweep.json files with each other", path, kind(sides[i]), paths[0], kind(sides[0]))}
		}
	}
	var text, page bytes.Buffer
	if err := reports.WriteDiffText(&text, sides); err != nil {
		return usageError{err}
	}
	pageErr := reports.WriteDiffHTML(&page, sides, reports.HTMLOptions{Version: version()})
	if pageErr != nil && !errors.Is(pageErr, reports.ErrNoECharts) {
		return pageErr
	}
	if _, err := stdout.Write(text.Bytes()); err != nil {
		return err
	}
	if pageErr != nil {
		fmt.Fprintf(stderr, "edgelab: warning: report.html not written: %v\n", pageErr)
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	p := filepath.Join(out, "report.html")
	if err := reports.WriteFileAtomic(p, page.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", p)
	return nil
}

func kind(s reports.DiffSide) string {
	if s.Sweep != nil {
		return "sweep.json"
	}
	return "results.json"
}

// compareLabels names each file for the page: A, B, C… followed by the
// file's directory ("A (out/today)"), or its path when the directory
// says nothing.
func compareLabels(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		name := filepath.Dir(p)
		if name == "." {
			name = p
		}
		letter := string(rune('A' + i%26))
		out[i] = letter + " (" + reports.Printable(name) + ")"
	}
	return out
}
