//! Seed files of hardware OTP tokens in the Portable Symmetric Key Container format (PSKC,
//! RFC 6030), read into the keys and parameters a token needs.
//!
//! Supported: secrets in `<PlainValue>`, and secrets encrypted with a pre-shared AES-128 key
//! (`http://www.w3.org/2001/04/xmlenc#aes128-cbc`, IV in front of the ciphertext) whose
//! `<ValueMAC>` (HMAC-SHA1 over IV and ciphertext, under the `<MACKey>` that is itself
//! encrypted with the pre-shared key) is checked before decrypting. Refused, each with an error
//! that names it: passphrase-based (PBKDF2) and asymmetric encryption, other encryption and MAC
//! algorithms, encrypted values without a MAC, key algorithms other than HOTP and TOTP (PIN
//! keys, which RFC 6030 uses for a token's PIN policy, are skipped and counted), non-decimal
//! responses, and keys that are not in the file (key derivation).
//!
//! The XML parser (roxmltree) reads no DTD, so no entity can expand or fetch anything; file
//! size, XML nodes and key packages are bounded. Errors never contain key material.

mod crypto;
mod xml;

use crate::pskc::crypto::PRE_SHARED_KEY_BYTES;
use crate::secret_hex;
use std::fmt;
use thiserror::Error;
use zeroize::Zeroizing;

/// Largest PSKC file read: a batch of a few thousand tokens is a few MiB.
pub const MAX_PSKC_BYTES: usize = 8 * 1024 * 1024;
/// Most key packages read from one file.
pub const MAX_KEY_PACKAGES: usize = 10_000;
/// Most XML nodes (elements, attributes' owners, text) the parser builds.
pub const MAX_XML_NODES: u32 = 1_000_000;
/// Longest secret accepted (HMAC keys of SHA-512 tokens are 64 bytes).
pub const MAX_SECRET_BYTES: usize = 128;

/// Why a PSKC file cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PskcError {
    /// Larger than [`MAX_PSKC_BYTES`].
    #[error(
        "larger than {MAX_PSKC_BYTES} bytes; split the file or ask the vendor for one per batch"
    )]
    TooLarge,
    /// Not UTF-8 text.
    #[error("not UTF-8 text; this is not a PSKC (RFC 6030) file")]
    NotText,
    /// The XML is malformed, has a DTD, or has too many nodes.
    #[error(
        "not well-formed XML, or has a DTD (refused), or more than {MAX_XML_NODES} nodes: {0}"
    )]
    Xml(String),
    /// The root is not a PSKC `KeyContainer`.
    #[error("the root element is not a KeyContainer in namespace urn:ietf:params:xml:ns:keyprov:pskc; this is not a PSKC (RFC 6030) file")]
    NotPskc,
    /// `Version` is not 1.0.
    #[error("KeyContainer Version {0:?} is not supported (only 1.0, RFC 6030)")]
    Version(String),
    /// More than [`MAX_KEY_PACKAGES`].
    #[error("more than {MAX_KEY_PACKAGES} key packages; split the file")]
    TooManyKeys,
    /// No key package with an HOTP or TOTP key.
    #[error("the file has no HOTP or TOTP key")]
    NoKeys,
    /// Something RFC 6030 allows that this reader does not support.
    #[error("{0} is not supported; ask the token vendor for a file with plain secrets or secrets encrypted with a pre-shared AES-128 key (aes128-cbc, hmac-sha1 MAC)")]
    Unsupported(String),
    /// The secrets are encrypted and no key was given.
    #[error("the secrets in this file are encrypted with a pre-shared key; give it with --key HEX (32 hex digits, from the token vendor)")]
    NeedsKey,
    /// `--key` is not 32 hex digits.
    #[error("--key must be 32 hex digits (an AES-128 key)")]
    BadPreSharedKey,
    /// Encrypted values but no MAC to check them with.
    #[error("{0}: the secret is encrypted but has no MAC (MACMethod with MACKey, and ValueMAC); such a file cannot be checked and is refused")]
    NoMac(String),
    /// The MAC key does not decrypt: the pre-shared key is wrong.
    #[error(
        "the MAC key does not decrypt with this --key: the key is wrong (or the file was altered)"
    )]
    WrongKey,
    /// A `ValueMAC` does not match.
    #[error("{0}: the MAC of the encrypted secret does not match: the --key is wrong or the file was altered")]
    MacMismatch(String),
    /// A value that does not decrypt although its MAC matched.
    #[error("{0}: the secret does not decrypt although its MAC matches; the file is corrupt")]
    Corrupt(String),
    /// A required element or attribute is missing.
    #[error("{place}: {what} is missing")]
    Missing {
        /// Which key package (or the container).
        place: String,
        /// What is missing.
        what: &'static str,
    },
    /// An element or attribute has a bad value.
    #[error("{place}: {what} is not valid")]
    Invalid {
        /// Which key package (or the container).
        place: String,
        /// What is wrong.
        what: &'static str,
    },
}

