package workloads

import (
	"crypto/tls"
	"time"
)

// Keepalive is how clients reuse their connections to the gateway tier
// (clients.keepalive). A client's requests go one at a time on a
// connection (HTTP/1.1), and a request that finds none of its client's
// connections idle opens another; with Multiplex (HTTP/2), they share one.
type Keepalive struct {
	// Requests is how many requests a connection carries before it is
	// closed (default 1000, NGINX's keepalive_requests since 1.19.10; 1:
	// no reuse).
	Requests int `yaml:"requests"`
	// Idle closes a connection idle that long (default 75s, NGINX's
	// keepalive_timeout).
	Idle Duration `yaml:"idle"`
	// Multiplex carries all of a client's requests on one connection at
	// once (HTTP/2): a client has one connection, which Requests counts
	// streams of.
	Multiplex bool `yaml:"multiplex"`
	// Connect is what opening a connection costs a request before it
	// reaches its gateway instance, on the client's side: the TCP and TLS
	// round trips and the client's own handshake work (default 0; the
	// instance's handshake CPU is gateway.tls's). edgelab live
	// --calibrate measures it. Simulator only: live connections take what
	// they take.
	Connect Duration `yaml:"connect"`
}

// The defaults of clients.keepalive: NGINX's
// (https://nginx.org/en/docs/http/ngx_http_core_module.html#keepalive_requests,
// #keepalive_timeout).
const (
	DefaultKeepaliveRequests = 1000
	DefaultKeepaliveIdle     = 75 * time.Second
)

// TLS is what terminating TLS costs a gateway instance's CPU
// (gateway.tls), charged to the worker that processes the request like a
// stage's cost: a handshake on a connection's first request, full or
// resumed, and a record cost on every request.
type TLS struct {
	// Full is a full handshake's CPU time (default DefaultTLSFull).
	Full Duration `yaml:"full"`
	// Resumed is a resumed handshake's (default DefaultTLSResumed).
	Resumed Duration `yaml:"resumed"`
	// Resumption is the share of handshakes that resume a session, 0 … 1
	// (default 0: every new connection pays a full handshake).
	Resumption float64 `yaml:"resumption"`
	// Record is the per-request cost of encrypting and decrypting its
	// records (default DefaultTLSRecord).
	Record Duration `yaml:"record"`
	// At is where TLS is terminated: TLSAtGateway (default), by each
	// gateway instance on its workers' CPU, or TLSAtEdge, by the L4
	// balancer in front of them on its own EdgeWorkers, the instances then
	// receiving plain HTTP.
	At string `yaml:"at"`
	// EdgeWorkers is the edge's CPU workers (cores) for TLS, in all;
	// required with At: edge.
	EdgeWorkers int `yaml:"edge_workers"`
	// Cert and Key are the PEM files of the certificate chain and its
	// private key that live mode's gateway serves (relative to the
	// scenario's file); without them live mode generates a self-signed
	// certificate of KeyType when it starts. The simulator reads neither.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// KeyType is the generated certificate's key: KeyRSA2048 (default) or
	// KeyP256.
	KeyType string `yaml:"key_type"`

	certPath, keyPath string // Cert and Key resolved against the scenario's directory
}

// Where gateway.tls.at terminates TLS.
const (
	TLSAtGateway = "gateway"
	TLSAtEdge    = "edge"
)

// Key types of gateway.tls.key_type.
const (
	KeyRSA2048 = "rsa2048"
	KeyP256    = "p256"
)

// Files returns the certificate and key files, resolved against the
// scenario's directory ("", "" without them: generate one).
func (t *TLS) Files() (cert, key string) { return t.certPath, t.keyPath }

// The defaults of gateway.tls; docs/scenario.md gives their sources.
const (
	// DefaultTLSFull: a full ECDHE-RSA-2048 handshake. NGINX measured a
	// core's full handshakes per second at 45–60 % of its RSA-2048 signs
	// per second ("NGINX SSL Performance", 2014); a current core signs
	// about 1,500–2,000 a second (openssl speed rsa2048), so about 1 ms.
	DefaultTLSFull = time.Millisecond
	// DefaultTLSResumed: an abbreviated handshake, which skips the
	// certificate's signature.
	DefaultTLSResumed = 100 * time.Microsecond
	// DefaultTLSRecord: NGINX's sizing guide measured 145,551 HTTP and
	// 71,561 HTTPS requests a second on one core over kept-alive
	// connections (0-byte responses): 6.9 µs against 14.0 µs a request.
	DefaultTLSRecord = 7 * time.Microsecond
)

