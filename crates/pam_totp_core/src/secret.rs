//! The shared TOTP secret: decoded from base32 the way authenticator apps write it,
//! zeroized on drop and never printed.

use std::fmt;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Shortest secret accepted in a secret file or an import: 80 bits, what older versions of the
/// `google-authenticator` tool made. Such enrollments live on and keep working.
pub const MIN_STORED_SECRET_BYTES: usize = 10;
/// Shortest secret for a new enrollment (RFC 4226 section 4: at least 128 bits). totp-enroll
/// makes 160-bit keys; a key given with `--secret` must have at least this many bytes.
pub const MIN_NEW_SECRET_BYTES: usize = 16;
/// Longest accepted secret; longer keys add nothing to HMAC-SHA512.
pub const MAX_SECRET_BYTES: usize = 128;

/// Why a base32 secret was refused. Never contains the secret itself.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SecretError {
    /// Characters outside the base32 alphabet.
    #[error("the secret is not valid base32 (letters A-Z and digits 2-7)")]
    NotBase32,
    /// Fewer than 80 bits: no tool ever made such a key.
    #[error("the secret has {0} bits; at least 80 are required, re-enroll with totp-enroll")]
    TooShort(usize),
    /// At least 80 but fewer than 128 bits, given for a new enrollment.
    #[error("the key has {0} bits; a new enrollment needs at least 128 (RFC 4226); an older google-authenticator key of 80 bits is kept with `totp-enroll import-google-authenticator`")]
    TooShortForNew(usize),
    /// Absurdly long.
    #[error("the secret has {0} bits; at most 1024 are accepted")]
    TooLong(usize),
}

/// A decoded TOTP key.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// Wraps raw key bytes, checking the length: at least [`MIN_STORED_SECRET_BYTES`], the
    /// floor for keys that already exist (a secret file, an import).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        let secret = TotpSecret(bytes);
        let bits = secret.bits();
        if secret.0.len() < MIN_STORED_SECRET_BYTES {
            return Err(SecretError::TooShort(bits));
        }
        if secret.0.len() > MAX_SECRET_BYTES {
            return Err(SecretError::TooLong(bits));
        }
        Ok(secret)
    }

    /// Decodes base32 written in any of the usual ways: lower case, spaces, dashes, `=` padding.
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        let normalised = normalise_base32(text);
        if normalised.is_empty()
            || !normalised
                .bytes()
                .all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7'))
        {
            return Err(SecretError::NotBase32);
        }
        // base32 decodes trailing partial groups; five bits per character.
        let bytes = totp_rs::Secret::try_from_base32(normalised.as_str())
            .map_err(|_| SecretError::NotBase32)?;
        TotpSecret::from_bytes(bytes.as_bytes().to_vec())
    }

    /// Decodes a key given for a new enrollment: as [`TotpSecret::from_base32`], and at least
    /// [`MIN_NEW_SECRET_BYTES`] (RFC 4226's floor for making keys).
    pub fn from_base32_for_new(text: &str) -> Result<Self, SecretError> {
        let secret = TotpSecret::from_base32(text)?;
        if secret.0.len() < MIN_NEW_SECRET_BYTES {
            return Err(SecretError::TooShortForNew(secret.bits()));
        }
        Ok(secret)
    }

    /// The key length in bits.
    pub fn bits(&self) -> usize {
        self.0.len() * 8
    }

    /// True when the key is shorter than RFC 4226 asks of new keys (an older import).
    pub fn is_below_new_minimum(&self) -> bool {
        self.0.len() < MIN_NEW_SECRET_BYTES
    }

    /// The canonical form: upper case, no padding.
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(totp_rs::Secret::from(self.0.clone()).to_base32())
    }

    /// The raw key.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Upper-cases and strips whitespace, dashes and trailing `=` padding.
pub fn normalise_base32(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    for c in text.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        out.push(c.to_ascii_uppercase());
    }
    while out.ends_with('=') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B SHA1 key "12345678901234567890".
    const RFC_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn decodes_the_rfc_key() {
        let s = TotpSecret::from_base32(RFC_B32).unwrap();
        assert_eq!(s.as_bytes(), b"12345678901234567890");
        assert_eq!(s.to_base32().as_str(), RFC_B32);
    }

    #[test]
    fn accepts_app_spellings() {
        for text in [
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
            "gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ======",
            " GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n",
        ] {
            assert_eq!(
                TotpSecret::from_base32(text).unwrap().as_bytes(),
                b"12345678901234567890",
                "{text:?}"
            );
        }
    }

    #[test]
    fn old_google_authenticator_keys_are_accepted_but_not_for_new_enrollments() {
        // 80 bits, what older google-authenticator versions made.
        let old = TotpSecret::from_base32("2SH3V3GDW7ZNMGYE").unwrap();
        assert_eq!((old.bits(), old.is_below_new_minimum()), (80, true));
        assert_eq!(old.to_base32().as_str(), "2SH3V3GDW7ZNMGYE");
        assert_eq!(
            TotpSecret::from_base32_for_new("2sh3 v3gd w7zn mgye"),
            Err(SecretError::TooShortForNew(80))
        );
        let err = SecretError::TooShortForNew(80).to_string();
        assert!(
            err.contains("128") && err.contains("import-google-authenticator"),
            "{err}"
        );
        // The library names no command-line flag; totp-enroll adds its own hint.
        assert!(!err.contains("--"), "{err}");
        // 128 bits (Debian 12's google-authenticator) and 160 bits are fine for both.
        let k128 = TotpSecret::from_base32_for_new("GEZDGNBVGY3TQOJQGEZDGNBVGY").unwrap();
        assert_eq!((k128.bits(), k128.is_below_new_minimum()), (128, false));
        assert_eq!(
            TotpSecret::from_base32_for_new(RFC_B32).unwrap().bits(),
            160
        );
        // One byte under the floor.
        assert_eq!(
            TotpSecret::from_bytes(vec![7; MIN_STORED_SECRET_BYTES - 1]),
            Err(SecretError::TooShort(72))
        );
    }

    #[test]
    fn refuses_bad_base32_and_short_keys() {
        assert_eq!(TotpSecret::from_base32(""), Err(SecretError::NotBase32));
        assert_eq!(
            TotpSecret::from_base32("GEZDGNBVGY3TQOJ1"),
            Err(SecretError::NotBase32)
        );
        assert_eq!(
            TotpSecret::from_base32("GEZD=GNBV"),
            Err(SecretError::NotBase32)
        );
        // 40 bits: shorter than any tool ever made.
        assert_eq!(
            TotpSecret::from_base32("GEZDGNBV"),
            Err(SecretError::TooShort(40))
        );
        assert!(TotpSecret::from_base32(&"A".repeat(300)).is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let s = TotpSecret::from_base32(RFC_B32).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("GEZD") && !shown.contains("49"), "{shown}");
    }
}