/// The pre-shared AES-128 key of an encrypted file (`--key HEX`).
pub struct PreSharedKey(Zeroizing<[u8; PRE_SHARED_KEY_BYTES]>);

impl PreSharedKey {
    /// The key from 32 hex digits (either case, surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<Self, PskcError> {
        let decoded =
            secret_hex::decode(text.trim().as_bytes()).ok_or(PskcError::BadPreSharedKey)?;
        let mut key = Zeroizing::new([0u8; PRE_SHARED_KEY_BYTES]);
        if decoded.len() != PRE_SHARED_KEY_BYTES {
            return Err(PskcError::BadPreSharedKey);
        }
        key.copy_from_slice(&decoded);
        Ok(Self(key))
    }

    /// The key bytes.
    fn bytes(&self) -> &[u8; PRE_SHARED_KEY_BYTES] {
        &self.0
    }
}

impl fmt::Debug for PreSharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreSharedKey(<redacted>)")
    }
}

/// The OTP algorithm of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PskcAlgorithm {
    /// `urn:ietf:params:xml:ns:keyprov:pskc:hotp` (RFC 4226).
    Hotp,
    /// `urn:ietf:params:xml:ns:keyprov:pskc:totp` (RFC 6238).
    Totp,
}

/// One HOTP or TOTP key of the file.
#[derive(Clone, PartialEq, Eq)]
pub struct PskcKey {
    /// The `Id` attribute of the `Key`.
    pub id: String,
    /// `DeviceInfo/SerialNo`, if given (printed on the token).
    pub serial: Option<String>,
    /// HOTP or TOTP.
    pub algorithm: PskcAlgorithm,
    /// The secret.
    pub key: Zeroizing<Vec<u8>>,
    /// `ResponseFormat Length`: digits per code, if given.
    pub digits: Option<u8>,
    /// `Data/Counter` (HOTP), if given.
    pub counter: Option<u64>,
    /// `Data/Time` (TOTP), if given: RFC 6030 leaves its meaning to the algorithm (a start
    /// time or a count of intervals); an importer that assumes T0 = 0 should refuse a non-zero
    /// value.
    pub time: Option<u64>,
    /// `Data/TimeInterval` in seconds (TOTP), if given.
    pub time_interval: Option<u64>,
    /// `Data/TimeDrift` in time steps (TOTP), if given.
    pub time_drift: Option<i64>,
}

impl fmt::Debug for PskcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PskcKey")
            .field("id", &self.id)
            .field("serial", &self.serial)
            .field("algorithm", &self.algorithm)
            .field("key", &format_args!("<{} bytes>", self.key.len()))
            .field("digits", &self.digits)
            .field("counter", &self.counter)
            .field("time", &self.time)
            .field("time_interval", &self.time_interval)
            .field("time_drift", &self.time_drift)
            .finish()
    }
}

/// The keys of a PSKC file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PskcFile {
    /// The HOTP and TOTP keys, in file order.
    pub keys: Vec<PskcKey>,
    /// How many PIN keys (`urn:ietf:params:xml:ns:keyprov:pskc:pin`) were skipped.
    pub skipped_pin_keys: usize,
}

/// Reads the PSKC file `bytes`; `key` is the pre-shared key, needed when secrets are encrypted
/// (and not used when none is).
pub fn parse(bytes: &[u8], key: Option<&PreSharedKey>) -> Result<PskcFile, PskcError> {
    if bytes.len() > MAX_PSKC_BYTES {
        return Err(PskcError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| PskcError::NotText)?;
    xml::read(text, key)
}

#[cfg(test)]
mod tests;
