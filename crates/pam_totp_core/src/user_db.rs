//! The user and group database as the login flow sees it: an account looked up by name, the
//! groups it belongs to, a group looked up by name. Traits and types only, no I/O: the module
//! implements it over NSS, tests over a table.

use std::fmt::Display;
use std::path::PathBuf;

/// A user's entry in the user database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The canonical name as the database spells it (not necessarily as the client typed it:
    /// case, aliases).
    pub name: String,
    /// Numeric user id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory, as raw bytes (it need not be UTF-8).
    pub home: PathBuf,
}

/// A group's entry in the group database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Numeric group id.
    pub gid: u32,
    /// The user names the entry lists as members (supplementary members; possibly not all
    /// of them, e.g. with SSSD's `ignore_group_members`).
    pub members: Vec<String>,
}

/// The user and group database: passwd, group and whatever NSS adds to them.
pub trait UserDb {
    /// Why the database could not answer. Shown in log lines: no secrets.
    type Error: Display;

    /// Looks up `name`: `Ok(None)` when there is no such user, `Err` when the database could
    /// not answer (which callers must never take for "no such user").
    fn user(&self, name: &str) -> Result<Option<Account>, Self::Error>;

    /// The ids of every group `account` belongs to: its primary group and its supplementary
    /// groups. `Err` when the database could not answer.
    fn groups(&self, account: &Account) -> Result<Vec<u32>, Self::Error>;

    /// Looks up the group called `name`: its id and the names it lists as members,
    /// `Ok(None)` when there is no such group, `Err` when the database could not answer (never
    /// to be taken for "no such group").
    fn group(&self, name: &str) -> Result<Option<GroupEntry>, Self::Error>;
}
