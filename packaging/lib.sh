# Sourced by packaging/install.sh, tests/install-deps.sh and tests/run.sh: who runs what, so
# that each works from a root shell without sudo (a fresh container) and as a user with sudo.

# Runs a command as root: directly when root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        echo "${0##*/}: $1 needs root, and sudo is not installed: run this as root" >&2
        exit 1
    fi
}

# The home of the user who ran "sudo THIS-SCRIPT", when this runs as root through sudo.
sudo_user_home() {
    [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] || return 1
    getent passwd "$SUDO_USER" | cut -d: -f6
}

# Makes sure there is a cargo to run. Under "sudo SCRIPT" (sudo's secure_path has no
# ~/.cargo/bin) that is the toolchain of the user who ran sudo: cargo_user_home is then their
# home. Otherwise cargo on PATH, or ~/.cargo/bin when a shell has not read ~/.profile since
# rustup installed it.
find_cargo() {
    cargo_user_home=
    local home own=${CARGO_HOME:-$HOME/.cargo}/bin
    if home=$(sudo_user_home) && [ -x "$home/.cargo/bin/cargo" ]; then
        cargo_user_home=$home
        return 0
    fi
    command -v cargo >/dev/null && return 0
    if [ -x "$own/cargo" ]; then
        export PATH="$own:$PATH"
        return 0
    fi
    echo "${0##*/}: cargo not found: install Rust (https://rustup.rs) or put ~/.cargo/bin on PATH" >&2
    exit 1
}

# Runs cargo (after find_cargo) for a build or an install: under "sudo SCRIPT" as the user who
# ran sudo, so that target/ and ~/.cargo stay theirs; otherwise as whoever runs this.
user_cargo() {
    local home
    if home=$(sudo_user_home); then
        runuser -u "$SUDO_USER" -- env "HOME=$home" "PATH=$home/.cargo/bin:$PATH" cargo "$@"
    else
        cargo "$@"
    fi
}
