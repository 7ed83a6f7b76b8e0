#!/usr/bin/env bash
# Live benchmark: edgelab's gateway proxy against nginx (Debian package) as
# the gateway in front of the same emulated backends, under the same vegeta
# load, in one run on this machine (docs/performance.md, "Live mode").
#
# Both gateways run in a process of their own (edgelab's with `edgelab
# serve`), and the same `edgelab live --gateway` process sends the load and
# runs the emulated backends, so the two differ only by the gateway.
# The rate climbs through RATES (for each gateway until 10% fail), the two
# gateways taking turns at each step; a step is sustained when vegeta
# achieved at least 95% of the target rate with fewer than 1% of requests
# failed, and a gateway's result is the highest step below the first one
# it did not sustain. The script also reports the highest step, below the
# first miss, that kept p99 under 200 ms as well (a 2 s client timeout
# lets a saturated gateway queue for seconds without failing). The added latency
# of a gateway is its p50/p99 minus the simulator's for the same requests (the simulator has no network, no proxy
# and exact timers, and sees the very same arrival times and demands), at
# the lowest rate.
#
# Usage: scripts/bench-live.sh [bin/edgelab]   (needs nginx: apt-get install nginx-light)
set -euo pipefail
bin=${1:-bin/edgelab}
rates=${RATES:-"500 1000 2000 3000 4000 5000 6000 6500 7000 7500 8000 9000 10000 12000"}
dur=${DUR:-6s}
port=${BACKEND_PORT:-19101}
gwport=${GATEWAY_PORT:-19088}
edgeport=${EDGE_PORT:-19089}
# edgelab's gateway runs on one OS thread by default (GOMAXPROCS=1, like
# Envoy's --concurrency 1): on a 2-core machine shared with the attacker
# and the backends, two threads tipped it into saturation near 5000 req/s
# (docs/performance.md).
serve_procs=${SERVE_PROCS:-1}
scenario=examples/bench-live.yaml
command -v nginx >/dev/null || { echo "bench-live: nginx not found (apt-get install nginx-light)" >&2; exit 1; }
work=$(mktemp -d)
nginx_pid=
edge_pid=
cleanup() {
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
	[ -n "$edge_pid" ] && kill "$edge_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

n=$(awk '/count:/ {print $2; exit}' "$scenario")
mkdir -p "$work/nginx/logs"
{
	echo "worker_processes auto; pid $work/nginx/nginx.pid; error_log $work/nginx/logs/error.log warn;"
	echo "events { worker_connections 16384; }"
	echo "http {"
	echo "  access_log off;"
	echo "  upstream backends {"
	for i in $(seq 0 $((n - 1))); do echo "    server 127.0.0.1:$((port + i)) max_fails=0;"; done
	echo "    keepalive 256;"
	echo "  }"
	echo "  server {"
	echo "    listen 127.0.0.1:$gwport;"
	echo "    location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"
	echo "  }"
	echo "}"
} >"$work/nginx/nginx.conf"
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
backends=()
for i in $(seq 0 $((n - 1))); do backends+=(--backend "http://127.0.0.1:$((port + i))"); done
GOMAXPROCS=$serve_procs "$bin" serve "$scenario" --listen "127.0.0.1:$edgeport" "${backends[@]}" >"$work/serve.log" 2>&1 &
edge_pid=$!
sleep 0.5

# step GATEWAY RATE → "rate achieved failed_fraction failed% p50 p99 added_p50 added_p99"
step() {
	local gw=$1 rate=$2 gp=$gwport
	[ "$gw" = edgelab ] && gp=$edgeport
	"$bin" live "$scenario" --gateway "http://127.0.0.1:$gp" --backend-port "$port" --compare --json --out "$work/out-$gw-$rate" \
		--set "clients.arrival.rate=$rate" --set "duration=$dur" 2>"$work/err-$gw-$rate" >"$work/$gw-$rate.json"
	python3 - "$work/$gw-$rate.json" "$rate" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); run = r["runs"][0]; sim = r["compare"]["runs"][0]
failed = run["failed"] / max(run["requests"], 1)
l = run["latency_ms"]; sl = sim["latency_ms"]
print(sys.argv[2], round(run["live"]["achieved_rps"]), round(failed, 5), 100 * failed, l["p50"], l["p99"],
      round(l["p50"] - sl["p50"], 2), round(l["p99"] - sl["p99"], 2))
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nginx -v 2>&1)"
printf '%-8s %8s %10s %9s %9s %9s %12s %12s\n' gateway rate achieved failed% p50_ms p99_ms added_p50 added_p99
# The two gateways take turns at each rate (the first alternating), so
# that both meet the machine in the same state: on a shared 2-core VM its
# speed drifts over minutes, and a gateway measured a few minutes after
# the other can gain or lose a rate step to the drift alone.
ref=${REF_RATE:-1000} # the rate at which the added latencies are compared
declare -A best bestp99 stopped missed missedp99 refp50 refp99
gws=(edgelab nginx)
k=0
for rate in $rates; do
	order=("${gws[@]}")
	[ $((k % 2)) -eq 1 ] && order=(nginx edgelab)
	k=$((k + 1))
	for gw in "${order[@]}"; do
		[ -n "${stopped[$gw]:-}" ] && continue
		read -r r ach failed pct p50 p99 ap50 ap99 < <(step "$gw" "$rate")
		printf '%-8s %8s %10.0f %9.3f %9.2f %9.2f %12.2f %12.2f\n' "$gw" "$r" "$ach" "$pct" "$p50" "$p99" "$ap50" "$ap99"
		[ "$rate" = "$ref" ] && refp50[$gw]=$ap50 refp99[$gw]=$ap99
		# A gateway's rate is the highest step below its first miss (a
		# later step that passes by luck does not count).
		if awk -v a="$ach" -v t="$rate" -v f="$failed" 'BEGIN { exit !(a >= 0.95 * t && f < 0.01) }'; then
			[ -z "${missed[$gw]:-}" ] && best[$gw]=$rate
			if awk -v p="$p99" 'BEGIN { exit !(p < 200) }'; then
				[ -z "${missedp99[$gw]:-}" ] && bestp99[$gw]=$rate
			else
				missedp99[$gw]=1
			fi
		else
			missed[$gw]=1 missedp99[$gw]=1
		fi
		# Far past saturation: this gateway is done.
		awk -v f="$failed" 'BEGIN { exit !(f >= 0.10) }' && stopped[$gw]=1
	done
	[ -n "${stopped[edgelab]:-}" ] && [ -n "${stopped[nginx]:-}" ] && break
done
for gw in "${gws[@]}"; do
	echo "$gw: highest rate with < 1% failed and ≥ 95% of the target achieved: ${best[$gw]:-0} req/s; also with p99 < 200 ms: ${bestp99[$gw]:-0} req/s"
done
awk -v e="${best[edgelab]:-0}" -v n="${best[nginx]:-0}" -v e2="${bestp99[edgelab]:-0}" -v n2="${bestp99[nginx]:-0}" \
	-v ref="$ref" -v e50="${refp50[edgelab]:-}" -v n50="${refp50[nginx]:-}" -v e99="${refp99[edgelab]:-}" -v n99="${refp99[nginx]:-}" 'BEGIN {
	if (n > 0) printf "edgelab/nginx highest rate: %.2fx (target >= 0.7x)", e / n
	if (n2 > 0) printf "; with p99 < 200 ms too: %.2fx", e2 / n2
	print ""
	if (e99 != "" && n99 != "" && n99 > 0)
		printf "added latency at %d req/s, edgelab vs nginx: p50 %.2f vs %.2f ms, p99 %.2f vs %.2f ms (%.2fx, target <= 2x)\n", ref, e50, n50, e99, n99, e99 / n99
}'
