#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, the release build, unit tests, and the
# integration tests that drive the real pam_totp.so through real libpam.
# The tests that switch users, mount and start daemons need root: as root it runs directly (a
# container without sudo); as a user it runs itself again through sudo, passing on PATH,
# CARGO_HOME and RUSTUP_HOME so that root uses your Rust toolchain, and at the end gives the
# files root made in target/, fuzz/ and ~/.cargo back to you. Without root or sudo the
# root-only tests say SKIPPED. CI runs as root and sets CI=true, which turns any missing
# prerequisite into a failure instead of a skip.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
# as_root, find_cargo, sudo_user_home
. packaging/lib.sh

if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
    find_cargo
    pass=("PATH=$PATH" "CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}" "RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}")
    for var in CI CARGO_TARGET_DIR RUSTFLAGS RUST_BACKTRACE FUZZ_SANITIZER; do
        [ -z "${!var+set}" ] || pass+=("$var=${!var}")
    done
    echo "run.sh: the tests need root: running through sudo" >&2
    exec sudo env "${pass[@]}" "$self" "$@"
fi
find_cargo
if [ -n "$cargo_user_home" ]; then
    # "sudo tests/run.sh": root runs cargo with the toolchain of the user who ran sudo.
    # (Run through sudo by this script itself, PATH, CARGO_HOME and RUSTUP_HOME are set.)
    case ":$PATH:" in *":$cargo_user_home/.cargo/bin:"*) ;; *) PATH="$cargo_user_home/.cargo/bin:$PATH" ;; esac
    export PATH CARGO_HOME=${CARGO_HOME:-$cargo_user_home/.cargo}
    export RUSTUP_HOME=${RUSTUP_HOME:-$cargo_user_home/.rustup}
fi
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_UID:-}" ] && [ "$SUDO_UID" != 0 ]; then
    # Give what root made in the user's checkout and cargo home back to the user, so that
    # their own builds can write there again.
    give_back() {
        local dirs=() dir
        if [ "$(stat -c %u .)" = "$SUDO_UID" ]; then
            dirs+=(target fuzz/target fuzz/artifacts)
        fi
        if [ -d "${CARGO_HOME:-/nonexistent}" ] && [ "$(stat -c %u "$CARGO_HOME")" = "$SUDO_UID" ]; then
            dirs+=("$CARGO_HOME")
        fi
        for dir in "${dirs[@]}"; do
            [ -d "$dir" ] || continue
            find "$dir" -xdev -uid 0 -exec chown -h "$SUDO_UID:$SUDO_GID" {} + || true
        done
    }
    trap give_back EXIT
fi

for tool in oathtool; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install oathtool" >&2; exit 1; }
done
[ -e /usr/include/security/pam_appl.h ] || { echo "missing PAM headers: apt-get install libpam0g-dev" >&2; exit 1; }

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --release --workspace
rm -rf target/test-logs
cargo test --workspace

# Every test keeps its captured syslog lines under target/test-logs: no test secret may appear
# in them, in any spelling (the keys of the shared harness, tests/src/lib.rs).
logs=$(find target/test-logs -name '*.log' | wc -l)
[ "$logs" -gt 50 ] || { echo "only $logs captured logs: the log capture is broken" >&2; exit 1; }
for secret in GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP; do
    lower=$(echo "$secret" | tr 'A-Z' 'a-z')
    if grep -rIl -e "$secret" -e "$lower" -e "${secret:0:16}" target/test-logs; then
        echo "a test secret appears in the captured logs above" >&2
        exit 1
    fi
done
echo "checked $logs captured logs: no secrets"
tests/fuzz.sh 60
