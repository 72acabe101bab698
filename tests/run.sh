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
rm -rf target/test-logs
cargo test --workspace

# Every test keeps its captured syslog lines under target/test-logs: no test secret may appear
# in them, in any spelling (the keys of tests/src/lib.rs and totp-enroll/tests/common).
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
