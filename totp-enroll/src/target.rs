//! Whose secret file we work on, and where it is.

use crate::error::{store_error, CliError};
use nix::unistd::{getegid, geteuid, getgid, getuid, User};
use pam_totp_core::template::{expand, SecretPath};
use pam_totp_store::store::{Loaded, Owner, SecretDir, StoreError};
use std::path::PathBuf;

/// The user acted for and the location of their secret file.
#[derive(Debug)]
pub struct Target {
    /// The account.
    pub user: User,
    /// The expanded secret file location.
    pub path: SecretPath,
    /// Root acting for another user (no code is asked for before changes).
    pub for_other: bool,
}

/// Refuses to run set-uid or set-gid: nothing may be read or written with borrowed privilege.
/// Called before anything else is read (the site defaults included).
pub fn refuse_set_id() -> Result<(), CliError> {
    if getuid() != geteuid() || getgid() != getegid() {
        return Err(CliError::SetId);
    }
    Ok(())
}

/// Looks up the user (`--user` or the invoking user), checks permission and expands the template.
/// The caller has already run [`refuse_set_id`].
pub fn resolve(user_arg: Option<&str>, template: &str) -> Result<Target, CliError> {
    let uid = getuid();
    let user = match user_arg {
        Some(name) => User::from_name(name)
            .map_err(|errno| CliError::Lookup {
                name: name.to_string(),
                errno,
            })?
            .ok_or_else(|| CliError::NoSuchUser(name.to_string()))?,
        None => User::from_uid(uid)
            .map_err(|errno| CliError::Lookup {
                name: format!("uid {uid}"),
                errno,
            })?
            .ok_or(CliError::NoPasswdEntry(uid.as_raw()))?,
    };
    let for_other = user.uid != uid;
    if for_other && !uid.is_root() {
        return Err(CliError::NotRoot(user.name.clone()));
    }
    let path = expand(template, &user.name, &user.dir)?;
    Ok(Target {
        user,
        path,
        for_other,
    })
}

impl Target {
    /// The owner record the store checks files against.
    pub fn owner(&self) -> Owner {
        Owner {
            name: self.user.name.clone(),
            uid: self.user.uid,
            gid: self.user.gid,
        }
    }

    /// The secret file's full path, for messages.
    pub fn display_path(&self) -> PathBuf {
        self.path.display_path()
    }

    /// Opens the directory that holds the secret file. A directory below the base that does
    /// not exist is [`CliError::MissingDirectory`], naming it: nobody is enrolled there, and an
    /// enrollment needs it made first.
    pub fn open_dir(&self) -> Result<SecretDir, CliError> {
        SecretDir::open(&self.path, self.owner()).map_err(|e| match e {
            StoreError::SubdirectoryNotFound { dir, .. } => CliError::MissingDirectory(dir),
            e => self.store_error(e),
        })
    }

    /// Loads the secret file: `Ok(None)` when the user is not enrolled (no file, or no
    /// directory for it).
    pub fn load(&self) -> Result<Option<Loaded>, CliError> {
        let dir = match self.open_dir() {
            Ok(dir) => dir,
            Err(CliError::MissingDirectory(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        match dir.load() {
            Ok(loaded) => Ok(Some(loaded)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(self.store_error(e)),
        }
    }

    /// A store error with a hint for this user.
    pub fn store_error(&self, e: StoreError) -> CliError {
        store_error(e, &self.user.name)
    }
}
