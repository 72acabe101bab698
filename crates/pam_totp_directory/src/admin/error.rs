//! Why an administrator's operation on the directory failed. Messages name the entry (DN), the
//! directory (URI) and the fix; none holds a password, a key or a code. These messages are
//! for the administrator's terminal, not the log: DNs read from the directory are shown as
//! they are, with control characters replaced ([`shown`]).

use crate::error::DirectoryError;
use pam_totp_core::log_safe;
use thiserror::Error;

/// A failure of `totp-enroll --store ldap`.
#[derive(Debug, Error)]
pub enum AdminError {
    /// The configuration, the connection, the bind or an operation failed, or an entry
    /// cannot be used.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The bind identity may not make the change.
    #[error("{source}; totp-enroll --store ldap needs a bind_dn that may change users' entries: point --ldap-config at the administrator's configuration (e.g. /etc/pam_totp/ldap-admin.toml)")]
    NotAllowed {
        /// The refusal.
        source: DirectoryError,
    },
    /// The directory does not know the object classes or attributes pam_totp writes.
    #[error("{source}; the directory server needs the otp overlay (slapo-otp, which brings the OATH-LDAP schema) and pam_totp's schema (packaging/ldap/pam_totp.schema or pam_totp.ldif, which adds pamTotpRecovery)")]
    Schema {
        /// The refusal.
        source: DirectoryError,
    },
    /// An entry to be added exists already.
    #[error("{dn} exists already at {uri} (left over from an earlier enrollment?); nothing was changed: delete it (ldapdelete -r), or remove the enrollment (totp-enroll --store ldap --user {user} remove), then try again")]
    EntryExists {
        /// The entry.
        dn: String,
        /// The directory.
        uri: String,
        /// The user's name.
        user: String,
    },
    /// No entry has the user's name.
    #[error("no directory entry with uid={name} under {base} at {uri}; totp-enroll --store ldap enrolls users that exist in the directory: add the user there first, or check --user and base in {config}")]
    NoSuchUser {
        /// The name looked for.
        name: String,
        /// Where it was looked for.
        base: String,
        /// The directory.
        uri: String,
        /// The configuration file.
        config: String,
    },
    /// An enrollment exists where a new one would be made.
    #[error("{dn} is already enrolled ({what}); use --force to replace it")]
    Exists {
        /// The user's entry.
        dn: String,
        /// The token reference(s) found.
        what: String,
    },
    /// The user has no token in the directory.
    #[error("{dn}: not enrolled (no oathTOTPToken or oathHOTPToken); run totp-enroll --store ldap --user {name} enroll first")]
    NotEnrolled {
        /// The user's entry.
        dn: String,
        /// The user's name.
        name: String,
    },
    /// A second token of a kind the user already has.
    #[error("{dn} already has {article} {kind} token ({existing}): in the directory a user has at most one TOTP and one HOTP token (the OATH-LDAP attributes oathTOTPToken and oathHOTPToken are single-valued); nothing was changed. Replace a TOTP token with enroll --force, or remove the enrollment first")]
    OneTokenPerKind {
        /// The user's entry.
        dn: String,
        /// "a" or "an".
        article: &'static str,
        /// "TOTP" or "HOTP".
        kind: &'static str,
        /// The existing token entry.
        existing: String,
    },
    /// A forced enrollment removed the old one, then failed to write the new one.
    #[error("the previous enrollment of {dn} was removed, but the new one could not be written: {source}; the user is not enrolled now: fix the cause and run enroll again")]
    Replaced {
        /// The user's entry.
        dn: String,
        /// Why the new one failed.
        source: Box<AdminError>,
    },
}

/// A DN (or other text from the directory or the command line) for a message on the
/// terminal: control and invisible formatting characters become `?`.
pub(crate) fn shown(text: &str) -> String {
    log_safe::line(text)
}
