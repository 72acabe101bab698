//! The directory as a [`SecretStore`] for the login flow: no lock, an optimistic read whose
//! `save` is a compare-and-swap (delete the old value, add the new one) that fails when
//! another login, on any host, changed the entry first.
//!
//! One connection serves a login from `locate` to `save`; it is opened again once when the
//! server closed it meanwhile (an idle timeout while the user typed), never after a timeout.

use crate::config::LdapConfig;
use crate::connection::Connection;
use crate::entries::{self, EntryChange, ParamsSeen, UserEntry, UserTokens};
use crate::error::DirectoryError;
use pam_totp_core::log_safe;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::store::{Located, LockedRecord, Record, SecretStore};
use pam_totp_core::user_db::Account;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The system clock as Unix seconds (0 before 1970, which no failure time is).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Users' tokens in the directory named by an LDAP configuration file.
pub struct LdapStore {
    config_path: PathBuf,
    config: Option<LdapConfig>,
    conn: Option<Connection>,
    clock: fn() -> u64,
}

impl LdapStore {
    /// The store of the configuration file `config_path` (read at the first use).
    pub fn new(config_path: &Path) -> LdapStore {
        LdapStore::with_clock(config_path, unix_now)
    }

    /// As [`LdapStore::new`], with `clock` giving the Unix time at which the failure count
    /// read from the directory is judged (the login's clock; tests pass a fixed one).
    pub fn with_clock(config_path: &Path, clock: fn() -> u64) -> LdapStore {
        LdapStore {
            config_path: config_path.to_path_buf(),
            config: None,
            conn: None,
            clock,
        }
    }

    /// The configuration, read once.
    fn config(&mut self) -> Result<LdapConfig, DirectoryError> {
        if let Some(config) = &self.config {
            return Ok(config.clone());
        }
        let config = LdapConfig::load(&self.config_path)?;
        self.config = Some(config.clone());
        Ok(config)
    }

    /// Runs `op` on the connection (opened first if there is none); when the connection turns
    /// out to be lost, once more on a new one. A connection that failed otherwise is dropped.
    fn with_connection<T>(
        &mut self,
        mut op: impl FnMut(&mut Connection) -> Result<T, DirectoryError>,
    ) -> Result<T, DirectoryError> {
        let config = self.config()?;
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => Connection::open(&config)?,
        };
        let result = match op(&mut conn) {
            Err(DirectoryError::ConnectionLost { .. }) => {
                conn = Connection::open(&config)?;
                op(&mut conn)
            }
            other => other,
        };
        if !matches!(
            result,
            Err(DirectoryError::Timeout { .. } | DirectoryError::ConnectionLost { .. })
        ) {
            self.conn = Some(conn);
        }
        result
    }
}

/// A user's entry found in the directory, naming at least one token entry.
pub struct FoundEntries {
    user: UserEntry,
}

/// A user's token entries, read and checked before the user is asked.
pub struct OpenedEntries {
    user: UserEntry,
    params: ParamsSeen,
}

/// A user's entries as read without keeping the raw values (possibly stale when used).
pub struct SnapshotEntries {
    content: SecretFile,
}

impl Record for SnapshotEntries {
    fn content(&self) -> &SecretFile {
        &self.content
    }
}

/// A user's entries as read for a code check: the record, and the values read, which `save`
/// deletes (compare-and-swap). Holds the store's connection.
pub struct ReadEntries {
    tokens: UserTokens,
    content: SecretFile,
    conn: Option<Connection>,
    config: LdapConfig,
}

impl Record for ReadEntries {
    fn content(&self) -> &SecretFile {
        &self.content
    }
}

impl LockedRecord for ReadEntries {
    type Error = DirectoryError;

    fn content_mut(&mut self) -> &mut SecretFile {
        &mut self.content
    }

