//! A bound connection to the directory: TLS with the configured CA only (ldaps://, or StartTLS
//! before the bind on ldap://), or ldapi:// on this host; connecting (name lookup, TCP, TLS) and
//! every operation are bounded by the configuration's `timeout`, and every failure becomes a
//! [`DirectoryError`] that names the URI, the file or the DN, and the fix.

use crate::config::{Endpoint, LdapConfig};
use crate::error::{shown_dn, DirectoryError};
use crate::ldap_entry::Entry;
use crate::tls;
use ldap3::{LdapConn, LdapConnSettings, LdapError, Mod, Scope, StdStream};
use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// LDAP result codes this crate tells apart (RFC 4511 appendix A).
pub mod rc {
    /// noSuchAttribute: a value to delete is not there.
    pub const NO_SUCH_ATTRIBUTE: u32 = 16;
    /// constraintViolation: e.g. a second value added to a single-valued attribute.
    pub const CONSTRAINT_VIOLATION: u32 = 19;
    /// attributeOrValueExists: the value to add is there already.
    pub const ATTRIBUTE_OR_VALUE_EXISTS: u32 = 20;
    /// noSuchObject: the entry (or the search base) does not exist, or cannot be seen.
    pub const NO_SUCH_OBJECT: u32 = 32;
    /// invalidCredentials.
    pub const INVALID_CREDENTIALS: u32 = 49;
    /// insufficientAccessRights.
    pub const INSUFFICIENT_ACCESS: u32 = 50;
    /// entryAlreadyExists.
    pub const ALREADY_EXISTS: u32 = 68;
}

/// A connection, bound as the configuration says.
pub struct Connection {
    ldap: LdapConn,
    timeout: Duration,
    uri: String,
    config: PathBuf,
    identity: String,
}

impl Connection {
    /// Connects to `config.uri` and binds: a simple bind as `bind_dn` with the first line of
    /// `bind_password_file`, or SASL EXTERNAL over ldapi:// without `bind_dn`. Everything up
    /// to the end of the TLS handshake is bounded by `timeout` as a whole, the bind by
    /// `timeout` again.
    pub fn open(config: &LdapConfig) -> Result<Connection, DirectoryError> {
        let deadline = Instant::now() + config.timeout;
        let identity = match &config.bind_dn {
            Some(dn) => format!("bind_dn={dn}"),
            None => "SASL EXTERNAL".to_string(),
        };
        let ldap = match &config.endpoint {
            Endpoint::Ldaps { host, port } => connect_tls(config, host, *port, false, deadline)?,
            Endpoint::StartTls { host, port } => connect_tls(config, host, *port, true, deadline)?,
            Endpoint::Ldapi { socket } => connect_ldapi(config, socket)?,
        };
        let mut conn = Connection {
            ldap,
            timeout: config.timeout,
            uri: config.uri.clone(),
            config: config.path.clone(),
            identity,
        };
        conn.bind(config)?;
        Ok(conn)
    }

    fn bind(&mut self, config: &LdapConfig) -> Result<(), DirectoryError> {
        let password = config.bind_password()?;
        let timeout = self.timeout;
        let result = match (&config.bind_dn, &password) {
            (Some(dn), Some(password)) => self
                .ldap
                .with_timeout(timeout)
                .simple_bind(dn, password.as_str()),
            _ => self.ldap.with_timeout(timeout).sasl_external_bind(),
        };
        drop(password);
        let result = result.map_err(|e| self.failure("bind", e))?;
        if result.rc == 0 {
            return Ok(());
        }
        let fix = match (&config.bind_dn, &config.bind_password_file) {
            (Some(_), Some(file)) => format!(
                "bind_dn and bind_password_file={} in {}",
                file.display(),
                self.config.display()
            ),
            _ => "that the server maps this process's peer credentials to an identity (authz-regexp), or set bind_dn".to_string(),
        };
        Err(DirectoryError::BindRefused {
            uri: self.uri.clone(),
            identity: self.identity.clone(),
            reason: result_text(result.rc, &result.text),
            fix,
        })
    }

    /// The client, for operations this type has no method for; give each one
    /// `.with_timeout(self.timeout())` and map its errors with [`Connection::failure`].
    pub fn ldap(&mut self) -> &mut LdapConn {
        &mut self.ldap
    }

