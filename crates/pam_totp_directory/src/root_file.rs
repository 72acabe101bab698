//! Reading the files the LDAP configuration consists of, with the checks each needs: the
//! configuration and the bind password (root-owned, not writable by group or others, not
//! readable by others, no symbolic link followed), and the CA certificates (root-owned, not
//! writable by group or others; a symbolic link is followed, as /etc/ssl/certs is made of them).
//! Errors are the problem and its fix, for a message that names the file.

use nix::errno::Errno;
use pam_totp_store::bounded::{self, ReadError};
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// Group write and any permission for others: what a private root file must not have.
const NOT_PRIVATE: u32 = 0o027;
/// Group or others write: what a public root file must not have.
const WRITABLE: u32 = 0o022;

/// Reads a private root file (the configuration, the bind password): a regular file, not a
/// symbolic link, owned by root, mode 0600 (or 0640 with group root, or stricter), at most
/// `max` bytes.
pub fn read_private(path: &Path, max: usize) -> Result<Zeroizing<Vec<u8>>, String> {
    let shown = path.display();
    let (mut file, meta) = bounded::open_regular(path).map_err(|e| open_problem(&e))?;
    if meta.uid() != 0 {
        return Err(format!(
            "is owned by uid {}, not root; chown root:root {shown}",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & NOT_PRIVATE != 0 {
        return Err(format!(
            "has mode {mode:04o}: it must not be writable by its group nor readable by others; chmod 600 {shown}"
        ));
    }
    if mode & 0o040 != 0 && meta.gid() != 0 {
        return Err(format!(
            "is readable by its group (gid {}), which would give the group the directory password; chmod 600 {shown} (or chgrp root)",
            meta.gid()
        ));
    }
    bounded::read_bounded(&mut file, max).map_err(|e| read_problem(&e, max))
}

/// Reads a root file that may be public (CA certificates), following symbolic links: a
/// regular file owned by root that neither group nor others may write, at most `max` bytes.
pub fn read_public(path: &Path, max: usize) -> Result<Zeroizing<Vec<u8>>, String> {
    let shown = path.display();
    let flags = nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY;
    let mut file = File::options()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .map_err(|e| open_problem(&ReadError::Io(e)))?;
    let meta = file
        .metadata()
        .map_err(|e| open_problem(&ReadError::Io(e)))?;
    if !meta.file_type().is_file() {
        return Err(open_problem(&ReadError::NotRegular));
    }
    if meta.uid() != 0 {
        return Err(format!(
            "is owned by uid {}, not root: whoever owns it decides which servers are trusted; chown root:root {shown}",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & WRITABLE != 0 {
        return Err(format!(
            "has mode {mode:04o}: it must not be writable by group or others; chmod 644 {shown}"
        ));
    }
    bounded::read_bounded(&mut file, max).map_err(|e| read_problem(&e, max))
}

fn open_problem(e: &ReadError) -> String {
    match e {
        ReadError::Io(io) if io.kind() == ErrorKind::NotFound => "does not exist".to_string(),
        ReadError::Io(io) if io.raw_os_error() == Some(Errno::ELOOP as i32) => {
            "is a symbolic link, which is not followed; put the file itself there".to_string()
        }
        ReadError::Io(io) if io.kind() == ErrorKind::PermissionDenied => {
            "cannot be read (permission denied)".to_string()
        }
        ReadError::Io(io) => format!("cannot be opened ({io})"),
        ReadError::NotRegular => "is not a regular file".to_string(),
        other => format!("cannot be read ({other})"),
    }
}

fn read_problem(e: &ReadError, max: usize) -> String {
    match e {
        ReadError::TooLarge(_) => format!("is larger than {max} bytes"),
        other => format!("cannot be read ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file(dir: &Path, name: &str, mode: u32) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "x\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn modes_and_links() {
        // The files must be root-owned.
        pam_totp_tests::needs_root!();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for mode in [0o600, 0o640, 0o400] {
            assert!(read_private(&file(d, "ok", mode), 100).is_ok(), "{mode:o}");
        }
        for mode in [0o644, 0o660, 0o604, 0o601] {
            let err = read_private(&file(d, "bad", mode), 100).unwrap_err();
            assert!(err.contains("chmod 600"), "{err}");
        }
        let target = file(d, "target", 0o600);
        std::os::unix::fs::symlink(&target, d.join("link")).unwrap();
        let err = read_private(&d.join("link"), 100).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(read_public(&d.join("link"), 100).is_ok());
        assert!(read_public(&file(d, "ca", 0o644), 100).is_ok());
        let err = read_public(&file(d, "ca2", 0o664), 100).unwrap_err();
        assert!(err.contains("chmod 644"), "{err}");
        let err = read_private(&d.join("none"), 100).unwrap_err();
        assert_eq!(err, "does not exist");
        let err = read_private(d, 100).unwrap_err();
        assert_eq!(err, "is not a regular file");
        let big = file(d, "big", 0o600);
        std::fs::write(&big, "x".repeat(200)).unwrap();
        assert!(read_private(&big, 100).unwrap_err().contains("larger"));
        let owned = file(d, "owned", 0o600);
        std::os::unix::fs::chown(&owned, Some(1000), None).unwrap();
        assert!(read_private(&owned, 100)
            .unwrap_err()
            .contains("chown root"));
        // 0640 only with group root: another group would read the directory password.
        let grouped = file(d, "grouped", 0o640);
        std::os::unix::fs::chown(&grouped, None, Some(1000)).unwrap();
        let err = read_private(&grouped, 100).unwrap_err();
        assert!(
            err.contains("gid 1000") && err.contains("chmod 600"),
            "{err}"
        );
    }
}
