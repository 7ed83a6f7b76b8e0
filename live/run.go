package live

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgelab/edgelab/live/attack"
	"github.com/edgelab/edgelab/live/backend"
	"github.com/edgelab/edgelab/live/gateway"
	"github.com/edgelab/edgelab/live/l4"
	"github.com/edgelab/edgelab/live/tlscost"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/traces"
	"github.com/edgelab/edgelab/workloads"
)

// Options configures a live run.
type Options struct {
	// Strategies to run one after the other (default: the scenario's
	// balancer.strategy, or its compare list).
	Strategies []string
	// Backends, when given, are the user's own servers: the load goes
	// through edgelab's gateway to them instead of to emulated backends.
	Backends []string
	// Gateway, when given, is an external gateway or balancer (nginx,
	// haproxy, …) in front of edgelab's emulated backends: the load is
	// sent to it, and edgelab runs no proxy of its own.
	Gateway string
	// BackendPort, when not 0, is the first port of the emulated backends
	// (instance i listens on BackendPort+i), so an external gateway can be
	// configured with their addresses beforehand.
	BackendPort int
	// GatewayWait bounds the wait, before an external Gateway's run, for
	// a request through it to succeed (any answer below 500), so that
	// its health checks have seen the backends up before the load
	// starts; 0 = DefaultGatewayWait, negative = no wait.
	GatewayWait time.Duration
	// AllowRemote permits backends and gateways that are not on loopback.
	AllowRemote bool
	// Listen is the address of edgelab's entry point (the L4 balancer
	// with several gateway instances, else the gateway); "" = 127.0.0.1
	// on a free port. Serve uses it.
	Listen string
	// OutDir receives vegeta's results (vegeta.bin, every strategy's
	// attack under its name) and the gateway access logs; "" writes
	// neither.
	OutDir string
	// Wrote, when not nil, is told the path of every file Run wrote in
	// OutDir (vegeta.bin, access logs) once it is complete.
	Wrote func(path string)
	// AccessLogFormat, when set with OutDir, writes every request of each
	// strategy as the client saw it to OutDir/access-<strategy>.log (.csv)
	// in that format (traces.NGINX, traces.HAProxy or traces.CSV), to
	// replay, fit or read with halog or GoAccess.
	AccessLogFormat string
	// MaxWorkers caps vegeta's workers (0 = the attacker's default).
	MaxWorkers uint64
	// MeasureCPU measures edgelab's gateway tier's CPU time per request
	// over the measured window with Go's CPU profiler (see cpuMeter), and
	// TLS's share of it, into results.json's gateway block. It needs
	// edgelab's own gateway (not Gateway) and no other CPU profile on in
	// the process.
	MeasureCPU bool
	// Logf receives progress messages (nil = silent).
	Logf func(format string, args ...any)
}

// wrote tells o.Wrote about a file written.
func (o *Options) wrote(path string) {
	if o.Wrote != nil {
		o.Wrote(path)
	}
}

// accessLogPath is where gateway instance i writes its access log while
// strategy runs.
func accessLogPath(dir, strategy string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("access-%s-%d.log", strategy, i))
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Check reports why a scenario cannot run live, as an input error naming
// the field, or nil.
func Check(sc *workloads.Scenario, opt Options) error {
	return check(sc, opt, true)
}

// CheckServe reports why Serve cannot serve a scenario with opt, as an
// input error naming the field or an error naming the flag, or nil.
// Serve sends no load, so a closed-loop scenario is fine.
func CheckServe(sc *workloads.Scenario, opt Options) error {
	if opt.Gateway != "" {
		return errors.New("serve runs edgelab's own gateway: --gateway does not apply")
	}
	if err := check(sc, opt, false); err != nil {
		return err
	}
	return CheckListen(opt.Listen, opt.AllowRemote)
}

