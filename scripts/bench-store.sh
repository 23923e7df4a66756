#!/usr/bin/env bash
# `make bench-store`: the 10,000-wallet figures of docs/performance.md. Starts
# a release cluster of three nodes (scripts/run-cluster.sh), creates one wallet
# (both curves) and signs with it, then reads each node's resident memory and
# key store size. Then stops the nodes, copies the wallet's keys into each
# store WALLETS times (examples/store_fill.rs), restarts the nodes with the
# same settings, signs again and reads the same figures.
# Needs `cargo build --release -p tessera-node --bin tessera --example store_fill`
# (make bench-store does it).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="${TESSERA_BIN:-$root/target/release/tessera}"
fill="${STORE_FILL_BIN:-$root/target/release/examples/store_fill}"
wallets="${WALLETS:-10000}"
out="${BENCH_OUT:-$root/.state/bench-store}"
mkdir -p "$out"

one_run() {
  local wallet kg epk spk
  wallet="store-$(date +%s%N)"
  # shellcheck disable=SC2086
  kg=$("$BIN" keygen $RUN_CLIENT_ARGS --wallet "$wallet")
  epk=$(echo "$kg" | awk '$1 == "eddsa_public_key:" {print $2}')
  spk=$(echo "$kg" | awk '$1 == "ecdsa_public_key:" {print $2}')
  sign_some() {
    # shellcheck disable=SC2086
    "$BIN" bench $RUN_CLIENT_ARGS --progress 0s --key-type ed25519 --wallet "$wallet" --public-key "$epk" -n 200 -c 8 | head -n1
    # shellcheck disable=SC2086
    "$BIN" bench $RUN_CLIENT_ARGS --progress 0s --key-type secp256k1 --wallet "$wallet" --public-key "$spk" -n 50 -c 8 | head -n1
  }
  figures() { # $1: label
    local i=0 p rss size
    for p in $PIDS; do
      rss=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status")
      size=$(stat -c %s "$RUN_STATE/data/node$i/tessera.redb")
      echo "| $1 | node$i | $((rss / 1024)) MiB | $size |"
      i=$((i + 1))
    done
  }
  PIDS=$RUN_NODE_PIDS
  sign_some
  echo "| wallets stored | node | resident memory after signing | tessera.redb bytes |"
  echo "|---|---|---|---|"
  figures 1
  # Stop every node (keeping its environment), fill its store, start it again.
  local envs=() i=0 p
  for p in $PIDS; do
    envs+=("$(tr '\0' '\n' <"/proc/$p/environ" | grep -E '^TESSERA_' | tr '\n' ' ')")
    kill -TERM "$p"
  done
  for p in $PIDS; do
    while kill -0 "$p" 2>/dev/null; do sleep 0.2; done
  done
  local new=()
  for i in "${!envs[@]}"; do
    echo "node$i: $("$FILL" --storage-dir "$RUN_STATE/data/node$i" \
      --key-file "$RUN_STATE/storage.key" --wallet "$wallet" --copies "$WALLETS" | tr "\n" " ")" >&2
    # shellcheck disable=SC2086
    env ${envs[$i]} "$BIN" start --config config.yaml >>"$RUN_STATE/node$i.log" 2>&1 &
    new+=($!)
  done
  PIDS="${new[*]}"
  # shellcheck disable=SC2064
  trap "kill -TERM $PIDS 2>/dev/null || true" EXIT
  # Ready again: a signature goes through.
  for _ in $(seq 1 100); do
    # shellcheck disable=SC2086
    if "$BIN" sign $RUN_CLIENT_ARGS --timeout 5s --wallet "$wallet" --key-type ed25519 \
      --message ready --public-key "$epk" >/dev/null 2>&1; then break; fi
    sleep 0.3
  done
  sign_some
  figures "$((WALLETS + 1))"
  kill -TERM $PIDS
}
export -f one_run

RUN_NODES=3 RUN_THRESHOLD=1 TESSERA_BIN="$bin" TESSERA_RUN_STATE="$out/cluster" \
  TESSERA_EXAMPLE_BIN=/nonexistent \
  RUN_THEN="set -euo pipefail; BIN='$bin' FILL='$fill' WALLETS=$wallets one_run" \
  ./scripts/run-cluster.sh >"$out/run.log" 2>&1 || {
    echo "bench-store: the run failed; see $out/run.log" >&2
    tail -n 20 "$out/run.log" >&2
    exit 1
  }
grep -E '^(\| |node[0-9]+: |ed25519|secp256k1)' "$out/run.log"
