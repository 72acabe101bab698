//! Why the directory could not be used. Every message names what failed, where (the URI, the
//! DN, the file) and the fix; none contains a password, a secret or a code. Values that come
//! from the directory or the user are made log-safe where they are put into a message.

use std::path::PathBuf;
use thiserror::Error;

/// A failure of the LDAP store.
#[derive(Debug, Error)]
pub enum DirectoryError {
    /// The configuration file is missing, unsafe or malformed.
    #[error("LDAP configuration {path}: {problem}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, and the fix.
        problem: String,
    },
    /// The skeleton's placeholder (replaced while issue 12 is implemented).
    #[error("store=ldap is not implemented yet")]
    NotImplemented,
}

impl pam_totp_core::store::RecordError for DirectoryError {
    fn is_not_enrolled(&self) -> bool {
        false
    }
}
