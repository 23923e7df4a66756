# The commands CI and developers run. `make test` is what .ci/run calls.
SHELL := /bin/bash
CARGO ?= cargo
# The make targets build cold, whole-workspace runs (CI, a fresh machine): incremental caches
# would only add gigabytes to target/. Developers iterating with plain `cargo` keep them.
export CARGO_INCREMENTAL ?= 0

.PHONY: setup rust tools run demo test lint unit deploy-check bench bench-scaling bench-store fuzz fmt clean

## setup: everything `make test` needs: the toolchain's rustfmt and clippy, the crates,
##        nats-server, consul and promtool (the metrics test) in .tools/bin, the Kubernetes
##        validators in .tools/venv
setup: rust tools
	@rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy || true
	$(CARGO) fetch --locked
	./scripts/install-tools.sh promtool
	./scripts/validate-k8s.sh --install-only

# The Rust toolchain must be there; nothing is installed here.
rust:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }

## tools: only nats-server and consul, into .tools/bin (what run, bench and the tests start)
tools:
	./scripts/install-tools.sh

## run: local cluster (NATS, Consul, three nodes), then a wallet and signatures through the client
##      commands and a user's device as a party (examples/tenant_device.rs); keeps running until
##      Ctrl-C (RUN_ONCE=1 exits after the demo). Node logs: .state/run/node<i>.log.
##      One cargo invocation builds the binary and the example (shared crates compile once).
run: rust tools
	$(CARGO) build --locked --release -p tessera-node --bin tessera --example tenant_device
	./scripts/run-cluster.sh

## demo: the in-memory protocol demo (no network): 2-of-3 keygen and signing for both curves
demo: rust
	$(CARGO) run --locked --release -p tessera-session --example demo

## test: formatting, lints, then the whole test suite
test: setup lint unit deploy-check

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --locked --workspace

## deploy-check: the Kubernetes manifests against the Kubernetes schemas, offline
deploy-check:
	./scripts/validate-k8s.sh

## bench: protocol timings in memory (wall and CPU per party), then 3 nodes over real NATS + Consul,
##        then `tessera bench` on a release cluster of `tessera start` processes (BENCH_SHAPES, n:t;
##        default 3:1): p50, signatures/s, the nodes' CPU per signature and each phase's mean
BENCH_SHAPES ?= 3:1
bench: rust tools
	$(CARGO) bench --locked -p tessera-session --bench protocols
	$(CARGO) bench --locked -p tessera-runner --bench cluster
	$(CARGO) build --locked --release -p tessera-node --bin tessera
	SHAPES="$(BENCH_SHAPES)" ./scripts/bench-cluster.sh

## bench-store: a node's memory and key store size with WALLETS (default 10000) wallets stored
bench-store: rust tools
	$(CARGO) build --locked --release -p tessera-node --bin tessera --example store_fill
	./scripts/bench-store.sh

## bench-scaling: the n/t table of docs/performance.md (n = 3, 5, 7; t = 1, 2), one cluster each
bench-scaling: rust tools
	$(CARGO) build --locked --release -p tessera-node --bin tessera
	SHAPES="3:1 3:2 5:1 5:2 7:1 7:2" ./scripts/bench-cluster.sh

## fuzz: build the fuzz targets in fuzz/ on stable Rust (libFuzzer) and run each for
##       FUZZ_SECONDS (default 60); FUZZ_TARGETS="envelope" runs only some (docs/fuzzing.md)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	$(CARGO) fetch --locked --manifest-path fuzz/Cargo.toml
	CARGO="$(CARGO)" FUZZ_SECONDS="$(FUZZ_SECONDS)" ./scripts/fuzz.sh $(FUZZ_TARGETS)

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean

## publish-check: `cargo publish --dry-run` of the SDK (tessera-client) and the crates it
##                depends on, packaged and built together as crates.io would (docs/operations.md)
PUBLISH_CRATES := -p tessera-types -p tessera-security -p tessera-session -p tessera-transport -p tessera-client
.PHONY: publish-check
publish-check:
	$(CARGO) publish --dry-run --locked --allow-dirty $(PUBLISH_CRATES)
