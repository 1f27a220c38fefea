# bulkpatch: everything needs only Go (modules come from the Go module proxy).
GO ?= go
FUZZTIME ?= 3s

.PHONY: all build demo test check fuzz bench clean release docs

all: build

# What `bulkpatch version` says, from git: the release tag described (dev
# before the first), the commit (-dirty with uncommitted changes), and the
# commit's time as the build date, so that two builds of one commit are the
# same binary. Override any on the command line.
VERSION ?= $(shell git describe --tags --match 'v*' 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell test -n "$$(git status --porcelain 2>/dev/null)" && echo -dirty)
DATE ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

## build: the bulkpatch binary in ./bin, its version, commit and date from git
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/bulkpatch ./cmd/bulkpatch

# goreleaser v2, built from the Go module proxy on first use.
GORELEASER ?= $(GO) run github.com/goreleaser/goreleaser/v2@v2.15.1

release: export BULKPATCH_VERSION = $(VERSION)
release: export BULKPATCH_COMMIT = $(COMMIT)
release: export BULKPATCH_DATE = $(DATE)
release: export BULKPATCH_EPOCH = $(shell git log -1 --format=%ct 2>/dev/null)
## release: archives for linux, darwin and windows on amd64 and arm64, and checksums.txt, in dist/ (a snapshot unless HEAD is a tag and the tree is clean)
release:
	$(GORELEASER) check
	@if git describe --exact-match --tags HEAD >/dev/null 2>&1 && [ -z "$$(git status --porcelain)" ]; then \
		echo $(GORELEASER) release --clean --skip=publish,sign; \
		$(GORELEASER) release --clean --skip=publish,sign; \
	else \
		echo $(GORELEASER) release --snapshot --clean --skip=publish,sign; \
		$(GORELEASER) release --snapshot --clean --skip=publish,sign; \
	fi
	cd dist && sha256sum -c checksums.txt

## docs: regenerate the man pages (docs/man) and the Markdown command reference (docs/reference) from the commands' help
docs:
	$(GO) test -count=1 -run '^TestDocs$$' ./cmd/bulkpatch/ -update

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
	rm -rf bin dist
