# bulkpatch: everything needs only Go (modules come from the Go module proxy).
GO ?= go
FUZZTIME ?= 3s

.PHONY: all build demo test check fuzz bench clean

all: build

## build: the bulkpatch binary in ./bin
build:
	$(GO) build -o bin/bulkpatch ./cmd/bulkpatch

## demo: the whole job against the embedded Graph emulator, with samples/
demo:
	$(GO) run ./cmd/bulkpatch demo

## test: formatting, vet, and every test with the race detector
test: check
	$(GO) test -race -count=1 ./...

## check: gofmt must have nothing to say, go vet nothing to report
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: every fuzz target for FUZZTIME each (CI runs it with 3s)
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

## conformance: the emulator against Microsoft's Graph JavaScript client (needs node and npm; installs the client once into the user cache) and the same calls over net/http
.PHONY: conformance
conformance:
	$(GO) test -count=1 -run 'TestGraphJSClient|TestGraphRawHTTP' -v ./internal/emulator/

## bench: Go micro-benchmarks and the end-to-end benchmark; rewrites BENCHMARKS.md
bench:
	$(GO) run ./bench -out BENCHMARKS.md

## libreoffice-check: open a results file made from hostile input in LibreOffice (installs libreoffice-calc if needed)
.PHONY: libreoffice-check
libreoffice-check:
	./scripts/libreoffice-check.sh

## browser-check: open run reports made from hostile and realistic results in headless Chromium, screenshot them, check nothing ran (installs chromium if needed)
.PHONY: browser-check
browser-check:
	./scripts/browser-check.sh

clean:
	rm -rf bin
