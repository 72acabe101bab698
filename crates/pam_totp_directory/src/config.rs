//! `/etc/pam_totp/ldap.toml`: where the directory is and how to bind to it. Root-owned and not
//! readable by others (checked like the secret file); unknown keys are refused.

use crate::error::DirectoryError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the module's LDAP configuration is unless `ldap_config=` names another file.
pub const DEFAULT_CONFIG: &str = pam_totp_core::params::DEFAULT_LDAP_CONFIG;

/// The LDAP store's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapConfig {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    /// `ldaps://HOST[:PORT]`, `ldapi://SOCKET` (percent-encoded path) or `ldap://HOST[:PORT]`
    /// (then StartTLS, always).
    pub uri: String,
    /// Where users are searched: `(&(objectClass=oathUser)(uid=NAME))` below it.
    pub base: String,
    /// The DN to bind as (simple bind); None over ldapi:// means SASL EXTERNAL.
    pub bind_dn: Option<String>,
    /// A root-only file whose first line is the bind password.
    pub bind_password_file: Option<PathBuf>,
    /// The only trust anchors for ldaps:// and StartTLS (PEM).
    pub ca_file: Option<PathBuf>,
    /// Bound on connecting (TCP + TLS) and on each operation.
    pub timeout: Duration,
}

impl LdapConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<LdapConfig, DirectoryError> {
        Err(DirectoryError::Config {
            path: path.to_path_buf(),
            problem: "not implemented yet".into(),
        })
    }
}
