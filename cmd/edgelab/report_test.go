package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// report re-renders a results.json: the table on stdout, and CSV exports
// whose summary rows match the runs and whose series rows cover every
// bucket of every strategy.
func TestReportWritesCSV(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"run", "--out", dir, "--set", "duration=5s", "--set", "warmup=1s",
		"--strategy", "p2c,random"}, &stdout, &stderr); code != 0 {
		t.Fatalf("run: exit %d %s", code, stderr.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"report", filepath.Join(dir, "results.json")}, &stdout, &stderr); code != 0 {
		t.Fatalf("report: exit %d %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "p99 ms") || !strings.Contains(stdout.String(), "summary.csv") {
		t.Fatalf("stdout:\n%s", stdout.String())
	}
	read := func(name string) [][]string {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	sum := read("summary.csv")
	if len(sum) != 3 || sum[1][3] != "p2c" || sum[2][3] != "random" {
		t.Fatalf("summary.csv: %v", sum)
	}
	// 6 s of run in 1 s buckets, two strategies, plus the header.
	if series := read("series.csv"); len(series) != 1+2*6 {
		t.Fatalf("series.csv has %d rows", len(series))
	}
	// 8 instances × 6 buckets × 2 strategies.
	if inst := read("instances.csv"); len(inst) != 1+8*6*2 {
		t.Fatalf("instances.csv has %d rows", len(inst))
	}
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	for _, args := range [][]string{{"report"}, {"report", filepath.Join(dir, "missing.json")}, {"report", bad}} {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("bad input wrote files: %v", entries)
	}
}
