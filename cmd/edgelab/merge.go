package main

// The merge command: combines the shard files of a sharded sweep or
// capacity search into what the unsharded run writes.

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/experiment"
)

func newMergeCmd(stdout io.Writer) *cobra.Command {
	var out string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "merge SHARD.json...",
		Short: "Combine the shard files of a sharded sweep or capacity search",
		Long: `Combine the files written by 'edgelab sweep --shard k/N' or 'edgelab
capacity --shard k/N' (sweep.shard-k-of-N.json, capacity.shard-k-of-N.json),
one per shard, all N of them, into the sweep.json or capacity.json that the
same command without --shard writes: the same bytes, apart from each
point's sim.wall_s, which is the wall time the point took where it ran.
For capacity, the search is replayed on the shards' evaluations of every
value, so the answer and the probes listed are those of the unsharded
search.

Shards of different runs (scenario file, seed, --set, --strategy, --vary,
--slo, --tolerate or N), a shard given twice, a missing shard or an
interrupted one are refused (exit 2). The output goes to --out (default
out/<scenario-name>-sweep/ or -capacity/, as the unsharded run).`,
		Example: `  edgelab merge out/mm1-sweep/sweep.shard-*-of-3.json
  edgelab merge shards/capacity.shard-*.json --out results/ --json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("merge takes the shard files to combine, e.g. edgelab merge out/x-sweep/sweep.shard-*.json")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runMerge(args, out, asJSON, stdout, c.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory (default that of the unsharded run)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged JSON to stdout instead of the table")
	return cmd
}

func runMerge(paths []string, out string, asJSON bool, stdout, stderr io.Writer) error {
	shards, err := experiment.ReadShards(paths)
	if err != nil {
		return err
	}
	p := publication{dir: outDir(out, shards.Run.Scenario, "-"+shards.Run.Command), json: asJSON}
	if shards.Run.Command == "sweep" {
		rep, err := shards.Sweep()
		if err != nil {
			return err
		}
		p.name, p.file, p.html = "sweep.json", rep, sweepHTML(rep)
		p.text = func(w io.Writer) error { return writeSweepText(w, rep) }
	} else {
		ans, r, err := shards.Capacity()
		if err != nil {
			return err
		}
		p.name, p.file, p.html = "capacity.json", ans, capacityHTML(ans)
		p.text = func(w io.Writer) error { return writeCapacityText(w, r, ans) }
	}
	return publish(stdout, stderr, p)
}
