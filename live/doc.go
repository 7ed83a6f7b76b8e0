// Package live runs a scenario for real: emulated HTTP backends on
// loopback (or the user's own servers), a gateway reverse proxy that
// balances with the same strategies package the simulator uses, an
// optional L4 TCP balancer in front of several gateway instances, and a
// vegeta attacker generating the scenario's load.
//
// The pieces live in sub-packages along their process boundaries:
// backend (the emulated fleet), gateway (the gateway instance, its reverse
// proxy and stages), l4 (the TCP balancer) and attack (the attacker). They
// talk through a few HTTP headers, package wire, so that live runs can be
// compared with simulated ones request by request. This package ties them
// together: Run, Serve, Check and the sampler.
package live
