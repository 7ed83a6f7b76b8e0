// Package live runs a scenario for real: emulated HTTP backends on
// loopback (or the user's own servers), a gateway reverse proxy that
// balances with the same strategies package the simulator uses, an
// optional L4 TCP balancer in front of several gateway instances, and a
// vegeta attacker generating the scenario's load.
//
// The pieces talk through a few HTTP headers so that live runs can be
// compared with simulated ones request by request: the attacker draws each
// request's service demand, key and client from the simulator's random
// streams and sends them along; the proxy passes them on, numbering its
// attempts; the backend honours them and reports its load back.
package live

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
	// HeaderCache is "hit" or "miss" on answers that passed a cache stage.
	HeaderCache = "X-Edgelab-Cache"
)
