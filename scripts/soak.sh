#!/usr/bin/env bash
# Soak test: `edgelab serve` on examples/soak.yaml (four backends crashing
# and recovering at random, mtbf 20 s, mttr 3 s) under steady load from
# `edgelab live --gateway` for SOAK_DURATION (10 minutes by default).
# Every SOAK_INTERVAL it samples the serve process's open file
# descriptors (/proc/PID/fd), goroutines (expvar on --debug-addr, loopback
# only) and resident memory (VmRSS), and at the end checks that:
#
#   - they stay flat: the last third's median under load is at most
#     1.5 × the first third's median plus a small slack (SOAK_SLACK_FD fds,
#     SOAK_SLACK_G goroutines, SOAK_SLACK_RSS_KB of RSS), so that a
#     leak per crash or per request shows while the noise of a crash
#     (a burst of reconnections) does not (run it on a quiet machine: a
#     machine busy elsewhere slows serve, requests pile up, and so do
#     connections and goroutines);
#   - every request was answered or counted as failed: the attacker sent
#     rate × duration requests (a constant arrival process, no warm-up)
#     and results.json has as many, ok + failed + rejected.
#
# Usage: scripts/soak.sh [bin/edgelab]   (needs curl and jq)
# Example: SOAK_DURATION=120s scripts/soak.sh bin/edgelab
set -euo pipefail
bin=${1:-bin/edgelab}
dur=${SOAK_DURATION:-600s}
interval=${SOAK_INTERVAL:-10}
gwport=${SOAK_PORT:-19188}
dbgport=${SOAK_DEBUG_PORT:-19189}
slack_fd=${SOAK_SLACK_FD:-32}
slack_g=${SOAK_SLACK_G:-64}
slack_rss=${SOAK_SLACK_RSS_KB:-16384}
scenario=examples/soak.yaml
for cmd in curl jq; do
	command -v "$cmd" >/dev/null || { echo "soak: $cmd not found" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "soak: $bin not built (make build)" >&2; exit 1; }
secs=${dur%s}
case $secs in '' | *[!0-9]*) echo "soak: SOAK_DURATION: want whole seconds like 600s, got $dur" >&2; exit 1 ;; esac

work=$(mktemp -d)
serve_pid=
cleanup() {
	[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# serve plays the crash timeline over its scenario's duration: make it
# outlast the load.
"$bin" serve "$scenario" --listen "127.0.0.1:$gwport" --debug-addr "127.0.0.1:$dbgport" \
	--set "duration=$((secs + 60))s" >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 50); do
	curl -fsS "http://127.0.0.1:$dbgport/debug/vars" >/dev/null 2>&1 && break
	sleep 0.2
done

sample() { # elapsed-seconds fds goroutines rss-kB
	local fds g rss
	fds=$(ls "/proc/$serve_pid/fd" | wc -l)
	g=$(curl -fsS "http://127.0.0.1:$dbgport/debug/vars" | jq .goroutines)
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status")
	echo "$1 $fds $g $rss"
}

echo "soak: serve pid $serve_pid on 127.0.0.1:$gwport, load for $dur, a sample every ${interval}s"
echo "t_s fds goroutines rss_kB" | tee "$work/samples"
sample 0 | tee -a "$work/samples"
"$bin" live "$scenario" --gateway "http://127.0.0.1:$gwport" --set "duration=${secs}s" --set warmup=0s \
	--out "$work/live" --json >"$work/results.json" 2>"$work/live.err" &
live_pid=$!
start=$(date +%s)
while kill -0 "$live_pid" 2>/dev/null; do
	sleep "$interval"
	kill -0 "$live_pid" 2>/dev/null || break
	sample $(($(date +%s) - start)) | tee -a "$work/samples"
done
live_rc=0
wait "$live_pid" || live_rc=$?
sample $(($(date +%s) - start)) | tee -a "$work/samples"
if [ "$live_rc" -ne 0 ]; then
	echo "soak: edgelab live failed ($live_rc):" >&2
	cat "$work/live.err" >&2
	exit 1
fi
kill -0 "$serve_pid" 2>/dev/null || { echo "soak: edgelab serve died:" >&2; cat "$work/serve.err" >&2; exit 1; }

fail=0
# Flatness: first third against last third of the samples taken under load.
awk -v sf="$slack_fd" -v sg="$slack_g" -v sr="$slack_rss" '
function median(v, m,    i, j, t) {
	for (i = 2; i <= m; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return m % 2 ? v[(m+1)/2] : (v[m/2] + v[m/2+1]) / 2
}
NR > 2 { n++; fd[n] = $2; g[n] = $3; rss[n] = $4 }
END {
	# The last sample is taken after the load stopped: what a leak would
	# keep. The others were taken under load.
	after[1] = fd[n]; after[2] = g[n]; after[3] = rss[n]; n--
	third = int(n / 3); if (third < 1) { print "soak: too few samples"; exit 1 }
	split("fds goroutines rss_kB", name, " "); split(sf " " sg " " sr, slack, " ")
	bad = 0
	# Medians, not maxima: a leak raises the whole last third, while a
	# burst of reconnections after a crash, or a spell when the machine is
	# busy elsewhere, raises a few samples and passes.
	for (k = 1; k <= 3; k++) {
		for (i = 1; i <= third; i++) a[i] = (k == 1 ? fd[i] : k == 2 ? g[i] : rss[i])
		first = median(a, third)
		for (i = 1; i <= third; i++) a[i] = (k == 1 ? fd[n-third+i] : k == 2 ? g[n-third+i] : rss[n-third+i])
		last = median(a, third)
		limit = 1.5 * first + slack[k]
		ok = last <= limit
		printf "soak: %-10s first third median %d, last third median %d, limit %d: %s\n", name[k], first, last, limit, ok ? "flat" : "GROWS"
		if (!ok) bad = 1
		# Shown, not judged: idle upstream connections outlive the load
		# for the idle timeout of the upstream pool (90 s).
		printf "soak: %-10s after the load stopped %d\n", name[k], after[k]
	}
	exit bad
}' "$work/samples" || fail=1

rate=$(jq '.runs[0].live.target_rps' "$work/results.json")
want=$(jq -n --argjson r "$rate" --argjson s "$secs" '$r * $s | round')
jq -r '.runs[0] | "soak: requests \(.requests), ok \(.ok), failed \(.failed), rejected \(.rejected); outcomes \(.outcomes | tostring)"' "$work/results.json"
jq -r '.runs[0].live | "soak: target \(.target_rps) req/s, achieved \(.achieved_rps) req/s, send lag p99 \(.send_lag_ms.p99) ms"' "$work/results.json"
if ! jq -e --argjson w "$want" '.runs[0] | .requests == $w and .ok + .failed + .rejected == .requests' "$work/results.json" >/dev/null; then
	echo "soak: requests do not add up: want $want sent, each ok, failed or rejected" >&2
	fail=1
fi
crashes=$(grep -c "crash" "$work/serve.err" || true)
echo "soak: serve logged $crashes lines about crashes"
[ "$fail" -eq 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit "$fail"
