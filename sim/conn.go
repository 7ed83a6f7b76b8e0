package sim

import (
	"fmt"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// conns are the clients' connections to the gateway tier (clients.keepalive,
// gateway.tls, gateway.connections). A connection belongs to one client
// and one gateway instance, chosen by the L4 balancer when it opens: the
// L4 balancer places connections, and the requests on a kept-alive
// connection follow it. A connection carries one request at a time
// (HTTP/1.1): a request that finds none of its client's connections idle
// opens another.
//
// Without a connection limit, an idle connection past keepalive.idle, or
// to an instance that crashed since, is found closed when next wanted:
// nothing else needs to know. With one (gateway.connections.max), idle
// connections count against it until they close, so each idle spell ends
// with an evConnIdle event, and a new connection past the limit waits in
// its instance's backlog until one closes, or is refused when the backlog
// is full: the M/G/c/c+K loss-and-delay system of an accept queue.
type conns struct {
	keep workloads.Keepalive
	tls  *workloads.TLS // nil: no TLS
	// max and backlog are gateway.connections' (max 0: no limit); drain
	// is its NGINX way (see drainIdle).
	max, backlog int
	drain        bool
	key          uint64 // counter-based draws: is a handshake resumed
	c            []conn
	free         []int32
	// idle heads each client's list of idle connections (-1: none).
	idle []int32
	// Per request slot: its connection (-1: none) and the TLS cost its
	// gateway worker pays (handshake and record).
	reqConn []int32
	reqTLS  []time.Duration
	// wait is what the request connect last answered connNew for waits
	// before its connection is open.
	wait time.Duration

	// Measured: connections opened, handshakes, and the TLS CPU time
	// charged (ns).
	opened, full, resumed int64
	tlsTime               float64
}

// conn is one client connection.
type conn struct {
	last  time.Duration // when its last request ended
	busy  int32         // its requests in flight (multiplex)
	used  int32         // requests it carried
	next  int32         // the next idle connection of its client
	gen   uint32        // bumped whenever it is taken or closed (idle timers)
	epoch uint32        // its instance's epoch when it opened
	gi    int16         // its gateway instance
	// counted: it holds one of its instance's gateway.connections.max;
	// dead: closed while idle in its client's list (freed when walked);
	// retired: a multiplexed connection its client no longer uses, closed
	// with its last stream.
	counted, dead, retired bool
	resumed                bool          // its handshake resumed a session
	idling                 bool          // in an idle spell, counted in its instance's idle (with a limit)
	client                 int32         // its client (multiplex)
	ready                  time.Duration // when it is open (clients.keepalive.connect)
}

// The states of a request's connection (connect).
const (
	connOpen    = iota // connected: on to the instance
	connWaits          // in the instance's backlog
	connRefused        // past max and backlog: refused
	connNone           // the L4 balancer has no instance
	connNew            // a new connection, open after clients.keepalive.connect
)

func newConns(sc *workloads.Scenario, clients int, seed uint64, rep int) *conns {
	c := &conns{keep: *sc.Clients.Keepalive, tls: sc.Gateway.TLS, key: engine.Key(seed, rep, "tls")}
	if l := sc.Gateway.Connections; l != nil {
		c.max, c.backlog, c.drain = l.Max, *l.Backlog, l.Drain
	}
	c.idle = make([]int32, clients)
	for i := range c.idle {
		c.idle[i] = -1
	}
	return c
}

// grow makes room for request slot ri.
func (c *conns) grow(ri int32) {
	for int(ri) >= len(c.reqConn) {
		c.reqConn = append(c.reqConn, -1)
		c.reqTLS = append(c.reqTLS, 0)
	}
}

// connect gives request ri a connection: one of its client's idle ones
// still open, else a new one the L4 balancer places (which may wait in
// the instance's backlog, or be refused). It returns the gateway instance
// and the connection's state.
func (m *model) connect(now time.Duration, ri int32) (int, int) {
	c, t := m.conn, m.gw
	r := &m.reqs[ri]
	c.grow(ri)
	c.reqConn[ri], c.reqTLS[ri] = -1, 0
	client := r.client
	if c.keep.Multiplex {
		if gi, h, ok := m.multiplexed(now, ri, client); ok {
			if cn := &c.c[h]; cn.ready > now {
				c.wait = cn.ready - now // its connection is still opening
				return gi, connNew
			}
			return gi, connOpen
		}
	}
	for h := c.idle[client]; h >= 0 && !c.keep.Multiplex; h = c.idle[client] {
		cn := &c.c[h]
		c.idle[client] = cn.next
		g := &t.inst[cn.gi]
		switch {
		case cn.dead:
			c.free = append(c.free, h) // closed by its idle timer
			continue
		case now-cn.last > c.keep.Idle.D() || g.Down > 0 || g.epoch != cn.epoch:
			m.closeConn(now, h) // closed by the server, or gone with it
			c.free = append(c.free, h)
			continue
		}
		return m.reuse(now, ri, h), connOpen
	}
	gi, ok := t.l4.Pick(now, strategies.Request{Key: uint64(r.key), Client: uint64(client)})
	if !ok {
		return 0, connNone
	}
	var h int32
	if n := len(c.free); n > 0 {
		h = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		h = int32(len(c.c))
		c.c = append(c.c, conn{})
	}
	g := &t.inst[gi]
	c.c[h] = conn{gi: int16(gi), epoch: g.epoch, used: 1, next: -1, gen: c.c[h].gen + 1, client: client}
	if c.keep.Multiplex {
		c.c[h].busy = 1 // its first stream
	}
	resumed := false
	if c.tls != nil {
		resumed = c.tls.Resumption > 0 && engine.Uniform(c.key, r.serial, 0) < c.tls.Resumption
		hs := c.tls.Full.D()
		if resumed {
			hs = c.tls.Resumed.D()
		}
		c.reqTLS[ri] = hs + c.tls.Record.D()
	}
	c.c[h].resumed = resumed
	if c.drain && g.Down == 0 {
		m.drainIdle(now, gi)
		if g.open >= c.max {
			c.free = append(c.free, h)
			return gi, connRefused // NGINX closes it: "worker_connections are not enough"
		}
	}
	if c.max > 0 && g.Down == 0 && g.open >= c.max {
		if g.backlog.len() >= c.backlog {
			c.free = append(c.free, h)
			return gi, connRefused
		}
		c.reqConn[ri] = h
		g.backlog.push(pack(ri, r.gen))
		return gi, connWaits
	}
	c.reqConn[ri] = h
	m.countConn(h)
	m.connOpened(&c.c[h], r.measured)
	if c.keep.Multiplex {
		if c.idle[client] < 0 {
			c.idle[client] = h // the client's current connection
		} else {
			c.c[h].retired = true
		}
	}
	if c.keep.Connect > 0 {
		c.c[h].ready = now + c.keep.Connect.D()
		c.wait = c.keep.Connect.D()
		return gi, connNew
	}
	return gi, connOpen
}

// multiplexed puts request ri on its client's current connection
// (HTTP/2: requests share it, whatever is in flight). A current
// connection that is closed, idle too long or gone with its instance is
// replaced; one that has carried keepalive.requests streams is retired,
// and closes when its last stream ends.
func (m *model) multiplexed(now time.Duration, ri int32, client int32) (int, int32, bool) {
	c, t := m.conn, m.gw
	// Closing a connection may accept a backlogged one of this client,
	// which then becomes current: look again until none is.
	for {
		h := c.idle[client]
		if h < 0 {
			return 0, -1, false
		}
		cn := &c.c[h]
		g := &t.inst[cn.gi]
		switch {
		case cn.dead: // closed by its idle timer
			c.idle[client] = -1
			c.free = append(c.free, h)
			continue
		case cn.busy == 0 && (now-cn.last > c.keep.Idle.D() || g.Down > 0 || g.epoch != cn.epoch):
			c.idle[client] = -1
			m.closeConn(now, h)
			c.free = append(c.free, h)
			continue
		case int(cn.used) >= c.keep.Requests || g.Down > 0 || g.epoch != cn.epoch:
			c.idle[client] = -1
			cn.retired = true
			if cn.busy == 0 {
				m.closeConn(now, h)
				c.free = append(c.free, h)
			}
			continue
		}
		cn.busy++
		return m.reuse(now, ri, h), h, true
	}
}

// reuse puts request ri on open connection h: its records' cost, and the
// L4 balancer's count of what its instance carries.
func (m *model) reuse(now time.Duration, ri, h int32) int {
	c := m.conn
	cn := &c.c[h]
	m.idleEnd(cn)
	cn.used++
	cn.gen++
	c.reqConn[ri] = h
	if c.tls != nil {
		c.reqTLS[ri] = c.tls.Record.D()
	}
	m.gw.l4.Take(now, int(cn.gi))
	return int(cn.gi)
}

// connOpened counts an established connection (and its handshake) when
// its first request is measured; refused ones, and those whose request
// gave up in the backlog, are not.
func (m *model) connOpened(cn *conn, measured bool) {
	c := m.conn
	if !measured {
		return
	}
	c.opened++
	if c.tls != nil && cn.resumed {
		c.resumed++
	} else if c.tls != nil {
		c.full++
	}
}

// countConn makes connection h hold one of its instance's connections.
func (m *model) countConn(h int32) {
	c := m.conn
	if c.max == 0 {
		return
	}
	cn := &c.c[h]
	g := &m.gw.inst[cn.gi]
	if cn.epoch == g.epoch {
		cn.counted = true
		g.open++
	}
}

// closeConn closes connection h: its instance's count falls, and the
// backlog's first live request takes the place.
func (m *model) closeConn(now time.Duration, h int32) {
	c := m.conn
	cn := &c.c[h]
	m.idleEnd(cn)
	cn.gen++
	if !cn.counted {
		return
	}
	cn.counted = false
	gi := int(cn.gi)
	g := &m.gw.inst[gi]
	if cn.epoch != g.epoch {
		return // the instance crashed: its count was reset then
	}
	g.open--
	for g.open < c.max && g.backlog.len() > 0 {
		ri, gen := unpack(g.backlog.pop())
		if m.reqs[ri].gen != gen || c.reqConn[ri] < 0 {
			continue // gave up waiting
		}
		h := c.reqConn[ri]
		m.countConn(h)
		m.connOpened(&c.c[h], m.reqs[ri].measured)
		if cl := c.c[h].client; c.keep.Multiplex && c.idle[cl] < 0 {
			c.idle[cl] = h // accepted: the client's current connection
		} else if c.keep.Multiplex {
			c.c[h].retired = true // the client has another: this one ends with its stream
		}
		if d := c.keep.Connect.D(); d > 0 {
			// Accepted: the client's side of opening it still to come.
			c.c[h].ready = now + d
			m.eng.Schedule(now+d, m.h, evConnReady, pack(ri, gen))
			continue
		}
		m.reach(now, ri, gi)
	}
}

// release ends request ri's use of its connection: back to its client's
// idle list, or closed when it has carried keepalive.requests, when the
// client gave up on the request (a connection with an answer pending
// cannot carry another) or when it failed to connect.
func (m *model) release(now time.Duration, ri int32, o plan.Outcome) {
	c := m.conn
	if int(ri) >= len(c.reqConn) {
		return
	}
	h := c.reqConn[ri]
	if h < 0 {
		return
	}
	c.reqConn[ri] = -1
	cn := &c.c[h]
	if c.keep.Multiplex {
		m.releaseStream(now, h, o)
		return
	}
	if int(cn.used) >= c.keep.Requests || o == plan.Timeout || o == plan.ConnectFailure {
		m.closeConn(now, h)
		c.free = append(c.free, h)
		return
	}
	client := m.reqs[ri].client
	cn.last = now
	cn.gen++
	cn.next = c.idle[client]
	c.idle[client] = h
	if c.max > 0 {
		m.idleStart(h)
		m.eng.Schedule(now+c.keep.Idle.D(), m.h, evConnIdle, pack(h, cn.gen))
	}
}

// idleStart begins connection h's idle spell (with a connection limit):
// its instance counts it idle, and with drain lists it, most recent last.
func (m *model) idleStart(h int32) {
	c := m.conn
	cn := &c.c[h]
	g := &m.gw.inst[cn.gi]
	if !cn.counted || cn.epoch != g.epoch {
		return
	}
	cn.idling = true
	g.idle++
	if c.drain {
		g.idleLRU.push(pack(h, cn.gen))
		// Entries of spells since ended are dropped from the front when
		// they pile up (an entry's spell ends within keepalive.idle).
		for g.idleLRU.len() > 2*c.max+64 {
			if e, gen := unpack(g.idleLRU.front()); c.c[e].gen == gen && c.c[e].idling {
				break
			}
			g.idleLRU.pop()
		}
	}
}

// idleEnd ends connection cn's idle spell, if it is in one: reused or
// closed.
func (m *model) idleEnd(cn *conn) {
	if !cn.idling {
		return
	}
	cn.idling = false
	if g := &m.gw.inst[cn.gi]; cn.epoch == g.epoch {
		g.idle--
	}
}

// drainIdle is NGINX's ngx_drain_connections at instance gi, called for a
// new connection: when no more than a sixteenth of max is free and some
// connections are idle, it closes the least recently used idle ones, an
// eighth of them (at least one, at most 32).
func (m *model) drainIdle(now time.Duration, gi int) {
	c := m.conn
	g := &m.gw.inst[gi]
	if c.max-g.open > c.max/16 || g.idle == 0 {
		return
	}
	n := max(min(32, g.idle/8), 1)
	for n > 0 && g.idleLRU.len() > 0 {
		h, gen := unpack(g.idleLRU.pop())
		cn := &c.c[h]
		if cn.gen != gen || !cn.idling || cn.dead {
			continue // reused or closed since
		}
		m.closeConn(now, h)
		cn.dead = true // its client's list frees it
		n--
	}
}

// connIdle closes connection h if it is still in the idle spell that
// began with generation gen.
func (m *model) connIdle(now time.Duration, h int32, gen uint32) {
	cn := &m.conn.c[h]
	if cn.gen != gen || cn.dead {
		return
	}
	m.closeConn(now, h)
	cn.dead = true // its client's list frees it
}

// connCrash empties crashed instance gi's connection count and refuses
// the requests in its backlog.
func (m *model) connCrash(now time.Duration, gi int) {
	g := &m.gw.inst[gi]
	g.open, g.idle = 0, 0
	for g.idleLRU.len() > 0 {
		g.idleLRU.pop()
	}
	for g.backlog.len() > 0 {
		ri, gen := unpack(g.backlog.pop())
		if m.reqs[ri].gen == gen && m.reqs[ri].alive {
			m.finish(now, ri, plan.ConnectFailure)
		}
	}
}

// waiting reports whether request ri's connection waits in a backlog.
func (c *conns) waiting(ri int32) bool {
	if c.max == 0 || int(ri) >= len(c.reqConn) || c.reqConn[ri] < 0 {
		return false
	}
	return !c.c[c.reqConn[ri]].counted
}

// releaseStream ends one stream of multiplexed connection h: a retired
// connection closes with its last stream, a refused or reset one is
// retired at once, and one left idle starts its idle spell. (A client's
// timeout cancels its stream, not the connection.)
func (m *model) releaseStream(now time.Duration, h int32, o plan.Outcome) {
	c := m.conn
	cn := &c.c[h]
	cn.busy--
	if c.max > 0 && !cn.counted && !cn.retired {
		// Never accepted (its request gave up in the backlog), or gone
		// with a crashed instance: nothing to keep.
		cn.retired = true
		if c.idle[cn.client] == h {
			c.idle[cn.client] = -1
		}
	}
	if o == plan.ConnectFailure && !cn.retired {
		cn.retired = true
		if c.idle[cn.client] == h {
			c.idle[cn.client] = -1
		}
	}
	if cn.busy > 0 {
		return
	}
	if cn.retired {
		m.closeConn(now, h)
		c.free = append(c.free, h)
		return
	}
	cn.last = now
	cn.gen++
	if c.max > 0 {
		m.idleStart(h)
		m.eng.Schedule(now+c.keep.Idle.D(), m.h, evConnIdle, pack(h, cn.gen))
	}
}

// verify checks the connections' invariants (tests): no stream count
// below zero, each instance's open count equal to its counted
// connections and within max, no connection freed twice or freed while
// a client still lists it.
func (c *conns) verify(m *model) error {
	free := make(map[int32]bool, len(c.free))
	for _, h := range c.free {
		if free[h] {
			return fmt.Errorf("connection %d freed twice", h)
		}
		free[h] = true
	}
	for cl, h := range c.idle {
		for n := 0; h >= 0; n++ {
			if free[h] {
				return fmt.Errorf("client %d lists freed connection %d", cl, h)
			}
			if n > len(c.c) {
				return fmt.Errorf("client %d's list loops", cl)
			}
			if c.keep.Multiplex {
				break
			}
			h = c.c[h].next
		}
	}
	open := make([]int, len(m.gw.inst))
	idle := make([]int, len(m.gw.inst))
	for h := range c.c {
		cn := &c.c[h]
		if cn.busy < 0 {
			return fmt.Errorf("connection %d has %d streams", h, cn.busy)
		}
		if cn.counted && !free[int32(h)] && cn.epoch == m.gw.inst[cn.gi].epoch {
			open[cn.gi]++
			if cn.idling {
				idle[cn.gi]++
			}
		}
		if cn.idling && !cn.counted {
			return fmt.Errorf("connection %d idles uncounted", h)
		}
	}
	for gi := range m.gw.inst {
		g := &m.gw.inst[gi]
		if c.max > 0 && (g.open != open[gi] || g.open > c.max) {
			return fmt.Errorf("gateway instance %d counts %d open connections, holds %d, max %d", gi, g.open, open[gi], c.max)
		}
		if c.max > 0 && g.idle != idle[gi] {
			return fmt.Errorf("gateway instance %d counts %d idle connections, holds %d", gi, g.idle, idle[gi])
		}
	}
	return nil
}
