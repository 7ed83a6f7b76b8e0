package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgelab/edgelab/live/internal/livetest"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/workloads"
)

// upTarget is the target of an http(s):// URL.
func upTarget(t *testing.T, raw string) target {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return target{addr: u.Host, host: u.Host, tls: u.Scheme == "https", name: u.Hostname()}
}

// upPool is a snapshot of the client's state for its first upstream.
func upPool(c *client) conns {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ups[0]
}

func upClient(t *testing.T) *client {
	t.Helper()
	c := newPxClient(1, 8, 4, time.Minute, time.Second, 64<<10)
	t.Cleanup(c.close)
	return c
}

// rawServer is a loopback TCP server whose every connection is served by
// fn; it counts connections.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func newRawServer(t *testing.T, fn func(net.Conn, *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				fn(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

// answerOnceThenClose reads one request, answers it as if the connection
// stayed open, then closes it: a server whose idle timeout ran out.
func answerOnceThenClose(c net.Conn, br *bufio.Reader) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, req.Body)
	_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	time.Sleep(20 * time.Millisecond)
}

func TestUpstreamClientReplaysOnAStaleConnection(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			s := newRawServer(t, answerOnceThenClose)
			c, tg := upClient(t), upTarget(t, s.url())
			for i := range 3 {
				out := upRequest{method: method, uri: "/x", header: http.Header{}, body: []byte("b"), attempt: i}
				in, err := c.do(context.Background(), 0, &tg, &out, 1<<20)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if in.status != 200 || string(in.body) != "ok" {
					t.Fatalf("request %d: %d %q", i, in.status, in.body)
				}
				time.Sleep(60 * time.Millisecond) // the server closes the idle connection
			}
			if n := s.conns.Load(); n != 3 {
				t.Errorf("%d connections, want 3 (one per request, the closed ones left)", n)
			}
		})
	}
}

func TestUpstreamClientDoesNotReplayAFailedPost(t *testing.T) {
	// The server reads the request and resets the connection without an
	// answer: a POST may have had its effect, so it is not sent again; a
	// GET on a reused connection is.
	var n atomic.Int64
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if n.Add(1) == 1 {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
				continue
			}
			c.(*net.TCPConn).SetLinger(0)
			return
		}
	})
	c, tg := upClient(t), upTarget(t, s.url())
	get := upRequest{method: http.MethodGet, uri: "/", header: http.Header{}, attempt: -1}
	if _, err := c.do(context.Background(), 0, &tg, &get, 1<<20); err != nil {
		t.Fatal(err)
	}
	post := upRequest{method: http.MethodPost, uri: "/", header: http.Header{}, body: []byte("pay"), attempt: -1}
	if _, err := c.do(context.Background(), 0, &tg, &post, 1<<20); err == nil {
		t.Fatal("a POST reset without an answer succeeded")
	}
	if got := n.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2: the POST was sent again", got)
	}
}

func TestUpstreamClientAnswers(t *testing.T) {
	cases := []struct {
		name, method, answer, want string
		status                     int
		keep                       bool
	}{
		{"content length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", 200, true},
		{"chunked", "GET", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", "hello", 201, true},
		{"early hints first", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok", 200, true},
		{"connection close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "ok", 200, false},
		{"until eof", "GET", "HTTP/1.1 200 OK\r\n\r\nrest of it", "rest of it", 200, false},
		{"head", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", "", 200, true},
		{"head of a large resource", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "", 200, true},
		{"bytes beyond the answer", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 299 Extra\r\nContent-Length: 0\r\n\r\n", "ok", 200, false},
		{"5xx", "GET", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", "busy", 503, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					if _, err := io.WriteString(c, tc.answer); err != nil || strings.Contains(tc.answer, "close") || !strings.Contains(tc.answer, "Length") && !strings.Contains(tc.answer, "chunked") {
						return
					}
				}
			})
			c, tg := upClient(t), upTarget(t, s.url())
			for i := range 2 {
				out := upRequest{method: tc.method, uri: "/", header: http.Header{}, attempt: -1}
				in, err := c.do(context.Background(), 0, &tg, &out, 1<<20)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if in.status != tc.status || string(in.body) != tc.want {
					t.Fatalf("request %d: %d %q, want %d %q", i, in.status, in.body, tc.status, tc.want)
				}
			}
			want := int64(1)
			if !tc.keep {
				want = 2
			}
			if n := s.conns.Load(); n != want {
				t.Errorf("%d connections for 2 requests, want %d", n, want)
			}
		})
	}
}

