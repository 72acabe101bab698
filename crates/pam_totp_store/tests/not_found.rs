//! "Not found" for the secret file is not "not found" for a directory on the way: each missing
//! thing gets its own error, naming it, and only a missing file (or a missing directory below
//! the base, where nothing can have been put) means "not enrolled".
// Test code: clippy.toml lets #[test] functions unwrap, and these helpers too.
#![allow(clippy::unwrap_used)]

use nix::unistd::{getgid, getuid};
use pam_totp_core::params::{DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD};
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::template::expand;
use pam_totp_store::store::{Owner, SecretDir, StoreError};
use std::path::{Path, PathBuf};

/// The account the files belong to: the user running the tests, under a fixed name.
fn owner() -> Owner {
    Owner {
        name: "alice".to_string(),
        uid: getuid(),
        gid: getgid(),
    }
}

/// Opens the directory of `template` (with `%u` = alice) for alice.
fn open(template: &str) -> Result<SecretDir, StoreError> {
    let path = expand(template, "alice", Path::new("/home/alice")).unwrap();
    SecretDir::open(&path, owner())
}

/// A private temporary directory: owned by the user running the tests, mode 0700.
fn base() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn a_missing_file_is_not_enrolled_and_named() {
    let base = base();
    let file = base.path().join("alice.toml");
    let err = open(&format!("{}/%u.toml", shown(base.path())))
        .unwrap()
        .load()
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(p) if *p == file),
        "{err:?}"
    );
    assert!(err.is_not_found() && err.is_not_enrolled());
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{} does not exist", shown(&file))),
        "{msg}"
    );
    assert!(msg.contains("not enrolled"), "{msg}");
}

#[test]
fn a_missing_directory_below_the_base_is_not_enrolled_and_named() {
    let base = base();
    let template = format!("{}/%u/sub/secret.toml", shown(base.path()));
    let file = base.path().join("alice/sub/secret.toml");
    for missing in [base.path().join("alice"), base.path().join("alice/sub")] {
        let err = open(&template).unwrap_err();
        match &err {
            StoreError::SubdirectoryNotFound { path, dir } => {
                assert_eq!((path, dir), (&file, &missing));
            }
            other => panic!("{missing:?}: {other:?}"),
        }
        assert!(err.is_not_found() && err.is_not_enrolled());
        let msg = err.to_string();
        assert!(
            msg.contains(&shown(&file)) && msg.contains(&format!("directory {} ", shown(&missing))),
            "{msg}"
        );
        std::fs::create_dir(&missing).unwrap();
    }
    // With every directory there, only the file is missing.
    let err = open(&template).unwrap().load().unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(p) if *p == file),
        "{err:?}"
    );
}

#[test]
fn a_missing_base_directory_is_refused_and_named() {
    let base = base();
    let gone = base.path().join("no-such-dir");
    let err = open(&format!("{}/%u.toml", shown(&gone))).unwrap_err();
    assert!(
        matches!(&err, StoreError::DirectoryNotFound(d) if *d == gone),
        "{err:?}"
    );
    assert!(!err.is_not_found() && !err.is_not_enrolled());
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("directory {} does not exist", shown(&gone))),
        "{msg}"
    );
    assert!(
        msg.contains("refusing rather than treating the user as not enrolled"),
        "{msg}"
    );
}

#[test]
fn a_directory_removed_while_in_use_is_refused_and_named() {
    let base = base();
    let dir: PathBuf = base.path().join("alice");
    std::fs::create_dir(&dir).unwrap();
    let opened = open(&format!("{}/%u/secret.toml", shown(base.path()))).unwrap();
    std::fs::remove_dir(&dir).unwrap();
    let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
    let content = SecretFile::new(secret, DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD);
    let err = opened.create(&content).unwrap_err();
    assert!(
        matches!(&err, StoreError::DirectoryNotFound(d) if *d == dir),
        "{err:?}"
    );
    assert!(!err.is_not_found() && !err.is_not_enrolled());
    assert!(
        err.to_string()
            .starts_with(&format!("directory {} does not exist", shown(&dir))),
        "{err}"
    );
}
