#!/usr/bin/env bash
# Builds pam_totp and installs it: the module into the distribution's PAM security directory,
# totp-enroll into /usr/bin, the man pages and example pam.d snippets. Idempotent.
#   packaging/install.sh             build (as you) and install (with sudo when not root)
#   packaging/install.sh --uninstall remove what install put in place
# It never edits /etc/pam.d: see README.md for the lines to add.
set -euo pipefail
cd "$(dirname "$0")/.."

triplet=$(gcc -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
secdir=/lib/$triplet/security
[ -d "$secdir" ] || secdir=/lib/security
files=("$secdir/pam_totp.so" /usr/bin/totp-enroll /usr/share/man/man1/totp-enroll.1.gz
       /usr/share/man/man8/pam_totp.8.gz /usr/share/doc/pam_totp/examples)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ "${1:-}" = "--uninstall" ]; then
    as_root rm -rf "${files[@]}"
    echo "pam_totp removed. Remove pam_totp.so lines from /etc/pam.d before logging out."
    exit 0
fi

cargo build --release --locked
as_root install -D -m 0644 target/release/libpam_totp.so "$secdir/pam_totp.so"
as_root install -D -m 0755 target/release/totp-enroll /usr/bin/totp-enroll
for page in packaging/man/*.[0-9]; do
    section=${page##*.}
    gzip -9nc "$page" | as_root install -D -m 0644 /dev/stdin "/usr/share/man/man$section/$(basename "$page").gz"
done
as_root install -d /usr/share/doc/pam_totp/examples
as_root install -m 0644 packaging/pam.d/* /usr/share/doc/pam_totp/examples/
echo "Installed $secdir/pam_totp.so and /usr/bin/totp-enroll."
echo "Next: run totp-enroll as each user, then add pam_totp to /etc/pam.d (see README.md)."
