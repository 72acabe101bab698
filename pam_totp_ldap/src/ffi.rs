//! The entry point pam_totp.so calls (the C signature of pam_sm_authenticate; nothing of Rust
//! crosses it). All `unsafe` of pam_totp_ldap.so lives here.

use pam::constants::PamResultCode;
use pam::module::PamHandle;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Authenticates like pam_sm_authenticate, for pam_totp.so, which passes its own hook's
/// arguments on unchanged. A panic is caught (PAM_ABORT): it never unwinds into the host.
///
/// # Safety
/// `pamh` is the live PAM handle of the calling hook (or null); when `argc > 0`, `argv` points
/// to `argc` pointers to NUL-terminated strings; all stay valid during the call.
#[no_mangle]
pub unsafe extern "C" fn pam_totp_ldap_authenticate(
    pamh: *mut c_void,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    let rc = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller passes its live handle or null (caller contract above).
        let Some(pamh) = (unsafe { pamh.cast::<PamHandle>().as_mut() }) else {
            return PamResultCode::PAM_ABORT;
        };
        // SAFETY: the caller contract above, as for pam_sm_authenticate.
        let Some(args) = (unsafe { arguments(argc, argv) }) else {
            return PamResultCode::PAM_ABORT;
        };
        crate::authenticate(pamh, &args, flags.cast_unsigned())
    }));
    rc.unwrap_or(PamResultCode::PAM_ABORT) as c_int
}

/// The module arguments as pam-bindings' `pam_hooks!` builds them; None when `argc` is
/// negative or a pointer is null.
///
/// # Safety
/// When `argc > 0`, `argv` points to `argc` pointers, each null or to a NUL-terminated string
/// that outlives the returned borrows.
unsafe fn arguments<'a>(argc: c_int, argv: *const *const c_char) -> Option<Vec<&'a CStr>> {
    let count = usize::try_from(argc).ok()?;
    if count == 0 {
        return Some(Vec::new());
    }
    if argv.is_null() {
        return None;
    }
    // SAFETY: `argv` is non-null and points to `count` pointers (caller contract).
    let pointers = unsafe { std::slice::from_raw_parts(argv, count) };
    pointers
        .iter()
        .map(|&p| {
            // SAFETY: a non-null entry is a NUL-terminated string (caller contract).
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
        })
        .collect()
}
