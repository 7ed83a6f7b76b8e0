package sim

import (
	"time"

	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// upConns are the balancers' idle connections to the servers
// (balancer.upstream): per balancer (gateway instance, or the one
// balancer), a list of idle connections oldest first, each to a server in
// the epoch it opened in (a crash closes them). An attempt takes the most
// recent idle connection to its server, or opens one, which costs it
// connect before it reaches the server; an answered attempt's connection
// goes back to the list, the oldest closing past keepalive.
type upConns struct {
	keep    int // idle connections kept per balancer; -1: no bound
	connect time.Duration
	// handshake is a re-encrypting gateway instance's client-side
	// handshake CPU (balancer.upstream.tls; 0 without), record its
	// records' per forwarded request.
	handshake, record time.Duration
	tls               bool
	idle              [][]upConn // per balancer
	// connects counts the connections measured attempts opened, and
	// tlsTime the re-encryption CPU charged for measured requests (ns).
	connects int64
	tlsTime  float64
}

type upConn struct {
	ep    int32
	epoch uint32
}

func newUpConns(cfg *workloads.Upstream, balancers int) *upConns {
	u := &upConns{keep: -1, connect: cfg.Connect.D(), idle: make([][]upConn, balancers)}
	if cfg.Keepalive != nil {
		u.keep = *cfg.Keepalive
	}
	if t := cfg.TLS; t != nil {
		u.tls, u.handshake, u.record = true, t.Handshake.D(), t.Record.D()
	}
	return u
}

// take takes an idle connection of balancer b to server ep (in its
// epoch), dropping those a crash closed; false when there is none.
func (u *upConns) take(b, ep int, epoch uint32) bool {
	l := u.idle[b]
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].ep != int32(ep) {
			continue
		}
		ok := l[i].epoch == epoch
		u.idle[b] = append(l[:i], l[i+1:]...)
		if ok {
			return true
		}
		l = u.idle[b]
	}
	return false
}

// put returns a connection of balancer b to server ep to the idle list.
func (u *upConns) put(b, ep int, epoch uint32) {
	if u.keep == 0 {
		return
	}
	l := u.idle[b]
	if u.keep > 0 && len(l) >= u.keep {
		copy(l, l[1:]) // the least recently used closes
		l = l[:len(l)-1]
	}
	u.idle[b] = append(l, upConn{ep: int32(ep), epoch: epoch})
}

// upBalancer is the balancer that sends request ri's attempts.
func (m *model) upBalancer(ri int32) int {
	return max(int(m.reqs[ri].gwi), 0)
}

// upSend hands attempt ai to server ep over an upstream connection: at
// once on an idle one, after connect on a new one, and with re-encryption
// after its gateway instance's worker has run the handshake.
func (m *model) upSend(now time.Duration, ep int, ai int32) {
	u := m.up
	a := &m.atts[ai]
	if u.take(m.upBalancer(a.req), ep, m.srv[ep].epoch) || (u.connect <= 0 && !u.tls) {
		m.arrive(now, ep, ai)
		return
	}
	if m.reqs[a.req].measured {
		u.connects++
	}
	if u.tls {
		m.gwJob(now, m.upBalancer(a.req), ai)
		return
	}
	m.eng.Schedule(now+u.connect, m.h, evUpConnect, pack(ai, a.gen))
}

// upHandshaken is attempt ai's re-encrypting handshake done on its
// instance's worker: the connection opens after connect.
func (m *model) upHandshaken(now time.Duration, ai int32, gen uint32) {
	if m.atts[ai].gen != gen {
		return
	}
	if m.up.connect <= 0 {
		m.upConnected(now, ai, gen)
		return
	}
	m.eng.Schedule(now+m.up.connect, m.h, evUpConnect, pack(ai, gen))
}

// upConnected is attempt ai's connection opened: on to the server, unless
// the attempt was given up meanwhile (the connection is dropped).
func (m *model) upConnected(now time.Duration, ai int32, gen uint32) {
	a := &m.atts[ai]
	if a.gen != gen {
		return
	}
	if a.abandoned {
		m.attemptDone(now, ai, strategies.Cancelled)
		return
	}
	m.arrive(now, int(a.ep), ai)
}

// upAnswered returns an answered attempt's connection to its balancer.
func (m *model) upAnswered(ai int32, o strategies.Outcome) {
	if o != strategies.OK && o != strategies.Error5xx && o != strategies.QueueFull {
		return // timed out, reset or refused: the connection is gone
	}
	a := &m.atts[ai]
	m.up.put(m.upBalancer(a.req), int(a.ep), m.srv[a.ep].epoch)
}
