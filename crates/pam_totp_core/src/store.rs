//! The seam between the login flow and the place a user's secret is kept (the secret file
//! today, a directory server later): where the record is, opening it before the user is
//! asked anything, reading it under a lock, saving it. Traits only, no I/O.

use crate::secret_file::SecretFile;
use crate::user_db::Account;
use std::fmt::Display;

/// Why a store cannot give a record.
///
/// The text (Display) goes into log lines as it is: a store makes what users control in it
/// (user names, home directories, paths built from them) log-safe with
/// [`crate::log_safe`], and puts no secret material in it.
pub trait RecordError: Display {
    /// True when no record exists and none could be hidden from the store: the user is not
    /// enrolled. False for every failure to read one that may exist.
    fn is_not_enrolled(&self) -> bool;

    /// True when a save failed because another login (on this host or another) changed the
    /// record first: the login lost a race, and is refused like a replay. Stores that take an
    /// exclusive lock never say so.
    fn is_conflict(&self) -> bool {
        false
    }
}

/// Where a user's record stands, found before any input is read.
#[derive(Debug)]
pub enum Located<F, E> {
    /// The record can be opened with [`SecretStore::open`] or [`SecretStore::snapshot`].
    Found(F),
    /// The user is not enrolled; the error says why (its `is_not_enrolled()` is true).
    NotEnrolled(E),
    /// A record may exist but cannot be trusted or read: the login must be refused.
    Refused(E),
    /// The store's configuration (e.g. the `secret=` template) cannot work for this user.
    ConfigError(E),
}

/// A record as read from the store.
pub trait Record {
    /// The parsed record.
    fn content(&self) -> &SecretFile;
}

/// A record held under the store's exclusive lock, current as of the lock: changed in place,
/// then saved. Dropping it releases the lock without saving.
pub trait LockedRecord: Record {
    /// Why the record could not be saved.
    type Error: RecordError;

    /// The record, to be changed and then saved.
    fn content_mut(&mut self) -> &mut SecretFile;

    /// Stores the changed record atomically and durably, then releases the lock. `Ok` only
    /// once the new state would survive a crash.
    fn save(self) -> Result<(), Self::Error>;
}

/// A place where users' secret records are kept.
pub trait SecretStore {
    /// Why a step failed.
    type Error: RecordError;
    /// A record located for a user, not opened yet.
    type Found;
    /// A record opened and checked, not read yet: held while the user types.
    type Opened;
    /// A record read without the lock (possibly stale by the time it is used).
    type Snapshot: Record;
    /// A record read under the lock.
    type Locked: LockedRecord<Error = Self::Error>;

    /// Finds the record of `account` (canonical name, ids and home from the user database).
    fn locate(&mut self, account: &Account) -> Located<Self::Found, Self::Error>;

    /// Opens the located record and checks that it may be used, without reading it: called
    /// before the user is asked, so that a missing or refused record is known beforehand.
    fn open(&mut self, found: Self::Found) -> Result<Self::Opened, Self::Error>;

    /// Takes the exclusive lock (waiting a bounded time) and reads the record under it; a
    /// store without locks reads it optimistically instead, and its `save` is a
    /// compare-and-swap that fails ([`RecordError::is_conflict`]) when the record changed.
    fn lock(&mut self, opened: Self::Opened) -> Result<Self::Locked, Self::Error>;

    /// Opens and reads the located record without the lock, for what may be stale (e.g. the
    /// number of digits that `forward_pass` splits off).
    fn snapshot(&mut self, found: Self::Found) -> Result<Self::Snapshot, Self::Error>;

    /// Writes `content` as the new record of a located user who has none (enrollment at
    /// login), atomically and durably, as the user's own tools would; refuses to replace a
    /// record that exists by then.
    fn create(&mut self, found: Self::Found, content: &SecretFile) -> Result<(), Self::Error>;
}
