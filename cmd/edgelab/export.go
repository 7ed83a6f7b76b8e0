package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/configs"
	"github.com/edgelab/edgelab/live"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
)

type exportFlags struct {
	out, listen, strategy string
	backendPort           int
	sets                  []string
	allowRemote           bool
}

func newExportCmd(stdout, stderr io.Writer) *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export nginx|haproxy SCENARIO.yaml",
		Short: "Write the real NGINX or HAProxy configuration of a scenario's balancer",
		Long: `Write the configuration that makes the real program balance like the
scenario: NGINX's upstream or HAProxy's backend with every server instance on
the port edgelab's emulated backends use (--backend-port + its index, in
scenario order), its weight, the algorithm, passive or active health checks,
retries and timeouts. Run the program with it, then measure it with

  edgelab live SCENARIO.yaml --gateway http://LISTEN --backend-port N

What the program cannot express is printed on stderr and written as
comments at the top of the configuration; a strategy it has no equivalent
for is an error (exit 2).`,
		Example: `  edgelab export nginx crash.yaml --out nginx.conf
  nginx -p "$PWD" -c nginx.conf -g 'daemon off;' &
  edgelab live crash.yaml --gateway http://127.0.0.1:8080 --backend-port 9001 --compare`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("want a format (%s) and a scenario file", strings.Join(configs.Formats, " or "))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runExport(args[0], args[1], f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "write the configuration to this file (default: stdout)")
	fl.StringVar(&f.listen, "listen", configs.DefaultListen, "address the program listens on")
	fl.IntVar(&f.backendPort, "backend-port", configs.DefaultBackendPort, "first port of edgelab's emulated backends, as given to edgelab live --backend-port")
	fl.StringVarP(&f.strategy, "strategy", "s", "", "the strategy to realize (default: balancer.strategy)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key, key=value (repeatable)")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow a --listen address off loopback")
	return cmd
}

func runExport(format, path string, f exportFlags, stdout, stderr io.Writer) error {
	known := false
	for _, k := range configs.Formats {
		known = known || k == format
	}
	if !known {
		return usageError{fmt.Errorf("unknown format %q (known: %s)", format, strings.Join(configs.Formats, ", "))}
	}
	if err := live.CheckListen(f.listen, f.allowRemote); err != nil {
		return usageError{err}
	}
	sc, err := loadScenario([]string{path}, runFlags{sets: f.sets})
	if err != nil {
		return err
	}
	if err := plan.Check(sc); err != nil {
		return err
	}
	strategy := ""
	if f.strategy != "" {
		names, err := scenarioStrategies(sc, []string{f.strategy})
		if err != nil {
			return err
		}
		strategy = names[0]
	}
	var b bytes.Buffer
	notes, err := configs.Export(&b, format, sc, configs.Options{Listen: f.listen, BackendPort: f.backendPort, Strategy: strategy, Source: path})
	if err != nil {
		return usageError{fmt.Errorf("export %s: %w", format, err)}
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "edgelab: export %s: note: %s\n", format, n)
	}
	if f.out == "" {
		_, err := stdout.Write(b.Bytes())
		return err
	}
	if err := reports.WriteFileAtomic(f.out, b.Bytes()); err != nil {
		return fmt.Errorf("export %s: %w", format, err)
	}
	fmt.Fprintf(stderr, "wrote %s\n", f.out)
	return nil
}
