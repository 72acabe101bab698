/* pam-bench's timed host: one PAM transaction (pam_start_confdir, pam_authenticate, pam_end)
 * in a plain C process, as in sshd, sudo or su: no Rust runtime and no libgcc_s loaded
 * beforehand, so each module's real loading cost is measured. Every hidden prompt is answered
 * with ANSWER; the failure delay is not slept. Prints "<pam_authenticate result> <microseconds>".
 *
 *   pam-timer CONFDIR SERVICE USER ANSWER
 */
#define _GNU_SOURCE
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int answer_all(int n, const struct pam_message **msg, struct pam_response **resp,
                      void *answer) {
    if (n <= 0) return PAM_CONV_ERR;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (r == NULL) return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
            r[i].resp = strdup((const char *)answer);
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static void no_delay(int retval, unsigned usec, void *appdata) {
    (void)retval;
    (void)usec;
    (void)appdata;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: pam-timer CONFDIR SERVICE USER ANSWER\n");
        return 2;
    }
    struct pam_conv conv = {answer_all, argv[4]};
    struct timespec start, end;
    pam_handle_t *pamh = NULL;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int rc = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &pamh);
    if (rc != PAM_SUCCESS) {
        fprintf(stderr, "pam_start_confdir: %d\n", rc);
        return 1;
    }
    void (*delay)(int, unsigned, void *) = no_delay;
    pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)delay);
    rc = pam_authenticate(pamh, 0);
    pam_end(pamh, rc);
    clock_gettime(CLOCK_MONOTONIC, &end);
    long long usec = (end.tv_sec - start.tv_sec) * 1000000LL + (end.tv_nsec - start.tv_nsec) / 1000;
    printf("%d %lld\n", rc, usec);
    return 0;
}
