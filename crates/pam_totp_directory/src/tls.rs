//! TLS for ldaps:// and StartTLS: the certificates of `ca_file` are the only trust anchors
//! (never the system store, never a setting outside the configuration), checked by rustls with
//! the ring provider; and what a failed handshake meant, in words.

use crate::error::DirectoryError;
use crate::root_file;
use rustls::client::ClientConfig;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;

/// A CA bundle is well under this (Debian's whole ca-certificates.crt is about 220 KB).
const MAX_CA_FILE_BYTES: usize = 1024 * 1024;

/// Reads the PEM certificates of `ca_file` (root-owned, not writable by others) into a root
/// store; `config` is the configuration file, for the message.
pub fn load_roots(config: &Path, ca_file: &Path) -> Result<RootCertStore, DirectoryError> {
    let shown = ca_file.display();
    let bad = |problem: String| DirectoryError::Config {
        path: config.to_path_buf(),
        problem: format!("ca_file {shown} {problem}"),
    };
    let bytes = root_file::read_public(ca_file, MAX_CA_FILE_BYTES).map_err(bad)?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|_| bad("has a damaged PEM block; replace it".to_string()))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("has a certificate rustls cannot use ({e})")))?;
    }
    if roots.is_empty() {
        return Err(bad(
            "has no PEM certificate (-----BEGIN CERTIFICATE-----); put the CA certificate there"
                .to_string(),
        ));
    }
    Ok(roots)
}

/// The client configuration: TLS 1.2 or 1.3 with ring, the server certificate checked against
/// `roots` and the host name, no client certificate.
pub fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// What a TLS failure inside an I/O error means, if it is one.
pub fn describe(error: &std::io::Error) -> Option<String> {
    let tls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(match tls {
        rustls::Error::InvalidCertificate(cert) => {
            use rustls::CertificateError as C;
            let why = match cert {
                C::UnknownIssuer => {
                    "it is not signed by a CA in ca_file: fix ca_file (the directory's CA) or the server certificate".to_string()
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "it does not name the host of uri: put the name or address the certificate carries in uri, or fix the server certificate".to_string()
                }
                C::Expired | C::ExpiredContext { .. } => {
                    "it has expired: renew the server certificate".to_string()
                }
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    "it is not valid yet: check the clocks of both machines".to_string()
                }
                C::Revoked => "it is revoked: replace the server certificate".to_string(),
                other => format!("{other:?}: fix ca_file or the server certificate"),
            };
            format!("the server certificate is not trusted: {why}")
        }
        other => {
            format!("handshake failed: {other}; check that uri names a TLS port of the directory")
        }
    })
}
