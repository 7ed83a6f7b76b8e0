package gateway

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
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

// connLimiter is a listener that holds at most cap(sem) connections open
// (see DefaultMaxConnections). Its connState must be the server's
// ConnState hook: it tells which connections are idle.
type connLimiter struct {
	net.Listener
	sem       chan struct{} // a token per open connection
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	idleSig   chan struct{} // a connection went idle (buffered, 1)

	mu   sync.Mutex
	idle map[*limitedConn]struct{}
}

func newConnLimiter(ln net.Listener, n int) *connLimiter {
	return &connLimiter{
		Listener: ln,
		sem:      make(chan struct{}, n),
		done:     make(chan struct{}),
		idleSig:  make(chan struct{}, 1),
		idle:     make(map[*limitedConn]struct{}),
	}
}

// Accept returns the next connection once fewer than the bound are open.
func (l *connLimiter) Accept() (net.Conn, error) {
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

// Close closes the listener and ends a wait in Accept.
func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *connLimiter) wrap(c net.Conn) *limitedConn {
	return &limitedConn{Conn: c, owner: l}
}

// closeIdle closes one idle connection, if any.
func (l *connLimiter) closeIdle() {
	l.mu.Lock()
	var victim *limitedConn
	for c := range l.idle {
		victim = c
		delete(l.idle, c)
		break
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
		l.idle[c] = struct{}{}
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
