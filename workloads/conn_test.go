package workloads

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
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
		{"clients.keepalive.connect=2m", "clients.keepalive.connect: must be between 0 and 1m"},
		{"gateway.proxy_cost=-1us", "gateway.proxy_cost: must be a CPU time"},
		{"balancer.upstream={tls: {handshake: -1ms}}", "balancer.upstream.tls.handshake: must be a CPU time"},
		{"gateway.tls={at: edge}", "gateway.tls.edge_workers: at: edge needs the edge's CPU workers"},
		{"gateway.tls={at: l4, edge_workers: 2}", `gateway.tls.at: is gateway or edge (got "l4")`},
		{"gateway.tls={edge_workers: 2}", "gateway.tls.edge_workers: is the edge's"},
		{"gateway.tls.key_type=rsa4096", `gateway.tls.key_type: is rsa2048 or p256 (got "rsa4096")`},
		{"gateway.tls.cert=c.pem", "gateway.tls.key: cert and key go together"},
		{"gateway.tls.key=k.pem", "gateway.tls.cert: cert and key go together"},
		{"gateway.tls={cert: /nonexistent/c.pem, key: /nonexistent/k.pem}", "gateway.tls.cert: open /nonexistent/c.pem"},
	} {
		if _, err := Parse([]byte(base), "s.yaml", []string{c.set}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.set, err, c.want)
		}
	}
	// Re-encryption's cited defaults, and it needs a gateway to charge.
	if sc, err := Parse([]byte(base), "s.yaml", []string{"balancer.upstream={tls: {}}"}); err != nil ||
		sc.Balancer.Upstream.TLS.Handshake.D() != DefaultUpstreamHandshake || sc.Balancer.Upstream.TLS.Record.D() != DefaultTLSRecord {
		t.Errorf("upstream tls defaults: %v", err)
	}
	plain := "duration: 1s\nclients: {arrival: {process: poisson, rate: 1}}\nbalancer: {upstream: {tls: {}}}\nservers: [{name: a, count: 1, service: {mean: 1ms}}]\n"
	if _, err := Parse([]byte(plain), "s.yaml", nil); err == nil || !strings.Contains(err.Error(), "balancer.upstream.tls: re-encryption is charged to the gateway") {
		t.Errorf("upstream tls without a gateway: %v", err)
	}
	noGateway := "duration: 1s\nclients: {arrival: {process: poisson, rate: 1}, keepalive: {requests: 10}}\nservers: [{name: a, count: 1, service: {mean: 1ms}}]\n"
	if _, err := Parse([]byte(noGateway), "s.yaml", nil); err == nil || !strings.Contains(err.Error(), "clients.keepalive: connections end at the gateway tier") {
		t.Errorf("keepalive without a gateway: %v", err)
	}
}

// gateway.tls.cert and key name PEM files relative to the scenario: a
// pair that loads is kept, resolved, for live mode.
func TestTLSCertFiles(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSignedPEM(t)
	if err := os.WriteFile(filepath.Join(dir, "gw.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gw.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.yaml")
	doc := "duration: 1s\nclients: {arrival: {process: poisson, rate: 1}}\ngateway: {tls: {cert: gw.crt, key: gw.key}}\nservers: [{name: a, count: 1, service: {mean: 1ms}}]\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, k := sc.Gateway.TLS.Files(); c != filepath.Join(dir, "gw.crt") || k != filepath.Join(dir, "gw.key") {
		t.Errorf("files %s %s", c, k)
	}
	// A key that is not the certificate's.
	_, otherKey := selfSignedPEM(t)
	if err := os.WriteFile(filepath.Join(dir, "gw.key"), otherKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "gateway.tls.cert: tls: private key does not match public key") {
		t.Errorf("mismatched key: %v", err)
	}
}

func selfSignedPEM(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// Rewrite writes --set overrides into the document and keeps its
// comments: what live --calibrate writes loads, with the keys set.
func TestRewrite(t *testing.T) {
	doc := "# my scenario\nduration: 1s # short\nclients: {arrival: {process: poisson, rate: 1}}\ngateway:\n  tls: {full: 1ms}\nservers: [{name: a, count: 1, service: {mean: 1ms}}]\n"
	out, err := Rewrite([]byte(doc), "s.yaml", []string{"gateway.tls.full=1.2ms", "gateway.proxy_cost=80us", "clients.keepalive.connect=500us"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# my scenario", "# short", "full: 1.2ms", "proxy_cost: 80us"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rewritten scenario lacks %q:\n%s", want, out)
		}
	}
	sc, err := Parse(out, "s.yaml", nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sc.Gateway.TLS.Full.D() != 1200*time.Microsecond || sc.Gateway.ProxyCost.D() != 80*time.Microsecond || sc.Clients.Keepalive.Connect.D() != 500*time.Microsecond {
		t.Errorf("keys not set: %+v %v %+v", sc.Gateway.TLS, sc.Gateway.ProxyCost, sc.Clients.Keepalive)
	}
	if _, err := Rewrite([]byte(doc), "s.yaml", []string{"gateway.tls.nope=1"}); err == nil {
		t.Error("an unknown key was written")
	}
}
