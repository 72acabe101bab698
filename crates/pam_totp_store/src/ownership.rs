//! Who may control a file or directory that decides where a secret is or what a tool does
//! (sshd's StrictModes rule, in one place): it belongs to root or to the one trusted user, and
//! nobody else can write to it. A sticky directory is the exception: others may write there,
//! but they cannot remove or rename what the trusted user put in it.
//!
//! Callers word the message and the fix; this module only says what is wrong.

use nix::unistd::Uid;

/// Write permission for group or others.
const GROUP_OTHER_WRITE: u32 = 0o022;
/// The permission bits of `st_mode` (set-id and sticky bits included), as `chmod` shows them.
const PERMISSION_BITS: u32 = 0o7777;

/// Why a file or directory cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distrust {
    /// Owned by this uid, neither root nor the trusted user.
    Owner(u32),
    /// Writable by group or others (and not a sticky directory); its permission bits.
    Writable(u32),
}

/// Checks an owner uid and an `st_mode` (file type bits included) against the rule: owned by
/// root or by `user`, and not writable by group or others unless it is a sticky directory.
pub fn check(owner: u32, mode: u32, user: Uid) -> Result<(), Distrust> {
    if owner != 0 && owner != user.as_raw() {
        return Err(Distrust::Owner(owner));
    }
    let sticky_directory = mode & libc::S_IFMT == libc::S_IFDIR && mode & libc::S_ISVTX != 0;
    if mode & GROUP_OTHER_WRITE != 0 && !sticky_directory {
        return Err(Distrust::Writable(mode & PERMISSION_BITS));
    }
    Ok(())
}

/// True when root alone can change what a directory holds: owned by root, and writable by
/// nobody else (sticky or not).
pub fn root_only(owner: u32, mode: u32) -> bool {
    owner == 0 && mode & GROUP_OTHER_WRITE == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: u32 = libc::S_IFDIR;
    const FILE: u32 = libc::S_IFREG;
    const ALICE: u32 = 1000;

    fn alice() -> Uid {
        Uid::from_raw(ALICE)
    }

    #[test]
    fn root_or_the_user_may_own_it() {
        assert_eq!(check(0, DIR | 0o755, alice()), Ok(()));
        assert_eq!(check(ALICE, FILE | 0o644, alice()), Ok(()));
        assert_eq!(
            check(1001, DIR | 0o755, alice()),
            Err(Distrust::Owner(1001))
        );
        // The owner is checked first: a stranger's open directory is reported as the stranger's.
        assert_eq!(
            check(1001, DIR | 0o777, alice()),
            Err(Distrust::Owner(1001))
        );
    }

    #[test]
    fn nobody_else_may_write_unless_the_directory_is_sticky() {
        for mode in [0o775, 0o757, 0o2777] {
            assert_eq!(
                check(0, DIR | mode, alice()),
                Err(Distrust::Writable(mode)),
                "{mode:o}"
            );
        }
        assert_eq!(check(0, DIR | 0o1777, alice()), Ok(()));
        // The sticky bit means nothing on a regular file.
        assert_eq!(
            check(0, FILE | 0o1666, alice()),
            Err(Distrust::Writable(0o1666))
        );
        // Read and search bits for others are fine.
        assert_eq!(check(ALICE, DIR | 0o755, alice()), Ok(()));
    }

    #[test]
    fn root_only_directories() {
        assert!(root_only(0, DIR | 0o755));
        assert!(root_only(0, DIR | 0o700));
        assert!(
            !root_only(0, DIR | 0o1777),
            "sticky, but others can add files"
        );
        assert!(!root_only(0, DIR | 0o775));
        assert!(!root_only(ALICE, DIR | 0o700));
    }
}
