package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/presets"
)

func newPresetsCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "presets [NAME[@VERSION]]",
		Short: "List the systems a scenario can name (nginx, haproxy, envoy, kong…), or show one",
		Long: `Without an argument, list every preset: balancer.preset takes the load
balancers and proxies, gateway.preset the API gateways.

With a name (and optionally a version, as nginx@1.22 or haproxy@3.2), print
the scenario keys the preset sets at that version, each with the vendor's own
setting and the page or source file it was read in; the system's algorithm
names that balancer.strategy and balancer.compare accept under it; and what
edgelab approximates or does not model. Every key a scenario writes wins over
the preset's.`,
		Args: func(c *cobra.Command, args []string) error {
			if err := cobra.MaximumNArgs(1)(c, args); err != nil {
				return usageError{err}
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				listPresets(stdout)
				return nil
			}
			s, v, err := presets.Resolve(args[0])
			if err != nil {
				return usageError{err}
			}
			showPreset(stdout, s, v)
			return nil
		},
	}
}

func listPresets(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKEY\tVERSIONS\tSYSTEM")
	for _, s := range presets.Systems() {
		versions := "any (recorded)"
		if s.Oldest != "" {
			versions = s.Oldest + " … " + s.Newest
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Tier.Key(), versions, s.Title)
	}
	tw.Flush()
	fmt.Fprintln(w, "\n`edgelab presets NAME` shows the keys one sets, with their sources.")
}

func showPreset(w io.Writer, s *presets.System, version string) {
	fmt.Fprintf(w, "%s — %s, selected with %s: %s\n", s.Spec(version), s.Title, s.Tier.Key(), s.Spec(version))
	if s.Oldest != "" {
		fmt.Fprintf(w, "Documented versions %s … %s; without a version, %s.\n", s.Oldest, s.Newest, s.Newest)
	}
	fmt.Fprintln(w, "\nKeys it sets (every key the scenario writes wins):")
	for _, st := range s.At(version) {
		fmt.Fprintf(w, "  %s: %s\n", st.Key, st.Value)
		fmt.Fprintf(w, "      %s: %s\n", s.Title, st.Vendor)
		if st.Note != "" {
			fmt.Fprintf(w, "      note: %s\n", st.Note)
		}
		fmt.Fprintf(w, "      source: %s\n", st.Source)
	}
	if names := s.AlgorithmNames(version); len(names) > 0 {
		fmt.Fprintln(w, "\nAlgorithm names balancer.strategy and balancer.compare take under it:")
		for _, n := range names {
			a, _ := s.Algorithm(n, version)
			params := ""
			if len(a.Params) > 0 {
				var kv []string
				for _, k := range sortedKeys(a.Params) {
					kv = append(kv, fmt.Sprintf("%s: %g", k, a.Params[k]))
				}
				params = " {" + strings.Join(kv, ", ") + "}"
			}
			fmt.Fprintf(w, "  %-24s → %s%s  [%s]\n", n, a.Strategy, params, a.Source)
			if a.Note != "" {
				fmt.Fprintf(w, "  %-24s   %s\n", "", a.Note)
			}
		}
	}
	if len(s.Gaps) > 0 {
		fmt.Fprintln(w, "\nApproximated or not modelled:")
		for _, g := range s.Gaps {
			fmt.Fprintf(w, "  - %s\n", g)
		}
	}
}

func sortedKeys(m map[string]float64) []string {
	return slices.Sorted(maps.Keys(m))
}
