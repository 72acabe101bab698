//! Whether an `ldapi://` socket can be trusted to be the directory's: whoever can put a socket
//! at that path runs the "directory" the module asks, and with `bind_dn` receives the service
//! password. The socket's real path (symbolic links resolved, and connected to by that path)
//! must lie in directories that only root or the socket's owner can change: each owned by one
//! of them and not writable by group or others, except a sticky directory (such as /tmp),
//! which is accepted only for a socket owned by root or by that directory's owner.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

const GROUP_OR_OTHER_WRITE: u32 = 0o022;
const STICKY: u32 = 0o1000;

/// The socket's real path, once the checks pass; else the problem and its fix.
pub fn trusted(socket: &Path) -> Result<PathBuf, String> {
    let real = std::fs::canonicalize(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("no socket at {}", socket.display()),
        _ => format!("{}: {e}", socket.display()),
    })?;
    let meta = std::fs::symlink_metadata(&real).map_err(|e| format!("{}: {e}", real.display()))?;
    if !meta.file_type().is_socket() {
        return Err(format!("{} is not a socket", real.display()));
    }
    let owner = meta.uid();
    for dir in real.ancestors().skip(1) {
        let d = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mode = d.mode() & 0o7777;
        if d.uid() != 0 && d.uid() != owner {
            return Err(format!(
                "directory {} on the way to the socket is owned by uid {}, neither root nor the socket's owner (uid {owner}): that user could put another server there; move the socket (slapd -h) to a directory of root or of slapd's user",
                dir.display(),
                d.uid()
            ));
        }
        if mode & GROUP_OR_OTHER_WRITE != 0 {
            let sticky_ok = mode & STICKY != 0 && (owner == 0 || owner == d.uid());
            if !sticky_ok {
                return Err(format!(
                    "directory {} on the way to the socket is writable by others (mode {mode:04o}): another user could put a server there; move the socket (slapd -h) to a directory of root or of slapd's user",
                    dir.display()
                ));
            }
        }
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixListener;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn sockets_in_directories_others_can_change_are_refused() {
        // Directories and sockets owned by others need root.
        pam_totp_tests::needs_root!();
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        chmod(base, 0o755);

        let good = base.join("good");
        std::fs::create_dir(&good).unwrap();
        chmod(&good, 0o755);
        let _a = UnixListener::bind(good.join("ldapi")).unwrap();
        assert_eq!(trusted(&good.join("ldapi")).unwrap(), good.join("ldapi"));
        // A symbolic link is resolved: the real path is what is checked and connected to.
        std::os::unix::fs::symlink(&good, base.join("link")).unwrap();
        assert_eq!(
            trusted(&base.join("link/ldapi")).unwrap(),
            good.join("ldapi")
        );

        let open = base.join("open");
        std::fs::create_dir(&open).unwrap();
        chmod(&open, 0o777);
        let _b = UnixListener::bind(open.join("ldapi")).unwrap();
        let err = trusted(&open.join("ldapi")).unwrap_err();
        assert!(err.contains("writable by others (mode 0777)"), "{err}");

        // A sticky directory: a root-owned socket is fine, another user's is not.
        let sticky = base.join("sticky");
        std::fs::create_dir(&sticky).unwrap();
        chmod(&sticky, 0o1777);
        let _c = UnixListener::bind(sticky.join("ldapi")).unwrap();
        assert!(trusted(&sticky.join("ldapi")).is_ok());
        let _d = UnixListener::bind(sticky.join("theirs")).unwrap();
        std::os::unix::fs::lchown(sticky.join("theirs"), Some(1000), None).unwrap();
        assert!(trusted(&sticky.join("theirs")).is_err());

        let users = base.join("users");
        std::fs::create_dir(&users).unwrap();
        chmod(&users, 0o755);
        std::os::unix::fs::chown(&users, Some(1000), None).unwrap();
        let _e = UnixListener::bind(users.join("ldapi")).unwrap();
        let err = trusted(&users.join("ldapi")).unwrap_err();
        assert!(err.contains("owned by uid 1000"), "{err}");

        let file = base.join("file");
        std::fs::write(&file, "").unwrap();
        assert!(trusted(&file).unwrap_err().contains("not a socket"));
        assert!(trusted(&base.join("none"))
            .unwrap_err()
            .contains("no socket"));
    }
}
