//! The few libpam calls pam-bindings does not wrap (pam_syslog, setting PAM_AUTHTOK,
//! pam_fail_delay, module data with a cleanup that sees the transaction's status), flock(2)
//! without nix's panicking unlock, and the fscrypt ioctls. All `unsafe` of the module lives
//! here.

use crate::forwarded::KeptCode;
use pam::module::PamHandle;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
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
    let text = CString::new(crate::log_safe::line(message)).unwrap_or_default();
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

/// `_IOWR('f', 22, __u8[9])`: FS_IOC_GET_ENCRYPTION_POLICY_EX (linux/fscrypt.h).
const FS_IOC_GET_ENCRYPTION_POLICY_EX: libc::c_ulong = 0xC009_6616;
/// `_IOWR('f', 26, struct fscrypt_get_key_status_arg)` (128 bytes).
const FS_IOC_GET_ENCRYPTION_KEY_STATUS: libc::c_ulong = 0xC080_661A;
const FSCRYPT_POLICY_V1: u8 = 0;
const FSCRYPT_POLICY_V2: u8 = 2;
const FSCRYPT_KEY_SPEC_TYPE_DESCRIPTOR: u32 = 1;
const FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER: u32 = 2;
const FSCRYPT_KEY_STATUS_PRESENT: u32 = 2;

/// struct fscrypt_get_policy_ex_arg: the size, then a v1 (12 bytes) or v2 (24 bytes) policy.
#[repr(C)]
struct PolicyExArg {
    policy_size: u64,
    policy: [u8; 24],
}

/// struct fscrypt_get_key_status_arg.
#[repr(C)]
struct KeyStatusArg {
    spec_type: u32,
    spec_reserved: u32,
    spec: [u8; 32],
    reserved: [u32; 6],
    status: u32,
    status_flags: u32,
    user_count: u32,
    out_reserved: [u32; 13],
}

/// True when `dir` is encrypted with fscrypt and its key is not loaded (names in it cannot be
/// looked up). An encrypted directory whose key status cannot be learnt counts as locked.
pub fn fscrypt_locked(dir: &impl AsRawFd) -> bool {
    let mut arg = PolicyExArg {
        policy_size: 24,
        policy: [0; 24],
    };
    // SAFETY: the request's argument is a fscrypt_get_policy_ex_arg of the size the kernel
    // reads from `policy_size`; `arg` lives for the call and the kernel writes only into it.
    let rc = unsafe {
        libc::ioctl(
            dir.as_raw_fd(),
            FS_IOC_GET_ENCRYPTION_POLICY_EX,
            std::ptr::addr_of_mut!(arg),
        )
    };
    if rc != 0 {
        return match io::Error::last_os_error().raw_os_error() {
            // Not encrypted, or a file system without encryption.
            Some(libc::ENODATA | libc::EOPNOTSUPP | libc::ENOSYS) => false,
            // A kernel older than 5.4: only the v1 request exists, and no key status.
            Some(libc::ENOTTY) => v1_policy_present(dir),
            // Encrypted with a policy we cannot read (EINVAL, EOVERFLOW...): count as locked.
            _ => true,
        };
    }
    let mut status = KeyStatusArg {
        spec_type: 0,
        spec_reserved: 0,
        spec: [0; 32],
        reserved: [0; 6],
        status: 0,
        status_flags: 0,
        user_count: 0,
        out_reserved: [0; 13],
    };
    let [version, _, _, _, rest @ ..] = arg.policy;
    match version {
        // v1: 4 mode/flag bytes, then the 8-byte key descriptor.
        FSCRYPT_POLICY_V1 => {
            status.spec_type = FSCRYPT_KEY_SPEC_TYPE_DESCRIPTOR;
            for (to, from) in status.spec.iter_mut().zip(rest.iter().take(8)) {
                *to = *from;
            }
        }
        // v2: 4 mode/flag bytes, 4 more bytes, then the 16-byte key identifier.
        FSCRYPT_POLICY_V2 => {
            status.spec_type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
            for (to, from) in status.spec.iter_mut().zip(rest.iter().skip(4).take(16)) {
                *to = *from;
            }
        }
        _ => return true,
    }
    // SAFETY: the argument is a fscrypt_get_key_status_arg (128 bytes, as the request encodes);
    // `status` lives for the call and the kernel writes only into it.
    let rc = unsafe {
        libc::ioctl(
            dir.as_raw_fd(),
            FS_IOC_GET_ENCRYPTION_KEY_STATUS,
            std::ptr::addr_of_mut!(status),
        )
    };
    rc != 0 || status.status != FSCRYPT_KEY_STATUS_PRESENT
}

