package presets_test

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/presets"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/presets.md")

const (
	docsFile  = "../docs/presets.md"
	beginMark = "<!-- BEGIN GENERATED: go test ./presets -update -->"
	endMark   = "<!-- END GENERATED -->"
)

// docs/presets.md's tables are the catalogue itself, so the page cannot
// drift from what the presets do: this test fails when they differ, and
// `go test ./presets -update` rewrites them.
func TestDocsPresetsUpToDate(t *testing.T) {
	old, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := bytes.Index(old, []byte(beginMark)), bytes.Index(old, []byte(endMark))
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the generated-part markers", docsFile)
	}
	var b bytes.Buffer
	b.Write(old[:begin+len(beginMark)])
	b.WriteString("\n")
	writeTables(&b)
	b.Write(old[end:])
	if bytes.Equal(b.Bytes(), old) {
		return
	}
	if *update {
		if err := os.WriteFile(docsFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the catalogue: run go test ./presets -update", docsFile)
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func writeTables(b *bytes.Buffer) {
	for _, s := range presets.Systems() {
		fmt.Fprintf(b, "\n## %s — `%s: %s`\n\n", s.Title, s.Tier.Key(), s.Name)
		if s.Oldest != "" {
			fmt.Fprintf(b, "Versions %s … %s (default %s). ", s.Oldest, s.Newest, s.Newest)
		} else {
			b.WriteString("No version-dependent defaults: a version (`" + s.Name + "@1.2`) is recorded, not interpreted. ")
		}
		b.WriteString("`edgelab presets " + s.Name + "` prints the same.\n\n")
		b.WriteString("| setting (vendor default) | edgelab key | versions | source | note |\n|---|---|---|---|---|\n")
		for _, st := range s.Settings {
			versions := "all"
			switch {
			case st.Since != "" && st.Until != "":
				versions = st.Since + " … " + st.Until
			case st.Since != "":
				versions = "≥ " + st.Since
			case st.Until != "":
				versions = "≤ " + st.Until
			}
			fmt.Fprintf(b, "| %s | `%s: %s` | %s | %s | %s |\n", cell(st.Vendor), cell(st.Key), cell(st.Value), versions, st.Source, cell(st.Note))
		}
		if len(s.Algorithms) > 0 {
			b.WriteString("\n| algorithm name | catalogue strategy | source | note |\n|---|---|---|---|\n")
			for _, a := range s.Algorithms {
				strategy := "`" + a.Strategy + "`"
				if len(a.Params) > 0 {
					var kv []string
					for _, k := range slices.Sorted(maps.Keys(a.Params)) {
						kv = append(kv, fmt.Sprintf("%s: %g", k, a.Params[k]))
					}
					strategy += " `{" + strings.Join(kv, ", ") + "}`"
				}
				note := a.Note
				if a.Since != "" {
					note = strings.TrimSpace("since " + a.Since + ". " + note)
				}
				fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", a.Name, strategy, a.Source, cell(note))
			}
		}
		if len(s.Gaps) > 0 {
			b.WriteString("\nApproximated or not modelled:\n\n")
			for _, g := range s.Gaps {
				fmt.Fprintf(b, "- %s\n", g)
			}
		}
	}
	b.WriteString("\n")
}