func TestUpstreamClientLimits(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\nContent-Length: 0\r\n\r\n"
	for _, tc := range []struct {
		name, answer string
		want         error
	}{
		{"header too large", big, errHeaderTooLarge},
		{"body too large", "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + strings.Repeat("b", 2000), errTooLarge},
		{"chunked body too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + strings.Repeat("b", 2000) + "\r\n0\r\n\r\n", errTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err == nil {
					_, _ = io.WriteString(c, tc.answer)
				}
			})
			c, tg := upClient(t), upTarget(t, s.url())
			out := upRequest{method: "GET", uri: "/", header: http.Header{}, attempt: -1}
			if _, err := c.do(context.Background(), 0, &tg, &out, 1000); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestUpstreamClientCancel(t *testing.T) {
	release := make(chan struct{})
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err == nil {
			<-release // hang
		}
	})
	defer close(release)
	c, tg := upClient(t), upTarget(t, s.url())
	cause := errors.New("abandoned")
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(cause) })
	out := upRequest{method: "GET", uri: "/", header: http.Header{}, attempt: -1}
	start := time.Now()
	_, err := c.do(ctx, 0, &tg, &out, 1<<20)
	if !errors.Is(err, cause) {
		t.Fatalf("err %v, want the context's cause", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned %v after the cancel", d)
	}
	if idle := len(upPool(c).idle); idle != 0 {
		t.Errorf("the abandoned connection went back to the pool")
	}
}

func TestUpstreamClientTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "secure "+r.Host)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	tg := upTarget(t, srv.URL)
	c := upClient(t)
	out := upRequest{method: "GET", uri: "/", header: http.Header{}, attempt: -1}
	if _, err := c.do(context.Background(), 0, &tg, &out, 1<<20); err == nil {
		t.Fatal("an upstream with an untrusted certificate was accepted")
	}
	c.tlsConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	in, err := c.do(context.Background(), 0, &tg, &out, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if want := "secure " + tg.host; string(in.body) != want {
		t.Errorf("body %q, want %q", in.body, want)
	}
}

func TestWriteRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  upRequest
		want string
		err  error
	}{
		{"get", upRequest{method: "GET", uri: "/a?b=1", header: http.Header{"X-A": {"1"}}, attempt: 2},
			"GET /a?b=1 HTTP/1.1\r\nHost: up:80\r\nX-A: 1\r\nX-Edgelab-Attempt: 2\r\n\r\n", nil},
		{"post without body", upRequest{method: "POST", uri: "/", header: http.Header{}, attempt: -1},
			"POST / HTTP/1.1\r\nHost: up:80\r\nContent-Length: 0\r\n\r\n", nil},
		{"body, own framing headers dropped", upRequest{method: "PUT", uri: "/", attempt: -1, body: []byte("xyz"),
			header: http.Header{"Host": {"evil"}, "Content-Length": {"99"}, "Transfer-Encoding": {"chunked"}, "User-Agent": {""}}},
			"PUT / HTTP/1.1\r\nHost: up:80\r\nContent-Length: 3\r\n\r\nxyz", nil},
		{"newlines in a value", upRequest{method: "GET", uri: "/", header: http.Header{"X-A": {"a\r\nX-Injected: 1"}}, attempt: -1}, "", errBadHeader},
		{"framing header under another spelling", upRequest{method: "GET", uri: "/", header: http.Header{"content-length": {"5"}, "transfer-encoding": {"chunked"}}, attempt: -1},
			"GET / HTTP/1.1\r\nHost: up:80\r\n\r\n", nil},
		{"bad name", upRequest{method: "GET", uri: "/", header: http.Header{"X A": {"1"}}, attempt: -1}, "", errBadHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := bufio.NewWriter(&buf)
			err := writeRequest(w, &target{host: "up:80"}, &tc.out)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			_ = w.Flush()
			if buf.String() != tc.want {
				t.Errorf("wrote\n%q\nwant\n%q", buf.String(), tc.want)
			}
		})
	}
}

