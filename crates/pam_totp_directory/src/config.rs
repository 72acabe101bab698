//! `/etc/pam_totp/ldap.toml`: where the directory is and how to bind to it. Root-owned and not
//! readable by others (as is the bind password file it names); unknown keys are refused. Every
//! rule is checked by [`LdapConfig::load`], so that a broken file is reported as such before a
//! connection is attempted.

use crate::error::DirectoryError;
use crate::root_file;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// Where the module's LDAP configuration is unless `ldap_config=` names another file.
pub const DEFAULT_CONFIG: &str = pam_totp_core::params::DEFAULT_LDAP_CONFIG;
/// `timeout` when the file sets none, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 5;
/// The longest `timeout`, in seconds: a login waits at most this long per step.
pub const MAX_TIMEOUT_SECS: u64 = 60;
/// The socket `ldapi:///` (no path) means: where Debian's slapd listens.
pub const DEFAULT_LDAPI_SOCKET: &str = "/var/run/slapd/ldapi";
/// Far more than six settings ever need.
const MAX_CONFIG_BYTES: usize = 16 * 1024;
/// A password file holds one line.
const MAX_PASSWORD_FILE_BYTES: usize = 4096;
/// Longest DN accepted in the file.
const MAX_DN_CHARS: usize = 1024;
/// Where the keys are described.
const SEE_ALSO: &str = "see pam_totp(8), store=ldap";

/// How the directory is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `ldaps://HOST[:PORT]`: TLS from the first byte (port 636 by default).
    Ldaps {
        /// Host name or IPv4 address; the server certificate must name it.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// `ldap://HOST[:PORT]`: StartTLS before anything else (port 389 by default).
    StartTls {
        /// Host name or IPv4 address; the server certificate must name it.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// `ldapi://SOCKET`: a Unix socket on this host (percent-encoded path in the URI).
    Ldapi {
        /// The socket's path.
        socket: PathBuf,
    },
}

impl Endpoint {
    /// True for the TCP endpoints, which need TLS (and so a `ca_file`).
    pub fn uses_tls(&self) -> bool {
        !matches!(self, Endpoint::Ldapi { .. })
    }
}

/// The LDAP store's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapConfig {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    /// `ldaps://HOST[:PORT]`, `ldapi://SOCKET` (percent-encoded path) or `ldap://HOST[:PORT]`
    /// (then StartTLS, always), as written in the file.
    pub uri: String,
    /// The URI taken apart.
    pub endpoint: Endpoint,
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

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    uri: String,
    base: String,
    bind_dn: Option<String>,
    bind_password_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    timeout: Option<i64>,
}

impl LdapConfig {
    /// Reads and checks `path`: the file itself (root-owned, mode 0600 or 0640, not a
    /// symbolic link), every key, the bind password file and the CA file.
    pub fn load(path: &Path) -> Result<LdapConfig, DirectoryError> {
        let bad = |problem: String| DirectoryError::Config {
            path: path.to_path_buf(),
            problem,
        };
        let bytes = root_file::read_private(path, MAX_CONFIG_BYTES).map_err(|p| {
            bad(if p == "does not exist" {
                format!("{p}; write it, or name another file with ldap_config= ({SEE_ALSO})")
            } else {
                p
            })
        })?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| bad("is not UTF-8 text; save it as UTF-8".to_string()))?;
        let config = parse(path, text).map_err(|p| bad(format!("{p} ({SEE_ALSO})")))?;
        if let Some(file) = &config.bind_password_file {
            config.read_password(file)?;
        }
        if config.endpoint.uses_tls() {
            if let Some(ca) = &config.ca_file {
                crate::tls::load_roots(path, ca)?;
            }
        }
        Ok(config)
    }

    /// The bind password: the first line of `bind_password_file` (checked again as it is
    /// read). None when the configuration binds with SASL EXTERNAL.
    pub fn bind_password(&self) -> Result<Option<Zeroizing<String>>, DirectoryError> {
        match &self.bind_password_file {
            Some(file) => self.read_password(file).map(Some),
            None => Ok(None),
        }
    }

    fn read_password(&self, file: &Path) -> Result<Zeroizing<String>, DirectoryError> {
        let shown = file.display();
        let bad = |problem: String| DirectoryError::Config {
            path: self.path.clone(),
            problem: format!("bind_password_file {shown} {problem}"),
        };
        let bytes = root_file::read_private(file, MAX_PASSWORD_FILE_BYTES).map_err(bad)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| bad("is not UTF-8 text; write the password as UTF-8".to_string()))?;
        let first = text.split('\n').next().unwrap_or("");
        let first = first.strip_suffix('\r').unwrap_or(first);
        if first.is_empty() {
            // An empty password is an unauthenticated bind, which servers accept as anonymous.
            return Err(bad(
                "has an empty first line; put the bind password on its first line".to_string(),
            ));
        }
        Ok(Zeroizing::new(first.to_string()))
    }
}

