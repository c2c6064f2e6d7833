# tickwire — make run starts a server with embedded defaults; make test runs the whole suite.
GO        ?= go
GOLANGCI_VERSION := v2.15.0
GOLANGCI  ?= $(shell $(GO) env GOPATH)/bin/golangci-lint
FUZZTIME  ?= 3s
BIN       := bin

.PHONY: all build run test bench microbench fuzz lint lint-tools clean

all: build

build:
	$(GO) build -o $(BIN)/tickwire ./cmd/tickwire
	$(GO) build -o $(BIN)/tickbench ./cmd/tickbench
	$(GO) build -o $(BIN)/tickctl ./cmd/tickctl

## run: build and start the server (KCP udp/7777, TCP 7778, WebRTC udp/7779, HTTP 7780 with WebSocket and long-poll, SQLite in ./data)
run: build
	./$(BIN)/tickwire

## test: the whole suite under the race detector
test:
	$(GO) test -race -count=1 -timeout 40m ./...

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
	$(GOLANGCI) run ./...

## lint-tools: install the pinned golangci-lint (.ci/run does it too)
lint-tools $(GOLANGCI):
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

clean:
	rm -rf $(BIN)
