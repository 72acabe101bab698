//! Why an administrator's operation on the directory failed. Messages name the entry (DN), the
//! directory (URI) and the fix; none holds a password, a key or a code. Text from the
//! directory (DNs it returns, the server's diagnostic message) goes through
//! [`pam_totp_core::log_safe`] before it is put into a message.

use crate::error::DirectoryError;
use pam_totp_core::log_safe;
use thiserror::Error;

/// A failure of `totp-enroll --store ldap`.
#[derive(Debug, Error)]
pub enum AdminError {
    /// The configuration, the connection or the bind failed.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// An LDAP operation failed (the message says which, on what, and what to do).
    #[error("{what} at {uri}: {reason}")]
    Operation {
        /// The operation and its entry, e.g. "adding cn=default,uid=alice,...".
        what: String,
        /// The directory.
        uri: String,
        /// The LDAP result code, when the server answered with one.
        rc: Option<u32>,
        /// The server's answer and the fix.
        reason: String,
    },
    /// No entry has the user's name.
    #[error("no directory entry with uid={name} under {base} at {uri}; totp-enroll --store ldap enrolls users that exist in the directory: add the user there first, or check --user and base= in the LDAP configuration")]
    NoSuchUser {
        /// The name looked for.
        name: String,
        /// Where it was looked for.
        base: String,
        /// The directory.
        uri: String,
    },
    /// Several entries have the user's name.
    #[error("{count} directory entries have uid={name} under {base} at {uri}; pam_totp refuses such a user: make uid unique below base= (or narrow base= in the LDAP configuration)")]
    AmbiguousUser {
        /// The name looked for.
        name: String,
        /// How many entries matched.
        count: usize,
        /// Where it was looked for.
        base: String,
        /// The directory.
        uri: String,
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
    #[error("{dn} already has {article} {kind} token ({existing}): in the directory a user has at most one TOTP and one HOTP token (the OATH-LDAP attributes oathTOTPToken and oathHOTPToken are single-valued); nothing was changed. Replace it with enroll --force (TOTP), or remove the enrollment first")]
    OneTokenPerKind {
        /// The user's entry.
        dn: String,
        /// "an" or "a".
        article: &'static str,
        /// "TOTP" or "HOTP".
        kind: &'static str,
        /// The existing token entry.
        existing: String,
    },
    /// An attribute of the user's entries cannot be used.
    #[error("attribute {attr} of {dn} is not usable: {problem}; fix the entry (or remove the enrollment and enroll again)")]
    Malformed {
        /// The entry.
        dn: String,
        /// The attribute.
        attr: &'static str,
        /// What is wrong with it (never a key).
        problem: String,
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

impl AdminError {
    /// A failed LDAP operation `what` at `uri`, with a fix that fits the result code.
    pub(crate) fn operation(what: String, uri: &str, error: &ldap3::LdapError) -> AdminError {
        AdminError::Operation {
            what: log_safe::line(&what),
            uri: uri.to_string(),
            rc: result_code(error),
            reason: reason(error),
        }
    }

    /// The LDAP result code of a failed operation, when the server answered with one.
    pub fn result_code(&self) -> Option<u32> {
        match self {
            AdminError::Operation { rc, .. } => *rc,
            _ => None,
        }
    }
}

/// The result code in `error`, if the server sent one.
pub(crate) fn result_code(error: &ldap3::LdapError) -> Option<u32> {
    match error {
        ldap3::LdapError::LdapResult { result } => Some(result.rc),
        _ => None,
    }
}

/// The server's answer in words, with the fix for the usual causes.
fn reason(error: &ldap3::LdapError) -> String {
    let ldap3::LdapError::LdapResult { result } = error else {
        return match error {
            ldap3::LdapError::Timeout { .. } => {
                "no answer within timeout= seconds (the LDAP configuration); check that the server is up and reachable".to_string()
            }
            other => format!("{other}; check that the server is up and uri= in the LDAP configuration"),
        };
    };
    let text = log_safe::line(result.text.trim());
    let said = if text.is_empty() {
        String::new()
    } else {
        format!(
            " (the server said: {})",
            text.chars().take(200).collect::<String>()
        )
    };
    let fix = match result.rc {
        16 => "the entry changed meanwhile (another login or administrator); run the command again",
        17 | 21 | 65 => "is pam_totp's schema loaded (packaging/ldap/pam_totp.schema, which adds pamTotpRecovery) and the otp overlay (slapo-otp, which defines the OATH-LDAP schema)?",
        19 | 20 => "the entry changed meanwhile (another login or administrator); run the command again",
        32 => "the entry does not exist (any more)",
        34 | 64 => "the DN is not valid; check base= and the user's entry",
        49 => "the bind was refused; check bind_dn and bind_password_file",
        50 => "the bind_dn of this LDAP configuration may not do this: point --ldap-config at the administrator's configuration (e.g. /etc/pam_totp/ldap-admin.toml, whose bind_dn may write users' entries), or fix the directory's ACL",
        66 => "the entry has entries below it that pam_totp did not make; remove them first",
        68 => "an entry of that name exists already (left over from an earlier enrollment?); remove it, or the enrollment (totp-enroll --store ldap --user NAME remove)",
        _ => "see the directory server's log",
    };
    format!(
        "result code {} ({}){said}; {fix}",
        result.rc,
        rc_name(result.rc)
    )
}

/// The names of the result codes these operations meet (RFC 4511).
fn rc_name(rc: u32) -> &'static str {
    match rc {
        1 => "operationsError",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        68 => "entryAlreadyExists",
        _ => "other",
    }
}
