//! The system's user database (passwd through NSS: files, sssd, LDAP ...) for the login flow.

use nix::errno::Errno;
use nix::unistd::User;
use pam_totp_core::user_db::{Account, UserDb};

/// The user database of the system, through `getpwnam_r`.
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
}