    /// One compare-and-swap modify of the state entry (and one of the HOTP entry of a user
    /// with both tokens whose counter moved): [`DirectoryError::Conflict`] when another login
    /// changed a value first.
    fn save(self) -> Result<(), DirectoryError> {
        let changes = self.tokens.changes(&self.content)?;
        let mut conn = match self.conn {
            Some(conn) => conn,
            None => Connection::open(&self.config)?,
        };
        for EntryChange { dn, mods } in changes {
            let owner = &self.tokens.user.dn;
            match conn.compare_and_swap(&dn, mods.clone(), owner) {
                // A lost connection: the modify may or may not have been applied. Sent again on
                // a new connection, it fails as a conflict if it was (the old values are gone):
                // the login is refused, never accepted twice.
                Err(DirectoryError::ConnectionLost { .. }) => {
                    conn = Connection::open(&self.config)?;
                    conn.compare_and_swap(&dn, mods, owner)?;
                }
                other => other?,
            }
        }
        Ok(())
    }
}

impl SecretStore for LdapStore {
    type Error = DirectoryError;
    type Found = FoundEntries;
    type Opened = OpenedEntries;
    type Snapshot = SnapshotEntries;
    type Locked = ReadEntries;

    fn locate(&mut self, account: &Account) -> Located<FoundEntries, DirectoryError> {
        let config = match self.config() {
            Ok(config) => config,
            Err(e) => return Located::ConfigError(e),
        };
        let found = self.with_connection(|conn| {
            entries::find_user(conn, &config.base, &account.name, &config.path)
        });
        match found {
            Ok(Some(user)) if user.has_tokens() => Located::Found(FoundEntries { user }),
            Ok(Some(user)) => Located::NotEnrolled(entries::not_enrolled_without_tokens(&user.dn)),
            Ok(None) => Located::NotEnrolled(DirectoryError::NotEnrolled(format!(
                "no directory entry with objectClass {} and uid={} under {}",
                entries::attr::USER_CLASS,
                log_safe::field(&account.name),
                log_safe::line(&config.base)
            ))),
            Err(e @ DirectoryError::Config { .. }) => Located::ConfigError(e),
            Err(e) => Located::Refused(e),
        }
    }

    fn open(&mut self, found: FoundEntries) -> Result<OpenedEntries, DirectoryError> {
        // Read and checked now, so that a broken entry is known before the user is asked.
        let mut params = ParamsSeen::default();
        let tokens =
            self.with_connection(|conn| entries::read_user_tokens(conn, &found.user, &mut params))?;
        tokens.to_secret_file()?;
        Ok(OpenedEntries {
            user: found.user,
            params,
        })
    }

    fn lock(&mut self, opened: OpenedEntries) -> Result<ReadEntries, DirectoryError> {
        // No lock: the current values, read now, are what `save` swaps. The parameters entries
        // read by `open` are not read again.
        let OpenedEntries { user, mut params } = opened;
        let tokens =
            self.with_connection(|conn| entries::read_user_tokens(conn, &user, &mut params))?;
        let mut content = tokens.to_secret_file()?;
        content.state.checks = tokens.checks_at((self.clock)());
        Ok(ReadEntries {
            tokens,
            content,
            conn: self.conn.take(),
            config: self.config()?,
        })
    }

    fn snapshot(&mut self, found: FoundEntries) -> Result<SnapshotEntries, DirectoryError> {
        let tokens = self.with_connection(|conn| {
            entries::read_user_tokens(conn, &found.user, &mut ParamsSeen::default())
        })?;
        Ok(SnapshotEntries {
            content: tokens.to_secret_file()?,
        })
    }

    fn create(
        &mut self,
        _found: FoundEntries,
        _content: &SecretFile,
    ) -> Result<(), DirectoryError> {
        Err(DirectoryError::Unsupported(
            "with store=ldap, users are enrolled with totp-enroll --store ldap, not at login (enroll)"
                .to_string(),
        ))
    }
}
