//! Opening a file an administrator names for an import (`import-pskc`, `import-oath-usersfile`)
//! when root acts for another user (`--user`). Root's rights are used only on a path the user
//! cannot change: every directory from `/` down owned by root and writable by nobody else,
//! walked one component at a time without following symbolic links, so that nothing can be
//! swapped in between. On any other path (a home, /tmp, a symbolic link on the way) the file is
//! opened with the user's filesystem identity, so that the import can only read what the user
//! could read anyway: root's rights cannot be borrowed to pull another file's keys into the
//! user's secret file. A user acting for themselves opens with their own rights.

use crate::target::Target;
use nix::errno::Errno;
use nix::fcntl::{open, openat, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};
use pam_totp_store::bounded::{self, ReadError};
use pam_totp_store::identity::ActingAs;
use pam_totp_store::ownership::root_only;
use std::fs::File;
use std::io;
use std::path::{Component, Path};
use zeroize::Zeroizing;

/// Flags of every open here: no following the last component, no blocking on a FIFO, no
/// controlling terminal.
fn file_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC
}

/// Opens `path` (a regular file, no symbolic link as its last component) as [the module
/// doc](self) says: root's rights only on a root-only path when acting for another user.
fn open_source(target: &Target, path: &Path) -> Result<File, ReadError> {
    if !target.for_other {
        return bounded::open_regular(path).map(|(file, _)| file);
    }
    if let Some(file) = open_on_root_only_path(path)? {
        return Ok(file);
    }
    let _as_user = ActingAs::user(target.user.uid, target.user.gid)?;
    bounded::open_regular(path).map(|(file, _)| file)
}

/// Reads the file [`open_source`] opens, at most `max` bytes. When root, reading for another
/// user, falls back to the user's identity and the user cannot read the file, the error says
/// why and what to do.
pub fn read_source(
    target: &Target,
    path: &Path,
    max: usize,
) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let mut file = open_source(target, path).map_err(|e| match e {
        ReadError::Io(e) if target.for_other && e.kind() == io::ErrorKind::PermissionDenied => {
            ReadError::Io(io::Error::other(format!(
                "{} cannot read it, and root reads it for another user only on a path only root can change (every directory from / owned by root, writable by nobody else): move it into such a directory (e.g. /root) or let the user read it",
                target.user.name
            )))
        }
        other => other,
    })?;
    bounded::read_bounded(&mut file, max)
}

/// A read error as one sentence about the file (for the commands' "FILE: ..." messages).
pub fn explain(e: ReadError, max: usize) -> io::Error {
    match e {
        ReadError::Io(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            io::Error::other("it is a symbolic link; give the real file's path")
        }
        ReadError::Io(e) => e,
        ReadError::Changed => io::Error::other("the file changed while being read; try again"),
        ReadError::NotRegular => io::Error::other("it is not a regular file"),
        ReadError::TooLarge(_) => io::Error::other(format!("it is larger than {max} bytes")),
    }
}

/// The file at `path` (a relative one taken from the working directory) if every directory
/// leading to it is root-only (None otherwise: `.` or `..`, a symbolic link or a directory
/// someone else can change).
fn open_on_root_only_path(path: &Path) -> Result<Option<File>, ReadError> {
    let dir_flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut components = absolute.components().peekable();
    if components.next() != Some(Component::RootDir) {
        return Ok(None);
    }
    let mut dir = open("/", dir_flags, Mode::empty()).map_err(io)?;
    while let Some(component) = components.next() {
        let Component::Normal(name) = component else {
            return Ok(None);
        };
        let st = fstat(&dir).map_err(io)?;
        if !root_only(st.st_uid, st.st_mode) {
            return Ok(None);
        }
        if components.peek().is_none() {
            let fd = openat(&dir, name, file_flags(), Mode::empty()).map_err(io)?;
            let st = fstat(&fd).map_err(io)?;
            if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
                return Err(ReadError::NotRegular);
            }
            return Ok(Some(File::from(fd)));
        }
        dir = match openat(&dir, name, dir_flags, Mode::empty()) {
            Ok(next) => next,
            // A symbolic link (even a root-owned one, like /lib on merged-usr systems) is
            // not walked here: the user's identity decides then.
            Err(Errno::ELOOP | Errno::ENOTDIR) => return Ok(None),
            Err(e) => return Err(io(e)),
        };
    }
    Ok(None)
}

fn io(e: Errno) -> ReadError {
    ReadError::Io(std::io::Error::from(e))
}
