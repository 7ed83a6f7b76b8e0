#!/usr/bin/env bash
# Renders docs/report.png, the README's picture of an HTML report, with the
# project's own tooling: runs examples/failing-server.yaml (5 replications) with two
# strategies and photographs the report.html it writes in headless
# Chromium (apt-get install chromium), offline, 1280×2000 pixels.
#
#   scripts/screenshot.sh [BIN] [OUT.png]      (make screenshot)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/edgelab}
png=${2:-docs/report.png}
chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chromium" ]; then
	echo "screenshot.sh: needs Chromium (apt-get install chromium)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" run examples/failing-server.yaml --strategy round-robin,least-request --set replications=5 --out "$tmp/run" >/dev/null
"$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-quic \
	--no-first-run --disable-component-update --disable-sync --disable-dev-shm-usage \
	--user-data-dir="$tmp/profile" --proxy-server=127.0.0.1:9 --hide-scrollbars \
	--virtual-time-budget=15000 --window-size=1280,2000 --screenshot="$tmp/report.png" \
	"file://$tmp/run/report.html" 2>"$tmp/chromium.log" || {
	cat "$tmp/chromium.log" >&2
	exit 1
}
mv "$tmp/report.png" "$png"
kb=$(( $(wc -c <"$png") / 1024 ))
echo "wrote $png (${kb} KB)"
if [ "$kb" -ge 600 ]; then
	echo "screenshot.sh: $png is ${kb} KB, over the 600 KB budget" >&2
	exit 1
fi
