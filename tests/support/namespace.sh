# Run by `unshare -m` through `sh -c` (tests/src/lib.rs, namespace): SOURCE TARGET pairs to bind
# mount, `--`, optionally `--devlog HOSTDEV SOCKET` for a private /dev whose log is SOCKET, then
# the program and its arguments. Exit 97: the namespace could not be set up.
while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 97; shift 2; done; shift
if [ "$1" = --devlog ]; then
    host=$2 sock=$3; shift 3
    mount --rbind /dev "$host" || exit 97
    mount -t tmpfs -o mode=755,nosuid tmpfs /dev || exit 97
    for n in null zero full random urandom tty; do
        touch "/dev/$n" && mount --bind "$host/$n" "/dev/$n" || exit 97
    done
    mkdir /dev/pts /dev/shm && mount --rbind "$host/pts" /dev/pts && mount --rbind "$host/shm" /dev/shm || exit 97
    ln -s pts/ptmx /dev/ptmx && ln -s /proc/self/fd /dev/fd && ln -s /proc/self/fd/0 /dev/stdin && ln -s /proc/self/fd/1 /dev/stdout &&
        ln -s /proc/self/fd/2 /dev/stderr && ln -s "$sock" /dev/log || exit 97
fi
exec "$@"
