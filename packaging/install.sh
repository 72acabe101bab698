#!/usr/bin/env bash
# Builds pam_totp and installs it: the module into the distribution's PAM security directory,
# totp-enroll into /usr/bin, the man pages and example pam.d snippets. Idempotent.
#   packaging/install.sh             build (as you) and install (with sudo when not root)
#   packaging/install.sh --uninstall remove what install put in place
# It never edits /etc/pam.d: see README.md for the lines to add.
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc -print-multiarch prints an empty line (and succeeds) where there is no multiarch.
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || true)
[ -n "$triplet" ] || triplet="$(uname -m)-linux-gnu"
secdir=/lib/$triplet/security
[ -d "$secdir" ] || secdir=/lib/security
docdir=/usr/share/doc/pam-totp
# (/usr/share/doc/pam_totp: where versions before the Debian package put the examples)
files=("$secdir/pam_totp.so" /usr/bin/totp-enroll /usr/share/man/man1/totp-enroll.1.gz
       /usr/share/man/man8/pam_totp.8.gz "$docdir" /usr/share/doc/pam_totp)

# The Debian package (packaging/build-deb.sh) owns the same paths: do not overwrite or delete
# them behind dpkg's back.
if dpkg-query -W -f '${db:Status-Abbrev}' pam-totp 2>/dev/null | grep -q '^ii'; then
    echo "install.sh: the Debian package pam-totp is installed; use apt/dpkg (dpkg -r pam-totp) instead" >&2
    exit 1
fi

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
as_root install -d "$docdir/examples"
as_root install -m 0644 packaging/pam.d/* packaging/etc/totp-enroll.toml "$docdir/examples/"
echo "Installed $secdir/pam_totp.so and /usr/bin/totp-enroll."
echo "Next: run totp-enroll as each user, then add pam_totp to /etc/pam.d (see README.md)."
