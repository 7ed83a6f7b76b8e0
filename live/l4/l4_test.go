package l4

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgelab/edgelab/live/gateway"
	"github.com/edgelab/edgelab/live/internal/livetest"
	"github.com/edgelab/edgelab/workloads"
)

// l4Echo is a TCP backend: it reads a connection until the client's
// half-close, then answers "name:what it read" and closes.
type l4Echo struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
}

func newL4Echo(t *testing.T, name string) *l4Echo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &l4Echo{name: name, ln: ln}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				b, err := io.ReadAll(c)
				if err != nil {
					return
				}
				_, _ = io.WriteString(c, name+":"+string(b))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		e.wg.Wait()
	})
	return e
}

func (e *l4Echo) addr() string { return e.ln.Addr().String() }

func startL4(t *testing.T, cfg Config) *L4 {
	t.Helper()
	l, err := StartL4(cfg)
	if err != nil {
		t.Fatalf("StartL4: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// l4Exchange sends msg over a fresh connection, half-closes, and returns
// the whole answer.
func l4Exchange(t *testing.T, addr, msg string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func TestL4RoundRobinSpreadsWithHalfClose(t *testing.T) {
	es := []*l4Echo{newL4Echo(t, "a"), newL4Echo(t, "b"), newL4Echo(t, "c")}
	l := startL4(t, Config{Mode: workloads.L4RoundRobin, Backends: []string{es[0].addr(), es[1].addr(), es[2].addr()}})
	var got []string
	for i := range 6 {
		ans := l4Exchange(t, l.Addr(), fmt.Sprintf("ping%d", i))
		name, msg, _ := strings.Cut(ans, ":")
		if msg != fmt.Sprintf("ping%d", i) {
			t.Fatalf("connection %d: answer %q", i, ans)
		}
		got = append(got, name)
	}
	if s := strings.Join(got, ""); s != "abcabc" {
		t.Fatalf("round-robin order %s, want abcabc", s)
	}
	livetest.Eventually(t, "connections to close", func() bool {
		st := l.Stats()
		return fmt.Sprint(st.Open) == "[0 0 0]"
	})
	if st := l.Stats(); fmt.Sprint(st.Conns) != "[2 2 2]" {
		t.Fatalf("conns %v", st.Conns)
	}
}

func TestL4LeastConnBalancesOpenConnections(t *testing.T) {
	es := []*l4Echo{newL4Echo(t, "a"), newL4Echo(t, "b"), newL4Echo(t, "c")}
	l := startL4(t, Config{Mode: workloads.L4LeastConn, Backends: []string{es[0].addr(), es[1].addr(), es[2].addr()}, Seed: 3})
	var held []net.Conn
	for range 3 {
		c, err := net.DialTimeout("tcp", l.Addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	livetest.Eventually(t, "three open connections", func() bool {
		n := 0
		for _, o := range l.Stats().Open {
			n += o
		}
		return n == 3
	})
	if st := l.Stats(); fmt.Sprint(st.Open) != "[1 1 1]" {
		t.Fatalf("open connections %v, want one per backend", st.Open)
	}
	for _, c := range held {
		c.Close()
	}
}

func TestL4FlowHashPinsConnections(t *testing.T) {
	var addrs []string
	for i := range 3 {
		b := livetest.NewBackend(t, fmt.Sprintf("gateway-%d", i), nil)
		addrs = append(addrs, b.Srv.Listener.Addr().String())
	}
	l := startL4(t, Config{Mode: workloads.L4FlowHash, Backends: addrs})
	// One keep-alive connection: every request goes to one instance.
	tr := &http.Transport{MaxConnsPerHost: 1}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	var first string
	for i := range 10 {
		a := livetest.Get(t, c, l.URL()+"/x")
		if i == 0 {
			first = a.Body
		} else if a.Body != first {
			t.Fatalf("request %d on the same connection went to %s, not %s", i, a.Body, first)
		}
	}
	// New connections (new source ports) are hashed anew and spread.
	tr2 := &http.Transport{DisableKeepAlives: true}
	c2 := &http.Client{Transport: tr2, Timeout: 5 * time.Second}
	seen := map[string]bool{}
	for range 24 {
		seen[livetest.Get(t, c2, l.URL()+"/x").Body] = true
	}
	if len(seen) < 2 {
		t.Fatalf("24 connections all went to %v", seen)
	}
	// The same flow (addresses) always hashes the same.
	k := l4FlowKey(l4FakeConn{remote: "127.0.0.1:40000", local: l.Addr()})
	if k != l4FlowKey(l4FakeConn{remote: "127.0.0.1:40000", local: l.Addr()}) ||
		k == l4FlowKey(l4FakeConn{remote: "127.0.0.1:40001", local: l.Addr()}) {
		t.Fatal("flow key is not a function of the connection's addresses")
	}
}

// l4FakeConn is a net.Conn with given addresses, for the flow key.
type l4FakeConn struct {
	net.Conn
	remote, local string
}

type l4Addr string

func (a l4Addr) Network() string { return "tcp" }
func (a l4Addr) String() string  { return string(a) }

func (c l4FakeConn) RemoteAddr() net.Addr { return l4Addr(c.remote) }
func (c l4FakeConn) LocalAddr() net.Addr  { return l4Addr(c.local) }

func TestL4ConnectFailureClosesClient(t *testing.T) {
	dead := strings.TrimPrefix(livetest.DeadURL(t), "http://")
	l := startL4(t, Config{Backends: []string{dead}})
	c, err := net.DialTimeout("tcp", l.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadByte(); err == nil {
		t.Fatal("read data from a connection whose instance is down")
	}
	livetest.Eventually(t, "the failure to be counted", func() bool { return l.Stats().Failed == 1 })
}

func TestL4HealthCheckAvoidsDownInstance(t *testing.T) {
	up := livetest.NewBackend(t, "gateway-0", nil)
	dead := strings.TrimPrefix(livetest.DeadURL(t), "http://")
	health := &workloads.ActiveHealth{Interval: workloads.Duration(10 * time.Millisecond), Timeout: workloads.Duration(time.Second), Unhealthy: 1, Healthy: 1}
	for _, tcp := range []bool{false, true} {
		l := startL4(t, Config{Backends: []string{dead, up.Srv.Listener.Addr().String()}, Health: health, HealthTCP: tcp})
		livetest.Eventually(t, "the down instance to be unhealthy", func() bool { return l.Stats().Healthy == 1 })
		tr := &http.Transport{DisableKeepAlives: true}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		for range 4 {
			if a := livetest.Get(t, c, l.URL()+"/x"); a.Code != http.StatusOK || a.Body != "gateway-0" {
				t.Fatalf("tcp=%v: got %d %q", tcp, a.Code, a.Body)
			}
		}
		if st := l.Stats(); st.Conns[0] != 0 || st.Failed != 0 {
			t.Fatalf("tcp=%v: stats %+v", tcp, st)
		}
	}
}

func TestL4InFrontOfGateways(t *testing.T) {
	b := livetest.NewBackend(t, "web-0", nil)
	sc := livetest.YAML{Top: "gateway:\n  instances: 2\n  health: {interval: 20ms, timeout: 1s}\n",
		Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	var addrs []string
	for i := range 2 {
		g, err := gateway.StartGateway(gateway.Config{Scenario: sc, Instance: i, Start: time.Now(),
			Upstreams: []gateway.Upstream{{ID: b.ID, URL: b.Srv.URL, Weight: 1}}})
		if err != nil {
			t.Fatalf("StartGateway: %v", err)
		}
		t.Cleanup(func() {
			if err := g.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		addrs = append(addrs, g.Addr())
	}
	l := startL4(t, Config{Mode: sc.Gateway.L4, Backends: addrs, Health: sc.Gateway.Health})
	tr := &http.Transport{DisableKeepAlives: true}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for range 4 {
		if a := livetest.Get(t, c, l.URL()+"/x"); a.Code != http.StatusOK || a.Body != "web-0" {
			t.Fatalf("got %d %q", a.Code, a.Body)
		}
	}
	if st := l.Stats(); fmt.Sprint(st.Conns) != "[2 2]" {
		t.Fatalf("conns %v", st.Conns)
	}
}

func TestL4CloseLeaksNothing(t *testing.T) {
	es := []*l4Echo{newL4Echo(t, "a"), newL4Echo(t, "b")}
	base := runtime.NumGoroutine()
	l, err := StartL4(Config{Mode: workloads.L4LeastConn, Backends: []string{es[0].addr(), es[1].addr()},
		Health:    &workloads.ActiveHealth{Interval: workloads.Duration(10 * time.Millisecond), Timeout: workloads.Duration(100 * time.Millisecond), Unhealthy: 1, Healthy: 1},
		HealthTCP: true})
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	for range 4 {
		c, err := net.DialTimeout("tcp", l.Addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	livetest.Eventually(t, "four relayed connections", func() bool {
		n := 0
		for _, o := range l.Stats().Open {
			n += o
		}
		return n == 4
	})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range held {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("a client connection survived Close")
		}
		c.Close()
	}
	if _, err := net.DialTimeout("tcp", l.Addr(), time.Second); err == nil {
		t.Fatal("the L4 still accepts after Close")
	}
	livetest.GoroutinesSettle(t, base)
}
