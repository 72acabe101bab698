//! The tokens of an enrollment: each a named key with its own kind (TOTP or HOTP) and
//! parameters. A user has at least one (the first enrollment's is named `default`) and at most
//! [`MAX_TOKENS`]; names are unique within a file.

use crate::hotp::HotpParams;
use crate::params::{self, Algorithm};
use crate::secret::{TotpSecret, MAX_SECRET_BYTES, MIN_STORED_SECRET_BYTES};
use thiserror::Error;

/// The name of the token the first enrollment makes.
pub const DEFAULT_TOKEN_NAME: &str = "default";
/// Most tokens one user may have: every code typed is checked against each of them, so each
/// token adds to a guesser's odds per check.
pub const MAX_TOKENS: usize = 8;
/// Longest token name.
pub const MAX_NAME_LEN: usize = 32;
/// Longest accepted time step, one day.
pub const MAX_PERIOD: u64 = 86_400;

/// How a token's codes move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Time-based (RFC 6238): a new code every `period` seconds.
    Totp {
        /// Seconds per time step.
        period: u64,
    },
    /// Counter-based (RFC 4226): a new code each time the button is pressed.
    Hotp,
}

impl TokenKind {
    /// `totp` or `hotp`, as files, listings and log lines name the kinds.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Totp { .. } => "totp",
            TokenKind::Hotp => "hotp",
        }
    }
}

/// One token: a key and how its codes are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Unique within the file; see [`check_name`].
    pub name: String,
    /// The key.
    pub secret: TotpSecret,
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// One of [`params::ALLOWED_DIGITS`].
    pub digits: u8,
    /// TOTP (with its period) or HOTP.
    pub kind: TokenKind,
}

/// What is wrong with a token or a change to a file's tokens. Never holds key material.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    /// The name breaks [`check_name`]'s rule.
    #[error("token name \"{0}\" is not usable: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-', starting with a letter or digit")]
    BadName(String),
    /// Another token has this name.
    #[error(
        "there is already a token named \"{0}\": pick another name, or remove that token first"
    )]
    Duplicate(String),
    /// Another token has the same key (its codes would be the same codes).
    #[error("token \"{0}\" already has this key: a second token with it adds nothing (use a new key for a spare)")]
    SameKey(String),
    /// No token has this name.
    #[error("there is no token named \"{0}\" (totp-enroll tokens lists them)")]
    NoSuchToken(String),
    /// The change would leave no token.
    #[error("\"{0}\" is the last token: removing it would turn the second factor off (that is what totp-enroll remove does)")]
    LastToken(String),
    /// One token too many.
    #[error("a user can have at most {MAX_TOKENS} tokens")]
    TooMany,
    /// Digits outside the allowed set.
    #[error("token \"{0}\": {allowed} digits only", allowed = params::ALLOWED_DIGITS_TEXT)]
    Digits(String),
    /// A period out of range.
    #[error("token \"{0}\": the period must be from 1 to {MAX_PERIOD} seconds")]
    Period(String),
    /// A key of a length no generator takes.
    #[error(
        "token \"{0}\": the key must be {MIN_STORED_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
    )]
    KeyLength(String),
}

/// Checks a token name: 1 to [`MAX_NAME_LEN`] ASCII letters, digits, `.`, `_` or `-`, starting
/// with a letter or digit (so that it is safe in a log line, a file and a command line).
pub fn check_name(name: &str) -> Result<(), TokenError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::BadName(
            name.chars().take(MAX_NAME_LEN).collect(),
        ))
    }
}

impl Token {
    /// A TOTP token named `name`, its fields unchecked (see [`Token::check`]).
    pub fn totp(
        name: &str,
        secret: TotpSecret,
        algorithm: Algorithm,
        digits: u8,
        period: u64,
    ) -> Self {
        Token {
            name: name.to_string(),
            secret,
            algorithm,
            digits,
            kind: TokenKind::Totp { period },
        }
    }

