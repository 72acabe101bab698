//! The system's user and group database (passwd and group through NSS: files, sssd, LDAP ...)
//! for the login flow.

use nix::errno::Errno;
use nix::unistd::{getgrouplist, Gid, Group, User};
use pam_totp_core::user_db::{Account, GroupEntry, UserDb};
use std::ffi::CString;

/// The user and group database of the system, through `getpwnam_r`, `getgrouplist` and
/// `getgrnam_r`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemUsers;

impl UserDb for SystemUsers {
    type Error = Errno;

    fn user(&self, name: &str) -> Result<Option<Account>, Errno> {
        Ok(User::from_name(name)?.map(|u| Account {
            name: u.name,
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
            home: u.dir,
        }))
    }

    fn groups(&self, account: &Account) -> Result<Vec<u32>, Errno> {
        // A name from the user database holds no NUL; one that did could name no account.
        let name = CString::new(account.name.as_bytes()).map_err(|_| Errno::EINVAL)?;
        let groups = getgrouplist(&name, Gid::from_raw(account.gid))?;
        Ok(groups.into_iter().map(Gid::as_raw).collect())
    }

    fn group(&self, name: &str) -> Result<Option<GroupEntry>, Errno> {
        Ok(Group::from_name(name)?.map(|g| GroupEntry {
            gid: g.gid.as_raw(),
            members: g.mem,
        }))
    }
}
