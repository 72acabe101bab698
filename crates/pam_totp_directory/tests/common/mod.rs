//! What the directory crate's tests share: an `ldap.toml` (and its password file) for a
//! running [`Slapd`], written root-owned and mode 0600 as the store demands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic
#![allow(dead_code)]

use pam_totp_directory::LdapConfig;
use pam_totp_tests::slapd::{Slapd, SERVICE_DN, SERVICE_PASSWORD};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// How the test configuration reaches slapd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// ldaps://127.0.0.1:PORT
    Ldaps,
    /// ldap://127.0.0.1:PORT with StartTLS
    StartTls,
    /// ldapi://SOCKET with a simple bind as the service account
    Ldapi,
    /// ldapi://SOCKET with SASL EXTERNAL (no bind_dn)
    LdapiExternal,
}

/// A configuration file and its password file in a temporary directory.
pub struct TestConfig {
    /// Keeps the files.
    pub dir: tempfile::TempDir,
    /// The ldap.toml.
    pub path: PathBuf,
}

impl TestConfig {
    /// Loads the configuration (panics with the message when it is refused).
    pub fn load(&self) -> LdapConfig {
        LdapConfig::load(&self.path).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Writes `text` to `path`, owned by root, with `mode`.
pub fn write_root_file(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    std::os::unix::fs::chown(path, Some(0), Some(0)).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A configuration for `slapd` reached `via`, trusting `ca`, binding with `password`, with
/// `timeout` seconds and `extra` lines appended.
pub fn config_with(slapd: &Slapd, via: Via, ca: &Path, password: &str, timeout: u64) -> TestConfig {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("ldap.secret");
    write_root_file(&secret, &format!("{password}\n"), 0o600);
    let uri = match via {
        Via::Ldaps => slapd.ldaps_url(),
        Via::StartTls => slapd.ldap_url(),
        Via::Ldapi | Via::LdapiExternal => slapd.ldapi_url(),
    };
    let mut text = format!(
        "uri = \"{uri}\"\nbase = \"{}\"\ntimeout = {timeout}\n",
        pam_totp_tests::slapd::PEOPLE
    );
    if via != Via::LdapiExternal {
        text.push_str(&format!(
            "bind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"{}\"\n",
            secret.display()
        ));
    }
    if matches!(via, Via::Ldaps | Via::StartTls) {
        text.push_str(&format!("ca_file = \"{}\"\n", ca.display()));
    }
    let path = dir.path().join("ldap.toml");
    write_root_file(&path, &text, 0o600);
    TestConfig { dir, path }
}

/// The usual configuration: the test CA, the service account's password, timeout 5 s.
pub fn config(slapd: &Slapd, via: Via) -> TestConfig {
    config_with(slapd, via, &slapd.ca_cert(), SERVICE_PASSWORD, 5)
}
