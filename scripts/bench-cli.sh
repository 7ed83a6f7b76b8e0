#!/usr/bin/env bash
# Whole-process benchmark of the simulator (docs/performance.md).
#
# Runs examples/bench-bare.yaml (100 single-worker FIFO servers, random
# routing, Poisson arrivals, exponential service, ρ = 0.9, 5 million
# requests) through the real CLI binary RUNS times and prints simulated
# requests per second of wall time (best and median: this machine's timing
# is noisy), then a 10× longer run to compare peak memory (RSS).
set -euo pipefail
bin=${1:-bin/edgelab}
runs=${RUNS:-5}
scenario=examples/bench-bare.yaml
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

once() { # prints "wall_s rss_kb requests"
	/usr/bin/time -f '%e %M' -o "$out/time" "$bin" run "$scenario" --out "$out/r" --json "$@" >"$out/results.json"
	read -r wall rss <"$out/time"
	echo "$wall $rss $(grep -m1 '"requests"' "$out/results.json" | tr -dc '0-9')"
}

echo "machine: $(nproc) cores, $(go version | awk '{print $3}'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for i in $(seq "$runs"); do once; done >"$out/runs"
sort -n "$out/runs" | awk -v n="$runs" '
	{ wall[NR] = $1; rss = ($2 > rss ? $2 : rss); reqs = $3 }
	END {
		med = wall[int((n + 1) / 2)]
		printf "5M requests x %d runs: best %.2f s (%.2f M req/s), median %.2f s (%.2f M req/s), max RSS %.1f MiB\n",
			n, wall[1], reqs / wall[1] / 1e6, med, reqs / med / 1e6, rss / 1024
	}'
read -r wall rss reqs < <(once --set duration=5560s)
awk -v w="$wall" -v m="$rss" -v r="$reqs" \
	'BEGIN { printf "50M requests x 1 run:  %.2f s (%.2f M req/s), max RSS %.1f MiB\n", w, r / w / 1e6, m / 1024 }'
