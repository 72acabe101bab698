//! The secret file as a [`SecretStore`]: a thin adapter over [`SecretDir`], [`Opened`],
//! [`Loaded`] and [`Locked`]. It expands the `secret=` template for the account, and makes
//! its errors log-safe (the user's name and home in paths, through [`Scrubber`]).

use crate::store::{Loaded, Locked, Opened, Owner, SecretDir, StoreError};
use nix::unistd::{Gid, Uid};
use pam_totp_core::log_safe::{self, Scrubber};
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::store::{Located, LockedRecord, Record, RecordError, SecretStore};
use pam_totp_core::template::{self, TemplateError};
use pam_totp_core::user_db::Account;
use thiserror::Error;

/// Users' secret files, found through a `secret=` path template.
#[derive(Debug, Clone)]
pub struct FileStore {
    template: String,
}

impl FileStore {
    /// The store for the path template `template` (`~/.pam_totp.toml`, `/var/lib/x/%u.toml`).
    pub fn new(template: &str) -> Self {
        FileStore {
            template: template.to_string(),
        }
    }
}

/// Why the secret file cannot be used; the text is log-safe.
#[derive(Debug, Error)]
pub enum FileStoreError {
    /// The file or a directory on its way (see [`StoreError`]).
    #[error("{shown}")]
    File {
        /// What went wrong.
        #[source]
        error: StoreError,
        /// Its message with the user's name and home made log-safe.
        shown: String,
    },
    /// The template uses the home, and the account's home is relative: no file can be found
    /// through it, so the user is not enrolled.
    #[error("home directory {0} is not an absolute path")]
    RelativeHome(String),
    /// The template cannot be expanded for this user.
    #[error("{0}")]
    Template(TemplateError),
}

impl RecordError for FileStoreError {
    fn is_not_enrolled(&self) -> bool {
        match self {
            FileStoreError::File { error, .. } => error.is_not_enrolled(),
            FileStoreError::RelativeHome(_) => true,
            FileStoreError::Template(_) => false,
        }
    }
}

/// Turns a [`StoreError`] into a [`FileStoreError`] whose message is scrubbed.
fn scrubbed(scrub: &Scrubber, error: StoreError) -> FileStoreError {
    let shown = scrub.apply(&error.to_string());
    FileStoreError::File { error, shown }
}

/// The user's secret directory, opened and trusted.
#[derive(Debug)]
pub struct FoundFile {
    dir: SecretDir,
    scrub: Scrubber,
}

/// The user's secret file, opened and checked, not read.
#[derive(Debug)]
pub struct OpenedFile {
    opened: Opened,
    scrub: Scrubber,
}

/// The user's secret file read without the lock.
#[derive(Debug)]
pub struct FileSnapshot(Loaded);

/// The user's secret file under its lock.
#[derive(Debug)]
pub struct LockedSecretFile {
    locked: Locked,
    scrub: Scrubber,
}

impl Record for FileSnapshot {
    fn content(&self) -> &SecretFile {
        self.0.content()
    }
}

impl Record for LockedSecretFile {
    fn content(&self) -> &SecretFile {
        self.locked.content()
    }
}

impl LockedRecord for LockedSecretFile {
    type Error = FileStoreError;

    fn content_mut(&mut self) -> &mut SecretFile {
        self.locked.content_mut()
    }

    fn save(self) -> Result<(), FileStoreError> {
        let LockedSecretFile { locked, scrub } = self;
        locked.save().map_err(|e| scrubbed(&scrub, e))
    }
}

impl SecretStore for FileStore {
    type Error = FileStoreError;
    type Found = FoundFile;
    type Opened = OpenedFile;
    type Snapshot = FileSnapshot;
    type Locked = LockedSecretFile;

    fn locate(&mut self, account: &Account) -> Located<FoundFile, FileStoreError> {
        let home = account.home.to_string_lossy();
        let scrub = Scrubber::new(&[account.name.as_str(), &home]);
        let path = match template::expand(&self.template, &account.name, &account.home) {
            Ok(p) => p,
            // No file can be found through a relative home: nothing to be enrolled with.
            Err(TemplateError::BadHome(home)) => {
                return Located::NotEnrolled(FileStoreError::RelativeHome(log_safe::path(&home)))
            }
            Err(e @ TemplateError::BadUserName) => {
                return Located::Refused(FileStoreError::Template(e))
            }
            Err(e) => return Located::ConfigError(FileStoreError::Template(e)),
        };
        let owner = Owner {
            name: account.name.clone(),
            uid: Uid::from_raw(account.uid),
            gid: Gid::from_raw(account.gid),
        };
        match SecretDir::open(&path, owner) {
            Ok(dir) => Located::Found(FoundFile { dir, scrub }),
            Err(e) if e.is_not_enrolled() => Located::NotEnrolled(scrubbed(&scrub, e)),
            Err(e) => Located::Refused(scrubbed(&scrub, e)),
        }
    }

    fn open(&mut self, found: FoundFile) -> Result<OpenedFile, FileStoreError> {
        let FoundFile { dir, scrub } = found;
        match dir.open_file() {
            Ok(opened) => Ok(OpenedFile { opened, scrub }),
            Err(e) => Err(scrubbed(&scrub, e)),
        }
    }

    fn lock(&mut self, opened: OpenedFile) -> Result<LockedSecretFile, FileStoreError> {
        let OpenedFile { opened, scrub } = opened;
        match opened.lock() {
            Ok(locked) => Ok(LockedSecretFile { locked, scrub }),
            Err(e) => Err(scrubbed(&scrub, e)),
        }
    }

    fn snapshot(&mut self, found: FoundFile) -> Result<FileSnapshot, FileStoreError> {
        let FoundFile { dir, scrub } = found;
        dir.load()
            .map(FileSnapshot)
            .map_err(|e| scrubbed(&scrub, e))
    }

    fn create(&mut self, found: FoundFile, content: &SecretFile) -> Result<(), FileStoreError> {
        let FoundFile { dir, scrub } = found;
        dir.create(content).map_err(|e| scrubbed(&scrub, e))
    }
}
