//! The user database as the login flow sees it: an account looked up by name. Traits and
//! types only, no I/O: the module implements it over NSS, tests over a table.

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

/// The user (and, later, group) database: passwd and whatever NSS adds to it.
pub trait UserDb {
    /// Why the database could not answer. Shown in log lines: no secrets.
    type Error: Display;

    /// Looks up `name`: `Ok(None)` when there is no such user, `Err` when the database could
    /// not answer (which callers must never take for "no such user").
    fn user(&self, name: &str) -> Result<Option<Account>, Self::Error>;
}
