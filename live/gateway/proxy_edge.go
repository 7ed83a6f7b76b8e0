package gateway

import (
	"context"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"

	"github.com/edgelab/edgelab/live/wire"
)

// edgeCheck refuses what a reverse proxy must not serve: CONNECT and
// request targets that are not in origin form ("http://elsewhere/",
// "host:port", "*"), so the gateway is never an open proxy. It returns
// the reason, or "" when the request may go on.
func edgeCheck(r *http.Request) string {
	if r.Method == http.MethodConnect {
		return "CONNECT is refused: this is a reverse proxy, not a forward proxy"
	}
	if r.URL == nil || r.URL.IsAbs() || r.URL.Host != "" || r.URL.Opaque != "" {
		return "only origin-form request targets (/path) are served: this is not an open proxy"
	}
	if r.RequestURI != "" && !strings.HasPrefix(r.RequestURI, "/") {
		return "only origin-form request targets (/path) are served: this is not an open proxy"
	}
	if !strings.HasPrefix(r.URL.Path, "/") {
		return "the request path must start with /"
	}
	return ""
}

// isHop reports whether a (canonical) header name is hop-by-hop (RFC
// 9110 section 7.6.1, plus the obsolete Proxy-Connection and every
// Proxy-* header).
func isHop(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return strings.HasPrefix(k, "Proxy-")
}

// stripHop removes hop-by-hop headers from h: the standard ones and
// every header named in Connection.
func stripHop(h http.Header) {
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for k := range h {
		if isHop(k) {
			delete(h, k)
		}
	}
}

// outboundHeader is the header set every attempt of r starts from:
// hop-by-hop headers stripped, X-Forwarded-For appended, the client's own
// attempt number and Expect dropped (the body is already read).
func outboundHeader(r *http.Request) http.Header {
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	stripHop(h)
	h.Del("Expect")
	h.Del(wire.HeaderAttempt)
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := h.Values("X-Forwarded-For"); len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		h.Set("X-Forwarded-For", ip)
	}
	if _, ok := h["User-Agent"]; !ok {
		h.Set("User-Agent", "") // no Go default user agent upstream
	}
	return h
}

// Context keys the gateway passes to its proxy.
type (
	// arrivalKey holds the time.Time the gateway received the request:
	// the overall timeout runs from then, as the simulator's does from the
	// request's creation.
	arrivalKey struct{}
	// baseKey carries the Gateway's base context, which Close cancels,
	// to requests that outlive their client (ignore_client_abort).
	baseKey struct{}
	// slotKey holds the *slot of the gateway worker the request holds.
	slotKey struct{}
)

// slot is an admitted request's gateway worker, released once.
type slot struct {
	once    sync.Once
	release func()
}

func (s *slot) free() { s.once.Do(s.release) }

// releaseSlot frees the gateway worker held by the request in ctx, if
// any.
func releaseSlot(ctx context.Context) {
	if s, ok := ctx.Value(slotKey{}).(*slot); ok {
		s.free()
	}
}
