package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgelab/edgelab/live/internal/livetest"
)

// capGateway starts a gateway holding at most n connections; entered
// counts the requests that reached its middleware (past the connection
// bound, before the proxy reads the body).
func capGateway(t *testing.T, n int) (*Gateway, *atomic.Int64) {
	t.Helper()
	return capGatewayMode(t, n, ConnWait)
}

func capGatewayMode(t *testing.T, n int, mode ConnMode) (*Gateway, *atomic.Int64) {
	t.Helper()
	b := livetest.NewBackend(t, "web-0", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})
	sc := livetest.YAML{Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	entered := &atomic.Int64{}
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered.Add(1)
			next.ServeHTTP(w, r)
		})
	}
	g, _ := start(t, Config{Scenario: sc, Upstreams: ups(b), MaxConnections: n, ConnMode: mode, Middleware: mw, Logf: t.Logf})
	return g, entered
}

// holdUpload opens a connection that announces a 1 MiB body and sends
// only its first KiB: the request stays in progress until the connection
// closes.
func holdUpload(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := fmt.Fprintf(c, "POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: %d\r\n\r\n%s", 1<<20, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGatewayConnectionCap(t *testing.T) {
	const n = 3
	g, entered := capGateway(t, n)
	held := make([]net.Conn, n)
	for i := range held {
		held[i] = holdUpload(t, g.Addr())
	}
	livetest.Eventually(t, "the capped connections' requests in progress", func() bool { return entered.Load() == n })

	// Connection n+1 connects (the kernel completes the handshake) but
	// is not served while the n others are open.
	extra, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if _, err := io.WriteString(extra, "GET /x HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(extra)
	_ = extra.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if resp, err := http.ReadResponse(br, nil); err == nil {
		t.Fatalf("connection %d served while %d were open: %s", n+1, n, resp.Status)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("connection %d: %v, want no answer yet", n+1, err)
	}
	if got := entered.Load(); got != n {
		t.Fatalf("%d requests reached the handler, want %d", got, n)
	}

	// Many more clients uploading 1 MiB each are not read: the handler
	// sees none of them and the heap does not grow with their number.
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	body := make([]byte, 1<<20)
	const more = 24
	var wg sync.WaitGroup
	var conns []net.Conn
	for range more {
		c, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
			_, _ = fmt.Fprintf(c, "POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: %d\r\n\r\n", len(body))
			_, _ = c.Write(body) // blocks once the kernel's buffers are full
		}()
	}
	wg.Wait()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if got := entered.Load(); got != n {
		t.Fatalf("%d requests reached the handler with %d more clients, want %d", got, more, n)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Fatalf("heap grew %d MiB with %d clients beyond the bound", grew>>20, more)
	}
	for _, c := range conns {
		_ = c.Close()
	}

	// Closing one held connection lets connection n+1 in.
	_ = held[0].Close()
	_ = extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("connection %d after one closed: %v", n+1, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("connection %d: %s", n+1, resp.Status)
	}
}

// At the bound, a waiting client gets the place of an idle keep-alive
// connection, as nginx reuses its idle connections.
func TestGatewayConnectionCapClosesIdle(t *testing.T) {
	const n = 2
	g, _ := capGateway(t, n)
	var trs []*http.Transport
	for range n + 1 {
		tr := &http.Transport{MaxConnsPerHost: 1}
		defer tr.CloseIdleConnections()
		trs = append(trs, tr)
	}
	for i, tr := range trs {
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Get(g.URL() + "/x")
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("client %d: %s", i, resp.Status)
		}
	}
}

// keepAlive opens a connection and sends one request on it, leaving it
// idle (kept alive).
func keepAlive(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c, br
}

// getOn sends a request on c and reads its answer within d.
func getOn(c net.Conn, br *bufio.Reader, d time.Duration) (*http.Response, error) {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// HAProxy's maxconn (ConnHold): idle keep-alive connections keep their
// places, and a new connection waits in the backlog until one closes.
func TestGatewayConnHold(t *testing.T) {
	g, _ := capGatewayMode(t, 2, ConnHold)
	idle0, _ := keepAlive(t, g.Addr())
	keepAlive(t, g.Addr())
	extra, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	br := bufio.NewReader(extra)
	if resp, err := getOn(extra, br, 300*time.Millisecond); err == nil {
		t.Fatalf("a third connection was served while two idle ones held the places: %s", resp.Status)
	}
	_ = idle0.Close()
	// The request sent is answered once the connection is accepted.
	_ = extra.SetDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(br, nil); err != nil {
		t.Fatalf("the third connection after one closed: %v", err)
	} else if resp.StatusCode != http.StatusOK {
		t.Fatalf("the third connection: %s", resp.Status)
	}
}

// NGINX's worker_connections (ConnDrain): a new connection takes the
// place of the least recently used idle one, and is closed at once when
// every connection is busy.
func TestGatewayConnDrain(t *testing.T) {
	g, entered := capGatewayMode(t, 2, ConnDrain)
	old, oldBR := keepAlive(t, g.Addr())
	time.Sleep(20 * time.Millisecond)
	recent, recentBR := keepAlive(t, g.Addr())
	extra, extraBR := keepAlive(t, g.Addr()) // drains the oldest idle
	if _, err := getOn(old, oldBR, 2*time.Second); err == nil {
		t.Fatal("the least recently used idle connection still serves")
	}
	for name, c := range map[string]struct {
		c  net.Conn
		br *bufio.Reader
	}{"the more recent idle connection": {recent, recentBR}, "the new one": {extra, extraBR}} {
		if resp, err := getOn(c.c, c.br, 2*time.Second); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// Two requests in progress hold both places: a third connection is
	// closed, not kept waiting.
	before := entered.Load()
	holdUpload(t, g.Addr())
	holdUpload(t, g.Addr())
	livetest.Eventually(t, "two uploads in progress", func() bool { return entered.Load() >= before+2 })
	busy, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := getOn(busy, bufio.NewReader(busy), 2*time.Second); err == nil {
		t.Fatal("a connection past the bound was served")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a connection past the bound was kept waiting, not closed")
	}
}
