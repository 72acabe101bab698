//! Why the directory could not be used. Every message names what failed, where (the URI, the
//! DN, the file) and the fix; none contains a password, a secret or a code. Values that come
//! from the directory or the user are made log-safe where they are put into a message
//! ([`shown_dn`], [`shown_value`]).

use pam_totp_core::log_safe;
use std::path::PathBuf;
use thiserror::Error;

/// A failure of the LDAP store.
#[derive(Debug, Error)]
pub enum DirectoryError {
    /// The configuration file (or a file it names) is missing, unsafe or malformed.
    #[error("LDAP configuration {}: {problem}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, and the fix.
        problem: String,
    },
    /// The server could not be reached (connection refused, no route, no such socket).
    #[error("directory {uri} unreachable: {reason}; start the directory server or fix uri in {}", config.display())]
    Unreachable {
        /// The configured URI.
        uri: String,
        /// What the system said.
        reason: String,
        /// The configuration file.
        config: PathBuf,
    },
    /// No answer within the configured timeout.
    #[error("directory {uri} gave no answer within {seconds} s ({during}); check the server, or raise timeout= in {}", config.display())]
    Timeout {
        /// The configured URI.
        uri: String,
        /// The configured timeout.
        seconds: u64,
        /// What was waited for.
        during: String,
        /// The configuration file.
        config: PathBuf,
    },
    /// TLS failed: the server certificate is not trusted, or the handshake broke.
    #[error("TLS with {uri}: {problem} (ca_file={} in {})", ca_file.display(), config.display())]
    Tls {
        /// The configured URI.
        uri: String,
        /// The configured CA file.
        ca_file: PathBuf,
        /// What was wrong.
        problem: String,
        /// The configuration file.
        config: PathBuf,
    },
    /// The server refused the bind.
    #[error("bind to {uri} as {identity} refused ({reason}): check {fix}")]
    BindRefused {
        /// The configured URI.
        uri: String,
        /// `bind_dn=...` or `SASL EXTERNAL`.
        identity: String,
        /// The server's answer.
        reason: String,
        /// What to check (the password file, or the server's authz mapping).
        fix: String,
    },
    /// The bound identity may not read or write what the store needs.
    #[error("{identity} may not {what}: fix the directory's ACL")]
    AccessDenied {
        /// The bound identity, as configured.
        identity: String,
        /// What it may not do.
        what: String,
    },
    /// Any other LDAP failure of an operation.
    #[error("LDAP {operation} at {uri} failed: {reason}")]
    Operation {
        /// The configured URI.
        uri: String,
        /// What was attempted, with the DN.
        operation: String,
        /// The result code and the server's text, or the client's error.
        reason: String,
    },
    /// The connection broke during an operation (closed by the server, reset).
    #[error("LDAP {operation} at {uri} failed: the connection was lost ({reason})")]
    ConnectionLost {
        /// The configured URI.
        uri: String,
        /// What was attempted, with the DN.
        operation: String,
        /// The client's error.
        reason: String,
    },
    /// The user has no entry, or an entry without tokens: not enrolled.
    #[error("{0}")]
    NotEnrolled(String),
    /// More than one entry matches the user.
    #[error("{count} entries under {base} match user {user}; user names must be unique: fix the directory or base in {}", config.display())]
    Ambiguous {
        /// The user name (log-safe).
        user: String,
        /// How many.
        count: usize,
        /// The search base.
        base: String,
        /// The configuration file.
        config: PathBuf,
    },
    /// An entry named by another does not exist (or cannot be seen).
    #[error("entry {dn} named by {attribute} of {named_by} does not exist (or the bind identity cannot see it): fix {attribute} or the ACL")]
    MissingEntry {
        /// The DN that was named (log-safe).
        dn: String,
        /// The attribute that names it.
        attribute: String,
        /// The entry that names it (log-safe).
        named_by: String,
    },
    /// An attribute value pam_totp cannot use.
    #[error("attribute {attribute}{value} of {dn} is not usable: {problem}")]
    Malformed {
        /// The attribute.
        attribute: String,
        /// `=<value>` (log-safe, short), or empty where the value must not be shown.
        value: String,
        /// The entry (log-safe).
        dn: String,
        /// What is wrong, and the fix.
        problem: String,
    },
    /// Another login changed the login state between this login's read and its write.
    #[error(
        "another login changed {dn}'s token first (replay or concurrent login); login refused"
    )]
    Conflict {
        /// The user entry (log-safe).
        dn: String,
    },
    /// Something the LDAP store does not do.
    #[error("{0}")]
    Unsupported(String),
}

impl DirectoryError {
    /// True when this error is a lost compare-and-swap: another login (on any host) changed
    /// the login state first.
    pub fn is_conflict(&self) -> bool {
        matches!(self, DirectoryError::Conflict { .. })
    }
}

impl pam_totp_core::store::RecordError for DirectoryError {
    fn is_not_enrolled(&self) -> bool {
        matches!(self, DirectoryError::NotEnrolled(_))
    }

    fn is_conflict(&self) -> bool {
        DirectoryError::is_conflict(self)
    }
}

/// A DN read from the directory, for a message ([`log_safe::dn`]): controls and spaces become
/// `?`; `=` and commas stay.
pub fn shown_dn(dn: &str) -> String {
    log_safe::dn(dn)
}

/// The start of an attribute value read from the directory, for a message: at most 32
/// characters, log-safe; bytes that are not UTF-8 are described, not shown.
pub fn shown_value(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text) => {
            let start: String = text.chars().take(32).collect();
            log_safe::field(&start)
        }
        Err(_) => format!("<{} bytes, not text>", value.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pam_totp_core::store::RecordError;

    #[test]
    fn only_a_missing_entry_is_not_enrolled() {
        assert!(DirectoryError::NotEnrolled("no entry".into()).is_not_enrolled());
        let conflict = DirectoryError::Conflict { dn: "x".into() };
        assert!(!conflict.is_not_enrolled());
        assert!(RecordError::is_conflict(&conflict));
        let missing = DirectoryError::MissingEntry {
            dn: "a".into(),
            attribute: "oathTOTPToken".into(),
            named_by: "b".into(),
        };
        assert!(!missing.is_not_enrolled() && !RecordError::is_conflict(&missing));
    }

    #[test]
    fn directory_text_cannot_forge_lines_or_spaced_fields() {
        assert_eq!(
            shown_dn("uid=a b,ou=people\nrhost=1"),
            "uid=a?b,ou=people?rhost=1"
        );
        assert_eq!(shown_value(b"12 x=y"), "12?x?y");
        assert_eq!(shown_value(&[0xff, 0]), "<2 bytes, not text>");
        assert_eq!(shown_value("9".repeat(40).as_bytes()).len(), 32);
    }
}
