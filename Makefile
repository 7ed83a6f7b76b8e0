# edgelab — build, test, benchmark and demo targets.
GO      ?= go
BIN     ?= bin/edgelab
FUZZTIME ?= 60s
SOAK_DURATION ?= 600s

.PHONY: all assets build test test-short vet lint fuzz soak bench bench-cli bench-live demo screenshot clean

# Apache ECharts, inlined into every report.html so that it opens offline.
# reports/assets/echarts.min.js is committed (with ECharts' LICENSE and
# NOTICE beside it), so a plain `go build` or `go install` gives a binary
# that writes reports, and nothing is fetched to build or test.
# reports.TestEChartsIsThePinnedRelease checks the file against
# ECHARTS_JS_SHA512. `make assets` refreshes it: it fetches the npm tarball,
# checks it against npm's dist.integrity pinned here (npm view
# echarts@$(ECHARTS_VERSION) dist.integrity), extracts dist/echarts.min.js,
# LICENSE and NOTICE, and fails unless the file matches ECHARTS_JS_SHA512
# (update both pins, and the test's, to move to another release).
ECHARTS_VERSION   := 5.6.0
ECHARTS_INTEGRITY := sha512-oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFmHGCBKP5NPFNkDVopOieyUqYGH8Fa3kA==
ECHARTS_JS_SHA512 := 5d299b5f79a1ac3da2c797d73d34506f61702b6dac44c5504e904fd9a73c857ec387feb4e610364037a0556880bd93e25c8c4e57409b9265231a2a270e96c29b
ECHARTS_DIR       := reports/assets

all: build

assets:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "fetching echarts $(ECHARTS_VERSION) from npm"; \
	npm pack --silent --pack-destination "$$tmp" echarts@$(ECHARTS_VERSION) >/dev/null; \
	tgz="$$tmp/echarts-$(ECHARTS_VERSION).tgz"; \
	got=$$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$$tgz"); \
	if [ "$$got" != "$(ECHARTS_INTEGRITY)" ]; then \
	    echo "echarts $(ECHARTS_VERSION): integrity mismatch: got $$got, want $(ECHARTS_INTEGRITY)" >&2; exit 1; fi; \
	tar -xzf "$$tgz" -C "$$tmp" package/dist/echarts.min.js package/LICENSE package/NOTICE; \
	js=$$(sha512sum "$$tmp/package/dist/echarts.min.js" | cut -d' ' -f1); \
	if [ "$$js" != "$(ECHARTS_JS_SHA512)" ]; then \
	    echo "echarts.min.js: sha512 $$js, want $(ECHARTS_JS_SHA512)" >&2; exit 1; fi; \
	cp "$$tmp/package/dist/echarts.min.js" $(ECHARTS_DIR)/echarts.min.js; \
	cp "$$tmp/package/LICENSE" $(ECHARTS_DIR)/ECHARTS-LICENSE; \
	cp "$$tmp/package/NOTICE" $(ECHARTS_DIR)/ECHARTS-NOTICE; \
	echo "$(ECHARTS_VERSION) $(ECHARTS_INTEGRITY)" > $(ECHARTS_DIR)/echarts.version; \
	echo "reports/assets: echarts $(ECHARTS_VERSION) refreshed"

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/edgelab

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }

# staticcheck, pinned (run by CI after the tests).
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# The README's test command: vet, unit and theory tests, every example,
# live mode's loopback tests again under the race detector, then live mode
# against the simulator alone on the machine (its timing must not compete
# with the other packages' tests), then the real nginx and HAProxy against
# the simulation's presets (those installed; EDGELAB_REAL_GATEWAYS=1, as
# CI sets, requires both).
test: vet
	EDGELAB_REAL_GATEWAYS= $(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./live/...
	EDGELAB_AGREEMENT=1 $(GO) test -count=1 -run 'Agrees|LiveLog' ./live
	EDGELAB_REAL_GATEWAYS=$${EDGELAB_REAL_GATEWAYS:-auto} $(GO) test -count=1 -run Real ./configs

# Fuzz the scenario loader, the results reader (edgelab report), the
# gateway's upstream client against hostile backends and the access-log
# reader (a minute each by default).
# scripts/fuzz.sh retries a target once when Go 1.26's coordinator stops
# it on its own deadline race with no failing input (go.dev/issue/75804).
fuzz:
	GO=$(GO) ./scripts/fuzz.sh ./workloads FuzzParse $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./live/gateway FuzzUpstreamClient $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./reports FuzzReadResults $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh ./traces FuzzReadLog $(FUZZTIME)

# Soak: edgelab serve under crashing backends and steady load, checking
# that its fds, goroutines and memory stay flat (10 minutes; SOAK_DURATION
# shortens it, e.g. make soak SOAK_DURATION=120s). Not part of make test.
soak: build
	SOAK_DURATION=$(SOAK_DURATION) ./scripts/soak.sh $(BIN)

# Go benchmarks (engine, strategies, simulator, access logs) plus the whole-CLI run.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./engine ./strategies ./sim ./traces ./live/...
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
