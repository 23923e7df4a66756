#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ with libFuzzer and runs each one for a
# bounded time. Works on stable Rust: no nightly, no cargo-fuzz needed.
#
#   scripts/fuzz.sh                   build, then run every target for $FUZZ_SECONDS
#   scripts/fuzz.sh envelope          only the named target(s)
#   scripts/fuzz.sh --build-only      build, do not run
#   scripts/fuzz.sh --list            print the target names
#
# Environment:
#   FUZZ_SECONDS      run time per target (default 60)
#   FUZZ_ARGS         extra libFuzzer flags, e.g. "-jobs=2 -workers=2" or "-max_len=65536"
#   CARGO_TARGET_DIR  build directory (default: target/fuzz under the repository)
#   FUZZ_ENGINE       "stable" (default) or "cargo-fuzz", which uses `cargo +nightly fuzz`
#                     (AddressSanitizer too) when cargo-fuzz and a nightly toolchain exist
#
# cargo-fuzz's flags need nightly only for -Zsanitizer; libFuzzer's coverage
# feedback is LLVM's SanitizerCoverage pass, which stable rustc runs when asked
# with -Cpasses=sancov-module and its -Cllvm-args. Safe Rust needs no
# AddressSanitizer to find panics. Debug assertions and overflow checks are on
# in fuzz/Cargo.toml's release profile (off only in curve and hash arithmetic,
# where they cost a lot under instrumentation and guard no parser).
#
# Each target runs over a working corpus under the build directory, seeded from
# a copy of fuzz/corpus/<target> (which stays clean: new inputs the fuzzer finds
# are kept only in the working corpus, and grow from run to run). A crash, panic,
# timeout or out-of-memory input is written under the build directory and
# printed with the command that reproduces it. Exit status: 0 when no target
# failed, 1 when one did, 2 on a build or usage error.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
manifest="$root/fuzz/Cargo.toml"
seconds="${FUZZ_SECONDS:-60}"
engine="${FUZZ_ENGINE:-stable}"
cargo="${CARGO:-cargo}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/fuzz}"
work="$CARGO_TARGET_DIR/fuzz-work"

all_targets() {
    sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | grep -vx tessera-fuzz
}

build_only=0
targets=()
for arg in "$@"; do
    case "$arg" in
        --build-only) build_only=1 ;;
        --list) all_targets; exit 0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $arg" >&2; exit 2 ;;
        *) targets+=("$arg") ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(all_targets)
fi
for t in "${targets[@]}"; do
    if ! all_targets | grep -qx "$t"; then
        echo "fuzz.sh: no target named $t (have: $(all_targets | tr '\n' ' '))" >&2
        exit 2
    fi
done
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "fuzz.sh: FUZZ_SECONDS must be a positive number of seconds, got '$seconds'" >&2
    exit 2
fi

host="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$CARGO_TARGET_DIR/$host/release"

build_stable() {
    # An explicit --target keeps these flags off build scripts and proc macros,
    # which run inside the compiler and must not be instrumented.
    local flags=(
        --cfg fuzzing
        -Cpasses=sancov-module
        -Cllvm-args=-sanitizer-coverage-level=4
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
        -Cllvm-args=-sanitizer-coverage-pc-table
        -Cllvm-args=-sanitizer-coverage-trace-compares
    )
    local bins=()
    for t in "${targets[@]}"; do bins+=(--bin "$t"); done
    echo "==> building ${targets[*]} (stable, libFuzzer coverage) into $bin_dir"
    RUSTFLAGS="${flags[*]}" "$cargo" build --locked --release \
        --manifest-path "$manifest" --target "$host" "${bins[@]}"
}

build_cargo_fuzz() {
    if ! "$cargo" fuzz --version >/dev/null 2>&1 || ! rustup run nightly rustc -V >/dev/null 2>&1; then
        echo "fuzz.sh: FUZZ_ENGINE=cargo-fuzz needs cargo-fuzz and a nightly toolchain" >&2
        exit 2
    fi
    echo "==> building ${targets[*]} with cargo +nightly fuzz (AddressSanitizer)"
    for t in "${targets[@]}"; do
        (cd "$root" && "$cargo" +nightly fuzz build --debug-assertions --target "$host" "$t")
    done
}

case "$engine" in
    stable) build_stable || exit 2 ;;
    cargo-fuzz) build_cargo_fuzz || exit 2 ;;
    *) echo "fuzz.sh: FUZZ_ENGINE must be stable or cargo-fuzz, got '$engine'" >&2; exit 2 ;;
esac
[ "$build_only" = 1 ] && exit 0

failed=()
summary=()
for t in "${targets[@]}"; do
    corpus="$work/$t/corpus"
    artifacts="$work/$t/artifacts"
    log="$work/$t/last-run.log"
    mkdir -p "$corpus" "$artifacts"
    # Seeds are copied in, so the committed corpus never changes.
    if [ -d "$root/fuzz/corpus/$t" ]; then
        cp -Rp "$root/fuzz/corpus/$t"/. "$corpus"/
    fi
    before="$(find "$artifacts" -type f | wc -l)"
    echo "==> fuzzing $t for ${seconds}s (corpus $corpus)"
    status=0
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    "$bin_dir/$t" "$corpus" \
        -max_total_time="$seconds" \
        -timeout=30 \
        -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" \
        -print_final_stats=1 \
        ${FUZZ_ARGS:-} >"$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)"
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log"
        crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
        if [ -z "$crash" ] && [ "$(find "$artifacts" -type f | wc -l)" -gt "$before" ]; then
            crash="$(find "$artifacts" -type f -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2-)"
        fi
        echo "!! $t failed (exit $status); full log: $log"
        if [ -n "$crash" ]; then
            echo "!! crash input: $crash"
            echo "!! reproduce:   $bin_dir/$t $crash"
        fi
        failed+=("$t")
        summary+=("$t: FAILED (exit $status) after ${runs:-?} runs; input: ${crash:-none written}")
    else
        summary+=("$t: ok, ${runs:-?} runs in ${seconds}s (${rate:-?} exec/s), ${cov:-cov: ?}, corpus $(find "$corpus" -type f | wc -l) inputs")
    fi
done

echo "==> fuzz summary"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