// check is Check; load tells whether the run sends load (Run) or not
// (Serve).
func check(sc *workloads.Scenario, opt Options, load bool) error {
	check := plan.Check // the strategies the run compares, and their params
	if len(opt.Strategies) > 0 {
		check = plan.CheckParams
	}
	if err := check(sc); err != nil {
		return err
	}
	if load && sc.Clients.Arrival.Process == workloads.ProcessClosed {
		return sc.FieldError("clients.arrival.process",
			"live mode sends open-loop load (poisson, constant, sine, ramp); a closed loop runs in the simulator only")
	}
	for gi := range sc.Servers {
		if sc.Servers[gi].Autoscale != nil {
			return sc.FieldError(fmt.Sprintf("servers[%d].autoscale", gi),
				"autoscaling runs in the simulator only; remove it for live mode")
		}
	}
	if g := sc.Gateway; g != nil && len(g.Failures) > 0 {
		return sc.FieldError("gateway.failures",
			"gateway instance failures run in the simulator only; live mode plays server failures")
	}
	if u := sc.Balancer.Upstream; u != nil && u.Connect > 0 && opt.Gateway == "" {
		return sc.FieldError("balancer.upstream.connect",
			"is simulated only: live connections to the servers take what they take (write 0, or drop it, for live mode)")
	}
	if opt.MeasureCPU && opt.Gateway != "" {
		return errors.New("--cpu with --gateway: edgelab measures its own gateway's CPU; measure your gateway's with its own tools (pidstat, top)")
	}
	if opt.Gateway != "" && len(opt.Strategies) > 0 {
		return errors.New("--strategy with --gateway: an external gateway balances as it is configured, not with edgelab's strategies; drop --strategy (or --gateway to run edgelab's own gateway)")
	}
	if opt.Gateway != "" && len(opt.Backends) > 0 {
		return errors.New("--gateway and --backend: give one or the other (an external gateway needs edgelab's emulated backends behind it)")
	}
	if n := sc.Instances(); opt.BackendPort != 0 && len(opt.Backends) == 0 && (opt.BackendPort < 1 || opt.BackendPort+n-1 > 65535) {
		return fmt.Errorf("--backend-port %d: the scenario's %d backends listen on %d…%d, past port 65535", opt.BackendPort, n, opt.BackendPort, opt.BackendPort+n-1)
	}
	for _, u := range opt.Backends {
		if err := CheckAddress(u, opt.AllowRemote); err != nil {
			return fmt.Errorf("--backend: %w", err)
		}
	}
	if opt.Gateway != "" {
		if err := CheckAddress(opt.Gateway, opt.AllowRemote); err != nil {
			return fmt.Errorf("--gateway: %w", err)
		}
		if u, err := url.Parse(opt.Gateway); err == nil && opt.BackendPort > 0 {
			port, _ := strconv.Atoi(u.Port())
			if n := sc.Instances(); port >= opt.BackendPort && port < opt.BackendPort+n && isLoopbackHost(u.Hostname()) {
				return fmt.Errorf("--gateway %s: port %d is one of the backends' (%d…%d): the load would go to a backend, not through your gateway", opt.Gateway, port, opt.BackendPort, opt.BackendPort+n-1)
			}
		}
	}
	if n, slots := len(opt.Backends), plan.TotalSlots(sc); n > 0 && n != slots && len(sc.Servers) > 1 {
		return fmt.Errorf("--backend: %d URLs for %d instances in %d server groups; give one URL per instance, in scenario order", n, slots, len(sc.Servers))
	}
	return nil
}

