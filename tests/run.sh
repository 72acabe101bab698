#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, the release build, unit tests, and the
# integration tests that drive the real pam_totp.so through real libpam.
# Run as root to include the tests that switch users (CI runs as root and sets CI=true,
# which turns any missing prerequisite into a failure instead of a skip).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in oathtool; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install oathtool" >&2; exit 1; }
done
[ -e /usr/include/security/pam_appl.h ] || { echo "missing PAM headers: apt-get install libpam0g-dev" >&2; exit 1; }

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --release --workspace
cargo test --workspace
