//! Taking on a user's filesystem identity (setfsuid/setfsgid) for file work done as root,
//! so that nothing root-owned is created in, and no root privilege is used on, a directory
//! the user controls. The change is per thread and undone when the guard drops.

use nix::unistd::{geteuid, setfsgid, setfsuid, Gid, Uid};
use std::io;

/// While alive, the thread's filesystem uid/gid are those of a user.
#[derive(Debug)]
pub struct ActingAs {
    previous: Option<(Uid, Gid)>,
}

impl ActingAs {
    /// Switches to `uid`/`gid` when running as root for another user; otherwise does nothing
    /// (the caller is that user already, or cannot switch and gets the kernel's checks).
    pub fn user(uid: Uid, gid: Gid) -> io::Result<Self> {
        if !geteuid().is_root() || uid.is_root() {
            return Ok(ActingAs { previous: None });
        }
        let old_gid = setfsgid(gid);
        let old_uid = setfsuid(uid);
        let guard = ActingAs {
            previous: Some((old_uid, old_gid)),
        };
        // setfsuid reports no error; calling it again returns the value now in force.
        if setfsuid(uid) != uid || setfsgid(gid) != gid {
            return Err(io::Error::other("setfsuid/setfsgid did not take effect"));
        }
        Ok(guard)
    }

    /// The caller's own identity: no change.
    pub fn caller() -> Self {
        ActingAs { previous: None }
    }
}

impl Drop for ActingAs {
    fn drop(&mut self) {
        if let Some((uid, gid)) = self.previous.take() {
            setfsuid(uid);
            setfsgid(gid);
        }
    }
}
