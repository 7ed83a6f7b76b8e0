// Package experiment runs a scenario many times: sweeps over a range (or
// a grid) of values of numeric keys, capacity searches for the smallest
// value meeting a service-level objective (with N+k tolerance and the
// fleet's monthly cost), and the shards that split either over several
// machines, with the merge that combines the shards into exactly what the
// unsharded run gives.
//
// Values are applied to the scenario as "--set key=value" overrides
// through a Loader; each point is one sim.Run. The outputs are the
// reports package's types, which are also the files' formats:
// reports.SweepReport is sweep.json, reports.CapacityReport is
// capacity.json, and ShardFile is sweep.shard-k-of-N.json and
// capacity.shard-k-of-N.json.
package experiment
