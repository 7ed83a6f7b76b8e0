package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/strategies"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden.sha256 from this code's outputs")

// wallTime matches the only field of results.json that may differ between
// two runs of the same scenario and seed.
var wallTime = regexp.MustCompile(`"wall_s":\s*[0-9.eE+-]+`)

// goldenCases are the CLI invocations whose JSON output is pinned: every
// example as it is, every example with the whole strategy catalogue (long
// ones shortened), replications, a sweep grid and a capacity search with
// N+k. A refactoring must leave each output byte-identical (wall time
// aside); a change that means to alter results updates the file with
// -update-golden and says why in its commit.
func goldenCases(t *testing.T) map[string][]string {
	t.Helper()
	examples, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	all := strings.Join(strategies.Names(), ",")
	cases := map[string][]string{}
	for _, ex := range examples {
		name := strings.TrimSuffix(filepath.Base(ex), ".yaml")
		cases["run/"+name] = []string{"run", ex, "--json"}
		cases["all/"+name] = []string{"run", ex, "--json", "--strategy", all, "--set", "duration=3s", "--set", "warmup=1s"}
	}
	cases["replications/failing-server"] = []string{"run", "../../examples/failing-server.yaml", "--json", "--set", "replications=3", "--set", "duration=15s"}
	cases["sweep/mm1"] = []string{"sweep", "../../examples/mm1.yaml", "--json", "--vary", "servers[0].count=1..3:1", "--vary", "clients.arrival.rate=20..60:20", "--strategy", "round-robin,p2c"}
	cases["capacity/mmc"] = []string{"capacity", "../../examples/mmc.yaml", "--json", "--slo", "p99=300ms,availability=99", "--vary", "servers[0].count=1..12", "--tolerate", "crash=1"}
	return cases
}

// TestGoldenOutputs pins results.json, sweep.json and capacity.json of the
// golden cases to the hashes in testdata/golden.sha256.
func TestGoldenOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("golden outputs run every example")
	}
	cases := goldenCases(t)
	got := map[string]string{}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args := append(cases[name], "--out", t.TempDir())
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%s: %v: exit %d: %s", name, args, code, stderr)
		}
		sum := sha256.Sum256([]byte(wallTime.ReplaceAllString(stdout, `"wall_s":0`)))
		got[name] = hex.EncodeToString(sum[:])
	}
	const file = "testdata/golden.sha256"
	if *updateGolden {
		var b strings.Builder
		for _, name := range names {
			fmt.Fprintf(&b, "%s  %s\n", got[name], name)
		}
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readGolden(t, file)
	for _, name := range names {
		if w, ok := want[name]; !ok {
			t.Errorf("%s: not in %s (run with -update-golden)", name, file)
		} else if w != got[name] {
			t.Errorf("%s: output changed: sha256 %s, want %s (%v)", name, got[name], w, cases[name])
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: in %s but no longer a case", name, file)
		}
	}
}

func readGolden(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("%v (run with -update-golden)", err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if ok {
			want[name] = sum
		}
	}
	return want
}
