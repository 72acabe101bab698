//! Why a command failed. Every message is one line that names the file and the fix; none
//! contains secret material.

use crate::google_authenticator::GaError;
use pam_totp_core::template::TemplateError;
use pam_totp_core::token::TokenError;
use pam_totp_store::store::StoreError;
use std::path::PathBuf;
use thiserror::Error;

/// A failure of totp-enroll (exit status 1).
#[derive(Debug, Error)]
pub enum CliError {
    /// The site defaults file is unsafe or malformed.
    #[error("{}: {reason}", path.display())]
    SiteConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong, and the fix.
        reason: String,
    },
    /// `--user NAME` does not exist.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// The invoking uid has no passwd entry.
    #[error("uid {0} has no passwd entry; give the user with --user")]
    NoPasswdEntry(u32),
    /// The passwd database could not be read.
    #[error("cannot look up user {name}: {errno}")]
    Lookup {
        /// Whom we looked for.
        name: String,
        /// The error.
        errno: nix::errno::Errno,
    },
    /// `--user` names someone else and we are not root.
    #[error("only root can act for another user ({0}); run: sudo totp-enroll --user {0} ...")]
    NotRoot(String),
    /// `report` run by someone other than root.
    #[error("report reads every user's secret file, so only root can run it; run: sudo totp-enroll report")]
    ReportNeedsRoot,
    /// The user database could not be listed to the end.
    #[error("cannot list the accounts of the user database (getpwent): {0}; check /etc/nsswitch.conf and the directory service it names, then run totp-enroll report again")]
    UserDatabase(nix::errno::Errno),
    /// Real and effective uid differ: not meant to be set-uid.
    #[error("totp-enroll must not run set-uid or set-gid (real and effective ids differ); remove the set-id bit")]
    SetId,
    /// `--secret-file` cannot give a safe path.
    #[error("--secret-file: {0}")]
    Template(#[from] TemplateError),
    /// The secret store refused or failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// An enrollment exists where a new one would be written.
    #[error("{} already exists; use --force to replace it", .0.display())]
    Exists(PathBuf),
    /// The store failed with a permission error and a hint helps.
    #[error("{source}; run as root: sudo totp-enroll --user {user} ...")]
    StorePermission {
        /// The store error.
        source: StoreError,
        /// For whom.
        user: String,
    },
    /// The directory that should hold the secret file does not exist.
    #[error("directory {0} does not exist; create it (root-owned, mode 0755 or 0711) or fix --secret-file")]
    MissingDirectory(PathBuf),
    /// The existing secret file has a bad owner, mode or type, so it is not replaced.
    #[error("{source}; not replacing it: check it, remove it (rm -- {path}) and enroll again")]
    UnreadableExisting {
        /// What is wrong with it.
        source: StoreError,
        /// The file.
        path: PathBuf,
    },
    /// The secret file has a bad owner, mode or type, so `remove` leaves it alone.
    #[error("{source}; not removing it: check it and delete it by hand: rm -- {path}")]
    UnreadableRemove {
        /// What is wrong with it.
        source: StoreError,
        /// The file.
        path: PathBuf,
    },
    /// The file at the secret file's place is not a pam_totp secret file (not even a corrupt
    /// one), so neither `--force` nor `remove` touches it.
    #[error("{path} is not a pam_totp secret file (no pam_totp header, no 'version' and 'secret' keys); not {action} it. If that file really is to go, remove it by hand (rm -- {path}); otherwise check --secret-file")]
    NotSecretFile {
        /// The file.
        path: PathBuf,
        /// "replacing" or "removing".
        action: &'static str,
    },
    /// The user is not enrolled.
    #[error("{0}: not enrolled (no secret file); run totp-enroll enroll first")]
    NotEnrolled(PathBuf),
    /// The first code did not match: nothing was written.
    #[error("wrong code; nothing was written to {0}. Check the phone's clock and that the key was entered correctly, then run totp-enroll again")]
    WrongCode(PathBuf),
    /// The code for `recovery-codes` was wrong.
    #[error("wrong code; the recovery codes in {0} were not changed (the attempt was counted)")]
    WrongCodeExisting(PathBuf),
    /// The code was right but already used.
    #[error("that code was already used; wait for the next code and run totp-enroll again ({0} not changed)")]
    Replayed(PathBuf),
    /// Too many attempts.
    #[error("too many code checks for {path}; wait {seconds} seconds and try again")]
    RateLimited {
        /// The file.
        path: PathBuf,
        /// Seconds to wait.
        seconds: u64,
    },
    /// No code was typed or piped.
    #[error("no code was given (stdin ended); type the code from the app, or pipe it in: oathtool --totp -b KEY | totp-enroll ...")]
    NoCode,
    /// The typed line is too long to be a code.
    #[error("the code is too long (at most {0} characters); type the digits shown in the app")]
    CodeTooLong(usize),
    /// Reading stdin or writing stdout failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The random number generator failed.
    #[error("cannot get random bytes from the kernel: {0}")]
    Random(String),
    /// The QR code could not be made (URI too long).
    #[error("cannot make a QR code for this URI ({0}); use --no-qr and type the key by hand")]
    Qr(String),
    /// The system clock is before 1970.
    #[error("the system clock is before 1970; fix the time (TOTP needs a correct clock)")]
    Clock,
    /// A token cannot be added or removed (bad name, duplicate, too many, the last one...).
    #[error("{}: {source}; nothing was changed", path.display())]
    Token {
        /// The secret file.
        path: PathBuf,
        /// What is wrong, and the fix.
        source: TokenError,
    },
    /// `resync` named a TOTP token.
    #[error("token \"{name}\" in {} is a TOTP token: resync is for HOTP (counter-based) tokens only; a TOTP token that is refused needs the phone's clock set right", path.display())]
    NotHotp {
        /// The secret file.
        path: PathBuf,
        /// The token.
        name: String,
    },
    /// `resync` did not find the two codes within reach.
    #[error("the two codes are not consecutive codes of token \"{name}\" within 1000 counter values of its counter; {} was not changed. Press the button twice more and run totp-enroll resync again with both new codes; a token further ahead must be added again (remove-token, add-token --counter)", path.display())]
    ResyncNotFound {
        /// The secret file.
        path: PathBuf,
        /// The token.
        name: String,
    },
    /// A google-authenticator file cannot be imported.
    #[error("{path}: {source}")]
    GoogleAuthenticator {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: GaError,
    },
    /// A file to import tokens from (usersfile, PSKC) cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    ImportIo {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A pam_oath usersfile cannot be read for the user.
    #[error("{path}: {source}; nothing was imported")]
    OathUsersfile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: totp_enroll::oath_usersfile::UsersfileError,
    },
    /// A PSKC file cannot be read (or decrypted).
    #[error("{path}: {source}; nothing was imported")]
    Pskc {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: totp_enroll::pskc::PskcError,
    },
    /// A token of the file cannot be imported (never shows key material).
    #[error("{path}: {reason}")]
    ImportRefused {
        /// The file.
        path: PathBuf,
        /// Which token (line, key package), what is wrong and the fix.
        reason: String,
    },
    /// `--store ldap`: the directory refused or failed, or the user's entries do not allow
    /// the command.
    #[error("{0}")]
    Directory(#[from] AdminError),
    /// `--store ldap` with a command that works on secret files only.
    #[error("{0} is not available with --store ldap; with the directory, totp-enroll does enroll, status, recovery-codes, remove, add-token and tokens")]
    NotWithLdap(&'static str),
    /// `--store ldap`: the first code did not match, nothing was written.
    #[error("wrong code; nothing was written to the directory ({0}). Check the phone's clock and that the key was entered correctly, then run totp-enroll again")]
    WrongCodeDirectory(String),
    /// `--store ldap`: a token cannot be added (bad name, duplicate).
    #[error("{dn}: {source}; nothing was changed")]
    TokenDirectory {
        /// The user's entry.
        dn: String,
        /// What is wrong, and the fix.
        source: TokenError,
    },
    /// `--user` names no usable directory user name.
    #[error("--user {0:?}: not a user name (empty, control characters or longer than 256 bytes)")]
    BadDirectoryName(String),
    /// A google-authenticator file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    GoogleAuthenticatorIo {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Part of the error type for `--store ldap`.
pub use pam_totp_directory::admin::AdminError;

/// A store error with the hint that fits the situation.
pub fn store_error(e: StoreError, user: &str) -> CliError {
    use nix::errno::Errno;
    match e {
        StoreError::Io {
            errno: Errno::EACCES | Errno::EPERM,
            ..
        } if !nix::unistd::geteuid().is_root() => CliError::StorePermission {
            source: e,
            user: user.to_string(),
        },
        StoreError::Exists(path) => CliError::Exists(path),
        e => CliError::Store(e),
    }
}
