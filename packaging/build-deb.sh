#!/usr/bin/env bash
# Builds the Debian package pam-totp with cargo-deb and prints the path of the .deb.
#   packaging/build-deb.sh              release build + package, for this machine's architecture
#   packaging/build-deb.sh --no-build   package what target/release already holds
# Needs: a Rust toolchain, libpam0g-dev (to link), dpkg-dev (dpkg-architecture, dpkg-shlibdeps
# for the Depends line), binutils (objcopy). Installs cargo-deb with "cargo install" when it is
# missing. Check the result with: lintian target/debian/pam-totp_*.deb
# Install the result with:  sudo apt install ./target/debian/pam-totp_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "build-deb.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

for tool in dpkg-architecture dpkg-shlibdeps dpkg-deb objcopy; do
    command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool missing: apt-get install dpkg-dev binutils" >&2; exit 1; }
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
for f in libpam_totp.so libpam_totp_ldap.so totp-enroll; do
    [ -f "$target_dir/release/$f" ] || { echo "build-deb.sh: $target_dir/release/$f missing: run without --no-build" >&2; exit 1; }
done

# The module goes to /lib/<multiarch triplet>/security/, where libpam looks for modules by name,
# and pam_totp_ldap.so (store=ldap: the LDAP client and TLS, which pam_totp.so loads from its
# own directory only for store=ldap lines) beside it. cargo-deb only knows /usr/lib/<triplet>
# (and would mark the package Multi-Arch: same, wrong for a package with /usr/bin/totp-enroll),
# so stage both under that path: the asset glob in totp-enroll/Cargo.toml
# ("target/release/pam-totp-deb/lib/*/security/*.so" -> "lib/") keeps the triplet directory.
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
stage=$target_dir/release/pam-totp-deb
rm -rf "$stage"
install -D -m 0644 "$target_dir/release/libpam_totp.so" "$stage/lib/$triplet/security/pam_totp.so"
install -D -m 0644 "$target_dir/release/libpam_totp_ldap.so" "$stage/lib/$triplet/security/pam_totp_ldap.so"

# debian/copyright (machine-readable, DEP-5) from packaging/debian/copyright: @CRATES@ becomes
# the Rust crates linked into the three binaries (cargo tree: normal dependencies, no proc
# macros, this machine's target), @MIT@ the text of LICENSE-MIT in DEP-5 form.
host=$(cargo -vV | sed -n 's/^host: //p')
crates=$(cargo tree --locked --target "$host" -e normal,no-proc-macro --prefix none \
        --format '{p} {l}' -p pam_totp -p pam_totp_ldap -p totp-enroll |
    sed -n 's/^\([^ ]*\) v\([^ ]*\) \(.*\)$/ \1 \2: \3/p' | grep -v ' (\*)$' | LC_ALL=C sort -u)
[ -n "$crates" ] || { echo "build-deb.sh: cargo tree listed no crates for debian/copyright" >&2; exit 1; }
# Workspace crates (path dependencies) show their directory after the version: not listed.
crates=$(printf '%s\n' "$crates" | grep -v ': (/' || true)
mit=$(sed -e 's/^$/./' -e 's/^/ /' LICENSE-MIT)
awk -v crates="$crates" -v mit="$mit" '
    $0 == "@CRATES@" { print crates; next }
    $0 == "@MIT@" { print mit; next }
    { print }' packaging/debian/copyright >"$stage/copyright"
if grep -n '@[A-Z]*@' "$stage/copyright" >&2; then
    echo "build-deb.sh: placeholder left in $stage/copyright" >&2
    exit 1
fi

# cargo deb prints the path of the package on stdout.
deb=$(cargo deb -p totp-enroll --no-build --no-strip | tail -n 1)
[ -f "$deb" ] || { echo "build-deb.sh: cargo deb did not make a package (got: $deb)" >&2; exit 1; }

# What cargo-deb does not do, on the unpacked package:
# - the short description: cargo-deb takes it from the totp-enroll crate, which describes the
#   CLI alone and is too long for one line (it wraps into the extended description). Put the
#   package's own synopsis in: drop the Description line and its continuation lines up to the
#   first line of extended-description in totp-enroll/Cargo.toml.
# - the .comment sections (compiler and linker versions) of the binaries, which nothing reads.
# - DEBIAN/md5sums, which dpkg --verify and debsums check installed files against.
short="TOTP (RFC 6238) second factor for PAM: pam_totp.so and totp-enroll"
first_ext=" pam_totp is a PAM module"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$deb" "$work/root"
control=$work/root/DEBIAN/control
grep -q "^$first_ext" "$control" || {
    echo "build-deb.sh: the extended description in totp-enroll/Cargo.toml no longer starts with '$first_ext': update \$first_ext here" >&2
    exit 1
}
awk -v short="$short" -v ext="$first_ext" '
    /^Description:/ { print "Description: " short; skip = 1; next }
    skip && index($0, ext) == 1 { skip = 0 }
    skip && /^ / { next }
    { skip = 0; print }' "$control" >"$work/control"
cat "$work/control" >"$control"
for elf in "$work/root/usr/bin/totp-enroll" "$work/root/lib/$triplet/security/pam_totp.so" \
    "$work/root/lib/$triplet/security/pam_totp_ldap.so"; do
    objcopy --remove-section=.comment "$elf"
done
(cd "$work/root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum) >"$work/root/DEBIAN/md5sums"
chmod 0644 "$work/root/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz -b "$work/root" "$deb" >/dev/null
echo "$deb"
