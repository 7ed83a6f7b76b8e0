# edgelab — build, test, benchmark and demo targets.
GO      ?= go
BIN     ?= bin/edgelab
FUZZTIME ?= 60s
SOAK_DURATION ?= 600s

.PHONY: all assets build test test-short vet lint fuzz soak bench bench-cli bench-live demo screenshot clean

# Apache ECharts, inlined into every report.html so that it opens offline.
# `make assets` fetches the npm tarball once, checks it against npm's
# dist.integrity pinned here (npm view echarts@$(ECHARTS_VERSION)
# dist.integrity) and extracts dist/echarts.min.js to reports/assets/
# (git-ignored), which reports/html.go embeds in the binary.
ECHARTS_VERSION   := 5.6.0
ECHARTS_INTEGRITY := sha512-oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFmHGCBKP5NPFNkDVopOieyUqYGH8Fa3kA==
ECHARTS_DIR       := reports/assets

all: build

assets:
	@if [ -f $(ECHARTS_DIR)/echarts.min.js ] && \
	    [ "$$(cat $(ECHARTS_DIR)/echarts.version 2>/dev/null)" = "$(ECHARTS_VERSION) $(ECHARTS_INTEGRITY)" ]; then exit 0; fi; \
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "fetching echarts $(ECHARTS_VERSION) from npm"; \
	npm pack --silent --pack-destination "$$tmp" echarts@$(ECHARTS_VERSION) >/dev/null; \
	tgz="$$tmp/echarts-$(ECHARTS_VERSION).tgz"; \
	got=$$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$$tgz"); \
	if [ "$$got" != "$(ECHARTS_INTEGRITY)" ]; then \
	    echo "echarts $(ECHARTS_VERSION): integrity mismatch: got $$got, want $(ECHARTS_INTEGRITY)" >&2; exit 1; fi; \
	tar -xzf "$$tgz" -C "$$tmp" package/dist/echarts.min.js; \
	cp "$$tmp/package/dist/echarts.min.js" $(ECHARTS_DIR)/.echarts.min.js.tmp; \
	mv $(ECHARTS_DIR)/.echarts.min.js.tmp $(ECHARTS_DIR)/echarts.min.js; \
	echo "$(ECHARTS_VERSION) $(ECHARTS_INTEGRITY)" > $(ECHARTS_DIR)/echarts.version

build: assets
	$(GO) build -o $(BIN) ./cmd/edgelab

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }

# staticcheck, pinned (run by CI after the tests).
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# The README's test command: vet, unit and theory tests, every example,
# live mode's loopback tests again under the race detector, then live mode
# against the simulator alone on the machine (its timing must not compete
# with the other packages' tests).
test: assets vet
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./live/...
	EDGELAB_AGREEMENT=1 $(GO) test -count=1 -run Agrees ./live

# Fuzz the scenario loader and the gateway's upstream client against
# hostile backends (a minute each by default).
fuzz:
	$(GO) test ./workloads -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./live/gateway -run '^$$' -fuzz FuzzUpstreamClient -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

# Soak: edgelab serve under crashing backends and steady load, checking
# that its fds, goroutines and memory stay flat (10 minutes; SOAK_DURATION
# shortens it, e.g. make soak SOAK_DURATION=120s). Not part of make test.
soak: build
	SOAK_DURATION=$(SOAK_DURATION) ./scripts/soak.sh $(BIN)

# Go benchmarks (engine, strategies, simulator) plus the whole-CLI run.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./engine ./strategies ./sim ./live/...
	./scripts/bench-cli.sh $(BIN)

# edgelab's gateway proxy against nginx in front of the same backends
# (needs nginx: apt-get install nginx-light); docs/performance.md.
bench-live: build
	./scripts/bench-live.sh $(BIN)

demo: build
	./$(BIN) run

# docs/report.png, the README's picture of a report (needs chromium).
screenshot: build
	./scripts/screenshot.sh $(BIN)

clean:
	rm -rf bin out