func TestProxyUpstreamWithABasePath(t *testing.T) {
	var got atomic.Value
	b := livetest.NewBackend(t, "web-0", func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Method + " " + r.RequestURI + " " + r.Host)
	})
	sc := livetest.YAML{Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	ups := ups(b)
	ups[0].URL += "/base/"
	g, c := start(t, Config{Scenario: sc, Upstreams: ups})
	if a := livetest.Get(t, c, g.URL()+"/x/y?q=1%202"); a.Code != http.StatusOK {
		t.Fatalf("status %d: %s", a.Code, a.Body)
	}
	want := "GET /base/x/y?q=1%202 " + strings.TrimPrefix(b.Srv.URL, "http://")
	if got.Load() != want {
		t.Errorf("backend saw %q, want %q", got.Load(), want)
	}
}

// BenchmarkGatewayProxy measures one request through a gateway instance
// (admission-free, round robin over two upstreams) on loopback, client
// and upstreams in the same process: allocs/op counts all three, so
// compare it between versions of the proxy, not against zero.
func BenchmarkGatewayProxy(b *testing.B) {
	body := []byte("ok")
	up := func() *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(wire.HeaderServer, "web")
			_, _ = w.Write(body)
		}))
		b.Cleanup(s.Close)
		return s
	}
	s0, s1 := up(), up()
	doc := "name: bench\nseed: 1\nduration: 1s\nclients:\n  arrival: {process: constant, rate: 10}\n  timeout: 2s\n" +
		"balancer:\n  strategy: round-robin\nservers:\n  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"
	sc, err := workloads.Parse([]byte(doc), "bench.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	g, err := StartGateway(Config{Scenario: sc, Upstreams: []Upstream{{ID: "web-0", URL: s0.URL, Weight: 1}, {ID: "web-1", URL: s1.URL, Weight: 1}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	url := g.URL() + "/item"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// keepAliveServer answers every request on a connection with "ok".
func keepAliveServer(c net.Conn, br *bufio.Reader) {
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// gatedDials makes c's dials wait for a value on the returned channel
// (true: dial, false: fail) and counts them.
func gatedDials(c *client) (gate chan bool, dials *atomic.Int64) {
	gate, dials = make(chan bool), new(atomic.Int64)
	real := c.dialContext
	c.dialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		select {
		case ok := <-gate:
			if !ok {
				return nil, errors.New("dial refused by the test")
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return real(ctx, network, addr)
	}
	return gate, dials
}

// gatedClient is a client with one dial slot to a keep-alive server,
// its dials gated by gatedDials.
func gatedClient(t *testing.T) (*rawServer, *client, target, chan bool, *atomic.Int64) {
	t.Helper()
	s := newRawServer(t, keepAliveServer)
	c := newPxClient(1, 8, 1, time.Minute, time.Second, 64<<10)
	t.Cleanup(c.close)
	gate, dials := gatedDials(c)
	return s, c, upTarget(t, s.url()), gate, dials
}

func TestUpstreamClientBoundsDialsAndHandsOverConnections(t *testing.T) {
	s, c, tg, gate, dials := gatedClient(t)
	get := func() error {
		out := upRequest{method: "GET", uri: "/", header: http.Header{}, attempt: -1}
		_, err := c.do(context.Background(), 0, &tg, &out, 1<<20)
		return err
	}
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- get() }()
	}
	livetest.Eventually(t, "the first dial", func() bool { return dials.Load() == 1 })
	livetest.Eventually(t, "two requests waiting", func() bool {
		return len(upPool(c).waiters) == 2
	})
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d dials in progress, want 1 (the bound)", n)
	}
	// The dial completes: the first waiter takes over the dial slot (a
	// second dial) while the first request's connection, once it is
	// done, serves the other waiter without a dial.
	gate <- true
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	livetest.Eventually(t, "the waiter's own dial", func() bool { return dials.Load() == 2 })
	gate <- true
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if n, conns := dials.Load(), s.conns.Load(); n != 2 || conns != 2 {
		t.Errorf("%d dials and %d connections for 3 requests, want 2 and 2", n, conns)
	}
	u := upPool(c)
	if u.dialing != 0 || len(u.waiters) != 0 || len(u.idle) != 2 {
		t.Errorf("after the burst: %d dialing, %d waiting, %d idle; want 0, 0, 2", u.dialing, len(u.waiters), len(u.idle))
	}
}

