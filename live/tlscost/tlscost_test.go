package tlscost

import (
	"testing"
)

// The server's costs on this machine. A TLS 1.3 resumption still runs an
// (EC)DHE exchange, so it saves the certificate's signature: much with
// RSA-2048, little with P-256; an RSA-2048 full handshake costs more than
// a P-256 one; records cost less than any handshake.
func TestMeasure(t *testing.T) {
	costs := map[string]Costs{}
	for _, key := range []string{RSA2048, P256} {
		c, err := Measure(key, 20)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %s (thread CPU %v): full %v, resumed %v, records %v", key, c.Version, c.ThreadCPU, c.Full, c.Resumed, c.Record)
		if !(c.Full > 0 && c.Resumed > 0 && c.Record >= 0 && c.Record < c.Resumed) || key == RSA2048 && c.Full <= c.Resumed {
			t.Errorf("%s: full %v, resumed %v, records %v", key, c.Full, c.Resumed, c.Record)
		}
		costs[key] = c
	}
	if costs[RSA2048].Full <= costs[P256].Full {
		t.Errorf("RSA-2048 full handshake %v, P-256 %v", costs[RSA2048].Full, costs[P256].Full)
	}
	if _, err := Measure("dsa", 1); err == nil {
		t.Error("an unknown key type measured")
	}
}
