#!/usr/bin/env bash
# Builds pam_totp and installs it: the module (and pam_totp_ldap.so, which it loads for
# store=ldap) into the distribution's PAM security directory, totp-enroll into /usr/bin, the
# man pages, example pam.d snippets and the LDAP examples (schema, LDIF, ldap.toml). Idempotent.
#   packaging/install.sh             build and install (see below for who does what)
#   packaging/install.sh --uninstall remove what install put in place
# Run it as yourself: it builds with your Rust toolchain and uses sudo for the steps that need
# root (installing libpam0g-dev with apt-get when the PAM headers are missing, copying the
# files). As root (a container without sudo) it does everything itself. Through sudo
# ("sudo packaging/install.sh", where sudo's PATH has no cargo) it builds as the user who ran
# sudo, with that user's ~/.cargo/bin, so that target/ stays theirs.
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
files=("$secdir/pam_totp.so" "$secdir/pam_totp_ldap.so" /usr/bin/totp-enroll /usr/share/man/man1/totp-enroll.1.gz
       /usr/share/man/man8/pam_totp.8.gz "$docdir" /usr/share/doc/pam_totp)

# The Debian package (packaging/build-deb.sh) owns the same paths: do not overwrite or delete
# them behind dpkg's back.
if dpkg-query -W -f '${db:Status-Abbrev}' pam-totp 2>/dev/null | grep -q '^ii'; then
    echo "install.sh: the Debian package pam-totp is installed; use apt/dpkg (dpkg -r pam-totp) instead" >&2
    exit 1
fi

# as_root, find_cargo, user_cargo
. packaging/lib.sh

if [ "${1:-}" = "--uninstall" ]; then
    as_root rm -rf "${files[@]}"
    echo "pam_totp removed. Remove pam_totp.so lines from /etc/pam.d before logging out."
    exit 0
elif [ $# -gt 0 ]; then
    echo "install.sh: unknown argument $1 (use --uninstall, or no argument to install)" >&2
    exit 2
fi

# Linking the module needs libpam.so (libpam0g-dev); a fresh container may have no C linker.
missing=()
[ -e /usr/include/security/pam_appl.h ] || missing+=(libpam0g-dev)
command -v cc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
    echo "install.sh: installing ${missing[*]} (apt-get)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

find_cargo
user_cargo build --release --locked
# cargo's own target directory, wherever CARGO_TARGET_DIR or a config puts it.
target_dir=$(user_cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target_dir" ] || target_dir=$PWD/target

as_root install -D -m 0644 "$target_dir/release/libpam_totp.so" "$secdir/pam_totp.so"
# The LDAP store (store=ldap): pam_totp.so loads it from its own directory only when a pam.d
# line says store=ldap, so that file-store logins never load the directory client.
as_root install -D -m 0644 "$target_dir/release/libpam_totp_ldap.so" "$secdir/pam_totp_ldap.so"
as_root install -D -m 0755 "$target_dir/release/totp-enroll" /usr/bin/totp-enroll
for page in packaging/man/*.[0-9]; do
    section=${page##*.}
    gzip -9nc "$page" | as_root install -D -m 0644 /dev/stdin "/usr/share/man/man$section/$(basename "$page").gz"
done
as_root install -d "$docdir/examples"
as_root install -m 0644 packaging/pam.d/* packaging/etc/totp-enroll.toml "$docdir/examples/"
as_root install -d "$docdir/examples/ldap"
as_root install -m 0644 packaging/ldap/* "$docdir/examples/ldap/"
echo "Installed $secdir/pam_totp.so, $secdir/pam_totp_ldap.so and /usr/bin/totp-enroll."
echo "Next: run totp-enroll as each user, then add pam_totp to /etc/pam.d (see README.md)."
