//! What nix does not wrap: syslog with the authpriv facility (the audit trail) and
//! enumerating the user database (`setpwent`, `getpwent_r`, `endpwent`: what `report` lists).
//! All `unsafe` of totp-enroll lives here.

use nix::errno::Errno;
use nix::libc::{self, c_char};
use std::ffi::{CStr, OsString};
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

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

/// One account of the user database, copied out of libc's buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// The name as raw bytes (NSS may hand out names that are not UTF-8).
    pub name: Vec<u8>,
    /// Numeric user id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory, as raw bytes.
    pub home: PathBuf,
}

/// The buffer for one entry's strings starts at this size and doubles on ERANGE ...
const START_BUFFER: usize = 1024;
/// ... up to this size (an entry larger than this is an error, not a reason to stop).
const MAX_BUFFER: usize = 1 << 20;

/// An enumeration of the passwd database: `setpwent` when made, `endpwent` when dropped, so
/// that the database's files or connections are closed on every way out.
struct Enumeration;

impl Enumeration {
    fn start() -> Self {
        // SAFETY: setpwent takes no arguments and only (re)opens the database for getpwent_r.
        // totp-enroll has one thread, so no other enumeration shares the global position.
        unsafe { libc::setpwent() };
        Enumeration
    }
}

impl Drop for Enumeration {
    fn drop(&mut self) {
        // SAFETY: endpwent takes no arguments and closes what setpwent opened.
        unsafe { libc::endpwent() };
    }
}

/// Every account of the user database (passwd and whatever NSS adds to it), in the order the
/// database gives them. An error from the database is returned, never a short list.
pub fn all_accounts() -> Result<Vec<PasswdEntry>, Errno> {
    let _enumeration = Enumeration::start();
    let mut buf: Vec<c_char> = vec![0; START_BUFFER];
    let mut accounts = Vec::new();
    loop {
        let mut entry = MaybeUninit::<libc::passwd>::uninit();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `entry`, `buf` (with its length) and `result` are valid for writes for the
        // whole call, and nothing else refers to them. getpwent_r fills `entry` with pointers
        // into `buf` and sets `result` to `entry` on success, or to null.
        let rc = unsafe {
            libc::getpwent_r(entry.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), &mut result)
        };
        match rc {
            0 if !result.is_null() => {
                // SAFETY: getpwent_r returned 0 with a non-null result: it initialised `entry`,
                // whose string pointers point into `buf`, which is alive and not changed until
                // the copy below is made.
                let entry = unsafe { entry.assume_init_ref() };
                accounts.push(copy_entry(entry));
            }
            // The end of the database (glibc says ENOENT; 0 with no entry is the same).
            0 | libc::ENOENT => return Ok(accounts),
            // The entry does not fit: glibc keeps the position, so it is read again.
            libc::ERANGE if buf.len() < MAX_BUFFER => buf = vec![0; buf.len() * 2],
            e => return Err(Errno::from_raw(e)),
        }
    }
}

/// Copies the fields that `report` needs out of an entry that getpwent_r filled.
fn copy_entry(entry: &libc::passwd) -> PasswdEntry {
    PasswdEntry {
        name: c_bytes(entry.pw_name),
        uid: entry.pw_uid,
        gid: entry.pw_gid,
        home: PathBuf::from(OsString::from_vec(c_bytes(entry.pw_dir))),
    }
}

/// The bytes of a C string field of a passwd entry (none for a null pointer).
fn c_bytes(ptr: *const c_char) -> Vec<u8> {
    if ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: the pointer is not null and comes from an entry that getpwent_r just filled:
    // it points to a NUL-terminated string inside the buffer that is still alive.
    unsafe { CStr::from_ptr(ptr) }.to_bytes().to_vec()
}
