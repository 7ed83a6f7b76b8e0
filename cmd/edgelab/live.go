package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/live"
	"github.com/edgelab/edgelab/live/tlscost"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

type liveFlags struct {
	runFlags
	backends    []string
	gateway     string
	gatewayWait time.Duration
	backendPort int
	allowRemote bool
	compare     bool
	maxWorkers  uint64
	cpu         bool
	calibrate   string
}

func newLiveCmd(stdout, stderr io.Writer) *cobra.Command {
	var f liveFlags
	cmd := &cobra.Command{
		Use:   "live SCENARIO.yaml",
		Short: "Run a scenario for real on loopback and measure it",
		Long: `Run SCENARIO.yaml for real: emulated HTTP backends on 127.0.0.1 that play the
scenario's service times and failures, edgelab's gateway proxy balancing with
the same strategy code as the simulator, and vegeta sending the scenario's
load (the same arrival times, keys and service demands as the simulation).
results.json (mode "live"), vegeta's own results (vegeta.bin, one attack per strategy) and
access logs go to --out (default out/<scenario-name>-live/).

--compare also simulates the scenario and prints both side by side.
--backend sends the traffic through edgelab's gateway to your own servers;
--gateway sends it to your own gateway (nginx, haproxy, …) in front of
edgelab's emulated backends. Only loopback addresses are used unless
--allow-remote is given.`,
		Example: `  edgelab live examples/live-quickstart.yaml --compare
  edgelab live examples/live-quickstart.yaml --strategy round-robin,p2c
  edgelab live scenario.yaml --backend http://127.0.0.1:9001 --backend http://127.0.0.1:9002
  edgelab live scenario.yaml --gateway http://127.0.0.1:8080 --backend-port 9001`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("live takes one scenario file, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runLive(c, args, f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	addRunFlags(fl, &f.runFlags, "out/<scenario-name>-live", "clients.arrival.rate=300")
	fl.StringArrayVar(&f.backends, "backend", nil, "use this server instead of an emulated backend (repeatable, one per instance)")
	fl.StringVar(&f.gateway, "gateway", "", "send the load to this gateway or balancer in front of the emulated backends")
	fl.DurationVar(&f.gatewayWait, "gateway-wait", live.DefaultGatewayWait, "with --gateway: how long to wait for a request through it to succeed before the load starts (0 = do not wait)")
	fl.IntVar(&f.backendPort, "backend-port", 0, "first port of the emulated backends (instance i listens on port+i; default: ephemeral)")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow --backend and --gateway addresses that are not on loopback")
	fl.BoolVar(&f.compare, "compare", false, "also simulate the scenario and print sim and live side by side")
	fl.Uint64Var(&f.maxWorkers, "max-workers", 0, "cap on vegeta's workers (default: the attacker's)")
	fl.BoolVar(&f.cpu, "cpu", false, "measure edgelab's gateway's CPU time per request (and TLS's share) with Go's CPU profiler")
	fl.StringVar(&f.calibrate, "calibrate", "", "measure the gateway's CPU (--cpu) and write the scenario to this file with the measured costs as keys (gateway.proxy_cost, gateway.tls, clients.keepalive.connect)")
	return cmd
}

func runLive(c *cobra.Command, args []string, f liveFlags, stdout, stderr io.Writer) error {
	sc, err := loadScenario(args, f.runFlags)
	if err != nil {
		return err
	}
	names, err := scenarioStrategies(sc, f.strategies)
	if err != nil {
		return err
	}
	if f.backendPort < 0 || f.backendPort > 65535 {
		return usageError{fmt.Errorf("--backend-port: want a port number, got %d", f.backendPort)}
	}
	if f.gatewayWait < 0 {
		return usageError{fmt.Errorf("--gateway-wait: want a duration ≥ 0, got %v", f.gatewayWait)}
	}
	if _, err := newAccessLogs("", f.accessLog); err != nil {
		return err
	}
	if f.calibrate != "" {
		if args[0] == "-" {
			return usageError{fmt.Errorf("--calibrate rewrites the scenario's file: read it from a file, not standard input")}
		}
		if f.gateway != "" {
			return usageError{fmt.Errorf("--calibrate with --gateway: edgelab calibrates its own gateway")}
		}
		if sc.Gateway == nil {
			return usageError{fmt.Errorf("--calibrate: %s has no gateway to calibrate", args[0])}
		}
		if u := sc.Balancer.Upstream; u != nil && u.TLS != nil {
			return usageError{fmt.Errorf("--calibrate with balancer.upstream.tls: the gateway's records to the servers mix with the clients'; calibrate without re-encryption")}
		}
		f.cpu = true
	}
	if f.cpu && f.cpuprofile != "" {
		return usageError{fmt.Errorf("--cpu and --cpuprofile: Go runs one CPU profile at a time; give one")}
	}
	wait := f.gatewayWait
	if wait == 0 {
		wait = -1 // the flag's 0 means no wait; the option's 0 is the default
	}
	opt := live.Options{Strategies: names, Backends: f.backends, Gateway: f.gateway, BackendPort: f.backendPort, GatewayWait: wait,
		AllowRemote: f.allowRemote, MaxWorkers: f.maxWorkers, AccessLogFormat: f.accessLog, MeasureCPU: f.cpu,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }}
	if err := live.Check(sc, opt); err != nil {
		if workloads.IsInputError(err) {
			return err
		}
		return usageError{err}
	}
	dir := outDir(f.out, sc.Name, "-live")
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	opt.OutDir = dir
	var wrote []string
	opt.Wrote = func(path string) { wrote = append(wrote, path) }
	stop, err := startCPUProfile(f.cpuprofile)
	if err != nil {
		return err
	}
	res, err := live.Run(c.Context(), sc, opt)
	stop()
	if err != nil {
		if os.IsNotExist(statErr) {
			_ = os.Remove(dir) // ours and empty: leave nothing behind
		}
		return err
	}
	if f.compare && !res.Partial {
		simNames := names
		if f.gateway != "" {
			// One external run: the simulation models the gateway with
			// the scenario's balancer.strategy (and its health, retries).
			simNames = []string{sc.Balancer.Strategy}
			fmt.Fprintf(stderr, "live: the simulation models %s as %s (balancer.strategy)\n", f.gateway, reports.Printable(sc.Balancer.Strategy))
		}
		simRes, err := sim.Run(c.Context(), sc, sim.Options{Strategies: simNames})
		if err != nil {
			return fmt.Errorf("simulate %s: %w", reports.Printable(sc.Name), err)
		}
		if simRes != nil {
			res.Compare = simRes
			res.Partial = res.Partial || simRes.Partial
		}
	}
	res.Input = inputOf("live", sc, names)
	err = publish(stdout, stderr, publication{dir: dir, name: "results.json", file: res, json: f.json,
		interrupted: res.Partial, html: resultsHTML(res, nil), also: wrote, text: func(w io.Writer) error {
			if err := reports.WriteText(w, res); err != nil {
				return err
			}
			if res.Compare != nil {
				fmt.Fprintln(w)
				return reports.WriteComparison(w, res, res.Compare)
			}
			return nil
		}})
	if err != nil || f.calibrate == "" || res.Partial || len(res.Runs) == 0 {
		return err
	}
	// The results are written whatever the calibration makes of them.
	return writeCalibration(stderr, args[0], f, sc, &res.Runs[0])
}

// startCPUProfile starts a Go CPU profile into path ("" = none) and
// returns the function that stops it.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	pf, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		pf.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		pf.Close()
	}, nil
}

