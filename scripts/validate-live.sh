#!/usr/bin/env bash
# Live mode against the simulator (docs/validation.md): runs
# examples/live-quickstart.yaml live with --compare, once as it is and once
# with web-0 crashing for 6 s, and prints the comparison as Markdown tables.
# Run it on a quiet machine: live latencies include whatever else the CPU
# is doing.
#
# Usage: scripts/validate-live.sh [bin/edgelab]
set -euo pipefail
bin=${1:-bin/edgelab}
scenario=examples/live-quickstart.yaml
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

table() { # results.json title
	python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); sim = {x["strategy"]: x for x in r["compare"]["runs"]}
print(f"\n### {sys.argv[2]}\n")
print("| strategy | metric | sim | live | difference |")
print("| --- | --- | ---: | ---: | ---: |")
for run in r["runs"]:
    s = sim[run["strategy"]]
    def row(name, sv, lv, points=False):
        d = f"{lv - sv:+.2f} pts" if points else (f"{100 * (lv - sv) / sv:+.1f}%" if sv else "—")
        print(f"| {run['strategy']} | {name} | {sv:.2f} | {lv:.2f} | {d} |")
    row("throughput (req/s)", s["throughput_rps"], run["throughput_rps"])
    row("failed (%)", 100 * s["failed"] / s["requests"], 100 * run["failed"] / run["requests"], True)
    for k in ["mean", "p50", "p90", "p99", "p999"]:
        row(f"{k} (ms)", s["latency_ms"][k], run["latency_ms"][k])
    print(f"| {run['strategy']} | send lag p99 (ms) | | {run['live']['send_lag_ms']['p99']:.2f} | |")
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d)"
"$bin" live "$scenario" --compare --json --out "$out/ok" >"$out/ok.json"
table "$out/ok.json" "No failures: $scenario"
"$bin" live "$scenario" --compare --json --out "$out/crash" \
	--set 'servers[0].failures=[{kind: crash, at: 10500ms, for: 6s, instances: [0]}]' >"$out/crash.json"
table "$out/crash.json" "web-0 crashed from 10.5 s to 16.5 s (--set 'servers[0].failures=[{kind: crash, at: 10500ms, for: 6s, instances: [0]}]')"
