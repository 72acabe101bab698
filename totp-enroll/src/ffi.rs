//! What nix does not wrap: syslog with the authpriv facility (the audit trail). All `unsafe`
//! of totp-enroll lives here.

use nix::libc;
use std::ffi::CStr;

/// The syslog ident of the audit lines.
const IDENT: &CStr = c"totp-enroll";

/// Sends `message` to syslog as authpriv.notice, ident `totp-enroll` with the process id. The
/// message is passed as the argument of a constant `%s` format, never as the format.
pub fn syslog_authpriv_notice(message: &CStr) {
    // SAFETY: IDENT is a NUL-terminated string that lives for the whole program, as openlog
    // requires (glibc keeps the pointer); the option and facility are libc's constants.
    unsafe { libc::openlog(IDENT.as_ptr(), libc::LOG_PID, libc::LOG_AUTHPRIV) };
    // SAFETY: the format is the constant "%s", which reads exactly one argument: `message`, a
    // NUL-terminated string that is alive for the whole call.
    unsafe {
        libc::syslog(
            libc::LOG_AUTHPRIV | libc::LOG_NOTICE,
            c"%s".as_ptr(),
            message.as_ptr(),
        )
    };
}