    /// The bound on each operation.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The configured URI (for messages).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// `bind_dn=<DN>` or `SASL EXTERNAL` (for messages).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Searches `base` with `scope` and `filter` for `attrs`: Some(entries), or None when the
    /// base does not exist or cannot be seen (rc 32). A continuation reference (a referral to
    /// another server, not followed) or an entry that cannot be parsed fails the search: the
    /// entries returned would not be all that match.
    pub fn search(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Option<Vec<Entry>>, DirectoryError> {
        let timeout = self.timeout;
        let operation = || format!("search of {}", shown_dn(base));
        let result = self
            .ldap
            .with_timeout(timeout)
            .search(base, scope, filter, attrs.to_vec())
            .map_err(|e| self.failure(&operation(), e))?;
        let (items, done) = (result.0, result.1);
        match done.rc {
            0 => {}
            rc::NO_SUCH_OBJECT => return Ok(None),
            _ => return Err(self.failure(&operation(), LdapError::from(done))),
        }
        let incomplete = |reason: &str| DirectoryError::Operation {
            uri: self.uri.clone(),
            operation: operation(),
            reason: reason.to_string(),
        };
        // ldap3 collects continuation references in the result's `refs`.
        if !done.refs.is_empty() {
            return Err(incomplete(
                "the server answered with a referral to another server, which pam_totp does not follow; set base to a subtree this server holds, or remove the referral",
            ));
        }
        let mut entries = Vec::with_capacity(items.len());
        for item in items {
            if item.is_intermediate() {
                continue;
            }
            if item.is_ref() {
                return Err(incomplete(
                    "the server answered with a referral to another server, which pam_totp does not follow; set base to a subtree this server holds, or remove the referral",
                ));
            }
            entries.push(
                Entry::parse(item)
                    .ok_or_else(|| incomplete("the server sent an entry that cannot be parsed"))?,
            );
        }
        Ok(Some(entries))
    }

    /// Reads entry `dn` (a base search for `attrs`): None when it does not exist or cannot be
    /// seen.
    pub fn read(&mut self, dn: &str, attrs: &[&str]) -> Result<Option<Entry>, DirectoryError> {
        Ok(self
            .search(dn, Scope::Base, "(objectClass=*)", attrs)?
            .and_then(|entries| entries.into_iter().next()))
    }

    /// Applies `mods` to entry `dn` in one modify operation.
    pub fn modify(&mut self, dn: &str, mods: Vec<Mod<String>>) -> Result<(), DirectoryError> {
        self.modify_rc(dn, mods)
            .and_then(|rc| self.check_rc(&format!("modify of {}", shown_dn(dn)), rc))
    }

    /// Applies `mods` (deletes of the values read, adds of the new ones) to entry `dn` in one
    /// modify, as a compare-and-swap: when the directory says a value to delete is gone or a
    /// value to add is there (rc 16, 19, 20), another login changed the entry first, and the
    /// error is [`DirectoryError::Conflict`] naming `owner` (the user's DN).
    pub fn compare_and_swap(
        &mut self,
        dn: &str,
        mods: Vec<Mod<String>>,
        owner: &str,
    ) -> Result<(), DirectoryError> {
        match self.modify_rc(dn, mods)? {
            rc::NO_SUCH_ATTRIBUTE | rc::CONSTRAINT_VIOLATION | rc::ATTRIBUTE_OR_VALUE_EXISTS => {
                Err(DirectoryError::Conflict {
                    dn: shown_dn(owner),
                })
            }
            other => self.check_rc(&format!("modify of {}", shown_dn(dn)), other),
        }
    }

    /// Adds entry `dn` with `attrs`.
    pub fn add(
        &mut self,
        dn: &str,
        attrs: Vec<(String, HashSet<String>)>,
    ) -> Result<(), DirectoryError> {
        let timeout = self.timeout;
        let operation = format!("add of {}", shown_dn(dn));
        let result = self
            .ldap
            .with_timeout(timeout)
            .add(dn, attrs)
            .map_err(|e| self.failure(&operation, e))?;
        self.check_rc(&operation, result.rc)
    }

    /// Deletes entry `dn`.
    pub fn delete(&mut self, dn: &str) -> Result<(), DirectoryError> {
        let timeout = self.timeout;
        let operation = format!("delete of {}", shown_dn(dn));
        let result = self
            .ldap
            .with_timeout(timeout)
            .delete(dn)
            .map_err(|e| self.failure(&operation, e))?;
        self.check_rc(&operation, result.rc)
    }

    fn modify_rc(&mut self, dn: &str, mods: Vec<Mod<String>>) -> Result<u32, DirectoryError> {
        let timeout = self.timeout;
        let result = self
            .ldap
            .with_timeout(timeout)
            .modify(dn, mods)
            .map_err(|e| self.failure(&format!("modify of {}", shown_dn(dn)), e))?;
        Ok(result.rc)
    }

    fn check_rc(&self, operation: &str, code: u32) -> Result<(), DirectoryError> {
        if code == 0 {
            return Ok(());
        }
        Err(self.failure(
            operation,
            LdapError::from(ldap3::LdapResult {
                rc: code,
                matched: String::new(),
                text: String::new(),
                refs: Vec::new(),
                ctrls: Vec::new(),
            }),
        ))
    }

    /// The error for `operation` failing with `error`: a timeout, insufficient access, a lost
    /// connection (worth one new connection), or the result code and the server's text.
    pub fn failure(&self, operation: &str, error: LdapError) -> DirectoryError {
        match error {
            LdapError::Timeout { .. } => DirectoryError::Timeout {
                uri: self.uri.clone(),
                seconds: self.timeout.as_secs(),
                during: operation.to_string(),
                config: self.config.clone(),
            },
            LdapError::LdapResult { result } if result.rc == rc::INSUFFICIENT_ACCESS => {
                DirectoryError::AccessDenied {
                    identity: self.identity.clone(),
                    what: format!("do the {operation}"),
                }
            }
            LdapError::LdapResult { result } => DirectoryError::Operation {
                uri: self.uri.clone(),
                operation: operation.to_string(),
                reason: result_text(result.rc, &result.text),
            },
            other => DirectoryError::ConnectionLost {
                uri: self.uri.clone(),
                operation: operation.to_string(),
                reason: other.to_string(),
            },
        }
    }
}

/// `rc N (name): text`, the server's text made log-safe and short.
fn result_text(code: u32, text: &str) -> String {
    let name = match code {
        rc::NO_SUCH_ATTRIBUTE => "noSuchAttribute",
        rc::CONSTRAINT_VIOLATION => "constraintViolation",
        rc::ATTRIBUTE_OR_VALUE_EXISTS => "attributeOrValueExists",
        rc::NO_SUCH_OBJECT => "noSuchObject",
        rc::INVALID_CREDENTIALS => "invalidCredentials",
        rc::INSUFFICIENT_ACCESS => "insufficientAccessRights",
        rc::ALREADY_EXISTS => "entryAlreadyExists",
        21 => "invalidAttributeSyntax",
        48 => "inappropriateAuthentication",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        65 => "objectClassViolation",
        _ => "result",
    };
    let text: String = text.chars().take(120).collect();
    let text = pam_totp_core::log_safe::line(text.trim());
    if text.is_empty() {
        format!("rc {code} ({name})")
    } else {
        format!("rc {code} ({name}): {text}")
    }
}

/// TCP (name lookup and connect bounded by `deadline`), then ldap3 over that stream: StartTLS
/// when `starttls`, then the TLS handshake, bounded by what is left of the deadline.
fn connect_tls(
    config: &LdapConfig,
    host: &str,
    port: u16,
    starttls: bool,
    deadline: Instant,
) -> Result<LdapConn, DirectoryError> {
    let timeout = |during: &str| DirectoryError::Timeout {
        uri: config.uri.clone(),
        seconds: config.timeout.as_secs(),
        during: during.to_string(),
        config: config.path.clone(),
    };
    let ca_file = config
        .ca_file
        .as_deref()
        .ok_or_else(|| DirectoryError::Config {
            path: config.path.clone(),
            problem: format!("uri {} needs ca_file", config.uri),
        })?;
    let roots = tls::load_roots(&config.path, ca_file)?;
    let tls_config = tls::client_config(roots).map_err(|problem| DirectoryError::Tls {
        uri: config.uri.clone(),
        ca_file: ca_file.to_path_buf(),
        problem,
        config: config.path.clone(),
    })?;
    let stream = dial(host, port, deadline).map_err(|e| match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timeout("connecting"),
        _ => DirectoryError::Unreachable {
            uri: config.uri.clone(),
            reason: io_reason(&e),
            config: config.path.clone(),
        },
    })?;
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(timeout("connecting"));
    }
    let settings = LdapConnSettings::new()
        .set_conn_timeout(left)
        .set_config(tls_config)
        .set_starttls(starttls)
        .set_std_stream(StdStream::Tcp(stream));
    let url = format!(
        "{}://{host}:{port}",
        if starttls { "ldap" } else { "ldaps" }
    );
    let during = if starttls {
        "StartTLS and the TLS handshake"
    } else {
        "the TLS handshake"
    };
    LdapConn::with_settings(settings, &url).map_err(|e| match e {
        LdapError::Timeout { .. } => timeout(during),
        LdapError::Io { source } => match tls::describe(&source) {
            Some(problem) => DirectoryError::Tls {
                uri: config.uri.clone(),
                ca_file: ca_file.to_path_buf(),
                problem,
                config: config.path.clone(),
            },
            None => DirectoryError::Unreachable {
                uri: config.uri.clone(),
                reason: format!("{during} failed: {}", io_reason(&source)),
                config: config.path.clone(),
            },
        },
        LdapError::LdapResult { result } => DirectoryError::Operation {
            uri: config.uri.clone(),
            operation: "StartTLS".to_string(),
            reason: format!(
                "{}; the server must offer StartTLS on ldap:// (or use ldaps://)",
                result_text(result.rc, &result.text)
            ),
        },
        other => DirectoryError::Operation {
            uri: config.uri.clone(),
            operation: during.to_string(),
            reason: other.to_string(),
        },
    })
}