// Run runs the scenario live once per strategy and reports the results
// the way the simulator does (mode "live"). When ctx is cancelled the
// current attack stops, in-flight requests drain, and the results so far
// are returned marked partial.
func Run(ctx context.Context, sc *workloads.Scenario, opt Options) (res *reports.Results, err error) {
	if err := Check(sc, opt); err != nil {
		return nil, err
	}
	names := plan.Strategies(sc, opt.Strategies)
	res = &reports.Results{
		Scenario: sc.Name, Mode: "live", Seed: sc.Seed,
		DurationS: sc.Duration.D().Seconds(), WarmupS: sc.Warmup.D().Seconds(),
		Presets: plan.Presets(sc),
	}
	var vlog *attack.VegetaLog
	if opt.OutDir != "" {
		// One results file for the run, each strategy's attack under its
		// name, written atomically like every other output.
		// (err is the named result, which the rename below checks: a
		// failed run leaves no vegeta.bin.)
		path := filepath.Join(opt.OutDir, "vegeta.bin")
		var f *os.File
		f, err = os.CreateTemp(opt.OutDir, ".vegeta-*.bin")
		if err != nil {
			return nil, fmt.Errorf("vegeta results file: %w", err)
		}
		defer func() {
			f.Close()
			os.Remove(f.Name()) // after the rename, nothing is there
		}()
		vlog = attack.NewVegetaLog(f)
		defer func() {
			if err == nil {
				if err = f.Chmod(0o644); err == nil {
					if err = f.Sync(); err == nil {
						err = os.Rename(f.Name(), path)
					}
				}
				if err == nil {
					opt.wrote(path)
				}
			}
		}()
	}
	for _, name := range names {
		if opt.Gateway != "" && len(res.Runs) > 0 {
			break // the external gateway balances as it is configured: one run
		}
		// An external gateway balances as it is configured: progress and
		// errors do not name the scenario's strategy.
		label := name
		if opt.Gateway != "" {
			label = "through " + opt.Gateway
		}
		opt.logf("live: %s for %v (warm-up %v)", label, sc.Duration.D(), sc.Warmup.D())
		run, windows, trace, partial, err := runOne(ctx, sc, name, opt, vlog)
		if err != nil {
			return nil, fmt.Errorf("live %s: %w", label, err)
		}
		if opt.Gateway != "" {
			// The external gateway's retries, health view and in-flight
			// counts are its own: not measured, so not reported.
			run.Strategy = "external"
			run.Attempts = 0
			if run.Series != nil {
				run.Series.Healthy = nil
				run.Series.InFlight = nil
				for k := range run.Series.Instances {
					run.Series.Instances[k] = sc.Instances()
				}
			}
		}
		res.Runs = append(res.Runs, run)
		if opt.OutDir != "" && opt.Gateway == "" && sc.Gateway != nil && hasStage(sc.Gateway, workloads.StageLog) {
			for i := 0; i < sc.Gateway.Instances; i++ {
				opt.wrote(accessLogPath(opt.OutDir, name, i))
			}
		}
		if res.Failures == nil {
			res.Failures = windows
		}
		if res.Trace == nil {
			res.Trace = trace
		}
		if partial {
			res.Partial = true
			break
		}
	}
	return res, nil
}

// Serve runs edgelab's side of the scenario — its gateway tier with one
// strategy, and the emulated backends unless opt.Backends names real ones
// — until ctx ends, without sending load: for an attacker elsewhere
// (edgelab live --gateway, vegeta, curl). ready, when not nil, receives
// what a client needs (ServeInfo) once everything listens. Failures play
// on the scenario's timeline from the moment it starts. Errors of
// CheckServe are bad input; any other means it could not start (a port in
// use).
func Serve(ctx context.Context, sc *workloads.Scenario, strategy string, opt Options, ready func(ServeInfo)) error {
	if err := CheckServe(sc, opt); err != nil {
		return err
	}
	start := time.Now()
	w, err := build(sc, strategy, opt, start)
	if err != nil {
		return err
	}
	defer w.close()
	if w.fleet != nil {
		w.fleet.Play(start, sc.Warmup.D()+sc.Duration.D()) // the scenario's timeline
	}
	if ready != nil {
		info := ServeInfo{Entry: w.target, Upstreams: w.upstreams(sc, opt.Backends)}
		if w.auth != nil {
			info.Token = w.auth.ValidToken()
		}
		if opt.OutDir != "" && sc.Gateway != nil && hasStage(sc.Gateway, workloads.StageLog) {
			for i := 0; i < sc.Gateway.Instances; i++ {
				info.AccessLogs = append(info.AccessLogs, accessLogPath(opt.OutDir, strategy, i))
			}
		}
		ready(info)
	}
	<-ctx.Done()
	return nil
}

// ServeInfo is what a client of Serve needs to know once it serves.
type ServeInfo struct {
	// Entry is the URL to send load to: the L4 balancer with several
	// gateway instances, else the gateway.
	Entry string
	// Upstreams are the backends the gateways balance over.
	Upstreams []gateway.Upstream
	// Token is a bearer token the auth stage accepts (for a week), when
	// the gateway has one: send it as "Authorization: Bearer <Token>".
	Token string
	// AccessLogs are the files the log stage writes (Options.OutDir).
	AccessLogs []string
}

