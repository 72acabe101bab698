//! The otpauth URI (Google's Key URI Format) and the ways the key is shown: what totp-enroll
//! and the module's enrollment at login both show.

use crate::params::{DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD};
use crate::secret::TotpSecret;
use crate::secret_file::Algorithm;
use std::fmt::Write as _;
use zeroize::Zeroizing;

/// What goes into an otpauth URI.
#[derive(Debug)]
pub struct UriParams<'a> {
    /// The key.
    pub secret: &'a TotpSecret,
    /// Shown as the provider in the app.
    pub issuer: &'a str,
    /// The account name (the label is `issuer:account`).
    pub account: &'a str,
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per code.
    pub period: u64,
}

/// The default issuer (and host part of the label) when the host name is unknown or unusable.
pub const FALLBACK_ISSUER: &str = "localhost";

/// This machine's host name `name` as the default issuer and label host, when usable there:
/// trimmed, not empty, at most 255 bytes, no `:` (it separates issuer and account) and no
/// control characters. totp-enroll and the module's enrollment at login both apply it.
pub fn usable_host(name: &str) -> Option<&str> {
    let name = name.trim();
    let usable = !name.is_empty()
        && name.len() <= 255
        && !name.contains(':')
        && !name.chars().any(char::is_control);
    usable.then_some(name)
}

/// `otpauth://totp/ISSUER:ACCOUNT?secret=B32&issuer=ISSUER`, with `algorithm`, `digits` and
/// `period` only when they differ from the defaults (SHA1, 6, 30) that every app assumes.
pub fn otpauth_uri(p: &UriParams<'_>) -> Zeroizing<String> {
    let mut uri = uri_start("totp", p);
    if p.period != DEFAULT_PERIOD {
        let _ = write!(uri, "&period={}", p.period);
    }
    uri
}

/// `otpauth://hotp/ISSUER:ACCOUNT?secret=B32&issuer=ISSUER&counter=N` for a counter-based
/// (RFC 4226) token whose next counter is `counter`; `algorithm` and `digits` as for
/// [`otpauth_uri`], `p.period` is not used.
pub fn otpauth_hotp_uri(p: &UriParams<'_>, counter: u64) -> Zeroizing<String> {
    let mut uri = uri_start("hotp", p);
    let _ = write!(uri, "&counter={counter}");
    uri
}

/// The part both kinds share: type, label, key, issuer, and the algorithm and digits when
/// they are not the defaults.
fn uri_start(kind: &str, p: &UriParams<'_>) -> Zeroizing<String> {
    let b32 = p.secret.to_base32();
    let mut uri = Zeroizing::new(String::with_capacity(128));
    uri.push_str("otpauth://");
    uri.push_str(kind);
    uri.push('/');
    uri.push_str(&percent_encode(p.issuer));
    uri.push(':');
    uri.push_str(&percent_encode(p.account));
    uri.push_str("?secret=");
    uri.push_str(&b32);
    uri.push_str("&issuer=");
    uri.push_str(&percent_encode(p.issuer));
    if p.algorithm != DEFAULT_ALGORITHM {
        uri.push_str("&algorithm=");
        uri.push_str(p.algorithm.name());
    }
    if p.digits != DEFAULT_DIGITS {
        let _ = write!(uri, "&digits={}", p.digits);
    }
    uri
}

/// Percent-encodes everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The base32 key in groups of four, as people type it into an app.
pub fn grouped_key(secret: &TotpSecret) -> Zeroizing<String> {
    let b32 = secret.to_base32();
    let mut out = Zeroizing::new(String::with_capacity(b32.len() * 5 / 4 + 1));
    for (i, c) in b32.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_host_trims_and_refuses_what_cannot_be_an_issuer() {
        assert_eq!(usable_host(" box\n"), Some("box"));
        assert_eq!(usable_host(""), None);
        assert_eq!(usable_host("a:b"), None);
        assert_eq!(usable_host("a\u{7}b"), None);
        assert_eq!(usable_host(&"x".repeat(256)), None);
    }

    fn key() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    /// The URI for the RFC 6238 key with these parameters.
    fn uri(issuer: &str, account: &str, algorithm: Algorithm, digits: u8, period: u64) -> String {
        let k = key();
        otpauth_uri(&UriParams {
            secret: &k,
            issuer,
            account,
            algorithm,
            digits,
            period,
        })
        .to_string()
    }

    #[test]
    fn default_parameters_are_left_out() {
        assert_eq!(
            uri("host1", "alice@host1", Algorithm::SHA1, 6, 30),
            "otpauth://totp/host1:alice%40host1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=host1"
        );
    }

    #[test]
    fn other_parameters_and_encoding() {
        assert_eq!(
            uri("ACME VPN/Ü", "bob&x=1?", Algorithm::SHA512, 8, 60),
            "otpauth://totp/ACME%20VPN%2F%C3%9C:bob%26x%3D1%3F?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=ACME%20VPN%2F%C3%9C&algorithm=SHA512&digits=8&period=60"
        );
    }

    #[test]
    fn hotp_uris_carry_the_counter_and_no_period() {
        let k = key();
        let p = UriParams {
            secret: &k,
            issuer: "host1",
            account: "alice@host1",
            algorithm: Algorithm::SHA1,
            digits: 8,
            period: 60,
        };
        assert_eq!(
            otpauth_hotp_uri(&p, 42).as_str(),
            "otpauth://hotp/host1:alice%40host1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=host1&digits=8&counter=42"
        );
    }

    #[test]
    fn unreserved_characters_are_kept() {
        assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode("a b:c%"), "a%20b%3Ac%25");
    }

    #[test]
    fn key_is_grouped_in_fours() {
        assert_eq!(
            grouped_key(&key()).as_str(),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }
}
