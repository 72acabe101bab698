//! A bound connection to the directory: TLS with the configured CA only (ldaps://, or StartTLS
//! before the bind on ldap://), or ldapi:// on this host; connecting and every operation are
//! bounded by the configuration's `timeout`.

use crate::config::LdapConfig;
use crate::error::DirectoryError;
use std::time::Duration;

/// A connection, bound as the configuration says.
pub struct Connection {
    ldap: ldap3::LdapConn,
    timeout: Duration,
}

impl Connection {
    /// Connects to `config.uri` and binds.
    pub fn open(config: &LdapConfig) -> Result<Connection, DirectoryError> {
        let _ = config;
        Err(DirectoryError::NotImplemented)
    }

    /// The client, for operations; give each one `.with_timeout(self.timeout())`.
    pub fn ldap(&mut self) -> &mut ldap3::LdapConn {
        &mut self.ldap
    }

    /// The bound on each operation.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}
