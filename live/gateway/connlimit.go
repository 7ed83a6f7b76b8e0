package gateway

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultMaxConnections bounds the client connections one gateway
// instance holds open at once (Config.MaxConnections = 0), as nginx's
// worker_connections does per worker, with nginx's default of 512
// (https://nginx.org/en/docs/ngx_core_module.html#worker_connections).
// Every connection may carry a request body of up to the body limit
// (1 MiB) being read and buffered: without a bound, 250 concurrent 1 MiB
// uploads took 513 MB; with it, an instance buffers at most this many
// bodies whatever the number of clients.
//
// At the bound the instance stops accepting: further connections wait in
// the kernel's listen backlog (the client sees its request unanswered,
// not refused) until one closes. One connection is taken from the
// backlog to learn that someone waits; to make room for it, an idle
// keep-alive connection (between requests) is closed, as nginx closes its
// reusable connections when worker_connections run out
// (ngx_drain_connections); an HTTP client retries an idempotent request
// that meets such a close on a reused connection. New connections and
// those in the middle of a request are never closed for room; they end
// by the server's header-read, read and idle timeouts.
const DefaultMaxConnections = 512

// ConnMode is what a gateway instance does with a new connection when it
// holds Config.MaxConnections.
type ConnMode int

// The modes of ConnMode.
const (
	// ConnWait (edgelab's default) takes one waiting connection from the
	// backlog, closes an idle keep-alive connection to make room for it
	// (or waits for one to close or go idle), and leaves the others in
	// the backlog.
	ConnWait ConnMode = iota
	// ConnHold is HAProxy's maxconn: new connections stay in the listen
	// backlog until one closes; idle ones keep their places
	// (gateway.connections without drain).
	ConnHold
	// ConnDrain is NGINX's worker_connections: from 15/16 of the bound the
	// least recently used idle connections are closed, an eighth of them
	// (1 to 32), and a new connection that finds the bound reached is
	// closed at once (gateway.connections.drain; ngx_drain_connections
	// and ngx_get_connection in NGINX's src/core/ngx_connection.c).
	ConnDrain
)

// connLimiter is a listener that holds at most cap(sem) connections open
// (see DefaultMaxConnections and ConnMode). Its connState must be the
// server's ConnState hook: it tells which connections are idle.
type connLimiter struct {
	net.Listener
	mode      ConnMode
	sem       chan struct{} // a token per open connection
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	idleSig   chan struct{} // a connection went idle (buffered, 1)

	mu   sync.Mutex
	idle map[*limitedConn]time.Time // since when
}

func newConnLimiter(ln net.Listener, n int, mode ConnMode) *connLimiter {
	return &connLimiter{
		Listener: ln,
		mode:     mode,
		sem:      make(chan struct{}, n),
		done:     make(chan struct{}),
		idleSig:  make(chan struct{}, 1),
		idle:     make(map[*limitedConn]time.Time),
	}
}

// Accept returns the next connection once fewer than the bound are open.
func (l *connLimiter) Accept() (net.Conn, error) {
	switch l.mode {
	case ConnHold:
		return l.acceptHold()
	case ConnDrain:
		return l.acceptDrain()
	}
	select {
	case l.sem <- struct{}{}:
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.sem
			return nil, err
		}
		return l.wrap(c), nil
	case <-l.done:
		return nil, net.ErrClosed
	default:
	}
	// Full. Accept returns only once a client waits in the backlog: make
	// room for it by closing an idle connection, or wait for one to close
	// or go idle.
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.sem <- struct{}{}:
			return l.wrap(c), nil
		case <-l.done:
			_ = c.Close()
			return nil, net.ErrClosed
		default:
		}
		l.closeIdle()
		select {
		case l.sem <- struct{}{}:
			return l.wrap(c), nil
		case <-l.done:
			_ = c.Close()
			return nil, net.ErrClosed
		case <-l.idleSig:
		}
	}
}

// acceptHold waits for a free place before accepting: the connections
// past the bound wait in the kernel's listen backlog.
func (l *connLimiter) acceptHold() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return l.wrap(c), nil
}

// acceptDrain accepts at once, closes idle connections in advance as
// NGINX does, and closes a new connection that finds no place.
func (l *connLimiter) acceptDrain() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if free := cap(l.sem) - len(l.sem); free <= cap(l.sem)/16 {
			l.mu.Lock()
			n := max(min(32, len(l.idle)/8), 1)
			l.mu.Unlock()
			for range n {
				l.closeIdle()
			}
		}
		select {
		case l.sem <- struct{}{}:
			return l.wrap(c), nil
		case <-l.done:
			_ = c.Close()
			return nil, net.ErrClosed
		default:
			_ = c.Close() // "worker_connections are not enough"
		}
	}
}

// Close closes the listener and ends a wait in Accept.
func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *connLimiter) wrap(c net.Conn) *limitedConn {
	return &limitedConn{Conn: c, owner: l}
}

// closeIdle closes the least recently used idle connection, if any.
func (l *connLimiter) closeIdle() {
	l.mu.Lock()
	var victim *limitedConn
	var since time.Time
	for c, at := range l.idle {
		if victim == nil || at.Before(since) {
			victim, since = c, at
		}
	}
	if victim != nil {
		delete(l.idle, victim)
	}
	l.mu.Unlock()
	if victim != nil {
		_ = victim.Close()
	}
}

// connState is the server's ConnState hook: it keeps the set of idle
// connections, keep-alive ones between requests. A new connection is not
// idle: net/http reports it active only once its request's headers are
// read, and closing it would drop a request on its way.
func (l *connLimiter) connState(nc net.Conn, st http.ConnState) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, ok := nc.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	switch st {
	case http.StateIdle:
		l.idle[c] = time.Now()
	default:
		delete(l.idle, c)
	}
	l.mu.Unlock()
	if st == http.StateIdle {
		select {
		case l.idleSig <- struct{}{}:
		default:
		}
	}
}

// limitedConn gives its token back when closed.
type limitedConn struct {
	net.Conn
	owner *connLimiter
	once  sync.Once
}

// Close implements net.Conn.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.idle, c)
		c.owner.mu.Unlock()
		<-c.owner.sem
	})
	return err
}
