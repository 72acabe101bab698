#!/usr/bin/env bash
# Makes Debian's slapd (with the otp overlay, otp.so) and the OpenLDAP clients (ldapadd,
# ldapsearch, ldapwhoami) available to the tests in target/slapd-root, without installing or
# configuring a system slapd. Called by tests/install-deps.sh; safe to run again (it skips the
# extraction when target/slapd-root already holds this version).
#
# Why extract instead of "apt-get install slapd" with "slapd slapd/no_configuration boolean
# true" preseeded: with no_configuration the postinst still adds the openldap system user,
# registers the init script (update-rc.d slapd defaults) and runs "invoke-rc.d slapd start",
# so the host gets a slapd service that starts as soon as /etc/ldap holds a configuration (or
# on the next boot), plus /etc/ldap files shared with anything else on the machine. The tests
# start their own slapd with a throwaway slapd.conf; all they need are the binaries.
# "apt-get download" + "dpkg-deb -x" runs no maintainer script: nothing in /etc, no user, no
# service, no daemon. Only slapd's shared-library dependencies are installed with apt (they
# start nothing), so that slapd and the clients run from the extracted tree with
# LD_LIBRARY_PATH=<root>/usr/lib/<triplet> (for libslapi, which ships in the slapd package).
set -euo pipefail
cd "$(dirname "$0")/.."
# as_root, sudo_user_home
. packaging/lib.sh

target=${CARGO_TARGET_DIR:-$PWD/target}
root=$target/slapd-root
cache=$target/slapd-debs
packages=(slapd ldap-utils)

version=$(apt-cache policy slapd | sed -n 's/^ *Candidate: //p')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "${0##*/}: apt has no slapd package: run apt-get update, or enable Debian's main component" >&2
    exit 1
fi

# The libraries slapd and the clients link (libldap, libsasl2, libltdl, libodbc, ...).
mapfile -t libs < <(apt-cache depends --no-pre-depends --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances "${packages[@]}" |
    sed -n 's/^ *Depends: \(lib[^ <>]*\)$/\1/p' | sort -u)
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${libs[@]}" >/dev/null

if [ "$(cat "$root/.version" 2>/dev/null)" != "$version" ]; then
    rm -rf "$cache" "$root.new"
    mkdir -p "$cache" "$root.new"
    # As root apt downloads through its _apt sandbox user, which cannot write here.
    (cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "${packages[@]}")
    for deb in "$cache"/*.deb; do
        dpkg-deb -x "$deb" "$root.new"
    done
    echo "$version" >"$root.new/.version"
    rm -rf "$root"
    mv "$root.new" "$root"
    if home=$(sudo_user_home); then
        chown -R "$SUDO_USER:" "$cache" "$root"
    fi
fi

# Check what the tests rely on: the overlay, and that slapd finds every library it links.
[ -e "$root/usr/lib/ldap/otp.la" ] || {
    echo "${0##*/}: $root/usr/lib/ldap/otp.la missing: this slapd has no otp overlay" >&2
    exit 1
}
libdir=$(dirname "$(find "$root/usr/lib" -name 'libslapi-*.so.*' -print -quit)")
for bin in usr/sbin/slapd usr/bin/ldapwhoami; do
    if LD_LIBRARY_PATH=$libdir ldd "$root/$bin" | grep 'not found'; then
        echo "${0##*/}: $root/$bin: libraries not found (above): apt-get install them" >&2
        exit 1
    fi
done
