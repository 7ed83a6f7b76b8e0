package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServeDebugAddr(t *testing.T) {
	if _, err := startDebug("0.0.0.0:0"); err == nil {
		t.Fatal("a debug address off loopback was accepted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := startDebug(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var vars struct {
		Goroutines int `json:"goroutines"`
	}
	if err := json.Unmarshal(b, &vars); err != nil || vars.Goroutines <= 0 {
		t.Fatalf("/debug/vars: %v, goroutines %d", err, vars.Goroutines)
	}
}

// serve: a listen address in use is a failure to start (exit 1), bad
// input exit 2; a closed-loop scenario is served (serve sends no load).
func TestServeExitCodes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	closed := writeFile(t, dir, "closed.yaml", strings.Replace(small, "{process: poisson, rate: 200}", "{process: closed, users: 3}", 1))
	if code, _, stderr := runCLI(t, "serve", good, "--listen", ln.Addr().String()); code != 1 || !strings.Contains(stderr, "address already in use") {
		t.Errorf("port in use: exit %d, stderr %q; want 1", code, stderr)
	}
	if code, _, stderr := runCLI(t, "serve", good, "--listen", "10.1.2.3:80"); code != 2 || !strings.Contains(stderr, "loopback") {
		t.Errorf("remote listen: exit %d, stderr %q; want 2", code, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", closed}, &out, &errb) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Ctrl-C stops it") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 || !strings.Contains(out.String(), "listening on") {
		t.Errorf("closed loop: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
