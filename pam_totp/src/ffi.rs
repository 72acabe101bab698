//! The few libpam calls pam-bindings does not wrap (pam_syslog, setting PAM_AUTHTOK,
//! pam_fail_delay, module data with a cleanup that sees the transaction's status), and the
//! hand-over of `store=ldap` lines to pam_totp_ldap.so (dlopen). All `unsafe` of the module
//! lives here.

use crate::forwarded::KeptCode;
use crate::options::Store;
use pam::constants::{PamFlag, PamResultCode};
use pam::module::PamHandle;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
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
    let text = CString::new(pam_totp_core::log_safe::line(message)).unwrap_or_default();
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

/// The store of the `forward_pass` line whose code is kept in this transaction, if any.
pub fn kept_code_store(pamh: &PamHandle) -> Option<Store> {
    kept_code(pamh).map(KeptCode::store)
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
        pam_totp_core::log_safe::field(&service)
    );
    let text = CString::new(pam_totp_core::log_safe::line(&text)).unwrap_or_default();
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

/// The LDAP module's file names, tried in this order in pam_totp.so's own directory.
const LDAP_MODULE_FILES: [&str; 2] = ["pam_totp_ldap.so", "libpam_totp_ldap.so"];
/// The one symbol pam_totp.so looks up in the LDAP module.
const LDAP_ENTRY: &CStr = c"pam_totp_ldap_authenticate";
/// `pam_totp_ldap_authenticate(pamh, flags, argc, argv) -> PAM return code`: pam_sm_authenticate's
/// C signature; nothing of Rust crosses it.
type LdapEntry = unsafe extern "C" fn(*mut c_void, c_int, c_int, *const *const c_char) -> c_int;

/// Runs this `auth` line in pam_totp_ldap.so, loaded from the directory pam_totp.so was loaded
/// from (the ldap3/rustls code is paid for only by `store=ldap` lines). A missing or broken
/// LDAP module is logged and gives PAM_AUTHINFO_UNAVAIL.
pub fn authenticate_in_ldap_module(
    pamh: &mut PamHandle,
    flags: PamFlag,
    args: &[&CStr],
) -> PamResultCode {
    let module = match own_directory().and_then(|dir| LdapModule::load(&dir)) {
        Ok(m) => m,
        Err(problem) => {
            syslog(pamh, libc::LOG_ERR, &problem);
            return PamResultCode::PAM_AUTHINFO_UNAVAIL;
        }
    };
    let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    let Ok(argc) = c_int::try_from(argv.len()) else {
        return PamResultCode::PAM_SERVICE_ERR;
    };
    let handle: *mut PamHandle = pamh;
    // SAFETY: `entry` has the C signature the LDAP module exports under LDAP_ENTRY (see
    // pam_totp_ldap/src/ffi.rs); `handle` is the live handle of this hook, `argv` holds `argc`
    // NUL-terminated strings that libpam owns for the whole call, and the module stays loaded
    // (RTLD_NODELETE) while `module` lives.
    let rc = unsafe { (module.entry)(handle.cast(), flags.cast_signed(), argc, argv.as_ptr()) };
    PamResultCode::try_from(rc).unwrap_or(PamResultCode::PAM_SYSTEM_ERR)
}

/// The directory of the object this code was loaded from (pam_totp.so), from dladdr.
fn own_directory() -> Result<PathBuf, String> {
    let ours: fn(&mut PamHandle, PamFlag, &[&CStr]) -> PamResultCode = authenticate_in_ldap_module;
    // SAFETY: Dl_info is plain data (pointers and an integer); all-zero is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: the address is one of this object's functions; dladdr only fills `info`.
    let found = unsafe { libc::dladdr(ours as *const c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return Err("store=ldap: cannot find the directory pam_totp.so was loaded from (dladdr failed); refusing".into());
    }
    // SAFETY: dladdr set dli_fname to the NUL-terminated path of the loaded object, which stays
    // valid while the object is loaded (this call runs inside it).
    let file = unsafe { CStr::from_ptr(info.dli_fname) };
    let file = Path::new(OsStr::from_bytes(file.to_bytes()));
    match file.parent() {
        Some(dir) if file.is_absolute() => Ok(dir.to_path_buf()),
        _ => Err(format!(
            "store=ldap: pam_totp.so was loaded as {} (not an absolute path), so the directory of pam_totp_ldap.so is unknown; name the module by its absolute path in the pam.d line",
            file.display()
        )),
    }
}

/// pam_totp_ldap.so, loaded, with its entry point.
struct LdapModule {
    handle: *mut c_void,
    entry: LdapEntry,
}

impl LdapModule {
    /// Loads the first of [`LDAP_MODULE_FILES`] in `dir` that loads; the error is the log line.
    fn load(dir: &Path) -> Result<LdapModule, String> {
        let mut problems = Vec::new();
        for name in LDAP_MODULE_FILES {
            let path = dir.join(name);
            match Self::load_file(&path) {
                Ok(module) => return Ok(module),
                Err(problem) => problems.push((path.exists(), problem)),
            }
        }
        // The error of a file that is there (and did not load) says more than "no such file".
        let problem = problems
            .iter()
            .find(|(exists, _)| *exists)
            .or(problems.first())
            .map(|(_, p)| p.as_str())
            .unwrap_or_default();
        Err(format!(
            "store=ldap needs pam_totp_ldap.so in {}: {problem}; install it next to pam_totp.so",
            dir.display()
        ))
    }

    fn load_file(path: &Path) -> Result<LdapModule, String> {
        let Ok(file) = CString::new(path.as_os_str().as_bytes()) else {
            return Err(format!("{} has a NUL byte", path.display()));
        };
        let flags = libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_NODELETE;
        // SAFETY: `file` is a NUL-terminated path; loading runs the library's initialisers,
        // which for pam_totp_ldap.so (Rust, no constructors of its own) are the C runtime's.
        let handle = unsafe { libc::dlopen(file.as_ptr(), flags) };
        if handle.is_null() {
            return Err(dl_error());
        }
        // SAFETY: `handle` came from dlopen above; LDAP_ENTRY is NUL-terminated.
        let symbol = unsafe { libc::dlsym(handle, LDAP_ENTRY.as_ptr()) };
        if symbol.is_null() {
            let problem = dl_error();
            // SAFETY: `handle` came from dlopen and is closed once, here.
            unsafe { libc::dlclose(handle) };
            return Err(problem);
        }
        // SAFETY: the LDAP module defines LDAP_ENTRY with exactly the LdapEntry signature;
        // a function pointer and the data pointer dlsym returns have the same size on every
        // platform libpam runs on.
        let entry = unsafe { std::mem::transmute::<*mut c_void, LdapEntry>(symbol) };
        Ok(LdapModule { handle, entry })
    }
}

impl Drop for LdapModule {
    fn drop(&mut self) {
        // Balances dlopen's reference count; RTLD_NODELETE keeps the code mapped, which the
        // cleanup of a code kept by its forward_pass line needs until pam_end.
        // SAFETY: `handle` came from dlopen and is closed once, here.
        unsafe { libc::dlclose(self.handle) };
    }
}

/// dlerror's message for the last failed dlopen or dlsym of this thread.
fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated message valid until the next dl* call
    // of this thread; it is copied at once.
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        return "unknown dlopen error".into();
    }
    // SAFETY: see above.
    unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned()
}