// world is one strategy's running system: backends, gateways, L4.
type world struct {
	// clientTLS is the attacker's TLS configuration when the gateway
	// terminates TLS (it trusts the generated certificate); connections
	// says the run reports client connections (Scenario.Connections).
	clientTLS   *tls.Config
	connections bool
	edgeTLS     bool // the L4 balancer terminates TLS (gateway.tls.at: edge)
	upstreamTLS bool // the gateway re-encrypts to the backends
	fleet       *backend.Fleet
	gws         []*gateway.Gateway
	stages      []*gateway.Stages
	l4          *l4.L4
	auth        *gateway.Auth
	target      string
	closes      []func() error
}

func (w *world) close() error {
	var errs []error
	for i := len(w.closes) - 1; i >= 0; i-- {
		errs = append(errs, w.closes[i]())
	}
	return errors.Join(errs...)
}

// upstreams lists the backends the gateways balance over: the scenario's
// servers (plan.Servers) at the emulated backends' or the given URLs.
func (w *world) upstreams(sc *workloads.Scenario, external []string) []gateway.Upstream {
	var ups []gateway.Upstream
	servers := plan.Servers(sc)
	if len(external) == 0 {
		for i, b := range w.fleet.Backends() {
			ups = append(ups, gateway.Upstream{ID: servers[i].ID, URL: b.URL(), Group: servers[i].Group, Weight: servers[i].Weight})
		}
		return ups
	}
	for k, u := range external {
		if k < len(servers) {
			ups = append(ups, gateway.Upstream{ID: servers[k].ID, URL: u, Group: servers[k].Group, Weight: servers[k].Weight})
			continue
		}
		// One group: every URL given belongs to it, however many.
		ups = append(ups, gateway.Upstream{ID: plan.ServerID(sc.Servers[0].Name, k), URL: u, Weight: 1})
	}
	return ups
}

