// Package livetest holds the helpers the tests of live mode's packages
// share: small scenarios, a recording upstream, HTTP requests read whole,
// polling, and the race detector's state.
package livetest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/workloads"
)

// YAML builds a small scenario: clients and balancer take extra YAML
// lines (indented by the caller for their section), top adds top-level
// sections, servers replaces the default group (3 web servers).
type YAML struct {
	Clients, Balancer, Top, Servers string
}

// Parse builds and loads the scenario, failing the test on an error.
func (y YAML) Parse(t *testing.T) *workloads.Scenario {
	t.Helper()
	servers := y.Servers
	if servers == "" {
		servers = "  - {name: web, count: 3, service: {dist: constant, mean: 1ms}}\n"
	}
	doc := "name: proxytest\nseed: 7\nduration: 1s\nclients:\n  arrival: {process: constant, rate: 10}\n" + y.Clients +
		"balancer:\n  strategy: round-robin\n" + y.Balancer + y.Top + "servers:\n" + servers
	sc, err := workloads.Parse([]byte(doc), "proxytest.yaml", nil)
	if err != nil {
		t.Fatalf("scenario: %v\n%s", err, doc)
	}
	return sc
}

// Backend is a tiny upstream that records what it receives.
type Backend struct {
	ID   string           // answered as the body and in wire.HeaderServer
	Srv  *httptest.Server // the listening server
	Hits atomic.Int64     // requests received, health checks aside
	mu   sync.Mutex
	seen []http.Header // request headers, in arrival order
}

// NewBackend starts a backend; h (nil = answer 200 "id") handles
// traffic, /healthz answers 200 unless h handles it.
func NewBackend(t *testing.T, id string, h http.HandlerFunc) *Backend {
	t.Helper()
	b := &Backend{ID: id}
	b.Srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && h == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.URL.Path != "/healthz" {
			b.Hits.Add(1)
			b.mu.Lock()
			b.seen = append(b.seen, r.Header.Clone())
			b.mu.Unlock()
		}
		w.Header().Set(wire.HeaderServer, id)
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, id)
	}))
	t.Cleanup(b.Srv.Close)
	return b
}

// Headers returns the request headers the backend received (health
// checks aside), in arrival order.
func (b *Backend) Headers() []http.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]http.Header(nil), b.seen...)
}

// DeadURL is a loopback URL nothing listens on.
func DeadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

// Answer is a response read whole.
type Answer struct {
	Code   int
	Header http.Header
	Body   string
}

// Get sends a GET to url through c with the header pairs hdr (name,
// value, …) and reads the answer whole, failing the test on an error.
func Get(t *testing.T, c *http.Client, url string, hdr ...string) Answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return Answer{Code: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Eventually polls cond every few milliseconds for up to 2s.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// GoroutinesSettle waits for the goroutine count to drop to at most n.
func GoroutinesSettle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
