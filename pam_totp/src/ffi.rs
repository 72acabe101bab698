//! The few libpam calls pam-bindings does not wrap (pam_syslog, setting PAM_AUTHTOK,
//! pam_fail_delay) and flock(2) without nix's panicking unlock. All `unsafe` of the module
//! lives here.

use pam::module::PamHandle;
use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::io;
use std::os::fd::AsRawFd;
use zeroize::Zeroizing;

const PAM_AUTHTOK: c_int = 6;
const PAM_SUCCESS: c_int = 0;

#[link(name = "pam")]
extern "C" {
    fn pam_syslog(pamh: *const c_void, priority: c_int, fmt: *const c_char, ...);
    fn pam_set_item(pamh: *mut c_void, item_type: c_int, item: *const c_void) -> c_int;
    fn pam_fail_delay(pamh: *mut c_void, usec: c_uint) -> c_int;
}

/// Logs `message` to the authpriv facility through libpam (it adds "pam_totp(service:type): ").
pub fn syslog(pamh: &PamHandle, priority: c_int, message: &str) {
    let text = CString::new(message.replace('\0', "?")).unwrap_or_default();
    let handle: *const PamHandle = pamh;
    // SAFETY: `handle` is the live handle libpam passed to this hook; the format is the constant
    // "%s" and its one argument a NUL-terminated string that outlives the call.
    unsafe { pam_syslog(handle.cast(), priority, c"%s".as_ptr(), text.as_ptr()) }
}

/// Sets PAM_AUTHTOK (libpam copies the string); false when libpam refuses.
pub fn set_authtok(pamh: &mut PamHandle, value: &str) -> bool {
    let mut bytes = Zeroizing::new(Vec::with_capacity(value.len() + 1));
    bytes.extend_from_slice(value.as_bytes());
    if bytes.contains(&0) {
        return false;
    }
    bytes.push(0);
    let handle: *mut PamHandle = pamh;
    // SAFETY: `handle` is the live handle of this hook; `bytes` is NUL-terminated, has no inner
    // NUL, and outlives the call; libpam copies the item before returning.
    let rc = unsafe { pam_set_item(handle.cast(), PAM_AUTHTOK, bytes.as_ptr().cast()) };
    rc == PAM_SUCCESS
}

/// Requests a delay of at least `micros` after a failed authentication.
pub fn fail_delay(pamh: &mut PamHandle, micros: u32) {
    let handle: *mut PamHandle = pamh;
    // SAFETY: `handle` is the live handle of this hook; the call takes only plain integers.
    unsafe {
        pam_fail_delay(handle.cast(), micros);
    }
}

/// Tries to take an exclusive flock on `file` without waiting: Ok(false) when another process
/// holds it. The lock is released when the file is closed.
pub fn try_lock_exclusive(file: &impl AsRawFd) -> io::Result<bool> {
    // SAFETY: flock takes a descriptor number and flags; an invalid descriptor only makes it
    // fail with EBADF.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => Ok(false),
        _ => Err(err),
    }
}
