package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/edgelab/edgelab/live/wire"
)

// client is the proxy's HTTP/1.1 client to its upstreams: a pool of
// keep-alive connections per upstream, each exchange run in the calling
// goroutine — the request written with one system call, the answer read
// with net/http's own parser (http.ReadResponse) — as Envoy's and
// HAProxy's connection pools do. net/http's Transport runs two goroutines
// per connection and hands every exchange between three; on a gateway
// that proxies thousands of small requests a second that hand-off cost
// more than the proxying itself (docs/performance.md).
//
// A connection that went stale while idle (the server closed or reset
// it) is detected on use: a request that failed before the first byte of
// the answer on a reused connection is sent again on a fresh one when it
// is safe to replay, as net/http's Transport does.
type client struct {
	dialer      net.Dialer
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error) // dialer.DialContext; tests wrap it
	maxIdle     int                                                               // idle connections kept per upstream
	idleTimeout time.Duration                                                     // an idle connection older than this is closed
	maxHeader   int64                                                             // bytes of an answer's header
	tlsConfig   *tls.Config                                                       // for https upstreams (nil: system roots); ServerName is set per upstream

	maxDialing int // dials in progress per upstream; more requests wait

	mu     sync.Mutex
	ups    []conns // per upstream
	closed bool
}

// conns is one upstream's connections at the client.
type conns struct {
	idle    []*conn   // most recently used last
	dialing int       // dials in progress
	waiters []*waiter // requests waiting for a connection, first first
}

// waiter is a request waiting for a connection: it receives one that
// another request is done with, or nil, its turn to dial.
type waiter struct{ ch chan *conn }

// conn is one keep-alive connection to an upstream.
type conn struct {
	nc        net.Conn      // what the exchange reads and writes (TLS over raw for https)
	raw       net.Conn      // the TCP connection
	tls       bool          // nc is TLS over raw
	br        *bufio.Reader // reads through the conn, to count
	bw        *bufio.Writer
	idleSince time.Time
	lim       int64 // bytes left to read before errHeaderTooLarge
}

// Read reads from the connection within the limit (the answer header's
// size while it is read).
func (pc *conn) Read(b []byte) (int, error) {
	if pc.lim <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(b)) > pc.lim {
		b = b[:pc.lim]
	}
	n, err := pc.nc.Read(b)
	pc.lim -= int64(n)
	return n, err
}

// upRequest is an upstream request.
type upRequest struct {
	method string
	uri    string // origin form
	header http.Header
	body   []byte
	// attempt is the X-Edgelab-Attempt value (< 0: none).
	attempt int
	// probe marks a health check: when no connection idles it dials at
	// once, outside the bound on dials in progress, so that a burst of
	// traffic waiting for connections cannot make a healthy upstream
	// miss its probes (Envoy's health checkers have connections of their
	// own).
	probe bool
}

// upAnswer is an upstream answer, its body read whole.
type upAnswer struct {
	status int
	header http.Header
	body   []byte
}

// target is where an upstream request goes.
type target struct {
	addr string // host:port to dial
	host string // Host header
	tls  bool   // https
	name string // TLS server name
}

// Errors of the upstream client.
var (
	errClientClosed   = errors.New("upstream client closed")
	errBadHeader      = errors.New("invalid header field")
	errHeaderTooLarge = errors.New("upstream answer header too large")
	errIdle408        = errors.New("upstream closed the idle connection (408)")
)

// headRequest and getRequest tell http.ReadResponse whether an answer
// has a body (a HEAD's has none).
var (
	headRequest = &http.Request{Method: http.MethodHead}
	getRequest  = &http.Request{Method: http.MethodGet}
)

// max1xx bounds the informational answers before the real one.
const max1xx = 5

// longAgo is a deadline in the past: it makes blocked reads and writes
// return at once.
var longAgo = time.Unix(1, 0)

