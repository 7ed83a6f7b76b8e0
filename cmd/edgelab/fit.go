package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/fit"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/traces"
)

type fitFlags struct {
	format, logFormat, keyVar, by, out string
	reorder                            time.Duration
	strict, json                       bool
}

func newFitCmd(stdout, stderr io.Writer) *cobra.Command {
	var f fitFlags
	cmd := &cobra.Command{
		Use:   "fit LOG",
		Short: "Fit a scenario's arrivals and service times to an access log",
		Long: `Read an access log (NGINX, HAProxy, AWS ALB, Envoy or CSV, detected from its
first line unless --format says) and fit what a scenario needs: the arrival
rate over time (a constant rate, a ramp, a sine or per-second rates) and, per
upstream, the service-time distribution by maximum likelihood among
exponential, lognormal, gamma, Pareto and hyperexponential, chosen by AIC, with
the Kolmogorov–Smirnov distance of each. It prints the scenario fragment
(clients.arrival and servers[]) as YAML (--json: JSON, with the fit's details)
and writes report.html (the histograms against each fitted density and the rate
over time) and fit.json to --out.

An upstream's time is what the log records of it: NGINX
$upstream_response_time, HAProxy Tr, ALB target_processing_time, Envoy's
x-envoy-upstream-service-time, CSV service_ms. Except in edgelab's own CSV, it
includes the time the request queued at the server: under load it overstates
the service time the scenario asks for.`,
		Example: `  edgelab fit /var/log/nginx/access.log --log-format "$(grep -A3 'log_format timed' nginx.conf)" > fitted.yaml
  edgelab fit haproxy.log --by upstream --json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("want one access log")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runFit(args[0], f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "", "the log's format: "+strings.Join(traces.Formats, ", ")+" (default: detected)")
	fl.StringVar(&f.logFormat, "log-format", "", "the NGINX log_format the log was written with (default: edgelab's, see docs/traces.md; 'combined' for NGINX's)")
	fl.StringVar(&f.keyVar, "key-var", "", "the NGINX variable holding a request's key (default remote_addr)")
	fl.StringVar(&f.by, "by", fit.ByUpstream, "group service times by upstream (HAProxy backend; else all servers together), server, path (first segment) or all")
	fl.DurationVar(&f.reorder, "reorder", traces.DefaultReorder, "how far out of time order the log's lines may be (logs are written as requests end)")
	fl.BoolVar(&f.strict, "strict", false, "stop at the first malformed line instead of skipping it")
	fl.BoolVar(&f.json, "json", false, "print the fragment and the fit's details as JSON")
	fl.StringVarP(&f.out, "out", "o", "", "directory for report.html and fit.json (default out/fit-<log name>)")
	return cmd
}

func runFit(log string, f fitFlags, stdout, stderr io.Writer) error {
	if f.format != "" {
		if err := oneOfFlag("--format", f.format, traces.Formats); err != nil {
			return err
		}
	}
	opt := fit.Options{By: f.by, ReplayOptions: traces.ReplayOptions{
		Options: traces.Options{Format: f.format, LogFormat: f.logFormat, KeyVar: f.keyVar, Strict: f.strict},
		Reorder: f.reorder,
	}}
	rep, err := fit.FitLog(log, opt)
	if err != nil {
		return usageError{fmt.Errorf("fit: %w", err)}
	}
	data, err := rep.JSON()
	if err != nil {
		return err
	}
	dir := f.out
	if dir == "" {
		dir = filepath.Join("out", "fit-"+safeName(filepath.Base(log)))
	}
	html, err := writeReportHTML(dir, func(w io.Writer) error {
		return reports.WriteFitHTML(w, rep.View(), reports.HTMLOptions{Version: version()})
	}, stderr)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "fit.json")
	if err := reports.WriteFileAtomic(path, append(data, '\n')); err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	if f.json {
		_, err = stdout.Write(append(data, '\n'))
	} else {
		_, err = io.Copy(stdout, bytes.NewReader(rep.YAML()))
	}
	if err != nil {
		return err
	}
	if html != "" {
		fmt.Fprintf(stderr, "edgelab: wrote %s\n", html)
	}
	fmt.Fprintf(stderr, "edgelab: wrote %s\n", path)
	return nil
}

// oneOfFlag checks a flag's value against its choices (exit 2).
func oneOfFlag(flag, got string, allowed []string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return usageError{fmt.Errorf("%s: %q is not one of %s", flag, got, strings.Join(allowed, ", "))}
}
