package gateway

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgelab/edgelab/live/internal/livetest"
	"github.com/edgelab/edgelab/live/tlscost"
)

// An instance with Config.TLS serves https: it closes a connection after
// clients.keepalive.requests requests (Connection: close, as NGINX's
// keepalive_requests), and with multiplex negotiates HTTP/2 by ALPN and
// ends a connection's streams with a GOAWAY at the same count.
func TestGatewayTLS(t *testing.T) {
	cert, pool, err := tlscost.Certificate(tlscost.P256)
	if err != nil {
		t.Fatal(err)
	}
	srvTLS := &tls.Config{Certificates: []tls.Certificate{cert}}
	for _, tc := range []struct {
		name      string
		multiplex bool
		proto     string
	}{
		{"http/1.1", false, "HTTP/1.1"},
		{"h2", true, "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := livetest.NewBackend(t, "web-0", nil)
			keep := "  keepalive: {requests: 3}\n"
			if tc.multiplex {
				keep = "  keepalive: {requests: 3, multiplex: true}\n"
			}
			sc := livetest.YAML{Clients: keep, Top: "gateway: {instances: 1}\n",
				Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
			g, err := StartGateway(Config{Scenario: sc, Start: time.Now(), Upstreams: ups(b), TLS: srvTLS})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if !strings.HasPrefix(g.URL(), "https://") {
				t.Fatalf("URL %s", g.URL())
			}
			var dials atomic.Int64
			tr := &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: tlscost.ServerName},
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					dials.Add(1)
					var d net.Dialer
					return d.DialContext(ctx, network, addr)
				},
				ForceAttemptHTTP2: tc.multiplex,
			}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			for i := range 9 {
				resp, err := c.Get(g.URL() + "/x")
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Proto != tc.proto || resp.TLS == nil {
					t.Fatalf("request %d: %d %s (TLS %v)", i, resp.StatusCode, resp.Proto, resp.TLS != nil)
				}
				if tc.multiplex {
					// Let the GOAWAY of a third stream arrive before the next.
					time.Sleep(20 * time.Millisecond)
				}
			}
			if n := dials.Load(); n != 3 {
				t.Errorf("9 requests, 3 a connection: %d connections", n)
			}
		})
	}
}