// build starts one strategy's world. start is the run's time origin.
func build(sc *workloads.Scenario, strategy string, opt Options, start time.Time) (w *world, err error) {
	w = &world{}
	defer func() {
		if err != nil {
			_ = w.close()
		}
	}()
	var upstreamTLS *tls.Config
	fo := backend.FleetOptions{BasePort: opt.BackendPort, Logf: opt.Logf}
	if u := sc.Balancer.Upstream; u != nil && u.TLS != nil && len(opt.Backends) == 0 {
		// The balancer re-encrypts: the emulated backends serve HTTPS with
		// a certificate made now, which the gateway trusts.
		cert, pool, err := tlscost.Certificate(tlscost.RSA2048)
		if err != nil {
			return w, fmt.Errorf("balancer.upstream.tls: generate a certificate: %w", err)
		}
		fo.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		upstreamTLS = &tls.Config{RootCAs: pool}
		w.upstreamTLS = true
	}
	if len(opt.Backends) == 0 {
		w.fleet, err = backend.StartFleet(sc, fo)
		if err != nil {
			return w, fmt.Errorf("start backends: %w", err)
		}
		w.closes = append(w.closes, w.fleet.Close)
	}
	if opt.Gateway != "" {
		w.target = opt.Gateway
		return w, nil
	}
	g := sc.Gateway
	if g != nil {
		for _, st := range g.Stages {
			if st.Type == workloads.StageAuth {
				w.auth, err = gateway.NewAuth(st.Alg, sc.Seed, 0, st.Reject)
				if err != nil {
					return w, fmt.Errorf("auth keys: %w", err)
				}
				break
			}
		}
	}
	instances := 1
	if g != nil {
		instances = g.Instances
	}
	w.connections = sc.Connections()
	var srvTLS *tls.Config
	var edgeTLS *tls.Config
	if g != nil && g.TLS != nil {
		if srvTLS, w.clientTLS, err = tlsConfigs(g.TLS); err != nil {
			return w, err
		}
		if g.TLS.At == workloads.TLSAtEdge {
			// The L4 balancer terminates TLS, offering HTTP/2 by ALPN
			// with multiplex; the instances speak HTTP (h2c then).
			edgeTLS, srvTLS, w.edgeTLS = srvTLS, nil, true
			edgeTLS.NextProtos = []string{"http/1.1"}
			if k := sc.Clients.Keepalive; k != nil && k.Multiplex {
				edgeTLS.NextProtos = []string{"h2", "http/1.1"}
			}
		}
	}
	ups := w.upstreams(sc, opt.Backends)
	// One set of rate limiters for the whole tier, as in the simulator.
	limits, err := gateway.NewRateLimits(g, start)
	if err != nil {
		return w, fmt.Errorf("rate limits: %w", err)
	}
	maxConns, connMode := maxConnections(sc)
	var addrs []string
	for i := 0; i < instances; i++ {
		so := gateway.StageOptions{Instance: i, Seed: sc.Seed, Start: start, Warmup: sc.Warmup.D(), Auth: w.auth, Limits: limits}
		if opt.OutDir != "" && g != nil && hasStage(g, workloads.StageLog) {
			so.AccessLog = accessLogPath(opt.OutDir, strategy, i)
		}
		st, err := gateway.NewStages(g, so)
		if err != nil {
			return w, fmt.Errorf("gateway %d stages: %w", i, err)
		}
		w.stages = append(w.stages, st)
		w.closes = append(w.closes, st.Close)
		listen := ""
		if instances == 1 {
			listen = opt.Listen
		}
		gw, err := gateway.StartGateway(gateway.Config{Scenario: sc, Strategy: strategy, Instance: i, Upstreams: ups,
			Start: start, Middleware: st.Wrap, Logf: opt.Logf, Listen: listen, TLS: srvTLS, MaxConnections: maxConns, ConnMode: connMode,
			UpstreamTLS: upstreamTLS})
		if err != nil {
			return w, fmt.Errorf("start gateway %d: %w", i, err)
		}
		w.gws = append(w.gws, gw)
		w.closes = append(w.closes, gw.Close)
		addrs = append(addrs, gw.Addr())
	}
	w.target = w.gws[0].URL()
	if instances > 1 || edgeTLS != nil {
		w.l4, err = l4.StartL4(l4.Config{Mode: g.L4, Backends: addrs, Health: g.Health, Start: start, Seed: sc.Seed, Listen: opt.Listen,
			BackendTLS: srvTLS != nil, TLS: edgeTLS, ProfileLabels: []string{gateway.CPULabel, cpuEdge}})
		if err != nil {
			return w, fmt.Errorf("start L4 balancer: %w", err)
		}
		w.closes = append(w.closes, w.l4.Close)
		w.target = w.l4.URL()
	}
	return w, nil
}

// maxConnections is a gateway instance's bound on client connections
// (gateway.Config.MaxConnections) and what it does at the bound. When the
// scenario models connections without gateway.connections, the simulated
// instances hold any number: each client keeps its idle connections. So
// the live instances hold up to maxGatewayConns and never close an idle
// one for room (which made clients reconnect, handshake again, and under
// load meet a connection closed as they reused it).
func maxConnections(sc *workloads.Scenario) (int, gateway.ConnMode) {
	if g := sc.Gateway; g != nil && g.Connections != nil {
		if l := g.Connections; l.Drain {
			return l.Max, gateway.ConnDrain
		}
		return g.Connections.Max, gateway.ConnHold
	}
	if !sc.Connections() {
		return 0, gateway.ConnWait // gateway.DefaultMaxConnections
	}
	return maxGatewayConns, gateway.ConnHold
}

// somaxconn is the kernel's bound on a listen backlog (0: unknown), which
// Go's listeners ask for.
func somaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// maxGatewayConns caps maxConnections: the attacker's own bound on its
// connections (from the open file limit) is lower still.
const maxGatewayConns = 1 << 16

