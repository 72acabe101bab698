#!/usr/bin/env bash
# Builds the Debian package pam-totp with cargo-deb and prints the path of the .deb.
#   packaging/build-deb.sh              release build + package, for this machine's architecture
#   packaging/build-deb.sh --no-build   package what target/release already holds
# Needs: a Rust toolchain, libpam0g-dev (to link), dpkg-dev (dpkg-architecture, dpkg-shlibdeps
# for the Depends line). Installs cargo-deb with "cargo install" when it is missing.
# Install the result with:  sudo apt install ./target/debian/pam-totp_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "build-deb.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

for tool in dpkg-architecture dpkg-shlibdeps; do
    command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool missing: apt-get install dpkg-dev" >&2; exit 1; }
done
if ! cargo deb --version >/dev/null 2>&1; then
    echo "build-deb.sh: installing cargo-deb (cargo install cargo-deb --locked)" >&2
    cargo install cargo-deb --locked >&2
fi

# cargo's own target directory, wherever CARGO_TARGET_DIR or a config puts it.
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target_dir" ] || target_dir=$PWD/target

if [ "$build" = 1 ]; then
    # One workspace build, as the README's: cargo deb --no-build then packages exactly these files.
    cargo build --release --locked --workspace >&2
fi
for f in libpam_totp.so totp-enroll; do
    [ -f "$target_dir/release/$f" ] || { echo "build-deb.sh: $target_dir/release/$f missing: run without --no-build" >&2; exit 1; }
done

# The module goes to /lib/<multiarch triplet>/security/, where libpam looks for modules by name.
# cargo-deb only knows /usr/lib/<triplet> (and would mark the package Multi-Arch: same, wrong for
# a package with /usr/bin/totp-enroll), so stage the module under that path: the asset glob in
# totp-enroll/Cargo.toml ("target/release/pam-totp-deb/lib/*/security/*.so" -> "lib/") keeps
# the triplet directory.
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
stage=$target_dir/release/pam-totp-deb
rm -rf "$stage"
install -D -m 0644 "$target_dir/release/libpam_totp.so" "$stage/lib/$triplet/security/pam_totp.so"

# cargo deb prints the path of the package on stdout.
deb=$(cargo deb -p totp-enroll --no-build --no-strip | tail -n 1)
[ -f "$deb" ] || { echo "build-deb.sh: cargo deb did not make a package (got: $deb)" >&2; exit 1; }

# cargo-deb takes the short description from the totp-enroll crate, which describes the CLI
# alone and is too long for one line (it wraps into the extended description). Put the
# package's own synopsis in: drop the Description line and its continuation lines up to the
# first line of extended-description in totp-enroll/Cargo.toml.
short="TOTP (RFC 6238) second factor for PAM: pam_totp.so and totp-enroll"
first_ext=" pam_totp is a PAM module"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$deb" "$work/root"
control=$work/root/DEBIAN/control
if grep -q "^$first_ext" "$control"; then
    awk -v short="$short" -v ext="$first_ext" '
        /^Description:/ { print "Description: " short; skip = 1; next }
        skip && index($0, ext) == 1 { skip = 0 }
        skip && /^ / { next }
        { skip = 0; print }' "$control" >"$work/control"
    cat "$work/control" >"$control"
    dpkg-deb --root-owner-group -Zxz -b "$work/root" "$deb" >/dev/null
else
    echo "build-deb.sh: warning: extended description changed, short description left as cargo-deb made it" >&2
fi
echo "$deb"
