//! `SecretStore::create` on the file store (enrollment at login): a located user without a
//! file gets one, written as totp-enroll writes it (mode 0600, owned by the user, readable by
//! the store again), and an existing file is never replaced.
// Test code: clippy.toml lets #[test] functions unwrap, and these helpers too.
#![allow(clippy::unwrap_used, clippy::panic)]

use nix::unistd::{getgid, getuid};
use pam_totp_core::params::{DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD};
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::store::{Located, Record, RecordError, SecretStore};
use pam_totp_core::user_db::Account;
use pam_totp_store::file_store::FileStore;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// alice, with the ids of the user running the tests.
fn alice() -> Account {
    Account {
        name: "alice".into(),
        uid: getuid().as_raw(),
        gid: getgid().as_raw(),
        home: "/home/alice".into(),
    }
}

fn content() -> SecretFile {
    let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
    SecretFile::new(secret, DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD)
}

fn located(store: &mut FileStore) -> <FileStore as SecretStore>::Found {
    match store.locate(&alice()) {
        Located::Found(found) => found,
        other => panic!("not located: {other:?}"),
    }
}

#[test]
fn a_located_user_without_a_file_gets_one_and_it_is_never_replaced() {
    let base = tempfile::tempdir().unwrap();
    let mut store = FileStore::new(&format!("{}/%u.toml", base.path().display()));

    // Located, but opening says: not enrolled.
    let found = located(&mut store);
    let err = store.open(found).unwrap_err();
    assert!(err.is_not_enrolled(), "{err}");

    let found = located(&mut store);
    store.create(found, &content()).unwrap();
    let path = base.path().join("alice.toml");
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!((meta.uid(), meta.gid()), (alice().uid, alice().gid));
    let found = located(&mut store);
    let snapshot = store.snapshot(found).unwrap();
    assert_eq!(
        snapshot.content().first_token().secret.as_bytes(),
        b"12345678901234567890"
    );

    // A second create (another login racing) is refused and leaves the file alone.
    let before = std::fs::read(&path).unwrap();
    let mut other = content();
    other.first_token_mut().digits = 8;
    let found = located(&mut store);
    let err = store.create(found, &other).unwrap_err();
    assert!(!err.is_not_enrolled(), "{err}");
    assert!(err.to_string().contains("alice.toml"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