/// Parses and checks the text of the file (everything but the files it names).
fn parse(path: &Path, text: &str) -> Result<LdapConfig, String> {
    let raw: RawConfig =
        toml::from_str(text).map_err(|e| pam_totp_core::toml_problem::describe(&e, text))?;
    let endpoint = parse_uri(&raw.uri)?;
    check_dn("base", &raw.base)?;
    if let Some(dn) = &raw.bind_dn {
        check_dn("bind_dn", dn)?;
    }
    match (&raw.bind_dn, &raw.bind_password_file) {
        (Some(_), None) => {
            return Err("bind_dn needs bind_password_file (a root-only file with the password on its first line)".into())
        }
        (None, Some(_)) => {
            return Err("bind_password_file is set but bind_dn is not; set bind_dn".into())
        }
        (None, None) if endpoint.uses_tls() => {
            return Err(format!(
                "uri {} needs bind_dn and bind_password_file (only ldapi:// may bind with SASL EXTERNAL)",
                raw.uri
            ))
        }
        _ => {}
    }
    for (key, file) in [
        ("bind_password_file", &raw.bind_password_file),
        ("ca_file", &raw.ca_file),
    ] {
        if let Some(file) = file {
            if !file.is_absolute() {
                return Err(format!(
                    "{key} = {} is not an absolute path; write the full path",
                    file.display()
                ));
            }
        }
    }
    if endpoint.uses_tls() && raw.ca_file.is_none() {
        return Err(format!(
            "uri {} needs ca_file: the PEM file of the CA that signed the server certificate (the only certificates trusted)",
            raw.uri
        ));
    }
    let seconds = match raw.timeout {
        None => DEFAULT_TIMEOUT_SECS,
        Some(t) => u64::try_from(t)
            .ok()
            .filter(|t| (1..=MAX_TIMEOUT_SECS).contains(t))
            .ok_or_else(|| {
                format!("timeout = {t}: must be from 1 to {MAX_TIMEOUT_SECS} seconds")
            })?,
    };
    Ok(LdapConfig {
        path: path.to_path_buf(),
        uri: raw.uri,
        endpoint,
        base: raw.base,
        bind_dn: raw.bind_dn,
        bind_password_file: raw.bind_password_file,
        ca_file: raw.ca_file,
        timeout: Duration::from_secs(seconds),
    })
}

/// Takes a `uri` apart: `ldaps://HOST[:PORT][/]`, `ldap://HOST[:PORT][/]` or
/// `ldapi://[PERCENT-ENCODED PATH][/]`.
fn parse_uri(uri: &str) -> Result<Endpoint, String> {
    let bad = |why: &str| {
        format!(
            "uri = {:?}: {why}; write ldaps://HOST[:PORT], ldap://HOST[:PORT] (StartTLS) or ldapi://SOCKET (percent-encoded path)",
            pam_totp_core::log_safe::line(&uri.chars().take(200).collect::<String>())
        )
    };
    let (scheme, rest) = uri.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@', ' ']) || rest.chars().any(char::is_control) {
        return Err(bad(
            "only a host and port (or a socket path) may follow the scheme",
        ));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "ldapi" => {
            let socket = if rest.is_empty() {
                PathBuf::from(DEFAULT_LDAPI_SOCKET)
            } else {
                PathBuf::from(percent_decode(rest).ok_or_else(|| bad("bad percent-encoding"))?)
            };
            if !socket.is_absolute() {
                return Err(bad("the socket path must be absolute (%2F for each /)"));
            }
            Ok(Endpoint::Ldapi { socket })
        }
        scheme @ ("ldaps" | "ldap") => {
            let default_port = if scheme == "ldaps" { 636 } else { 389 };
            if rest.starts_with('[') {
                return Err(bad("IPv6 address literals are not supported; use a host name (from /etc/hosts) or an IPv4 address"));
            }
            let (host, port) = match rest.split_once(':') {
                Some((host, port)) => (
                    host,
                    port.parse::<u16>()
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(|| bad("bad port"))?,
                ),
                None => (rest, default_port),
            };
            let host_ok = !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !host_ok {
                return Err(bad("no usable host name"));
            }
            let host = host.to_string();
            Ok(if scheme == "ldaps" {
                Endpoint::Ldaps { host, port }
            } else {
                Endpoint::StartTls { host, port }
            })
        }
        _ => Err(bad("unknown scheme")),
    }
}

