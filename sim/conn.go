package sim

import (
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// conns are the clients' connections to the gateway tier (clients.keepalive,
// gateway.tls). A connection belongs to one client and one gateway
// instance, chosen by the L4 balancer when it opens: the L4 balancer
// places connections, and the requests on a kept-alive connection follow
// it. A connection carries one request at a time (HTTP/1.1): a request
// that finds none of its client's connections idle opens another. An idle
// connection past keepalive.idle, or to an instance that crashed since,
// is found closed when next wanted.
type conns struct {
	keep workloads.Keepalive
	tls  *workloads.TLS // nil: no TLS
	key  uint64         // counter-based draws: is a handshake resumed
	c    []conn
	free []int32
	// idle heads each client's list of idle connections (-1: none).
	idle []int32
	// Per request slot: its connection (-1: none) and the TLS cost its
	// gateway worker pays (handshake and record).
	reqConn []int32
	reqTLS  []time.Duration

	// Measured: connections opened, handshakes, and the TLS CPU time
	// charged (ns).
	opened, full, resumed int64
	tlsTime               float64
}

// conn is one client connection.
type conn struct {
	last  time.Duration // when its last request ended
	used  int32         // requests it carried
	next  int32         // the next idle connection of its client
	gi    int16         // its gateway instance
	epoch uint32        // the instance's epoch when it opened
}

func newConns(sc *workloads.Scenario, clients int, seed uint64, rep int) *conns {
	c := &conns{keep: *sc.Clients.Keepalive, tls: sc.Gateway.TLS, key: engine.Key(seed, rep, "tls")}
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
// still open, else a new one the L4 balancer places. It returns the
// gateway instance, or false when the L4 balancer has none.
func (m *model) connect(now time.Duration, ri int32) (int, bool) {
	c, t := m.conn, m.gw
	r := &m.reqs[ri]
	c.grow(ri)
	client := r.client
	for h := c.idle[client]; h >= 0; h = c.idle[client] {
		cn := &c.c[h]
		c.idle[client] = cn.next
		g := &t.inst[cn.gi]
		if now-cn.last > c.keep.Idle.D() || g.Down > 0 || g.epoch != cn.epoch {
			c.free = append(c.free, h) // closed by the server, or gone with it
			continue
		}
		cn.used++
		c.reqConn[ri] = h
		c.reqTLS[ri] = 0
		if c.tls != nil {
			c.reqTLS[ri] = c.tls.Record.D()
		}
		t.l4.Take(now, int(cn.gi))
		m.chargeTLS(r, false, false)
		return int(cn.gi), true
	}
	gi, ok := t.l4.Pick(now, strategies.Request{Key: uint64(r.key), Client: uint64(client)})
	if !ok {
		c.reqConn[ri] = -1
		return 0, false
	}
	var h int32
	if n := len(c.free); n > 0 {
		h = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		h = int32(len(c.c))
		c.c = append(c.c, conn{})
	}
	c.c[h] = conn{gi: int16(gi), epoch: t.inst[gi].epoch, used: 1, next: -1}
	c.reqConn[ri] = h
	c.reqTLS[ri] = 0
	resumed := false
	if c.tls != nil {
		resumed = c.tls.Resumption > 0 && engine.Uniform(c.key, r.serial, 0) < c.tls.Resumption
		hs := c.tls.Full.D()
		if resumed {
			hs = c.tls.Resumed.D()
		}
		c.reqTLS[ri] = hs + c.tls.Record.D()
	}
	m.chargeTLS(r, true, resumed)
	return gi, true
}

// chargeTLS counts a measured request's connection and TLS work.
func (m *model) chargeTLS(r *request, opened, resumed bool) {
	c := m.conn
	if !r.measured {
		return
	}
	if opened {
		c.opened++
		if c.tls != nil && resumed {
			c.resumed++
		} else if c.tls != nil {
			c.full++
		}
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
	if int(cn.used) >= c.keep.Requests || o == plan.Timeout || o == plan.ConnectFailure {
		c.free = append(c.free, h)
		return
	}
	client := m.reqs[ri].client
	cn.last = now
	cn.next = c.idle[client]
	c.idle[client] = h
}