/// ldap3 over the Unix socket `socket`.
fn connect_ldapi(config: &LdapConfig, socket: &Path) -> Result<LdapConn, DirectoryError> {
    let unreachable = |reason: String| DirectoryError::Unreachable {
        uri: config.uri.clone(),
        reason,
        config: config.path.clone(),
    };
    let socket = &crate::ldapi_socket::trusted(socket).map_err(&unreachable)?;
    let url = format!("ldapi://{}", percent_encode(&socket.to_string_lossy()));
    LdapConn::with_settings(LdapConnSettings::new(), &url).map_err(|e| {
        let reason = match &e {
            LdapError::Io { source } if source.kind() == io::ErrorKind::NotFound => {
                format!("no socket at {}", socket.display())
            }
            LdapError::Io { source } => format!("{}: {}", socket.display(), io_reason(source)),
            other => other.to_string(),
        };
        unreachable(reason)
    })
}

/// A TCP connection to `host:port` by `deadline`: an IPv4 address as it is, a name looked up
/// on a helper thread that is abandoned at the deadline (getaddrinfo cannot be interrupted),
/// then each address in turn with what is left of the time.
fn dial(host: &str, port: u16, deadline: Instant) -> io::Result<TcpStream> {
    let addresses: Vec<SocketAddr> = match host.parse::<Ipv4Addr>() {
        Ok(ip) => vec![SocketAddr::from((ip, port))],
        Err(_) => resolve(host, port, deadline)?,
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"));
    for address in addresses {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        match TcpStream::connect_timeout(&address, left) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Looks `host` up on a helper thread, waiting until `deadline` at most.
fn resolve(host: &str, port: u16, deadline: Instant) -> io::Result<Vec<SocketAddr>> {
    let (tx, rx) = mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("pam_totp-resolve".into())
        .spawn(move || {
            let found = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            // The receiver may have given up: nothing to do then.
            let _ = tx.send(found);
        })?;
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(found) => found.map_err(|e| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("cannot look up {host}: {e}"),
            )
        }),
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// An I/O error in words, without the `(os error N)` suffix.
fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "connection reset".to_string(),
        io::ErrorKind::HostUnreachable => "host unreachable".to_string(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Percent-encodes a socket path for an `ldapi://` URL.
fn percent_encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_texts_are_short_and_safe() {
        assert_eq!(result_text(49, ""), "rc 49 (invalidCredentials)");
        assert_eq!(
            result_text(16, "modify/delete: oathFailureCount: no such value\n"),
            "rc 16 (noSuchAttribute): modify/delete: oathFailureCount: no such value"
        );
        assert_eq!(result_text(1, "a\nb"), "rc 1 (result): a?b");
    }

    #[test]
    fn socket_paths_are_encoded() {
        assert_eq!(percent_encode("/run/a b/ldapi"), "%2Frun%2Fa%20b%2Fldapi");
    }

    #[test]
    fn a_closed_port_is_refused_at_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = dial("127.0.0.1", port, Instant::now() + Duration::from_secs(2)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn a_lookup_is_bounded() {
        let err = dial(
            "localhost",
            1,
            Instant::now().checked_sub(Duration::from_secs(1)).unwrap(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
