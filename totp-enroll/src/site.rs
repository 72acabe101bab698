//! Site defaults for totp-enroll: `/etc/totp-enroll.toml` (or the file named by
//! `$TOTP_ENROLL_CONFIG`), a small TOML file with `issuer` (what the apps show, instead of the
//! host name) and `secret_file` (the template the site's pam.d lines use, so nobody has to
//! repeat `--secret-file`). Options on the command line win. A missing file means no site
//! defaults; a file that is unsafe or malformed stops the tool with a message naming it.

use crate::cli::parse_uri_text;
use crate::error::CliError;
use nix::errno::Errno;
use pam_totp_store::bounded::{self, ReadError};
use pam_totp_store::ownership::{self, Distrust};
use serde::Deserialize;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where the site defaults live.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/totp-enroll.toml";
/// Environment variable naming another file (for testing a configuration before installing it).
pub const CONFIG_ENV: &str = "TOTP_ENROLL_CONFIG";
/// Far more than two settings ever need.
const MAX_CONFIG_BYTES: usize = 64 * 1024;
/// Where the settings are described.
const SEE_ALSO: &str = "man totp-enroll, FILES";

/// The site defaults; every field is optional.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Default `--issuer`.
    pub issuer: Option<String>,
    /// Default `--secret-file`.
    pub secret_file: Option<String>,
}

/// Reads the site defaults in effect, and says from which file: the one named by
/// `$TOTP_ENROLL_CONFIG` (which must exist: a typo there must not silently fall back to no
/// defaults), else the default path (absent means no site defaults).
pub fn load_in_effect() -> Result<(SiteConfig, PathBuf), CliError> {
    let (path, required) = match std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        Some(path) => (PathBuf::from(path), true),
        None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
    };
    Ok((load(&path, required)?, path))
}

/// Reads the site defaults from `path`. The file must be a regular file owned by root or by
/// the user running the tool, and writable by nobody else: whoever can write it decides what
/// every enrolling user's app shows and where their files go.
pub fn load(path: &Path, required: bool) -> Result<SiteConfig, CliError> {
    let shown = path.display();
    let bad = |reason: String| CliError::SiteConfig {
        path: path.to_path_buf(),
        reason,
    };
    let (mut file, meta) = match bounded::open_regular(path) {
        Ok(opened) => opened,
        Err(ReadError::Io(e)) if e.kind() == ErrorKind::NotFound && !required => {
            return Ok(SiteConfig::default())
        }
        Err(ReadError::Io(e)) => {
            return Err(bad(match (e.kind(), e.raw_os_error()) {
                (ErrorKind::NotFound, _) => format!(
                    "does not exist; fix {CONFIG_ENV} or unset it to use {DEFAULT_CONFIG_PATH}"
                ),
                (_, Some(libc_errno)) if libc_errno == Errno::ELOOP as i32 => {
                    "is a symbolic link, which is not followed; put the file itself there"
                        .to_string()
                }
                (ErrorKind::PermissionDenied, _) => {
                    format!("cannot be read by you; make it readable: chmod 644 {shown}")
                }
                _ => format!("cannot be opened ({e})"),
            }))
        }
        Err(_) => {
            return Err(bad(
                "is not a regular file; site defaults must be a TOML file".to_string(),
            ))
        }
    };
    match ownership::check(meta.uid(), meta.mode(), nix::unistd::getuid()) {
        Ok(()) => {}
        Err(Distrust::Owner(uid)) => {
            return Err(bad(format!(
                "is owned by uid {uid}, neither root nor you; chown root {shown}"
            )))
        }
        Err(Distrust::Writable(mode)) => {
            return Err(bad(format!(
                "is writable by group or others (mode {mode:04o}); chmod go-w {shown}"
            )))
        }
    }
    let bytes = bounded::read_bounded(&mut file, MAX_CONFIG_BYTES).map_err(|e| match e {
        ReadError::TooLarge(_) => bad(format!(
            "is larger than {MAX_CONFIG_BYTES} bytes; it holds two settings ({SEE_ALSO})"
        )),
        e => bad(format!("cannot be read ({e})")),
    })?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| bad("is not UTF-8 text; save it as UTF-8".to_string()))?;
    parse(&text).map_err(|reason| bad(format!("{reason}; edit it ({SEE_ALSO})")))
}

/// Parses and checks the settings (the same rules as the command-line options).
fn parse(text: &str) -> Result<SiteConfig, String> {
    let config: SiteConfig =
        toml::from_str(text).map_err(|e| pam_totp_core::toml_problem::describe(&e, text))?;
    if let Some(issuer) = &config.issuer {
        parse_uri_text(issuer).map_err(|e| format!("issuer {e}"))?;
    }
    if let Some(template) = &config.secret_file {
        // Expanded for a sample user only to check its form; the real expansion comes later.
        pam_totp_core::template::expand(template, "user", Path::new("/home/user"))
            .map_err(|e| format!("secret_file: {e}"))?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_settings_are_read() {
        let c =
            parse("issuer = \"ACME VPN\"\nsecret_file = \"/var/lib/pam_totp/%u.toml\"\n").unwrap();
        assert_eq!(c.issuer.as_deref(), Some("ACME VPN"));
        assert_eq!(c.secret_file.as_deref(), Some("/var/lib/pam_totp/%u.toml"));
        assert_eq!(parse("").unwrap(), SiteConfig::default());
    }

    #[test]
    fn unknown_settings_and_bad_values_are_refused() {
        let e = parse("isuer = \"x\"\n").unwrap_err();
        assert!(
            e.contains("line 1") && e.contains("isuer") && e.contains("issuer"),
            "{e}"
        );
        assert!(parse("issuer = \"a:b\"\n").unwrap_err().contains("issuer"));
        assert!(parse("issuer = 3\n").is_err());
        let e = parse("secret_file = \"relative/%u\"\n").unwrap_err();
        assert!(e.contains("secret_file"), "{e}");
        assert!(parse("secret_file = \"/x/%q\"\n").is_err());
    }
}