/// Decodes `%XX` escapes; None for a broken escape or a result that is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A DN from the file: not empty, not too long, no control characters, at least one `=`.
fn check_dn(key: &str, dn: &str) -> Result<(), String> {
    if dn.trim().is_empty() || !dn.contains('=') {
        return Err(format!(
            "{key} must be a DN such as ou=people,dc=example,dc=org"
        ));
    }
    if dn.chars().count() > MAX_DN_CHARS || dn.chars().any(char::is_control) {
        return Err(format!(
            "{key} must be at most {MAX_DN_CHARS} characters without control characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_is_a_valid_configuration() {
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../packaging/ldap/ldap.toml"
        );
        let text = std::fs::read_to_string(example).unwrap();
        let c = parse(Path::new(example), &text).unwrap();
        assert_eq!(c.base, "ou=people,dc=example,dc=org");
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert!(c.endpoint.uses_tls());
    }

    const GOOD: &str = "uri = \"ldaps://127.0.0.1:636\"\nbase = \"ou=people,dc=example,dc=org\"\n\
        bind_dn = \"cn=pam_totp,dc=example,dc=org\"\nbind_password_file = \"/etc/pam_totp/ldap.secret\"\n\
        ca_file = \"/etc/pam_totp/ldap-ca.pem\"\n";

    fn parsed(text: &str) -> Result<LdapConfig, String> {
        parse(Path::new("/etc/pam_totp/ldap.toml"), text)
    }

    #[test]
    fn a_full_file_is_read() {
        let c = parsed(GOOD).unwrap();
        assert_eq!(
            c.endpoint,
            Endpoint::Ldaps {
                host: "127.0.0.1".into(),
                port: 636
            }
        );
        assert_eq!(c.base, "ou=people,dc=example,dc=org");
        assert_eq!(c.bind_dn.as_deref(), Some("cn=pam_totp,dc=example,dc=org"));
        assert_eq!(c.timeout, Duration::from_secs(5));
        let c = parsed(&format!("{GOOD}timeout = 2\n")).unwrap();
        assert_eq!(c.timeout, Duration::from_secs(2));
    }

    #[test]
    fn uris() {
        assert_eq!(
            parse_uri("ldap://ldap1.example.org").unwrap(),
            Endpoint::StartTls {
                host: "ldap1.example.org".into(),
                port: 389
            }
        );
        assert_eq!(
            parse_uri("LDAPS://ldap1:1636/").unwrap(),
            Endpoint::Ldaps {
                host: "ldap1".into(),
                port: 1636
            }
        );
        assert_eq!(
            parse_uri("ldapi://%2Ftmp%2Fa%20b%2Fldapi").unwrap(),
            Endpoint::Ldapi {
                socket: "/tmp/a b/ldapi".into()
            }
        );
        assert_eq!(
            parse_uri("ldapi:///").unwrap(),
            Endpoint::Ldapi {
                socket: DEFAULT_LDAPI_SOCKET.into()
            }
        );
        for bad in [
            "ldaps://",
            "ldaps://:636",
            "ldaps://h:0",
            "ldaps://h:99999",
            "ldaps://h/ou=x",
            "ldaps://u@h",
            "ldaps://[::1]:636",
            "http://h",
            "h:636",
            "ldapi://tmp%2Fx",
            "ldapi://%2Ftmp%zz",
            "ldap://h\n",
        ] {
            let err = parse_uri(bad).unwrap_err();
            assert!(err.contains("ldaps://HOST"), "{bad}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn rules() {
        let cases: &[(&str, &str)] = &[
            ("uri = \"ldaps://h\"\nbase = \"ou=people,dc=x\"\nbind_dn = \"cn=a,dc=x\"\nbind_password_file = \"/p\"\n", "needs ca_file"),
            ("uri = \"ldap://h\"\nbase = \"ou=people,dc=x\"\nca_file = \"/c\"\n", "needs bind_dn"),
            ("uri = \"ldapi:///\"\nbase = \"ou=people,dc=x\"\nbind_dn = \"cn=a,dc=x\"\n", "needs bind_password_file"),
            ("uri = \"ldapi:///\"\nbase = \"ou=people,dc=x\"\nbind_password_file = \"/p\"\n", "bind_dn is not"),
            ("uri = \"ldapi:///\"\nbase = \"people\"\n", "base must be a DN"),
            ("uri = \"ldapi:///\"\nbase = \"ou=x\"\ntimeout = 0\n", "timeout = 0"),
            ("uri = \"ldapi:///\"\nbase = \"ou=x\"\ntimeout = 61\n", "timeout = 61"),
            ("uri = \"ldapi:///\"\nbase = \"ou=x\"\nbind_dn = \"cn=a\"\nbind_password_file = \"p\"\n", "absolute"),
            ("uri = \"ldapi:///\"\nbase = \"ou=x\"\nbind_password = \"hunter2\"\n", "unknown field"),
            ("uri = \"ldapi:///\"\n", "missing field"),
            ("uri = \"ldapi:///\"\nbase = \"ou=x\"\ntimeout = \"5\"\n", "line 3"),
        ];
        for (text, wanted) in cases {
            let err = parsed(text).unwrap_err();
            assert!(err.contains(wanted), "{text}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        // SASL EXTERNAL over ldapi: no bind_dn, no password, no CA.
        let c = parsed("uri = \"ldapi:///\"\nbase = \"ou=x\"\n").unwrap();
        assert_eq!(c.bind_dn, None);
        assert!(!c.endpoint.uses_tls());
    }

    #[test]
    fn files_are_checked() {
        // The files must be root-owned.
        pam_totp_tests::needs_root!();
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let write = |name: &str, text: &str, mode: u32| {
            let p = d.join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        let secret = write("secret", "s3cret\nignored\n", 0o600);
        let conf = |password: &Path| {
            format!(
                "uri = \"ldapi:///\"\nbase = \"ou=x\"\nbind_dn = \"cn=a,dc=x\"\nbind_password_file = \"{}\"\n",
                password.display()
            )
        };
        let path = write("ldap.toml", &conf(&secret), 0o600);
        let c = LdapConfig::load(&path).unwrap();
        assert_eq!(c.bind_password().unwrap().unwrap().as_str(), "s3cret");
        // The configuration file's own mode.
        let open = write("open.toml", &conf(&secret), 0o644);
        let err = LdapConfig::load(&open).unwrap_err().to_string();
        assert!(
            err.contains(&open.display().to_string()) && err.contains("chmod 600"),
            "{err}"
        );
        // The password file's mode, and an empty first line.
        let loose = write("loose", "pw\n", 0o644);
        let path = write("l.toml", &conf(&loose), 0o600);
        let err = LdapConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("bind_password_file") && err.contains("chmod 600"),
            "{err}"
        );
        let empty = write("empty", "\nsecond\n", 0o600);
        let path = write("e.toml", &conf(&empty), 0o600);
        let err = LdapConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("empty first line"), "{err}");
        let err = LdapConfig::load(&d.join("none.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("does not exist") && err.contains("ldap_config="),
            "{err}"
        );
        // A CA file without certificates.
        let ca = write("ca.pem", "not a certificate\n", 0o644);
        let text = format!(
            "uri = \"ldaps://h\"\nbase = \"ou=x\"\nbind_dn = \"cn=a,dc=x\"\nbind_password_file = \"{}\"\nca_file = \"{}\"\n",
            secret.display(),
            ca.display()
        );
        let path = write("ca.toml", &text, 0o600);
        let err = LdapConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("ca_file") && err.contains("no PEM certificate"),
            "{err}"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("%2Fa%2fb").as_deref(), Some("/a/b"));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%FF"), None);
    }
}
