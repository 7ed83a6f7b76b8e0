package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/reports"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// runShards runs command with --shard k/n for every k into dir and
// returns the shard files.
func runShards(t *testing.T, n int, dir string, args ...string) []string {
	t.Helper()
	var files []string
	for k := 1; k <= n; k++ {
		shard := []string{"--shard", strconv.Itoa(k) + "/" + strconv.Itoa(n), "--out", dir, "--json"}
		code, stdout, stderr := runCLI(t, append(append([]string(nil), args...), shard...)...)
		if code != 0 {
			t.Fatalf("%v shard %d/%d: exit %d: %s", args, k, n, code, stderr)
		}
		file := filepath.Join(dir, args[0]+".shard-"+strconv.Itoa(k)+"-of-"+strconv.Itoa(n)+".json")
		if got := readFile(t, file); string(got) != stdout {
			t.Fatalf("shard %d/%d: --json output differs from %s", k, n, file)
		}
		files = append(files, file)
	}
	return files
}

// Three shards of a sweep, merged, write the sweep.json of the whole sweep
// byte for byte (its points carry no wall time). Both a one-key sweep and
// a grid.
func TestSweepShardsMergeToTheWholeSweep(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	for name, vary := range map[string][]string{
		"one key": {"--vary", "servers[0].count=1..4:1"},
		"grid":    {"--vary", "servers[0].count=1..2:1", "--vary", "clients.arrival.rate=100..200:50"},
	} {
		t.Run(name, func(t *testing.T) {
			base := append([]string{"sweep", good, "--seed", "9", "--set", "warmup=500ms"}, vary...)
			whole := filepath.Join(dir, name, "whole")
			if code, _, stderr := runCLI(t, append(base, "--out", whole, "--parallel", "2")...); code != 0 {
				t.Fatalf("whole sweep: exit %d: %s", code, stderr)
			}
			shards := runShards(t, 3, filepath.Join(dir, name, "shards"), base...)
			merged := filepath.Join(dir, name, "merged")
			// Shards in any order.
			code, stdout, stderr := runCLI(t, "merge", shards[2], shards[0], shards[1], "--out", merged, "--json")
			if code != 0 {
				t.Fatalf("merge: exit %d: %s", code, stderr)
			}
			want := readFile(t, filepath.Join(whole, "sweep.json"))
			got := readFile(t, filepath.Join(merged, "sweep.json"))
			if string(got) != stdout {
				t.Error("merge --json output differs from the sweep.json it wrote")
			}
			if !bytes.Equal(got, want) {
				t.Errorf("merged sweep.json differs from the whole sweep's:\n%s\n---\n%s", got, want)
			}
			var out reports.SweepReport
			if err := json.Unmarshal(got, &out); err != nil {
				t.Fatal(err)
			}
			if name == "grid" && (len(out.Keys) != 2 || len(out.Points) != 6 || len(out.Points[5].Values) != 2) {
				t.Errorf("grid: keys %v, %d points", out.Keys, len(out.Points))
			}
			// Text merge prints the sweep's table.
			code, stdout, _ = runCLI(t, "merge", shards[0], shards[1], shards[2], "--out", merged)
			if code != 0 || !strings.Contains(stdout, "p99 ms") || !strings.Contains(stdout, "wrote "+filepath.Join(merged, "sweep.json")) {
				t.Errorf("text merge: exit %d\n%s", code, stdout)
			}
		})
	}
}

// capped is small with a price, so that capacity.json has a monthly cost.
const capped = small + `cost: {per_instance_hour: 0.25}
`

// Three shards of a capacity search evaluate every value; merged, they
// give exactly the capacity.json of the unsharded search (its probes are
// the search's, not every value), with and without --tolerate.
func TestCapacityShardsMergeToTheSearch(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "capped.yaml", capped)
	for name, extra := range map[string][]string{
		"plain":    nil,
		"tolerate": {"--tolerate", "crash=1", "--slo", "p99=60ms"},
		"none":     {"--slo", "p99=1us"},
	} {
		t.Run(name, func(t *testing.T) {
			base := []string{"capacity", good, "--slo", "p99=60ms,availability=99", "--vary", "servers[0].count=1..7"}
			base = append(base, extra...)
			whole := filepath.Join(dir, name, "whole")
			if code, _, stderr := runCLI(t, append(base, "--out", whole)...); code != 0 {
				t.Fatalf("whole search: exit %d: %s", code, stderr)
			}
			shards := runShards(t, 3, filepath.Join(dir, name, "shards"), base...)
			merged := filepath.Join(dir, name, "merged")
			code, stdout, stderr := runCLI(t, append([]string{"merge", "--out", merged}, shards...)...)
			if code != 0 {
				t.Fatalf("merge: exit %d: %s", code, stderr)
			}
			want := readFile(t, filepath.Join(whole, "capacity.json"))
			got := readFile(t, filepath.Join(merged, "capacity.json"))
			if string(got) != string(want) {
				t.Errorf("merged capacity.json differs from the search's:\n%s\n---\n%s", got, want)
			}
			var ans struct {
				Answer *float64
				Probes []json.RawMessage
				Cost   float64 `json:"monthly_cost"`
			}
			if err := json.Unmarshal(got, &ans); err != nil {
				t.Fatal(err)
			}
			if name != "none" && (ans.Answer == nil || ans.Cost == 0 || len(ans.Probes) >= 7) {
				t.Errorf("answer %v, cost %g, %d probes of 7 values", ans.Answer, ans.Cost, len(ans.Probes))
			}
			if !strings.Contains(stdout, "servers[0].count") {
				t.Errorf("text merge:\n%s", stdout)
			}
		})
	}
}

