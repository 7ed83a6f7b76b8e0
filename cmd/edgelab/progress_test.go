package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vbauerster/mpb/v8"
)

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]any{"buffer": &bytes.Buffer{}, "file": f, "pipe": w} {
		if isTerminal(out.(interface{ Write([]byte) (int, error) })) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
	if newProgress(&bytes.Buffer{}, "sweep x", "points", 3) != nil {
		t.Error("a progress bar on a buffer")
	}
	var none *progressBar // what newProgress returns off a terminal
	none.tick()
	none.estimate().finish(true)
}

// Off a terminal, sweep, capacity and their shards print nothing on
// stderr (no progress bar), and stdout holds only the JSON.
func TestNoProgressWhenNotATerminal(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	for _, args := range [][]string{
		{"sweep", good, "--vary", "servers[0].count=1..3:1", "--vary", "clients.arrival.rate=100..200:100"},
		{"sweep", good, "--vary", "servers[0].count=1..3:1", "--shard", "1/2"},
		{"capacity", good, "--slo", "p99=60ms", "--vary", "servers[0].count=1..4"},
		{"capacity", good, "--slo", "p99=60ms", "--vary", "servers[0].count=1..4", "--shard", "2/2"},
	} {
		args = append(args, "--json", "--out", out)
		for _, kind := range []string{"file", "pipe"} {
			var stderr, read *os.File
			var err error
			if kind == "file" {
				stderr, err = os.CreateTemp(dir, "stderr")
				read = stderr
			} else {
				read, stderr, err = os.Pipe()
			}
			if err != nil {
				t.Fatal(err)
			}
			var stdout bytes.Buffer
			code := run(context.Background(), args, &stdout, stderr)
			if kind == "pipe" {
				stderr.Close()
			} else if _, err := read.Seek(0, 0); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if _, err := got.ReadFrom(read); err != nil {
				t.Fatal(err)
			}
			read.Close()
			// No bar: stderr has only the files written.
			onlyWrote := true
			for _, line := range strings.Split(strings.TrimSuffix(got.String(), "\n"), "\n") {
				onlyWrote = onlyWrote && strings.HasPrefix(line, "edgelab: wrote ")
			}
			if code != 0 || !onlyWrote {
				t.Errorf("%v with stderr a %s: exit %d, stderr %q", args[:2], kind, code, got.String())
			}
			if !json.Valid(stdout.Bytes()) {
				t.Errorf("%v: stdout is not JSON:\n%s", args[:2], stdout.String())
			}
		}
	}
}

// On a terminal the bar counts points to the total, and an estimated total
// grows rather than completing early.
func TestProgressDraws(t *testing.T) {
	var buf bytes.Buffer
	b := startProgress(&buf, "sweep small", "points", 3, mpb.ForceTTY(), mpb.WithAutoRefresh())
	for range 3 {
		b.tick()
	}
	b.finish(true)
	if s := buf.String(); !strings.Contains(s, "sweep small") || !strings.Contains(s, "3/3 points") {
		t.Errorf("bar drew %q", s)
	}
	buf.Reset()
	b = startProgress(&buf, "capacity small", "probes", 2, mpb.ForceTTY(), mpb.WithAutoRefresh()).estimate()
	for range 4 {
		b.tick()
	}
	b.finish(true)
	if s := buf.String(); !strings.Contains(s, "4/4 probes") {
		t.Errorf("estimated bar drew %q", s)
	}
	// An interrupted run leaves the bar where it stopped, without hanging.
	buf.Reset()
	b = startProgress(&buf, "sweep small", "points", 5, mpb.ForceTTY(), mpb.WithAutoRefresh())
	b.tick()
	b.finish(false)
	if s := buf.String(); !strings.Contains(s, "1/5 points") {
		t.Errorf("aborted bar drew %q", s)
	}
}