// tlsConfigs makes the gateway's TLS configuration from gateway.tls: the
// user's certificate and key, or a self-signed certificate of key_type
// generated now; and the attacker's, which trusts the generated
// certificate (the user's is not checked: edgelab measures, it does not
// authenticate). Every instance shares the session ticket keys, as a
// fleet configured with one ssl_session_ticket_key does, so that a
// session resumes on any instance.
func tlsConfigs(t *workloads.TLS) (srv, cli *tls.Config, err error) {
	var cert tls.Certificate
	cli = &tls.Config{ServerName: tlscost.ServerName}
	if certFile, keyFile := t.Files(); certFile != "" {
		if cert, err = tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			return nil, nil, fmt.Errorf("gateway.tls: %w", err)
		}
		cli = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // see above
	} else {
		var pool *x509.CertPool
		if cert, pool, err = tlscost.Certificate(t.KeyType); err != nil {
			return nil, nil, fmt.Errorf("gateway.tls: generate a certificate: %w", err)
		}
		cli.RootCAs = pool
	}
	srv = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, nil, fmt.Errorf("gateway.tls: session ticket key: %w", err)
	}
	srv.SetSessionTicketKeys([][32]byte{key})
	return srv, cli, nil
}

// maxIdleConns is the live gateway's idle connections per server
// (gateway.MaxIdlePerUpstream).
const maxIdleConns = gateway.MaxIdlePerUpstream

// ExternalIgnores lists the scenario keys that are set and that an
// external gateway (Options.Gateway) makes moot: edgelab's gateway tier,
// balancer and client-side retries and hedging are not in the path, only
// the emulated backends and the load are. balancer.strategy is not
// listed: it always has a value, and the run is labelled "external".
func ExternalIgnores(sc *workloads.Scenario) []string {
	var keys []string
	add := func(key string, set bool) {
		if set {
			keys = append(keys, key)
		}
	}
	add("clients.retries", !reflect.ValueOf(sc.Clients.Retries).IsZero())
	add("clients.hedge", !reflect.ValueOf(sc.Clients.Hedge).IsZero())
	b := &sc.Balancer
	add("balancer.compare", len(b.Compare) > 0)
	add("balancer.health", !reflect.ValueOf(b.Health).IsZero())
	add("balancer.affinity", b.Affinity != "")
	add("balancer.stale_load", b.StaleLoad != 0)
	add("balancer.params", len(b.Params) > 0)
	add("balancer.upstream", b.Upstream != nil)
	add("gateway", sc.Gateway != nil)
	return keys
}

// DefaultGatewayWait is how long edgelab live --gateway waits for the
// first successful request through an external gateway. It covers a
// HAProxy server that failed its first check before the backends
// listened and must pass `rise` (2) checks `inter` (2 s) apart to be UP
// again (HAProxy configuration manual, `default-server`), with margin.
const DefaultGatewayWait = 10 * time.Second

// waitForGateway sends GET requests for path through the external gateway,
// 20 a second, until one is answered with a status below 500: the
// gateway listens and reaches at least one backend it considers up. It
// fails after opt.GatewayWait (or when ctx ends) with the last answer or
// error, so that a gateway that is down or misconfigured is an error
// before the run rather than a run of failures.
func waitForGateway(ctx context.Context, opt Options, path string) (answered int, err error) {
	wait := opt.GatewayWait
	switch {
	case wait < 0:
		return 0, nil
	case wait == 0:
		wait = DefaultGatewayWait
	}
	url := strings.TrimSuffix(opt.Gateway, "/") + path
	client := &http.Client{Timeout: time.Second,
		// An https:// gateway's certificate is not edgelab's to check.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // see above
		// A redirect is an answer; following it could leave loopback.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return answered, err
		}
		resp, err := client.Do(req)
		if err == nil {
			answered++
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode < 500 {
				opt.logf("live: %s answers (%s); starting the load", opt.Gateway, resp.Status)
				return answered, nil
			}
			last = "status " + resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return answered, fmt.Errorf("no request for %s was answered below 500 within %v (last: %s): is the gateway running and configured with the upstreams above? (--gateway-wait waits longer)",
				path, wait, last)
		}
		select {
		case <-ctx.Done():
			return answered, ctx.Err()
		case <-tick.C:
		}
	}
}

func hasStage(g *workloads.Gateway, typ string) bool {
	for _, st := range g.Stages {
		if st.Type == typ {
			return true
		}
	}
	return false
}

