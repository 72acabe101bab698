#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and fails on any crash.
#
#   tests/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
#
# The committed seeds in fuzz/corpus/<target>/ are only read: each target fuzzes into a fresh
# scratch corpus (fuzz/target/fuzz-corpus/<target>/, not committed), with a fixed -seed so a
# run starts the same way every time. A crash input is saved in fuzz/artifacts/<target>/ and
# its path, the panic and the stack trace are printed. See fuzz/README.md.
#
# Environment: FUZZ_SANITIZER=none (default) or address (slower, needs RUSTC_BOOTSTRAP, which
# this script sets, on a stable toolchain).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: tests/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
fi
targets=(secret_file google_authenticator code_input oath_usersfile pskc)
sanitizer=${FUZZ_SANITIZER:-none}

# cargo fuzz passes -Z flags for sanitizers; the stable toolchain accepts them with this set.
export RUSTC_BOOTSTRAP=1
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Stack traces of panics in the crash report.
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is missing; installing it (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi
if ! command -v c++ >/dev/null; then
    echo "fuzz: missing a C++ compiler (libfuzzer-sys builds libFuzzer): apt-get install g++" >&2
    exit 1
fi

start=$SECONDS
echo "fuzz: building all targets ($(cargo fuzz --version), sanitizer $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer"
echo "fuzz: built in $((SECONDS - start))s; fuzzing each target for ${seconds}s"

scratch=target/fuzz-corpus
logs=target/fuzz-logs
mkdir -p "$logs"
marker=$(mktemp "target/fuzz-start.XXXXXX")
trap 'rm -f "$marker"' EXIT

failed=()
for target in "${targets[@]}"; do
    rm -rf "${scratch:?}/$target"
    mkdir -p "$scratch/$target" "artifacts/$target"
    log="$logs/$target.log"
    echo "fuzz: $target (log: fuzz/$log)"
    status=0
    # First corpus directory: where new inputs go (scratch); the committed seeds are read only.
    cargo fuzz run --sanitizer "$sanitizer" "$target" "$scratch/$target" "corpus/$target" -- \
        -seed=1 -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    summary=$(grep -E '^Done [0-9]+ runs' "$log" || true)
    corpus=$(find "$scratch/$target" -type f | wc -l)
    if [ "$status" -eq 0 ]; then
        echo "fuzz: $target ok: ${summary:-no summary}; $corpus new inputs (not kept)"
        continue
    fi
    failed+=("$target")
    echo "fuzz: $target FAILED (exit $status); from fuzz/$log:" >&2
    # From the panic (or libFuzzer's own report: timeout, out of memory) to cargo fuzz's advice.
    report=$(awk '/panicked at|^==[0-9]+==|ERROR: libFuzzer|ALARM: working on the last Unit/ { on = 1 }
                  on { print } /^Error: Fuzz target exited/ { exit }' "$log")
    if [ -n "$report" ]; then
        printf '%s\n' "$report" | sed 's/^/    /' >&2
    else
        tail -n 80 "$log" | sed 's/^/    /' >&2
    fi
    while IFS= read -r crash; do
        echo "fuzz: $target crash input: fuzz/$crash" >&2
        echo "      reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer $target $crash)" >&2
        echo "      bytes (base64): $(base64 -w0 "$crash")" >&2
    done < <(find "artifacts/$target" -type f -newer "$marker")
done

echo "fuzz: total $((SECONDS - start))s"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: no crashes in ${targets[*]}"
