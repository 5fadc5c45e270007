# telhook — `make demo` and `make test` work on a fresh machine: every tool they need is
# installed here, into the repo or the toolchain, idempotently.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
NO_STD_TARGET := thumbv7m-none-eabi
DEMO_NOW := 2026-01-21T12:53:20Z
PROVIDERS := limephone lisoloo gatewayapi looplookup did_reseller
STAMPS := target/.stamps

.PHONY: help demo test test-rust test-no-std vectors-check rust-tools fmt clean

help:
	@echo "make demo   sample webhooks of every provider through verify -> normalize"
	@echo "make test   install what is needed and run every test suite"

$(STAMPS):
	@mkdir -p $@

# rustup components and targets; stamped so a second run does not ask rustup again.
rust-tools: $(STAMPS)/rust-tools
$(STAMPS)/rust-tools: | $(STAMPS)
	rustup component add rustfmt clippy
	rustup target add $(NO_STD_TARGET)
	@touch $@

target/debug/telhook: $(shell find core/src cli/src -name '*.rs') Cargo.toml core/Cargo.toml cli/Cargo.toml
	$(CARGO) build -p telhook-cli

demo: target/debug/telhook
	@for provider in $(PROVIDERS); do \
	  for request in examples/$$provider/*.http; do \
	    echo "== $$provider: $$(basename $$request)"; \
	    ./target/debug/telhook normalize --provider $$provider --omit-raw \
	      --credentials examples/$$provider/credentials.json --now $(DEMO_NOW) $$request; \
	  done; \
	done

test: rust-tools test-rust test-no-std vectors-check

test-rust:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace

# Proof that the core is no_std: a bare-metal binary that links it.
test-no-std: rust-tools
	$(CARGO) build --manifest-path tests/ensure_no_std/Cargo.toml --target $(NO_STD_TARGET) \
	  --release --target-dir target/ensure_no_std

# The vectors are reproducible from their generator (signing done independently in Python).
vectors-check:
	python3 tests/vectors/generate.py
	python3 examples/build.py
	git diff --exit-code -- tests/vectors examples

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf target
