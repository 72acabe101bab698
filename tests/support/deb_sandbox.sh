# Run by `unshare -m` through `sh -c` (tests/tests/deb.rs): the sandbox directory, then the command.
# Exit 97: the sandbox could not be set up.
d=$1; shift
mount -t tmpfs -o mode=0700 pam_totp-deb-sandbox "$d" || exit 97
for t in usr etc var lib; do
    [ -d "/$t" ] && [ ! -L "/$t" ] || continue
    mkdir "$d/$t" "$d/$t.work" || exit 97
    mount -t overlay pam_totp-deb-sandbox -o "lowerdir=/$t,upperdir=$d/$t,workdir=$d/$t.work" "/$t" || exit 97
done
exec "$@"
