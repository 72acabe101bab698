#!/usr/bin/env bash
# Installs what the test suite needs on Debian/Ubuntu: PAM headers, the independent references
# (oathtool, google-authenticator, pam_oath, pamtester), the real consumers (sshd, sudo, OpenVPN,
# su/login), packaging checks (dpkg-dev, binutils, fail2ban, lintian, cargo-deb), test tooling
# (openssl, expect, iproute2, util-linux, strace; zbar-tools to decode the QR code shown at
# enrollment; fscrypt and e2fsprogs for the encrypted-home
# test on a loop-mounted ext4 image), Debian's slapd and OpenLDAP clients extracted into
# target/slapd-root (tests/install-slapd.sh: no system slapd) and the fuzzer (g++ for
# libFuzzer, cargo-fuzz).
# Run it as root, or as yourself: apt-get then runs through sudo, and "cargo install" runs as
# you (also under "sudo tests/install-deps.sh": as the user who ran sudo), into ~/.cargo/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
# as_root, find_cargo, user_cargo
. packaging/lib.sh

as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    libpam0g-dev libpam-modules libpam-runtime oathtool pamtester libpam-google-authenticator libpam-oath \
    openssh-server openssh-client sudo openvpn login \
    dpkg-dev binutils fail2ban lintian \
    openssl expect iproute2 util-linux strace g++ fscrypt e2fsprogs zbar-tools >/dev/null
tests/install-slapd.sh
find_cargo
user_cargo fuzz --version >/dev/null 2>&1 || user_cargo install cargo-fuzz --locked
user_cargo deb --version >/dev/null 2>&1 || user_cargo install cargo-deb --locked
