package workloads

import (
	"strings"
	"testing"
	"time"
)

func TestConnectionKeys(t *testing.T) {
	base := `
duration: 10s
clients: {arrival: {process: poisson, rate: 10}}
gateway:
  tls: {}
servers: [{name: a, count: 1, service: {mean: 1ms}}]
`
	sc, err := Parse([]byte(base), "s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	// TLS brings its cited defaults, and NGINX's keep-alive.
	tls, k := sc.Gateway.TLS, sc.Clients.Keepalive
	if tls.Full.D() != DefaultTLSFull || tls.Resumed.D() != DefaultTLSResumed || tls.Record.D() != DefaultTLSRecord || tls.Resumption != 0 {
		t.Errorf("tls defaults %+v", tls)
	}
	if k == nil || k.Requests != 1000 || k.Idle.D() != 75*time.Second || !sc.Connections() {
		t.Errorf("keepalive defaults %+v", k)
	}
	// An explicit 0 cost is free TLS, kept.
	if sc, err = Parse([]byte(base), "s.yaml", []string{"gateway.tls.full=0s"}); err != nil || sc.Gateway.TLS.Full != 0 {
		t.Errorf("full: 0s: %v", err)
	}
	for _, c := range []struct{ set, want string }{
		{"gateway.tls.resumption=1.5", "gateway.tls.resumption: is a share of handshakes, 0 … 1"},
		{"gateway.tls.record=-1ms", "gateway.tls.record: must be a CPU time between 0 and 1m"},
		{"clients.keepalive.requests=0", "clients.keepalive.requests"},
		{"clients.keepalive.requests=-2", "must be between 1 (no reuse)"},
	} {
		if _, err := Parse([]byte(base), "s.yaml", []string{c.set}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.set, err, c.want)
		}
	}
	noGateway := "duration: 1s\nclients: {arrival: {process: poisson, rate: 1}, keepalive: {requests: 10}}\nservers: [{name: a, count: 1, service: {mean: 1ms}}]\n"
	if _, err := Parse([]byte(noGateway), "s.yaml", nil); err == nil || !strings.Contains(err.Error(), "clients.keepalive: connections end at the gateway tier") {
		t.Errorf("keepalive without a gateway: %v", err)
	}
}
