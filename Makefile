# edgelab — build, test, benchmark and demo targets.
GO      ?= go
BIN     ?= bin/edgelab
FUZZTIME ?= 60s

.PHONY: all build test test-short vet lint fuzz bench bench-cli demo clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/edgelab

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }

# staticcheck, pinned (run by CI after the tests).
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# The README's test command: vet, unit and theory tests, every example.
test: vet
	$(GO) test -count=1 ./...

# Fuzz the scenario loader (a minute by default).
fuzz:
	$(GO) test ./workloads -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

# Go benchmarks (engine, strategies, simulator) plus the whole-CLI run.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./engine ./strategies ./sim
	./scripts/bench-cli.sh $(BIN)

demo: build
	./$(BIN) run

clean:
	rm -rf bin out