/// `_IOW('f', 21, struct fscrypt_policy_v1)`: FS_IOC_GET_ENCRYPTION_POLICY (12 bytes).
const FS_IOC_GET_ENCRYPTION_POLICY: libc::c_ulong = 0x400C_6615;

/// On kernels without FS_IOC_GET_ENCRYPTION_POLICY_EX: true when `dir` has a (v1) encryption
/// policy, or one that cannot be read. Its key status cannot be asked there, so an encrypted
/// directory counts as locked.
fn v1_policy_present(dir: &impl AsRawFd) -> bool {
    let mut policy = [0u8; 12];
    // SAFETY: the request's argument is a 12-byte fscrypt_policy_v1 that the kernel fills;
    // `policy` lives for the call.
    let rc = unsafe {
        libc::ioctl(
            dir.as_raw_fd(),
            FS_IOC_GET_ENCRYPTION_POLICY,
            policy.as_mut_ptr(),
        )
    };
    rc == 0
        || !matches!(
            io::Error::last_os_error().raw_os_error(),
            Some(libc::ENODATA | libc::EOPNOTSUPP | libc::ENOSYS | libc::ENOTTY)
        )
}

/// The libpam data name under which `forward_pass` keeps the code for `check_forwarded`,
/// with the module's version: two different builds in one stack never read each other's data.
const KEPT_CODE: &[u8] = concat!("pam_totp_kept_code/", env!("CARGO_PKG_VERSION"), "\0").as_bytes();
const PAM_DATA_SILENT: c_int = 0x4000_0000;
const PAM_DATA_REPLACE: c_int = 0x2000_0000;

fn kept_code_name() -> Option<&'static CStr> {
    CStr::from_bytes_with_nul(KEPT_CODE).ok()
}

#[link(name = "pam")]
extern "C" {
    fn pam_set_data(
        pamh: *mut c_void,
        name: *const c_char,
        data: *mut c_void,
        cleanup: Option<extern "C" fn(*mut c_void, *mut c_void, c_int)>,
    ) -> c_int;
    fn pam_get_data(pamh: *const c_void, name: *const c_char, data: *mut *const c_void) -> c_int;
}

/// Keeps `kept` in the PAM handle until `check_forwarded` takes it or the transaction ends.
pub fn keep_code(pamh: &mut PamHandle, kept: KeptCode) -> bool {
    let Some(name) = kept_code_name() else {
        return false;
    };
    let data = Box::into_raw(Box::new(kept));
    let handle: *mut PamHandle = pamh;
    // SAFETY: `handle` is the live handle of this hook; `data` is a leaked Box<KeptCode> that
    // libpam owns from now on and hands back to `drop_kept_code` exactly once.
    let rc = unsafe {
        pam_set_data(
            handle.cast(),
            name.as_ptr(),
            data.cast(),
            Some(drop_kept_code),
        )
    };
    if rc != PAM_SUCCESS {
        // SAFETY: libpam refused the data, so `data` is still ours and freed only here.
        drop(unsafe { Box::from_raw(data) });
        return false;
    }
    true
}

