#!/usr/bin/env bash
# Installs what the test suite needs on Debian/Ubuntu (run as root): PAM headers, the
# independent references (oathtool, google-authenticator, pamtester), the real consumers (sshd,
# sudo, OpenVPN, su/login), packaging checks (dpkg-dev, fail2ban, cargo-deb), test tooling
# (openssl, expect, iproute2, util-linux, strace) and the fuzzer (g++ for libFuzzer, cargo-fuzz).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    libpam0g-dev libpam-modules libpam-runtime oathtool pamtester libpam-google-authenticator \
    openssh-server openssh-client sudo openvpn login \
    dpkg-dev fail2ban \
    openssl expect iproute2 util-linux strace g++ >/dev/null
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cargo deb --version >/dev/null 2>&1 || cargo install cargo-deb --locked