func newPxClient(upstreams, maxIdle, maxDialing int, idleTimeout, dialTimeout time.Duration, maxHeader int64) *client {
	c := &client{
		maxHeader:   maxHeader,
		dialer:      net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		maxIdle:     maxIdle,
		idleTimeout: idleTimeout,
		maxDialing:  maxDialing,
		ups:         make([]conns, upstreams),
	}
	c.dialContext = c.dialer.DialContext
	return c
}

// do sends out to upstream ui at t and reads the answer whole, up to
// maxBody bytes (a larger answer is errTooLarge). ctx bounds the whole
// exchange: when it ends, the connection is abandoned and do returns.
func (c *client) do(ctx context.Context, ui int, t *target, out *upRequest, maxBody int64) (upAnswer, error) {
	for {
		pc, reused, err := c.get(ctx, ui, t, out.probe)
		if err != nil {
			return upAnswer{}, err
		}
		if reused && (pc.br.Buffered() > 0 || !pc.tls && !connAlive(pc.raw)) {
			// The server closed the idle connection, or sent something
			// unasked (a 408 before closing): it carries no request. (Over
			// TLS the peek cannot tell a session ticket from an answer;
			// a stale connection shows in the exchange instead.)
			_ = pc.nc.Close()
			continue
		}
		in, keep, stale, err := c.exchange(ctx, pc, t, out, maxBody, reused)
		if err == nil && keep {
			c.put(ui, pc)
		} else {
			_ = pc.nc.Close()
		}
		if err != nil && reused && stale && ctx.Err() == nil {
			// The server closed or reset the idle connection (its idle
			// timeout, or it crashed): those idle beside it went the same
			// way, most likely. Try again on a fresh connection.
			c.dropIdle(ui)
			continue
		}
		return in, err
	}
}

// exchange writes out on pc and reads the answer. keep reports that pc
// may carry another request; stale that the exchange failed before the
// first byte of an answer in a way that makes it safe to send out again.
func (c *client) exchange(ctx context.Context, pc *conn, t *target, out *upRequest, maxBody int64, reused bool) (in upAnswer, keep, stale bool, err error) {
	stop := context.AfterFunc(ctx, func() { _ = pc.nc.SetDeadline(longAgo) })
	defer func() {
		if !stop() {
			// ctx ended: the deadline may be set now or about to be.
			keep = false
			if err != nil {
				err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
			}
		}
	}()
	if err = writeRequest(pc.bw, t, out); err == nil {
		err = pc.bw.Flush()
	}
	if err != nil {
		// Nothing of an answer can have come: the request may go again
		// (its body is in memory).
		return upAnswer{}, false, true, err
	}
	if _, err = pc.br.Peek(1); err != nil {
		return upAnswer{}, false, replayable(out), err
	}
	req := getRequest
	if out.method == http.MethodHead {
		req = headRequest
	}
	var resp *http.Response
	for n := 0; ; n++ {
		pc.lim = c.maxHeader
		resp, err = http.ReadResponse(pc.br, req)
		pc.lim = math.MaxInt64
		if err != nil {
			return upAnswer{}, false, false, err
		}
		if resp.StatusCode < 100 {
			return upAnswer{}, false, false, fmt.Errorf("upstream answered status %d", resp.StatusCode)
		}
		// Informational answers (103 Early Hints…) precede the real one;
		// a few at most, as net/http's Transport allows.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if n == max1xx {
			return upAnswer{}, false, false, errors.New("upstream sent too many informational answers")
		}
	}
	if reused && resp.StatusCode == http.StatusRequestTimeout {
		// A 408 on a connection that idled is the server closing it
		// (it may have sent it before the request arrived), as net/http's
		// Transport reads it.
		return upAnswer{}, false, replayable(out), errIdle408
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return upAnswer{}, false, false, errors.New("upstream switched protocols, which the gateway does not proxy")
	}
	if resp.Body != http.NoBody && resp.ContentLength > maxBody {
		return upAnswer{}, false, false, errTooLarge
	}
	var body []byte
	switch {
	case resp.Body == http.NoBody:
		// HEAD, 204, 304: no body, whatever Content-Length says.
	case resp.ContentLength >= 0:
		body = make([]byte, resp.ContentLength)
		_, err = io.ReadFull(resp.Body, body)
	default:
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		if err == nil && int64(len(body)) > maxBody {
			return upAnswer{}, false, false, errTooLarge
		}
	}
	if err != nil {
		return upAnswer{}, false, false, err
	}
	// Bytes beyond the answer (a wrong Content-Length, an extra answer)
	// would be read as the next request's: such a connection is closed.
	return upAnswer{status: resp.StatusCode, header: resp.Header, body: body}, !resp.Close && pc.br.Buffered() == 0, false, nil
}

