/* Test-only LD_PRELOAD shim: appends every syslog() line of the process to the file named by
 * PAM_TOTP_TEST_SYSLOG as "<priority> <message>". The machines that run the tests have no
 * syslog daemon; this captures exactly what libpam's pam_syslog() would send to /dev/log. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void capture(int priority, const char *fmt, va_list ap) {
    const char *path = getenv("PAM_TOTP_TEST_SYSLOG");
    if (path == NULL) return;
    char line[8192];
    int head = snprintf(line, sizeof line, "%d ", priority);
    if (head < 0) return;
    vsnprintf(line + head, sizeof line - (size_t)head, fmt, ap);
    size_t len = strlen(line);
    if (len + 1 < sizeof line) line[len++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    ssize_t ignored = write(fd, line, len);
    (void)ignored;
    close(fd);
}

void vsyslog(int priority, const char *fmt, va_list ap) { capture(priority, fmt, ap); }
void __vsyslog_chk(int priority, int flag, const char *fmt, va_list ap) {
    (void)flag;
    capture(priority, fmt, ap);
}
void syslog(int priority, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    capture(priority, fmt, ap);
    va_end(ap);
}
void __syslog_chk(int priority, int flag, const char *fmt, ...) {
    (void)flag;
    va_list ap;
    va_start(ap, fmt);
    capture(priority, fmt, ap);
    va_end(ap);
}
void openlog(const char *ident, int option, int facility) { (void)ident; (void)option; (void)facility; }
void closelog(void) {}