// runOne runs one strategy live.
func runOne(ctx context.Context, sc *workloads.Scenario, strategy string, opt Options, vlog *attack.VegetaLog) (reports.Run, []reports.FailureWindow, *reports.Trace, bool, error) {
	// The time origin is a little ahead, so that everything is listening
	// before the first request and the first failure.
	start := time.Now().Add(200 * time.Millisecond)
	w, err := build(sc, strategy, opt, start)
	if err != nil {
		return reports.Run{}, nil, nil, false, err
	}
	defer w.close()
	warm, end := sc.Warmup.D(), sc.Warmup.D()+sc.Duration.D()
	probes := 0
	if opt.Gateway != "" {
		opt.logf("live: configure %s with these upstreams:", opt.Gateway)
		for _, b := range w.fleet.Backends() {
			opt.logf("  %s  %s", b.ID(), b.URL())
		}
		if keys := ExternalIgnores(sc); len(keys) > 0 {
			opt.logf("live: your gateway balances, retries and checks health as it is configured; these scenario keys are not applied: %s",
				strings.Join(keys, ", "))
		}
		probes, err = waitForGateway(ctx, opt, plan.NewPathMix(sc).Paths[0])
		if err != nil {
			return reports.Run{}, nil, nil, false, err
		}
		// The backends have not started their failure schedule: the
		// run's time origin moves to now.
		start = time.Now().Add(200 * time.Millisecond)
	} else if k := sc.Clients.Keepalive; k != nil && k.Connect > 0 {
		opt.logf("live: clients.keepalive.connect is simulated only: live connections take what they take (results.json's gateway.connect_ms)")
	}
	if g := sc.Gateway; g != nil && g.Connections != nil && !g.Connections.Drain && opt.Gateway == "" {
		if n := somaxconn(); n > 0 && n != *g.Connections.Backlog {
			opt.logf("live: the gateway's listen backlog is the kernel's (net.core.somaxconn = %d), not gateway.connections.backlog (%d); past it Linux drops the SYN and the client retries, where the simulator refuses", n, *g.Connections.Backlog)
		}
	}
	if u := sc.Balancer.Upstream; u != nil && u.Keepalive != nil && opt.Gateway == "" {
		opt.logf("live: balancer.upstream.keepalive is simulated only: edgelab's gateway keeps up to %d idle connections to each server", maxIdleConns)
	}
	if w.fleet != nil {
		w.fleet.Play(start, end)
	}

	// Sample the servers' and gateways' state at every bucket's end, and
	// the servers' counters at the ends of warm-up and of the run.
	iv := reports.SeriesInterval(end, maxBuckets)
	buckets := int((end + iv - 1) / iv)
	smp := newSampler(w, buckets)
	smp.measureCPU = opt.MeasureCPU
	sctx, stopSampling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		smp.run(sctx, start, iv, warm, end)
	}()

	cfg := attack.Config{Scenario: sc, Target: w.target, Start: start, Vegeta: vlog, Name: strategy, MaxWorkers: opt.MaxWorkers, TLS: w.clientTLS}
	if w.auth != nil {
		cfg.Tokens = w.auth.Token
	}
	var log *accessLog
	if opt.OutDir != "" && opt.AccessLogFormat != "" {
		name := strategy
		if opt.Gateway != "" {
			name = "external"
		}
		if log, err = newAccessLog(opt.OutDir, name, opt.AccessLogFormat); err != nil {
			stopSampling()
			wg.Wait()
			return reports.Run{}, nil, nil, false, err
		}
		defer log.abort()
		cfg.AccessLog = log.w
	}
	ar, err := attack.Attack(ctx, cfg)
	if err != nil || ar.Partial {
		stopSampling()
	}
	// Otherwise the sampler ends by itself at the run's end (Attack
	// returns no earlier), with the counters and the CPU profile of the
	// whole measured window.
	wg.Wait()
	stopSampling()
	if err == nil && log != nil {
		var path string
		if path, err = log.commit(); err == nil {
			opt.wrote(path)
		}
	}
	if err != nil {
		return reports.Run{}, nil, nil, false, err
	}
	rep := ar.Rep
	rep.Servers = smp.servers(w, end-warm)
	smp.fill(rep.Series)
	rep.Gateway = gatewayStats(w, smp, rep.Latency, ar.Conns)
	if smp.cpuErr != nil {
		opt.logf("live: %v", smp.cpuErr)
	}
	run := reports.Summarize(strategy, []reports.Replication{rep}, sc.Duration.D().Seconds())
	run.Sim = nil
	live := ar.Live
	live.ReadyProbes = probes
	run.Live = &live
	var windows []reports.FailureWindow
	if w.fleet != nil {
		windows = w.fleet.Windows()
	}
	return run, windows, ar.Rep.Trace, ar.Partial, nil
}

