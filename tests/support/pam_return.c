/* Test-only PAM module: pam_sm_authenticate returns the number given as "ret=N" (any int, also
 * outside libpam's range), so that a test can drive a shipped stack's control line through every
 * return code a module might give; pam_sm_setcred returns PAM_SUCCESS. Other arguments (e.g.
 * the shipped line's own options) are ignored. Without ret= it returns PAM_SERVICE_ERR. */
#include <security/pam_modules.h>
#include <stdlib.h>
#include <string.h>

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)pamh;
    (void)flags;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "ret=", 4) == 0) return (int)strtol(argv[i] + 4, NULL, 10);
    }
    return PAM_SERVICE_ERR;
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}