// writeCalibration derives the calibration from the first strategy's run
// and writes the scenario at path with it to f.calibrate.
func writeCalibration(stderr io.Writer, path string, f liveFlags, sc *workloads.Scenario, run *reports.Run) error {
	var costs tlscost.Costs
	if t := sc.Gateway.TLS; t != nil {
		cert, _, err := tlscost.Certificate(t.KeyType)
		if certFile, keyFile := t.Files(); certFile != "" && err == nil {
			cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		}
		if err == nil {
			costs, err = tlscost.MeasureCert(cert, t.KeyType, 100)
		}
		if err != nil {
			return fmt.Errorf("calibrate: %w", err)
		}
	}
	cal, err := live.Calibrate(sc, run, costs)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	sets := append(append(append([]string(nil), f.sets...), movedFiles(path, f.calibrate, sc)...), cal.Sets()...)
	out, err := workloads.Rewrite(data, path, sets)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# Calibrated by edgelab live --calibrate from a run of %s (%s) on this machine:\n#   %s\n",
		filepath.Base(path), reports.Printable(run.Strategy), strings.Join(cal.Sets(), "\n#   "))
	if err := reports.WriteFileAtomic(f.calibrate, append([]byte(header), out...)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "live: calibrated %s\n", strings.Join(cal.Sets(), " "))
	fmt.Fprintf(stderr, "wrote %s\n", f.calibrate)
	return nil
}

// movedFiles are the overrides that keep the files a scenario names
// (its certificate and key, its trace) found when the scenario at path is
// written to out in another directory: their absolute paths.
func movedFiles(path, out string, sc *workloads.Scenario) []string {
	src, err1 := filepath.Abs(filepath.Dir(path))
	dst, err2 := filepath.Abs(filepath.Dir(out))
	if err1 != nil || err2 != nil || src == dst {
		return nil
	}
	var sets []string
	abs := func(key, given, resolved string) {
		if given == "" || filepath.IsAbs(given) {
			return
		}
		if a, err := filepath.Abs(resolved); err == nil {
			sets = append(sets, key+"="+strconv.Quote(a))
		}
	}
	if t := sc.Gateway.TLS; t != nil {
		cert, key := t.Files()
		abs("gateway.tls.cert", t.Cert, cert)
		abs("gateway.tls.key", t.Key, key)
	}
	if sc.Clients.Arrival.Process == workloads.ProcessTrace {
		abs("clients.arrival.file", sc.Clients.Arrival.File, sc.TracePath())
	}
	return sets
}