func (k *Keepalive) setDefaults() {
	if k.Requests == 0 {
		k.Requests = DefaultKeepaliveRequests
	}
	if k.Idle == 0 {
		k.Idle = Duration(DefaultKeepaliveIdle)
	}
}

func (t *TLS) setDefaults(zeros map[string]bool) {
	if t.Full == 0 && !zeros["gateway.tls.full"] {
		t.Full = Duration(DefaultTLSFull)
	}
	if t.Resumed == 0 && !zeros["gateway.tls.resumed"] {
		t.Resumed = Duration(DefaultTLSResumed)
	}
	if t.Record == 0 && !zeros["gateway.tls.record"] {
		t.Record = Duration(DefaultTLSRecord)
	}
	if t.KeyType == "" {
		t.KeyType = KeyRSA2048
	}
	if t.At == "" {
		t.At = TLSAtGateway
	}
}

func (k *Keepalive) validate() error {
	if k.Requests < 1 || k.Requests > 1e9 {
		return bad("clients.keepalive.requests", "must be between 1 (no reuse) and 1e9 requests a connection (got %d)", k.Requests)
	}
	if k.Idle < 0 {
		return bad("clients.keepalive.idle", "must not be negative")
	}
	if k.Connect < 0 || k.Connect.D() > time.Minute {
		return bad("clients.keepalive.connect", "must be between 0 and 1m (got %s)", k.Connect)
	}
	return nil
}

func (t *TLS) validate(s *Scenario) error {
	for k, d := range map[string]Duration{"full": t.Full, "resumed": t.Resumed, "record": t.Record} {
		if d < 0 || d.D() > time.Minute {
			return bad("gateway.tls."+k, "must be a CPU time between 0 and 1m (got %s)", d)
		}
	}
	if !finite(t.Resumption) || t.Resumption < 0 || t.Resumption > 1 {
		return bad("gateway.tls.resumption", "is a share of handshakes, 0 … 1 (got %g)", t.Resumption)
	}
	switch {
	case t.At != TLSAtGateway && t.At != TLSAtEdge:
		return bad("gateway.tls.at", "is %s or %s (got %q)", TLSAtGateway, TLSAtEdge, t.At)
	case t.At == TLSAtEdge && (t.EdgeWorkers < 1 || t.EdgeWorkers > 1_000_000):
		return bad("gateway.tls.edge_workers", "at: edge needs the edge's CPU workers for TLS, 1 … 1e6 (got %d)", t.EdgeWorkers)
	case t.At == TLSAtGateway && t.EdgeWorkers != 0:
		return bad("gateway.tls.edge_workers", "is the edge's; TLS is terminated at the gateway (write at: edge, or drop it)")
	}
	if t.KeyType != KeyRSA2048 && t.KeyType != KeyP256 {
		return bad("gateway.tls.key_type", "is %s or %s (got %q)", KeyRSA2048, KeyP256, t.KeyType)
	}
	if (t.Cert == "") != (t.Key == "") {
		field := "gateway.tls.key"
		if t.Cert == "" {
			field = "gateway.tls.cert"
		}
		return bad(field, "cert and key go together: give both PEM files, or neither for a generated certificate")
	}
	if t.Cert != "" {
		t.certPath, t.keyPath = s.resolve(t.Cert), s.resolve(t.Key)
		if _, err := tls.LoadX509KeyPair(t.certPath, t.keyPath); err != nil {
			return bad("gateway.tls.cert", "%v", err)
		}
	}
	return nil
}

// Connections reports whether the scenario models client connections:
// with a gateway tier and clients.keepalive, gateway.tls or
// gateway.connections.
func (s *Scenario) Connections() bool {
	return s.Gateway != nil && (s.Clients.Keepalive != nil || s.Gateway.TLS != nil || s.Gateway.Connections != nil)
}