/// The code kept by `forward_pass` in this transaction, if any.
fn kept_code(pamh: &PamHandle) -> Option<&KeptCode> {
    let name = kept_code_name()?;
    let mut data: *const c_void = std::ptr::null();
    let handle: *const PamHandle = pamh;
    // SAFETY: `handle` is the live handle of this hook; libpam writes one pointer into `data`.
    let rc = unsafe { pam_get_data(handle.cast(), name.as_ptr(), &mut data) };
    if rc != PAM_SUCCESS || data.is_null() {
        return None;
    }
    // SAFETY: only `keep_code` of this build stores data under this name, always a
    // Box<KeptCode>; it stays alive until pam_end or a replacement by `keep_code`, neither of
    // which can run while the returned borrow of the handle lives.
    Some(unsafe { &*data.cast::<KeptCode>() })
}

/// The code kept by `forward_pass` in this transaction, once.
pub fn take_kept_code(pamh: &PamHandle) -> Option<crate::forwarded::Taken> {
    kept_code(pamh)?.take()
}

/// Records that `check_forwarded` accepted the kept code (or found the user not enrolled).
pub fn settle_kept_code(pamh: &PamHandle) {
    if let Some(kept) = kept_code(pamh) {
        kept.settle();
    }
}

/// The user whose kept code was never accepted in this transaction, if any.
pub fn unsettled_kept_code_user(pamh: &PamHandle) -> Option<String> {
    kept_code(pamh)?.unsettled_user().map(str::to_string)
}

/// libpam's cleanup for the kept code (at pam_end, or when it is replaced): frees it, and
/// when the transaction succeeded without the code having been accepted, says so loudly.
extern "C" fn drop_kept_code(pamh: *mut c_void, data: *mut c_void, status: c_int) {
    if data.is_null() {
        return;
    }
    // Nothing below is expected to panic; if it ever does, it must not unwind into libpam.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `data` is the Box<KeptCode> leaked by `keep_code`; libpam calls this once.
        let kept = unsafe { Box::from_raw(data.cast::<KeptCode>()) };
        // PAM_DATA_SILENT: a forked child ends its copy of the handle; the parent reports.
        let quiet = status & (PAM_DATA_REPLACE | PAM_DATA_SILENT) != 0;
        if !quiet && status == PAM_SUCCESS {
            if let Some(line) = kept.unchecked_success_line() {
                alarm(pamh, &line);
            }
        }
    });
}

/// Writes `line` at alert level with the usual "pam_totp(SERVICE:auth): " prefix (libpam has
/// left the module when cleanups run, so pam_syslog would not name it).
fn alarm(pamh: *mut c_void, line: &str) {
    let service = item_string(pamh, PAM_SERVICE).unwrap_or_default();
    let text = format!(
        "pam_totp({}:auth): {line}",
        crate::log_safe::field(&service)
    );
    let text = CString::new(crate::log_safe::line(&text)).unwrap_or_default();
    // SAFETY: constant "%s" format with one NUL-terminated argument that outlives the call.
    unsafe {
        libc::syslog(
            libc::LOG_AUTHPRIV | libc::LOG_ALERT,
            c"%s".as_ptr(),
            text.as_ptr(),
        )
    }
}

const PAM_SERVICE: c_int = 1;

#[link(name = "pam")]
extern "C" {
    fn pam_get_item(pamh: *const c_void, item_type: c_int, item: *mut *const c_void) -> c_int;
}

/// A string item of a handle that libpam passes to a cleanup function.
fn item_string(pamh: *mut c_void, item: c_int) -> Option<String> {
    let mut value: *const c_void = std::ptr::null();
    // SAFETY: `pamh` is the handle being ended, still valid while its data is freed; libpam
    // writes one pointer into `value`.
    let rc = unsafe { pam_get_item(pamh, item, &mut value) };
    if rc != PAM_SUCCESS || value.is_null() {
        return None;
    }
    // SAFETY: string items are NUL-terminated C strings owned by libpam, alive during this call.
    let text = unsafe { CStr::from_ptr(value.cast::<c_char>()) };
    Some(text.to_string_lossy().into_owned())
}
