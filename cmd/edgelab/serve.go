package main

import (
	"context"
	"expvar"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/live"
	"github.com/edgelab/edgelab/workloads"
)

type serveFlags struct {
	strategy    string
	sets        []string
	backends    []string
	backendPort int
	listen      string
	allowRemote bool
	cpuprofile  string
	debugAddr   string
	out         string
}

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve SCENARIO.yaml",
		Short: "Run edgelab's gateway (and emulated backends) until interrupted",
		Long: `Serve runs edgelab's side of SCENARIO.yaml without sending load: the gateway
tier balancing with one strategy (its stages, health checks, retries, the L4
balancer with several instances) in front of the emulated backends — or in
front of your servers with --backend — until Ctrl-C. Point any load at it:
edgelab live --gateway, vegeta, curl. It listens on loopback only unless
--allow-remote is given.`,
		Example: `  edgelab serve examples/live-quickstart.yaml --listen 127.0.0.1:8080
  edgelab serve scenario.yaml --strategy p2c --backend http://127.0.0.1:9001 --backend http://127.0.0.1:9002`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("serve takes one scenario file, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			sc, err := workloads.Load(args[0], f.sets)
			if err != nil {
				return err
			}
			strategy := sc.Balancer.Strategy
			if f.strategy != "" {
				names, err := scenarioStrategies(sc, []string{f.strategy})
				if err != nil {
					return err
				}
				strategy = names[0]
			}
			if f.backendPort < 0 || f.backendPort > 65535 {
				return usageError{fmt.Errorf("--backend-port: want a port number, got %d", f.backendPort)}
			}
			opt := live.Options{Backends: f.backends, BackendPort: f.backendPort, Listen: f.listen, AllowRemote: f.allowRemote,
				OutDir: f.out, Logf: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }}
			// Bad input is exit 2 before anything starts; a failure to
			// start (a port in use) is exit 1.
			if err := live.CheckServe(sc, opt); err != nil {
				if workloads.IsInputError(err) {
					return err
				}
				return usageError{err}
			}
			if f.out != "" {
				if err := checkWritable(f.out); err != nil {
					return err
				}
				if err := os.MkdirAll(f.out, 0o755); err != nil {
					return fmt.Errorf("create output directory: %w", err)
				}
			}
			stop, err := startCPUProfile(f.cpuprofile)
			if err != nil {
				return err
			}
			defer stop()
			if f.debugAddr != "" {
				stopDebug, err := startDebug(f.debugAddr) // bad input is a usageError; a port in use is not
				if err != nil {
					return err
				}
				defer stopDebug()
				fmt.Fprintf(stderr, "edgelab serve: debug endpoints on http://%s/debug/vars and /debug/pprof/\n", f.debugAddr)
			}
			return live.Serve(c.Context(), sc, strategy, opt, func(info live.ServeInfo) {
				fmt.Fprintf(stdout, "edgelab gateway (%s) listening on %s\n", strategy, info.Entry)
				for _, u := range info.Upstreams {
					fmt.Fprintf(stdout, "  upstream %s  %s\n", u.ID, u.URL)
				}
				if info.Token != "" {
					fmt.Fprintf(stdout, "  the auth stage accepts: Authorization: Bearer %s\n", info.Token)
				}
				for _, p := range info.AccessLogs {
					fmt.Fprintf(stdout, "  access log %s\n", p)
				}
				fmt.Fprintln(stdout, "Ctrl-C stops it.")
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.strategy, "strategy", "s", "", "the balancing strategy (default: the scenario's)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key (repeatable)")
	fl.StringArrayVar(&f.backends, "backend", nil, "balance over this server instead of an emulated backend (repeatable)")
	fl.IntVar(&f.backendPort, "backend-port", 0, "first port of the emulated backends (default: ephemeral)")
	fl.StringVar(&f.listen, "listen", "", "address of the gateway (default 127.0.0.1 on a free port)")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow --listen and --backend addresses that are not on loopback")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a Go CPU profile to this file")
	_ = fl.MarkHidden("cpuprofile")
	fl.StringVarP(&f.out, "out", "o", "", "directory for the log stage's access logs (default: none written)")
	fl.StringVar(&f.debugAddr, "debug-addr", "", "serve expvar (/debug/vars, with goroutines) and pprof (/debug/pprof/) on this loopback host:port")
	return cmd
}

var publishGoroutines sync.Once

// startDebug serves the process's expvar variables (memstats, cmdline and
// goroutines, the number of goroutines) and pprof's profiles on addr,
// which must be a loopback address whatever --allow-remote says: they
// expose the process's internals. It returns the function that stops
// the server.
func startDebug(addr string) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usageError{fmt.Errorf("--debug-addr: %w", err)}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, usageError{fmt.Errorf("--debug-addr: %q is not a loopback address", addr)}
	}
	publishGoroutines.Do(func() {
		expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // best effort: ErrServerClosed once stopped
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