    /// An HOTP token named `name`, its fields unchecked (see [`Token::check`]).
    pub fn hotp(name: &str, secret: TotpSecret, algorithm: Algorithm, digits: u8) -> Self {
        Token {
            name: name.to_string(),
            secret,
            algorithm,
            digits,
            kind: TokenKind::Hotp,
        }
    }

    /// Checks every field against the bounds a code generator needs.
    pub fn check(&self) -> Result<(), TokenError> {
        check_name(&self.name)?;
        if !params::digits_allowed(self.digits) {
            return Err(TokenError::Digits(self.name.clone()));
        }
        if let TokenKind::Totp { period } = self.kind {
            if !(1..=MAX_PERIOD).contains(&period) {
                return Err(TokenError::Period(self.name.clone()));
            }
        }
        let key = self.secret.as_bytes().len();
        if !(MIN_STORED_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key) {
            return Err(TokenError::KeyLength(self.name.clone()));
        }
        Ok(())
    }

    /// The seconds per step of a TOTP token, None for HOTP.
    pub fn period(&self) -> Option<u64> {
        match self.kind {
            TokenKind::Totp { period } => Some(period),
            TokenKind::Hotp => None,
        }
    }

    /// The TOTP generator of a TOTP token whose fields are in range, else None.
    ///
    /// totp-rs's checked `build()` refuses keys under 128 bits, which older google-authenticator
    /// enrollments (80 bits) have; its unchecked `build_noncompliant()` would accept a step of 0
    /// or 10 digits and panic later. So the ranges are checked here, and only then is the
    /// unchecked builder used.
    pub(crate) fn totp_generator(&self) -> Option<totp_rs::Totp> {
        let period = self.period()?;
        self.check().ok()?;
        Some(
            totp_rs::Builder::new()
                .with_algorithm(self.algorithm.to_totp_rs())
                .with_digits(self.digits)
                .with_skew(0)
                .with_step_duration(period)
                .with_secret(self.secret.as_bytes().to_vec())
                .build_noncompliant(),
        )
    }

    /// The HOTP parameters of an HOTP token whose fields are in range, else None.
    pub(crate) fn hotp_params(&self) -> Option<HotpParams> {
        if self.kind != TokenKind::Hotp || self.check().is_err() {
            return None;
        }
        HotpParams::new(self.algorithm, self.digits).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> TotpSecret {
        TotpSecret::from_bytes(vec![7; n]).unwrap()
    }

    #[test]
    fn names() {
        for good in [
            "default",
            "phone",
            "yubikey-5",
            "a",
            "Spare.2",
            "x_y",
            &"n".repeat(32),
        ] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "_x",
            "a b",
            "a/b",
            "ä",
            "a\n",
            &"n".repeat(33),
            "a=b",
            "a,b",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fields_are_checked() {
        assert_eq!(
            Token::totp("t", key(20), Algorithm::SHA1, 6, 30).check(),
            Ok(())
        );
        assert_eq!(
            Token::hotp("h", key(20), Algorithm::SHA256, 8).check(),
            Ok(())
        );
        assert_eq!(
            Token::totp("t", key(20), Algorithm::SHA1, 7, 30).check(),
            Err(TokenError::Digits("t".into()))
        );
        for period in [0, MAX_PERIOD + 1] {
            assert_eq!(
                Token::totp("t", key(20), Algorithm::SHA1, 6, period).check(),
                Err(TokenError::Period("t".into()))
            );
        }
        assert!(Token::totp("t", key(20), Algorithm::SHA1, 6, 30)
            .hotp_params()
            .is_none());
        assert!(Token::hotp("h", key(20), Algorithm::SHA1, 6)
            .totp_generator()
            .is_none());
        assert!(Token::hotp("h", key(20), Algorithm::SHA1, 6)
            .hotp_params()
            .is_some());
    }
}