// Merge refuses, with exit 2, a clear message and nothing on stdout, any
// set of files that is not every shard of one run exactly once.
func TestMergeRefusesMismatchedShards(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	base := []string{"sweep", good, "--vary", "servers[0].count=1..3:1", "--set", "warmup=500ms"}
	a := runShards(t, 3, filepath.Join(dir, "a"), base...)
	seed := runShards(t, 3, filepath.Join(dir, "seed"), append(base, "--seed", "77")...)
	vary := runShards(t, 3, filepath.Join(dir, "vary"), "sweep", good, "--vary", "servers[0].count=1..4:1", "--set", "warmup=500ms")
	two := runShards(t, 2, filepath.Join(dir, "two"), base...)
	caps := runShards(t, 3, filepath.Join(dir, "cap"), "capacity", good, "--slo", "p99=60ms", "--vary", "servers[0].count=1..3", "--set", "warmup=500ms")
	other := writeFile(t, dir, "other.yaml", strings.Replace(small, "rate: 200", "rate: 201", 1))
	otherFile := runShards(t, 3, filepath.Join(dir, "other"), "sweep", other, "--vary", "servers[0].count=1..3:1", "--set", "warmup=500ms")

	partial := filepath.Join(dir, "partial.json")
	data := strings.Replace(string(readFile(t, a[1])), `"run": {`, `"partial": true, "run": {`, 1)
	writeFile(t, dir, "partial.json", data)
	stolen := filepath.Join(dir, "stolen.json")
	var f map[string]any
	if err := json.Unmarshal(readFile(t, a[1]), &f); err != nil {
		t.Fatal(err)
	}
	f["shard"] = 3 // shard 2's points relabelled as shard 3's
	b, _ := json.Marshal(f)
	writeFile(t, dir, "stolen.json", string(b))

	cases := []struct {
		files []string
		want  string
	}{
		{[]string{a[0], a[1]}, "missing shard(s) 3/3"},
		{[]string{a[0], a[1], a[1], a[2]}, "shard 2/3 is given twice"},
		{[]string{a[0], seed[1], a[2]}, "different runs: seed differs"},
		{[]string{a[0], vary[1], a[2]}, "different runs: points differs"},
		{[]string{a[0], a[1], two[1]}, "different runs: shards differs"},
		{[]string{a[0], caps[1], caps[2]}, "different runs: command differs"},
		{[]string{a[0], otherFile[1], a[2]}, "different runs: scenario_sha256 differs"},
		{[]string{a[0], partial, a[2]}, "interrupted (partial)"},
		{[]string{a[0], a[1], stolen}, "which is not its own"},
		{[]string{filepath.Join(dir, "nope.json")}, "cannot read"},
		{[]string{good}, "not a shard file"},
		{nil, "merge takes the shard files"},
	}
	whole := filepath.Join(dir, "whole")
	if code, _, stderr := runCLI(t, append(base, "--out", whole)...); code != 0 {
		t.Fatal(stderr)
	}
	cases = append(cases, struct {
		files []string
		want  string
	}{[]string{filepath.Join(whole, "sweep.json")}, "not a shard file"})
	out := filepath.Join(dir, "merged")
	for _, c := range cases {
		code, stdout, stderr := runCLI(t, append([]string{"merge", "--out", out}, c.files...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("merge %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.files, code, stdout, stderr, c.want)
		}
	}
	if exists(out) {
		t.Errorf("a refused merge created %s", out)
	}
}

// An interrupted shard still writes its file, marked partial (exit 130),
// and merge refuses it.
func TestInterruptedShardIsRefused(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"sweep", good, "--vary", "servers[0].count=1..3:1"},
		{"capacity", good, "--slo", "p99=60ms", "--vary", "servers[0].count=1..3"},
	} {
		out := filepath.Join(dir, args[0])
		var stdout, stderr bytes.Buffer
		code := run(ctx, append(args, "--shard", "1/1", "--out", out), &stdout, &stderr)
		file := filepath.Join(out, args[0]+".shard-1-of-1.json")
		if code != 130 || !strings.Contains(stderr.String(), "interrupted") {
			t.Fatalf("%s: exit %d, stderr %q", args[0], code, stderr.String())
		}
		if !strings.Contains(string(readFile(t, file)), `"partial": true`) {
			t.Errorf("%s: shard file not marked partial", args[0])
		}
		code, _, msg := runCLI(t, "merge", file, "--out", out)
		if code != 2 || !strings.Contains(msg, "shard 1/1 was interrupted") {
			t.Errorf("%s: merge of a partial shard: exit %d, %q", args[0], code, msg)
		}
	}
}
