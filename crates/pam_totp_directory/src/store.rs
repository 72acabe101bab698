//! The directory as a [`SecretStore`] for the login flow: no lock, an optimistic read whose
//! `save` is a compare-and-swap (delete the old value, add the new one) that fails when
//! another login, on any host, changed the entry first.

use crate::error::DirectoryError;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::store::{Located, LockedRecord, Record, SecretStore};
use pam_totp_core::user_db::Account;
use std::path::{Path, PathBuf};

/// Users' tokens in the directory named by an LDAP configuration file.
pub struct LdapStore {
    config_path: PathBuf,
}

impl LdapStore {
    /// The store of the configuration file `config_path` (read at the first use).
    pub fn new(config_path: &Path) -> LdapStore {
        LdapStore {
            config_path: config_path.to_path_buf(),
        }
    }
}

/// A user's entries found in the directory.
pub struct FoundEntries;
/// A user's entries read (placeholder).
pub struct ReadEntries {
    content: SecretFile,
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
    fn save(self) -> Result<(), DirectoryError> {
        Err(DirectoryError::NotImplemented)
    }
}

impl SecretStore for LdapStore {
    type Error = DirectoryError;
    type Found = FoundEntries;
    type Opened = FoundEntries;
    type Snapshot = ReadEntries;
    type Locked = ReadEntries;

    fn locate(&mut self, account: &Account) -> Located<FoundEntries, DirectoryError> {
        let _ = (account, &self.config_path);
        Located::ConfigError(DirectoryError::NotImplemented)
    }
    fn open(&mut self, found: FoundEntries) -> Result<FoundEntries, DirectoryError> {
        Ok(found)
    }
    fn lock(&mut self, _opened: FoundEntries) -> Result<ReadEntries, DirectoryError> {
        Err(DirectoryError::NotImplemented)
    }
    fn snapshot(&mut self, _found: FoundEntries) -> Result<ReadEntries, DirectoryError> {
        Err(DirectoryError::NotImplemented)
    }
    fn create(
        &mut self,
        _found: FoundEntries,
        _content: &SecretFile,
    ) -> Result<(), DirectoryError> {
        Err(DirectoryError::NotImplemented)
    }
}