// maxBuckets bounds the time series' length, as in the simulator.
const maxBuckets = 600

// gatewayStats summarizes the gateway tier (nil without one).
func gatewayStats(w *world, smp *sampler, lat *reports.LatencyRecorder, conns attack.ConnStats) *reports.Gateway {
	if len(w.stages) == 0 || len(w.gws) == 0 {
		return nil
	}
	out := &reports.Gateway{}
	if w.connections {
		out.Connections, out.FullHandshakes, out.ResumedHandshakes = conns.Opened, conns.Full, conns.Resumed
		out.ConnectMS = reports.Round(conns.Setup.Seconds()*1000, 6)
	}
	if ms, share, hsMS, ok := smp.tierCPU(false); ok {
		out.CPUPerRequestMS = reports.Round(ms, 6)
		if (w.clientTLS != nil && !w.edgeTLS) || w.upstreamTLS {
			out.TLSShare = reports.Round(share, 6)
		}
		if w.clientTLS != nil && !w.edgeTLS {
			if n := conns.Full + conns.Resumed; n > 0 {
				out.HandshakeCPUMS = reports.Round(hsMS/float64(n), 6)
			}
		}
	}
	if w.edgeTLS {
		out.Edge = &reports.Edge{}
		if ms, share, hsMS, ok := smp.tierCPU(true); ok {
			out.Edge.CPUPerRequestMS = reports.Round(ms, 6)
			out.Edge.TLSShare = reports.Round(share, 6)
			if n := conns.Full + conns.Resumed; n > 0 {
				out.HandshakeCPUMS = reports.Round(hsMS/float64(n), 6)
			}
		}
	}
	var stages []reports.Stage
	for i, st := range w.stages {
		out.Instances = append(out.Instances, reports.Server{ID: fmt.Sprintf("gateway-%d", i), Requests: smp.gatewayRequests(i)})
		h, m := st.CacheStats()
		out.CacheHits += h
		out.CacheMisses += m
		for si, s := range st.Stats() {
			if si >= len(stages) {
				stages = append(stages, reports.Stage{Type: s.Type})
			}
			// Weighted mean cost over instances.
			total := stages[si].CostMS*float64(stages[si].Requests) + s.CostMS*float64(s.Requests)
			stages[si].Requests += s.Requests
			if stages[si].Requests > 0 {
				stages[si].CostMS = total / float64(stages[si].Requests)
			}
		}
	}
	if mean := lat.Mean(); mean > 0 {
		for i := range stages {
			stages[i].LatencyShare = stages[i].CostMS / (float64(mean) / 1e6)
		}
	}
	out.Stages = stages
	if n := out.CacheHits + out.CacheMisses; n > 0 {
		out.CacheHitRatio = float64(out.CacheHits) / float64(n)
	}
	return out
}

// accessLog is a strategy's client-side access log, written to a
// temporary file renamed into place when the attack is over.
type accessLog struct {
	f    *os.File
	w    *traces.Writer
	path string
}

func newAccessLog(dir, strategy, format string) (*accessLog, error) {
	f, err := os.CreateTemp(dir, ".access-*")
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	w, err := traces.NewWriter(f, format)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &accessLog{f: f, w: w, path: filepath.Join(dir, traces.LogName(strategy, format))}, nil
}

// commit flushes the log and renames it into place.
func (l *accessLog) commit() (string, error) {
	err := l.w.Flush()
	if err == nil {
		err = l.f.Chmod(0o644)
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(l.f.Name(), l.path)
	}
	if err != nil {
		return "", fmt.Errorf("access log: %w", err)
	}
	return l.path, nil
}

// abort removes the log unless it was committed.
func (l *accessLog) abort() {
	l.f.Close()
	os.Remove(l.f.Name()) // after the rename, nothing is there
}
