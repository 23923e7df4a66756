#!/usr/bin/env bash
# `make bench` and `make bench-scaling`: the cluster figures of docs/performance.md. For each
# cluster shape in SHAPES ("n:t", default "3:1 3:2 5:1 5:2 7:1 7:2"), starts a
# release cluster with scripts/run-cluster.sh (real nats-server, Consul and n
# `tessera start` nodes), creates one wallet, then runs `tessera bench` for
# each curve: REQUESTS_C1 requests at concurrency 1 (latency) and REQUESTS_C32
# at concurrency 32 (throughput), after KEYGENS (default 5) keygens of both
# curves, timed. Prints the keygens' p50, then one table row per shape and curve:
# p50 at c=1 and where that time goes (the phase means `tessera bench
# --metrics` reads from the nodes), signatures/s at c=32 and the nodes' CPU
# per signature at c=32 (all nodes together, from /proc, so it works for any
# build).
# Needs a release build: `cargo build --release -p tessera-node --bin tessera`
# (make bench does it). TESSERA_BIN picks another binary for the nodes
# (a before/after comparison runs this script once per binary) and
# BENCH_CLIENT_BIN another one for the client commands (default: the same).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="${TESSERA_BIN:-$root/target/release/tessera}"
client_bin="${BENCH_CLIENT_BIN:-$bin}"
shapes="${SHAPES:-3:1 3:2 5:1 5:2 7:1 7:2}"
c1="${REQUESTS_C1:-200}"
c32="${REQUESTS_C32:-2000}"
keygens="${KEYGENS:-5}"
out="${BENCH_OUT:-$root/.state/bench}"
mkdir -p "$out"

# The run for one shape, inside run-cluster.sh's RUN_THEN (its variables are set).
one_shape() {
  local cpu_ticks hz
  hz=$(getconf CLK_TCK)
  # utime + stime of every node, in clock ticks.
  cpu_ticks() {
    local sum=0 p f
    for p in $RUN_NODE_PIDS; do
      # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
      f=$(sed 's/^.*) //' "/proc/$p/stat")
      sum=$((sum + $(echo "$f" | awk '{print $12 + $13}')))
    done
    echo "$sum"
  }
  # shellcheck disable=SC2086
  local wallet mflag=""
  wallet="bench-$(date +%s%N)"
  if [ "$WITH_METRICS" = 1 ]; then mflag="--metrics $RUN_METRICS_URLS"; fi
  # KEYGENS sequential keygens of both curves (the first one's wallet signs below).
  local ms=() i t0
  for i in $(seq 1 "$KEYGENS"); do
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    out=$("$TESSERA_BIN_INNER" keygen $RUN_CLIENT_ARGS --wallet "$wallet-$i")
    ms+=($((($(date +%s%N) - t0) / 1000000)))
    if [ "$i" = 1 ]; then keygen=$out; fi
  done
  wallet="$wallet-1"
  echo "keygen (both curves), n=$SHAPE_N t=$SHAPE_T: p50 $(printf '%s\n' "${ms[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}') ms over $KEYGENS (client wall time: $(echo "${ms[@]}") ms)"
  for curve in ed25519 secp256k1; do
    if [ "$curve" = ed25519 ]; then pk=$(echo "$keygen" | awk '$1 == "eddsa_public_key:" {print $2}')
    else pk=$(echo "$keygen" | awk '$1 == "ecdsa_public_key:" {print $2}'); fi
    # shellcheck disable=SC2086
    lat=$("$TESSERA_BIN_INNER" bench $RUN_CLIENT_ARGS --progress 0s --key-type "$curve" \
      --wallet "$wallet" --public-key "$pk" -n "$REQ_C1" -c 1 $mflag)
    before=$(cpu_ticks)
    # shellcheck disable=SC2086
    thr=$("$TESSERA_BIN_INNER" bench $RUN_CLIENT_ARGS --progress 0s --key-type "$curve" \
      --wallet "$wallet" --public-key "$pk" -n "$REQ_C32" -c 32 $mflag)
    after=$(cpu_ticks)
    p50=$(echo "$lat" | head -n1 | sed -E 's/.*p50 ([0-9.]+) ms.*/\1/')
    rate=$(echo "$thr" | head -n1 | sed -E 's/.* ([0-9.]+) signatures\/s.*/\1/')
    cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$REQ_C32" 'BEGIN {printf "%.2f", t * 1000 / hz / n}')
    phases=$(echo "$lat" | grep '^phases' || true)
    echo "| $SHAPE_N | $SHAPE_T | $curve | $p50 | ${phases#phases (mean ms per sign request, on the node that pulled it): } | $rate | $cpu |"
  done
}
export -f one_shape

echo "| n | t | curve | p50 ms (c=1) | phases at c=1, mean ms | signatures/s (c=32) | node CPU ms per signature (c=32, all nodes) |"
echo "|---|---|---|---|---|---|---|"
for shape in $shapes; do
  n=${shape%%:*}
  t=${shape##*:}
  with_metrics=0
  if "$client_bin" bench --help 2>/dev/null | grep -q -- '--metrics'; then with_metrics=1; fi
  RUN_NODES=$n RUN_THRESHOLD=$t TESSERA_BIN="$bin" TESSERA_RUN_STATE="$out/cluster" \
    TESSERA_EXAMPLE_BIN=/nonexistent \
    RUN_THEN="set -euo pipefail; SHAPE_N=$n SHAPE_T=$t REQ_C1=$c1 REQ_C32=$c32 KEYGENS=$keygens TESSERA_BIN_INNER='$client_bin' WITH_METRICS=$with_metrics one_shape" \
    ./scripts/run-cluster.sh >"$out/run-$n-$t.log" 2>&1 || {
      echo "bench-cluster: the $n:$t run failed; see $out/run-$n-$t.log" >&2
      tail -n 20 "$out/run-$n-$t.log" >&2
      exit 1
    }
  grep -E '^(\| |keygen )' "$out/run-$n-$t.log"
done
