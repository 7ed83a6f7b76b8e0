#!/usr/bin/env bash
# Whole-process benchmark of the simulator (docs/performance.md).
#
# Runs examples/bench-bare.yaml (100 single-worker FIFO servers, random
# routing, Poisson arrivals, exponential service, ρ = 0.9, 5 million
# requests) through the real CLI binary three times and prints simulated
# requests per second of wall time, then a 10× longer run to compare peak
# memory (RSS).
set -euo pipefail
bin=${1:-bin/edgelab}
scenario=examples/bench-bare.yaml
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

measure() { # args: label, extra flags...
	local label=$1
	shift
	/usr/bin/time -f '%e %M' -o "$out/time" "$bin" run "$scenario" --out "$out/r" --json "$@" >"$out/results.json"
	read -r wall rss <"$out/time"
	local reqs
	reqs=$(grep -m1 '"requests"' "$out/results.json" | tr -dc '0-9')
	# Requests simulated includes the (zero) warm-up: measured ones suffice.
	awk -v l="$label" -v r="$reqs" -v w="$wall" -v m="$rss" \
		'BEGIN { printf "%-10s %10d requests  %6.2f s  %5.2f M req/s  max RSS %6.1f MiB\n", l, r, w, r / w / 1e6, m / 1024 }'
}

echo "machine: $(nproc) cores, $(go version | awk '{print $3}')"
for i in 1 2 3; do measure "5M #$i"; done
measure "50M" --set duration=5560s
