/* Test-only LD_PRELOAD shim: a login killed in the middle of writing its login state.
 *
 * TORN_WRITE=cut   the first pwrite of a whole page or more writes only its first 40 bytes
 *                  (inside the state text), and the process is then killed with SIGKILL: new
 *                  bytes first, old ones after, as a write torn by a crash leaves them.
 * TORN_WRITE=zero  that pwrite writes zeroes instead (a block allocated but never filled),
 *                  then SIGKILL.
 * TORN_WRITE_LOG=FILE  each torn write appends "torn <mode> <offset> <count>" to FILE, so a
 *                  test can see that the shim was loaded and hit.
 * Without TORN_WRITE, or for smaller writes, pwrite goes to libc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

static void note(const char *mode, off_t offset, size_t count) {
    const char *path = getenv("TORN_WRITE_LOG");
    char line[96];
    int len;
    int fd;
    if (path == NULL) return;
    len = snprintf(line, sizeof line, "torn %s %lld %zu\n", mode, (long long)offset, count);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || len < 0) return;
    ssize_t ignored = write(fd, line, (size_t)len);
    (void)ignored;
    close(fd);
}

static ssize_t torn(int fd, const void *buf, size_t count, off_t offset) {
    static pwrite_fn real;
    const char *mode = getenv("TORN_WRITE");
    if (real == NULL) real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
    if (real == NULL) return -1;
    if (mode == NULL || count < 4096) return real(fd, buf, count, offset);
    if (strcmp(mode, "zero") == 0) {
        void *zeroes = calloc(1, count);
        if (zeroes != NULL) real(fd, zeroes, count, offset);
    } else {
        real(fd, buf, 40, offset);
    }
    note(mode, offset, count);
    kill(getpid(), SIGKILL);
    return -1;
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
    return torn(fd, buf, count, offset);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    return torn(fd, buf, count, offset);
}
