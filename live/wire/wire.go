// Package wire is the protocol between live mode's attacker, gateway and
// backends: a few HTTP headers, and how their values are written and read.
//
// The pieces talk through these headers so that live runs can be compared
// with simulated ones request by request: the attacker draws each
// request's service demand, key and client from the simulator's random
// streams and sends them along; the proxy passes them on, numbering its
// attempts; the backend honours them and reports its load back.
package wire

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgelab/edgelab/strategies"
)

// Request headers, set by the attacker (and the proxy for Attempt).
const (
	// HeaderSeq is the request's serial number, 1-based, as the simulator
	// numbers requests (warm-up included). Backends draw their error dice
	// from (seq, attempt) like the simulator does.
	HeaderSeq = "X-Edgelab-Seq"
	// HeaderDemand lists the request's service demand at speed 1, one
	// value per server group in scenario order, in nanoseconds, separated
	// by commas ("20000000,3500000"). A backend uses its own group's value.
	HeaderDemand = "X-Edgelab-Demand"
	// HeaderKey is the request's key (decimal), read by hashing
	// strategies, affinity and the cache.
	HeaderKey = "X-Edgelab-Key"
	// HeaderClient is the request's client identity (decimal), read by
	// ip-hash, affinity, flow-hash and per-client rate limits.
	HeaderClient = "X-Edgelab-Client"
	// HeaderAttempt is the attempt number the proxy sets on each upstream
	// try: 0 for the first, 1.. for retries and hedges. Backends draw a
	// fresh demand for attempts after the first, as the simulator does.
	HeaderAttempt = "X-Edgelab-Attempt"
)

// Response headers.
const (
	// HeaderOutcome names a failed or rejected answer's outcome with the
	// results.json outcome names (error_5xx, timeout, queue_full,
	// no_upstream, connect_failure, rate_limited, auth_rejected). The
	// component that decided the outcome sets it; the proxy keeps a
	// backend's value and sets its own for what it decides.
	HeaderOutcome = "X-Edgelab-Outcome"
	// HeaderServer is the id of the backend instance that answered
	// ("web-0").
	HeaderServer = "X-Edgelab-Server"
	// HeaderAttempts is the number of upstream attempts the proxy made for
	// the request (retries and hedges included).
	HeaderAttempts = "X-Edgelab-Attempts"
	// HeaderInFlight, HeaderUtilization and HeaderServiceTime are the
	// backend's load signal at the moment it answered (strategies.Signal):
	// requests queued or in service, busy workers / concurrency, and its
	// recent mean service time in nanoseconds.
	HeaderInFlight    = "X-Edgelab-Inflight"
	HeaderUtilization = "X-Edgelab-Utilization"
	HeaderServiceTime = "X-Edgelab-Service-Time"
	// HeaderWork is the demand a backend served for the answer (ns at
	// speed 1) and HeaderUpstreamTime how long the answer took there, from
	// the request's arrival (queueing included, ns): what access logs
	// record as the service time and the upstream time.
	HeaderWork         = "X-Edgelab-Work"
	HeaderUpstreamTime = "X-Edgelab-Upstream-Time"
	// HeaderCache is CacheHit or CacheMiss on answers that passed a cache
	// stage.
	HeaderCache = "X-Edgelab-Cache"
)

// The values of HeaderCache.
const (
	// CacheHit marks an answer the cache stage served.
	CacheHit = "hit"
	// CacheMiss marks an answer that went upstream through a cache stage.
	CacheMiss = "miss"
)

// Numbers: HeaderSeq, HeaderKey, HeaderClient, HeaderAttempt and
// HeaderAttempts carry non-negative decimal integers.

// AppendNumber appends v in decimal to b.
func AppendNumber(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }

// FormatNumber is v in decimal.
func FormatNumber(v uint64) string { return strconv.FormatUint(v, 10) }

// ParseNumber reads a number of at most bits bits, strictly: decimal
// digits only.
func ParseNumber(s string, bits int) (uint64, error) { return strconv.ParseUint(s, 10, bits) }

// Number reads a number leniently, as the proxy reads HeaderKey and
// HeaderClient for its balancer: surrounding spaces are ignored, and an
// absent or malformed value is 0.
func Number(s string) uint64 {
	if s == "" {
		return 0
	}
	v, _ := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	return v
}

// ParseAttempts reads HeaderAttempts as the attacker does: a decimal
// (signed) integer that must not be negative.
func ParseAttempts(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// AppendDemand appends HeaderDemand's value to b: the demand of every
// server group, in nanoseconds, separated by commas.
func AppendDemand(b []byte, demand []time.Duration) []byte {
	for g, v := range demand {
		if g > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return b
}

// GroupDemand returns value gi of a demand header ("20000000,3500000", ns
// at speed 1, one per server group); ok is false when the header is absent.
func GroupDemand(h string, gi int) (float64, bool, error) {
	if h == "" {
		return 0, false, nil
	}
	rest := h
	var v string
	for k := 0; k <= gi; k++ {
		var found bool
		v, rest, found = strings.Cut(rest, ",")
		if !found && k < gi {
			return 0, false, fmt.Errorf("bad %s %q: no value for server group %d", HeaderDemand, h, gi)
		}
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
		return 0, false, fmt.Errorf("bad %s %q: want nanoseconds, one non-negative number per server group", HeaderDemand, h)
	}
	return d, true, nil
}

// SetSignal writes a backend's load signal into its answer's headers.
func SetSignal(h http.Header, sig strategies.Signal) {
	h.Set(HeaderInFlight, strconv.Itoa(sig.InFlight))
	h.Set(HeaderUtilization, strconv.FormatFloat(sig.Utilization, 'g', -1, 64))
	h.Set(HeaderServiceTime, strconv.FormatInt(int64(sig.ServiceTime), 10))
}

// ParseSignal reads the load-signal headers of an answer; ok is false when
// none holds a valid value (a negative, NaN or infinite one is ignored).
func ParseSignal(h http.Header) (sig strategies.Signal, ok bool) {
	if v := h.Get(HeaderInFlight); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
			sig.InFlight, ok = n, true
		}
	}
	if v := h.Get(HeaderUtilization); v != "" {
		if u, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && u >= 0 && !math.IsInf(u, 0) {
			sig.Utilization, ok = u, true
		}
	}
	if v := h.Get(HeaderServiceTime); v != "" {
		if ns, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && ns >= 0 {
			sig.ServiceTime, ok = time.Duration(ns), true
		}
	}
	return sig, ok
}
