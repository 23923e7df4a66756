# The commands CI and developers run. `make test` is what .ci/run calls.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: setup run test lint unit bench fmt clean

## setup: check the toolchain, fetch dependencies, install nats-server and consul into .tools/bin
setup:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }
	@rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy || true
	$(CARGO) fetch --locked
	./scripts/install-tools.sh

## run: in-memory 2-of-3 demo for both curves (keygen, signing, independent verification)
run: setup
	$(CARGO) run --locked --release -p tessera-session --example demo

## test: formatting, lints, then the whole test suite
test: setup lint unit

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --locked --workspace

## bench: protocol timings in memory (wall and CPU per party), then 3 nodes over real NATS + Consul
bench: setup
	$(CARGO) bench --locked -p tessera-session --bench protocols
	$(CARGO) bench --locked -p tessera-runner --bench cluster

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
