# tickwire — make run starts a server with embedded defaults; make test runs the whole suite.
GO        ?= go
NPM       ?= npm
NODE      ?= node
WEB       := web
# NODE20 succeeds when $(NODE) is Node 20 or later, which the SDK's build needs.
NODE20    := $(NODE) -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)'
GOLANGCI_VERSION := v2.15.0
GOLANGCI  ?= $(shell $(GO) env GOPATH)/bin/golangci-lint
FUZZTIME  ?= 3s
BIN       := bin

.PHONY: all build run run-tls test web web-check web-test bench microbench fuzz lint lint-tools clean

all: build

## build: the binaries in bin/, with the browser SDK and demo page rebuilt first when Node is
## here (else the committed web/dist is embedded as it is)
build:
	@if command -v $(NPM) >/dev/null 2>&1 && $(NODE20) 2>/dev/null; then \
		$(MAKE) --no-print-directory web; \
	else \
		echo "build: no npm with Node >= 20 here: embedding the committed web/dist as it is"; \
	fi
	$(GO) build -o $(BIN)/tickwire ./cmd/tickwire
	$(GO) build -o $(BIN)/tickbench ./cmd/tickbench
	$(GO) build -o $(BIN)/tickctl ./cmd/tickctl

## run: build and start the server (KCP udp/7777, TCP 7778, WebRTC udp/7779, HTTP 7780 with the demo page at /, WebSocket and long-poll, SQLite in ./data)
run: build
	./$(BIN)/tickwire

## run-tls: the same over TLS with a self-signed development certificate kept in ./data (HTTPS and WSS on 7780, TCP over TLS on 7778; the log prints the certificate's file and fingerprint, docs/TLS.md)
run-tls: build
	./$(BIN)/tickwire -tls-self-signed

## test: the whole Go suite under the race detector (its browser tests need Chromium), then the
## SDK's unit tests under Node
test:
	$(GO) test -race -count=1 -timeout 40m ./...
	@$(MAKE) --no-print-directory web-test

## web: build the browser SDK and demo page into web/dist (committed; needs Node >= 20)
web: $(WEB)/node_modules
	@$(NODE20) || { echo "web: Node >= 20 needed, found $$($(NODE) --version)" >&2; exit 1; }
	cd $(WEB) && $(NPM) run build

## web-check: fail if the committed web/dist is not what the sources build to
web-check: $(WEB)/node_modules
	cd $(WEB) && $(NODE) build.mjs --check

## web-test: the SDK's unit tests (Node's test runner)
web-test: $(WEB)/node_modules
	cd $(WEB) && $(NPM) test

# The SDK's dependencies, exactly as locked: installed when missing or
# older than the lockfile (npm ci starts from an empty node_modules).
$(WEB)/node_modules: $(WEB)/package-lock.json
	cd $(WEB) && $(NPM) ci
	@touch $@

## bench: the standard latency matrix (echo at 0/1/5/15% loss + a room run); JSON + HTML in bench/results
bench:
	$(GO) run ./cmd/tickbench matrix --out bench/results

## microbench: every go test benchmark, 6 runs each, in a form benchstat compares
microbench:
	mkdir -p bench/results
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./... | tee bench/results/micro.txt

## fuzz: every fuzz target for FUZZTIME each
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		dir=$$(dirname $$f); \
		for name in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
			echo "== $$dir $$name"; \
			$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) ./$$dir; \
		done; \
	done

## lint: gofmt, go vet and golangci-lint (depguard encodes the import rules; see .golangci.yml)
lint: $(GOLANGCI)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI) run --allow-serial-runners ./... # serialized: several checkouts may lint on one machine

## lint-tools: install the pinned golangci-lint (.ci/run does it too)
lint-tools $(GOLANGCI):
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

clean:
	rm -rf $(BIN)