// replayable reports whether a request that may have reached the server
// can be sent again: idempotent methods (RFC 9110 section 9.2.2) and
// requests that carry an idempotency key, as net/http's Transport decides.
func replayable(out *upRequest) bool {
	switch out.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, a := out.header["Idempotency-Key"]
	_, b := out.header["X-Idempotency-Key"]
	return a || b
}

// writeRequest writes out's request line and header and its body to w.
// The Host header names the upstream; Content-Length is the body's; the
// header's own Host, Content-Length, Transfer-Encoding and Trailer are
// not sent (as net/http's Request.Write), nor an empty User-Agent; a
// header name or value net/http would refuse (a control character, CR or
// LF) fails the request, so that no value can split the header.
func writeRequest(w *bufio.Writer, t *target, out *upRequest) error {
	w.WriteString(out.method)
	w.WriteByte(' ')
	w.WriteString(out.uri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(t.host)
	w.WriteString("\r\n")
	for k, vv := range out.header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("%w name %q", errBadHeader, k)
		}
		ck := textproto.CanonicalMIMEHeaderKey(k) // a middleware may set h["content-length"]
		switch ck {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("%w value for %s", errBadHeader, ck)
			}
			if v = strings.TrimSpace(v); v == "" && ck == "User-Agent" {
				continue
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if out.attempt >= 0 {
		w.WriteString(wire.HeaderAttempt)
		w.WriteString(": ")
		var num [20]byte
		w.Write(wire.AppendNumber(num[:0], uint64(out.attempt)))
		w.WriteString("\r\n")
	}
	if len(out.body) > 0 || out.method == http.MethodPost || out.method == http.MethodPut || out.method == http.MethodPatch {
		w.WriteString("Content-Length: ")
		var num [20]byte
		w.Write(strconv.AppendInt(num[:0], int64(len(out.body)), 10))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	_, err := w.Write(out.body)
	return err
}

// get takes the most recently used idle connection to upstream ui, or
// dials a new one (a probe's at once). reused reports a connection that carried requests
// before. When maxDialing dials to the upstream are in progress already,
// the request waits for whichever comes first: a connection another
// request is done with, or its turn to dial. Without that bound a burst
// of requests (a client reconnecting its pool, a stall) opens a
// connection each, and the connection storm costs the gateway and the
// upstream more than the burst itself; connections another request frees
// within a dial's time serve the burst instead (as net/http's Transport
// and Envoy's pools reuse a connection that frees before a dial ends).
func (c *client) get(ctx context.Context, ui int, t *target, probe bool) (pc *conn, reused bool, err error) {
	var expired []*conn
	defer func() {
		for _, e := range expired {
			_ = e.nc.Close()
		}
	}()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, errClientClosed
	}
	u := &c.ups[ui]
	for len(u.idle) > 0 {
		last := len(u.idle) - 1
		cand := u.idle[last]
		u.idle[last] = nil
		u.idle = u.idle[:last]
		if c.idleTimeout > 0 && time.Since(cand.idleSince) > c.idleTimeout {
			expired = append(expired, cand)
			continue
		}
		c.mu.Unlock()
		return cand, true, nil
	}
	if probe {
		c.mu.Unlock()
		pc, err := c.dial(ctx, t)
		return pc, false, err
	}
	if u.dialing < c.maxDialing {
		u.dialing++
		c.mu.Unlock()
		return c.dialFor(ctx, ui, t)
	}
	w := &waiter{ch: make(chan *conn, 1)}
	u.waiters = append(u.waiters, w)
	c.mu.Unlock()
	select {
	case pc := <-w.ch:
		if pc != nil {
			if ctx.Err() != nil {
				c.put(ui, pc) // to the next in line
				return nil, false, context.Cause(ctx)
			}
			return pc, true, nil
		}
		return c.dialFor(ctx, ui, t) // the dial slot was handed over
	case <-ctx.Done():
	}
	c.mu.Lock()
	waiting := false
	for k, o := range u.waiters {
		if o == w {
			u.waiters = append(u.waiters[:k], u.waiters[k+1:]...)
			waiting = true
			break
		}
	}
	c.mu.Unlock()
	if !waiting {
		// Served as the wait ended: pass it on.
		if pc := <-w.ch; pc != nil {
			c.put(ui, pc)
		} else {
			c.dialDone(ui)
		}
	}
	return nil, false, context.Cause(ctx)
}

// dialFor dials t holding one of upstream ui's dial slots, and frees it.
func (c *client) dialFor(ctx context.Context, ui int, t *target) (*conn, bool, error) {
	pc, err := c.dial(ctx, t)
	c.dialDone(ui)
	return pc, false, err
}

// dialDone frees a dial slot of upstream ui: the first waiting request
// takes it over.
func (c *client) dialDone(ui int) {
	c.mu.Lock()
	u := &c.ups[ui]
	if len(u.waiters) > 0 {
		w := u.waiters[0]
		u.waiters[0] = nil
		u.waiters = u.waiters[1:]
		w.ch <- nil
	} else {
		u.dialing--
	}
	c.mu.Unlock()
}

// dial opens a connection to t.
func (c *client) dial(ctx context.Context, t *target) (*conn, error) {
	nc, err := c.dialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	raw := nc
	if t.tls {
		cfg := &tls.Config{}
		if c.tlsConfig != nil {
			cfg = c.tlsConfig.Clone()
		}
		cfg.ServerName, cfg.NextProtos = t.name, []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, err
		}
		nc = tc
	}
	pc := &conn{nc: nc, raw: raw, tls: t.tls, bw: bufio.NewWriterSize(nc, 4<<10), lim: math.MaxInt64}
	pc.br = bufio.NewReaderSize(pc, 4<<10)
	return pc, nil
}

