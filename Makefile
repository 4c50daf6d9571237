# p11kms — see README.md. Every target works as root on a fresh Debian 12.
SHELL := /bin/bash
# Go from the official tarball lives in /usr/local/go/bin, often not on a root PATH.
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BUILD := build
LIB := $(BUILD)/libp11kms.so
CLI := $(BUILD)/p11kms
GOSRC := $(shell find . -name '*.go' -not -path './build/*' 2>/dev/null) $(wildcard cgo/*.c cgo/*.h cgo/include/*.h cgo/include/oasis/*.h) $(BUILD)/libp11kms.map go.mod go.sum

.PHONY: all build demo test unit cabi conformance compat deps clean vet generate

all: build

build: $(LIB) $(CLI)

$(LIB): $(GOSRC)
	CGO_ENABLED=1 $(GO) build -trimpath -buildmode=c-shared \
		-ldflags '-s -w -extldflags "-Wl,--version-script=$(CURDIR)/$(BUILD)/libp11kms.map"' \
		-o $(LIB) ./cgo
	@rm -f $(BUILD)/libp11kms.h
	cp cgo/include/p11kms_vendor.h $(BUILD)/p11kms_vendor.h

$(CLI): $(GOSRC)
	$(GO) build -trimpath -o $(CLI) ./cmd/p11kms

generate:
	$(GO) generate ./ck ./cgo

deps:
	@scripts/deps.sh

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./ck/... ./internal/... ./token/... ./mechanisms/... ./kmsbackend/... ./cmd/...

cabi: build
	$(GO) test -count=1 ./cgo/...

conformance: build
	$(GO) test -count=1 -timeout 20m ./conformance/...

demo: deps build
	@scripts/demo.sh

test: deps vet build
	@scripts/test.sh

clean:
	rm -f $(LIB) $(CLI) $(BUILD)/libp11kms.h

# Copies the compatibility table of the last conformance run (conformance/COMPAT.md) into README.md.
compat:
	$(GO) run ./conformance/compatreadme

# Native libFuzzer run of the built library's C entry points against a dev KMS
# (cgo/fuzz/README.md); FUZZ_SECONDS=600 by default. Needs clang (installed by run.sh).
FUZZ_SECONDS ?= 600
.PHONY: fuzz fuzz-go
fuzz: build
	@command -v clang >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev; }
	FUZZ_SECONDS=$(FUZZ_SECONDS) cgo/fuzz/run.sh

# Go fuzz targets, 60 s each.
fuzz-go:
	@set -e; for t in FuzzTemplateMatch FuzzGetAttributeValue FuzzParseConfig FuzzParseURI; do $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime=60s ./token/; done
	@set -e; for t in FuzzParseDigestInfo FuzzDERToRaw FuzzRawToDER FuzzParsePSSParams FuzzParseOAEPParams FuzzParseEdDSAParams FuzzParseEncryptionContext FuzzECDH1Params FuzzParseMLDSAParams FuzzParseSM2ID; do $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime=60s ./mechanisms/; done

# The module's cost over a bare KMS call, side by side in one run (BENCHMARKS.md).
.PHONY: bench
bench:
	$(GO) test -run '^$$' -bench SignOverhead -benchtime 400x -count 5 ./token/ | tee build/bench.txt
