// Package plan turns a validated scenario into the components that both
// worlds build: the simulator (package sim) on virtual time and live mode
// (package live) on real sockets. Whatever the two must agree on is
// decided here, once:
//
//   - which strategies a run compares (Strategies) and whether their names
//     and parameters are known (Check);
//   - the server instances, their ids, groups, weights and speeds
//     (Servers), and the gateway instances' ids (GatewayID);
//   - the upstream pools of every gateway instance, with their random
//     stream names (Pools), and each pool's balancer with health checking,
//     slow start, panic threshold, stale load and affinity (NewPool);
//   - the L4 balancer over gateway instances (NewL4), the gateway's rate
//     limiters (Limiters) and the client's retry budget (RetryBudget);
//   - the failure plan: every failure window of every instance (Failures,
//     Windows) and the state machine a failed server is in (Condition);
//   - how a request ends (Outcome) and which outcomes a retry policy sends
//     again (RetryPolicy, from clients.retries.on).
//
// The worlds differ in how they carry these out — events on a clock or
// goroutines and sockets — not in what they carry out. Arrows point one
// way: plan imports strategies, workloads, reports and engine; sim and
// live import plan; plan imports neither.
package plan