// put hands pc to the first request waiting for a connection to
// upstream ui, or keeps it idle (or closes it when the idle connections
// are full or the client is closed).
func (c *client) put(ui int, pc *conn) {
	c.mu.Lock()
	u := &c.ups[ui]
	if !c.closed && len(u.waiters) > 0 {
		w := u.waiters[0]
		u.waiters[0] = nil
		u.waiters = u.waiters[1:]
		w.ch <- pc
		c.mu.Unlock()
		return
	}
	if c.closed || len(u.idle) >= c.maxIdle {
		c.mu.Unlock()
		_ = pc.nc.Close()
		return
	}
	pc.idleSince = time.Now()
	u.idle = append(u.idle, pc)
	c.mu.Unlock()
}

// dropIdle closes upstream ui's idle connections.
func (c *client) dropIdle(ui int) {
	c.mu.Lock()
	idle := c.ups[ui].idle
	c.ups[ui].idle = nil
	c.mu.Unlock()
	for _, pc := range idle {
		_ = pc.nc.Close()
	}
}

// close closes every idle connection; connections in use are closed when
// their exchange ends, and no new one is made.
func (c *client) close() {
	c.mu.Lock()
	c.closed = true
	var idle []*conn
	for ui := range c.ups {
		idle = append(idle, c.ups[ui].idle...)
		c.ups[ui].idle = nil
	}
	c.mu.Unlock()
	for _, pc := range idle {
		_ = pc.nc.Close()
	}
}
