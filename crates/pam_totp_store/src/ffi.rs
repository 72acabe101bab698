//! flock(2) without nix's panicking unlock, read(2) into a buffer's spare capacity, and the
//! fscrypt ioctls that tell a locked encrypted directory. All `unsafe` of the store lives here.

use std::io;
use std::os::fd::AsRawFd;

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

/// Reads from `file` into the spare capacity of `buf` (without zeroing it first) and extends
/// `buf` by what was read; returns that count (0 at the end of the file, or when `buf` is full).
pub fn read_into_spare(file: &impl AsRawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    let room = spare.len();
    if room == 0 {
        return Ok(0);
    }
    // SAFETY: the pointer and length describe `spare`, memory owned by `buf` that nothing else
    // refers to while the call runs; read(2) writes at most that many bytes into it.
    let n = unsafe { libc::read(file.as_raw_fd(), spare.as_mut_ptr().cast(), room) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    let len = buf.len() + n.min(room);
    // SAFETY: read(2) initialised the first `n` bytes of the spare capacity (and never reports
    // more than it was given), so the first `len` bytes of `buf` are initialised.
    unsafe { buf.set_len(len) };
    Ok(n)
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
