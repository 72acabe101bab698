/* Test-only LD_PRELOAD shim: renameat2() with any flag fails with EINVAL, as NFS answers
 * RENAME_NOREPLACE (this kernel has no NFS client to show it). Rust's nix calls libc's
 * renameat2 wrapper, so preloading this reaches totp-enroll. Calls without flags go to libc.
 *
 * RENAMEAT2_SHIM_LOG=FILE: each refused call appends "renameat2 EINVAL <flags>" to FILE, so a
 *   test can see that the shim was loaded and that the program took the fallback.
 * RENAMEAT2_SHIM_RACE=1: before refusing, create the destination name (mode 0600, contents
 *   "raced\n"), as a concurrent enrollment that won the race would: the fallback must then
 *   fail with EEXIST and leave that file alone. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*renameat2_fn)(int, const char *, int, const char *, unsigned int);

static void note(const char *path, unsigned int flags) {
    char line[64];
    int len = snprintf(line, sizeof line, "renameat2 EINVAL %u\n", flags);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || len < 0) return;
    ssize_t ignored = write(fd, line, (size_t)len);
    (void)ignored;
    close(fd);
}

static void race(int newdirfd, const char *newpath) {
    int fd = openat(newdirfd, newpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
    ssize_t ignored = write(fd, "raced\n", 6);
    (void)ignored;
    close(fd);
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags) {
    if (flags != 0) {
        const char *log = getenv("RENAMEAT2_SHIM_LOG");
        const char *raced = getenv("RENAMEAT2_SHIM_RACE");
        if (raced != NULL && strcmp(raced, "1") == 0) race(newdirfd, newpath);
        if (log != NULL) note(log, flags);
        errno = EINVAL;
        return -1;
    }
    renameat2_fn real = (renameat2_fn)dlsym(RTLD_NEXT, "renameat2");
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real(olddirfd, oldpath, newdirfd, newpath, flags);
}
