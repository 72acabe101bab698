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
//! Each key's `UserId` is read: [`keys_for_user`] takes only the keys of one user (see
//! [`user`]). A value element (`PlainValue`, `CipherValue`, `UserId`...) must hold text only.
//!
//! The XML parser (roxmltree) reads no DTD, so no entity can expand or fetch anything; file
//! size, XML nodes and key packages are bounded, and a cheap scan of the raw text first refuses
//! what roxmltree is slow on (many namespace declarations, deep nesting, many attributes).
//! Errors never contain key material.

mod crypto;
mod prescan;
pub mod user;
mod xml;

use crate::pskc::crypto::PRE_SHARED_KEY_BYTES;
use pam_totp_core::algorithm::Algorithm;
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
/// Most namespace declarations (`xmlns`, `xmlns:p`) in one file: RFC 6030's examples have 4.
pub const MAX_XMLNS_DECLARATIONS: usize = 64;
/// Deepest element nesting: RFC 6030's encrypted secrets are 8 deep.
pub const MAX_XML_DEPTH: usize = 32;
/// Most attributes of one element: RFC 6030's elements have at most 5.
pub const MAX_XML_ATTRIBUTES: usize = 32;

/// `text` from a file made safe for a message: printable ASCII (anything else becomes `?`), at
/// most 64 characters, in double quotes with `"` and `\` escaped.
pub fn quote(text: &str) -> String {
    xml::quote(text)
}

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
    /// More namespace declarations, deeper nesting or more attributes than a PSKC file has.
    #[error("{0}; no PSKC file needs that many, the file is refused (it would take the XML parser minutes): ask the token vendor for the file again")]
    TooComplex(String),
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
    /// A value element holds something other than text.
    #[error("{place}: {what} holds a comment, an element or a processing instruction; only text is accepted there")]
    MixedContent {
        /// Which key package (or the container).
        place: String,
        /// Which element.
        what: &'static str,
    },
    /// None of the file's keys is the user's (see [`keys_for_user`]).
    #[error("none of the file's {keys} HOTP/TOTP key(s) is for user {user}: {others} name another user in their UserId, {unmarked} have no UserId (a key without UserId is taken only when it is the file's only key); each user needs a file with only their keys, or keys marked with their UserId (the user name, or a DN that starts with UID=name)")]
    NotForUser {
        /// The user name, quoted.
        user: String,
        /// HOTP and TOTP keys in the file.
        keys: usize,
        /// Keys whose UserId names someone else.
        others: usize,
        /// Keys without UserId.
        unmarked: usize,
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
        let decoded = pam_totp_core::hex::decode(text.trim().as_bytes())
            .map(Zeroizing::new)
            .ok_or(PskcError::BadPreSharedKey)?;
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
    /// The HMAC hash, from `AlgorithmParameters/Suite` (SHA1 when not given).
    pub hash: Algorithm,
    /// `Key/UserId`, white space around it removed (`None` when absent or empty).
    pub user_id: Option<String>,
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
            .field("hash", &self.hash)
            .field("user_id", &self.user_id)
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
    prescan::check(text)?;
    xml::read(text, key)
}

/// The keys of `file` that are for `user`, and how many were left out.
#[derive(Debug)]
pub struct UserKeys {
    /// The keys taken, in file order.
    pub keys: Vec<PskcKey>,
    /// Keys left out because their `UserId` names someone else.
    pub others: usize,
    /// Keys left out because they have no `UserId` and are not the file's only key.
    pub unmarked: usize,
}

/// The keys of `file` for `user`: a key whose `UserId` names the user (see
/// [`user::names_user`]) is taken; a key without `UserId` only when it is the file's only
/// HOTP/TOTP key; a key whose `UserId` names anyone else never. Refuses when nothing is taken.
pub fn keys_for_user(file: PskcFile, user: &str) -> Result<UserKeys, PskcError> {
    let total = file.keys.len();
    let mut chosen = UserKeys {
        keys: Vec::new(),
        others: 0,
        unmarked: 0,
    };
    for key in file.keys {
        match key.user_id.as_deref() {
            Some(id) if user::names_user(id, user) => chosen.keys.push(key),
            Some(_) => chosen.others += 1,
            None if total == 1 => chosen.keys.push(key),
            None => chosen.unmarked += 1,
        }
    }
    if chosen.keys.is_empty() {
        return Err(PskcError::NotForUser {
            user: quote(user),
            keys: total,
            others: chosen.others,
            unmarked: chosen.unmarked,
        });
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests;