func TestUpstreamClientWaitersTakeOverFailedDialsAndGiveUp(t *testing.T) {
	_, c, tg, gate, dials := gatedClient(t)
	do := func(ctx context.Context) error {
		out := upRequest{method: "GET", uri: "/", header: http.Header{}, attempt: -1}
		_, err := c.do(ctx, 0, &tg, &out, 1<<20)
		return err
	}
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- do(context.Background()) }()
	livetest.Eventually(t, "the first dial", func() bool { return dials.Load() == 1 })
	go func() { second <- do(context.Background()) }()
	// A third request gives up while it waits: it leaves the line.
	cause := errors.New("client went away")
	ctx, cancel := context.WithCancelCause(context.Background())
	third := make(chan error, 1)
	go func() { third <- do(ctx) }()
	livetest.Eventually(t, "two requests waiting", func() bool {
		return len(upPool(c).waiters) == 2
	})
	cancel(cause)
	if err := <-third; !errors.Is(err, cause) {
		t.Fatalf("the request that gave up: %v, want its cause", err)
	}
	gate <- false // the first dial fails: the waiting request dials in its place
	if err := <-first; err == nil {
		t.Fatal("a failed dial succeeded")
	}
	livetest.Eventually(t, "the second dial", func() bool { return dials.Load() == 2 })
	gate <- true
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	u := upPool(c)
	if u.dialing != 0 || len(u.waiters) != 0 {
		t.Errorf("%d dialing, %d waiting after all ended; want 0 and 0", u.dialing, len(u.waiters))
	}
}

func TestProxyPreconnectsEveryUpstream(t *testing.T) {
	a, b := newRawServer(t, keepAliveServer), newRawServer(t, keepAliveServer)
	sc := livetest.YAML{Servers: "  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: []Upstream{{ID: "web-0", URL: a.url(), Weight: 1}, {ID: "web-1", URL: b.url(), Weight: 1}}})
	livetest.Eventually(t, "a connection to each upstream", func() bool { return a.conns.Load() == 1 && b.conns.Load() == 1 })
	for range 4 {
		if ans := livetest.Get(t, c, g.URL()+"/"); ans.Code != http.StatusOK {
			t.Fatalf("status %d", ans.Code)
		}
	}
	if na, nb := a.conns.Load(), b.conns.Load(); na != 1 || nb != 1 {
		t.Errorf("%d and %d connections after 4 sequential requests, want the preconnected 1 and 1", na, nb)
	}
}

func TestUpstreamClientIdle408IsStale(t *testing.T) {
	// The server answers once, then sends 408 on the idle connection and
	// closes it, as some servers do at their idle timeout: the next
	// request must not take the 408 for its answer.
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(20 * time.Millisecond)
		_, _ = io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		time.Sleep(200 * time.Millisecond) // still open when the next request comes
	})
	c, tg := upClient(t), upTarget(t, s.url())
	for i := range 2 {
		out := upRequest{method: http.MethodGet, uri: "/", header: http.Header{}, attempt: -1}
		in, err := c.do(context.Background(), 0, &tg, &out, 1<<20)
		if err != nil || in.status != 200 {
			t.Fatalf("request %d: %d %v, want 200", i, in.status, err)
		}
		time.Sleep(60 * time.Millisecond) // the 408 arrives while idle
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestUpstreamClientProbesSkipTheDialLine(t *testing.T) {
	_, c, tg, gate, dials := gatedClient(t)
	blocked := make(chan error, 1)
	go func() {
		out := upRequest{method: "GET", uri: "/", header: http.Header{}, attempt: -1}
		_, err := c.do(context.Background(), 0, &tg, &out, 1<<20)
		blocked <- err
	}()
	livetest.Eventually(t, "a request's dial in progress", func() bool { return dials.Load() == 1 })
	// The one dial slot is taken and its dial hangs: a probe dials anyway.
	probe := make(chan error, 1)
	go func() {
		out := upRequest{method: "GET", uri: "/healthz", header: http.Header{}, attempt: -1, probe: true}
		_, err := c.do(context.Background(), 0, &tg, &out, 1<<20)
		probe <- err
	}()
	livetest.Eventually(t, "the probe's own dial", func() bool { return dials.Load() == 2 })
	gate <- true // whichever dial takes it
	gate <- true
	for _, ch := range []chan error{probe, blocked} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if dialing := upPool(c).dialing; dialing != 0 {
		t.Errorf("%d dials counted after all ended, want 0 (a probe takes no slot)", dialing)
	}
}