// ConnLimit bounds each gateway instance's open client connections
// (gateway.connections), as HAProxy's frontend maxconn does: a connection
// past Max waits in the listen backlog until one closes, and one past a
// full backlog is refused; or, with Drain, as NGINX's worker_connections
// does.
type ConnLimit struct {
	// Max is the connections an instance holds open at once, idle ones
	// included.
	Max int `yaml:"max"`
	// Backlog is how many connections wait to be accepted (default 511,
	// NGINX's listen backlog on Linux; 0: refuse at once, a loss system).
	Backlog *int `yaml:"backlog"`
	// Drain is NGINX's way instead (worker_connections): from 15/16 of
	// Max an instance closes its least recently used idle keep-alive
	// connections (up to 32 at a time, an eighth of the idle ones), and
	// a new connection that finds Max open is closed at once: no backlog
	// (src/core/ngx_connection.c, ngx_drain_connections and
	// ngx_get_connection).
	Drain bool `yaml:"drain"`
}

// DefaultBacklog is NGINX's listen backlog on Linux
// (https://nginx.org/en/docs/http/ngx_http_core_module.html#listen).
const DefaultBacklog = 511

func (l *ConnLimit) setDefaults() {
	if l.Backlog == nil {
		b := DefaultBacklog
		l.Backlog = &b
	}
}

func (l *ConnLimit) validate() error {
	if l.Max < 1 || l.Max > 100_000_000 {
		return bad("gateway.connections.max", "must be between 1 and 1e8 connections an instance (got %d)", l.Max)
	}
	if *l.Backlog < 0 || *l.Backlog > 100_000_000 {
		return bad("gateway.connections.backlog", "must be between 0 (refuse at once) and 1e8 (got %d)", *l.Backlog)
	}
	return nil
}

// Upstream is the balancer's connections to the servers
// (balancer.upstream): each balancer (each gateway instance, or the one
// balancer without a gateway) keeps idle connections to reuse, and an
// attempt that finds none to its server opens one first.
type Upstream struct {
	// Keepalive bounds the idle connections a balancer keeps, to all its
	// servers together; past it the least recently used closes (NGINX's
	// upstream keepalive). 0: a connection per attempt. Not given: no
	// bound (a pool, as Envoy and HAProxy keep).
	Keepalive *int `yaml:"keepalive"`
	// Connect is what opening a connection costs an attempt before it
	// reaches its server: a TCP round trip, plus the TLS round trip when
	// the balancer re-encrypts (default 0).
	Connect Duration `yaml:"connect"`
	// TLS, when set, makes the gateway instances re-encrypt to the
	// servers, on their own CPU (see UpstreamTLS).
	TLS *UpstreamTLS `yaml:"tls"`
}

// UpstreamTLS is what re-encrypting to the servers costs a gateway
// instance's CPU (balancer.upstream.tls): a new connection's client-side
// handshake, run on one of the instance's workers before the attempt goes
// on (and waits connect), and every forwarded request's records.
type UpstreamTLS struct {
	// Handshake is a client-side full handshake's CPU time (default
	// DefaultUpstreamHandshake).
	Handshake Duration `yaml:"handshake"`
	// Record is a forwarded request's records' (default
	// DefaultTLSRecord).
	Record Duration `yaml:"record"`
}

// DefaultUpstreamHandshake is a client's full TLS 1.3 handshake: its key
// exchange (Go's default X25519MLKEM768 hybrid: an X25519 and an ML-KEM-768
// key pair) and the server's signature check (RSA-2048 verifies are cheap:
// openssl speed rsa2048 does 50,000–70,000 a second on a current core).
// edgelab tls-cost measured 575 µs against an RSA-2048 server and 615 µs
// against a P-256 one on the 2-core machine of docs/performance.md
// (without the certificate chain's verification, which adds to it).
const DefaultUpstreamHandshake = 500 * time.Microsecond

func (u *Upstream) validate(s *Scenario) error {
	if u.Keepalive != nil && (*u.Keepalive < 0 || *u.Keepalive > 1_000_000) {
		return bad("balancer.upstream.keepalive", "must be between 0 (a connection per attempt) and 1e6 idle connections (got %d)", *u.Keepalive)
	}
	if u.Connect < 0 || u.Connect.D() > time.Minute {
		return bad("balancer.upstream.connect", "must be between 0 and 1m (got %s)", u.Connect)
	}
	if t := u.TLS; t != nil {
		for k, d := range map[string]Duration{"handshake": t.Handshake, "record": t.Record} {
			if d < 0 || d.D() > time.Minute {
				return bad("balancer.upstream.tls."+k, "must be a CPU time between 0 and 1m (got %s)", d)
			}
		}
		if s.Gateway == nil {
			return bad("balancer.upstream.tls", "re-encryption is charged to the gateway instances' CPU: add a gateway")
		}
	}
	return nil
}
