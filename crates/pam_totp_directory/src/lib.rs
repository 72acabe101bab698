//! pam_totp's LDAP store (`store=ldap`): users' tokens, parameters and login state kept in a
//! directory with the OATH-LDAP schema that OpenLDAP's `otp` overlay (slapo-otp) implements,
//! so that every server sees every login. Loaded only by `pam_totp_ldap.so` and `totp-enroll`:
//! the file-store module never links it.
//!
//! Layout: [`config`] reads `/etc/pam_totp/ldap.toml` (its files through [`root_file`]);
//! [`connection`] opens a TLS ([`tls`]) or ldapi connection and binds, and runs operations
//! bounded by the timeout on [`ldap_entry`] values; [`entries`] maps OATH-LDAP entries to a [`SecretFile`] and back;
//! [`store`] is the [`SecretStore`] the login flow uses; [`admin`] holds what `totp-enroll
//! --store ldap` does (enroll, status, recovery codes, tokens, remove).
//!
//! [`SecretFile`]: pam_totp_core::secret_file::SecretFile
//! [`SecretStore`]: pam_totp_core::store::SecretStore

pub mod admin;
pub mod config;
pub mod connection;
pub mod entries;
pub mod error;
pub mod generalized_time;
pub mod ldap_entry;
pub mod ldapi_socket;
pub mod root_file;
pub mod store;
pub mod tls;

pub use config::{LdapConfig, DEFAULT_CONFIG};
pub use connection::Connection;
pub use error::DirectoryError;
pub use store::LdapStore;
