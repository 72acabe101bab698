//! The per-user secret file: TOML with a format `version`, parsed strictly into validated
//! types, and written back in one canonical form.
//!
//! Version 3 (written once a user has more than the one `default` TOTP token): the TOML part
//! holds the recovery hashes and a `[[token]]` table per token (name, type, key, parameters).
//! Version 2 (one TOTP token, named `default`, its key and parameters at the top level): what
//! every enrollment writes, and what a file with just that token is still written as, so files
//! stay as they are until a token is added. Both keep the replay and rate-limit state in two
//! checksummed slots after the TOML that logins rewrite in place ([`crate::state_slots`]).
//! Version 1 kept the state in a `[state]` table; such files are read as they are and become
//! version 2 at their first update, by one atomic replace.

pub use crate::login_state::LoginState;
use crate::params;
pub use crate::params::Algorithm;
use crate::recovery::RecoveryHash;
use crate::remember::RememberedHost;
use crate::secret::{SecretError, TotpSecret};
use crate::state_slots::{self, SlotError, SlotLayout};
pub use crate::token::MAX_PERIOD;
use crate::token::{Token, TokenError, TokenKind, DEFAULT_TOKEN_NAME, MAX_TOKENS};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use toml::value::Datetime;
use zeroize::Zeroizing;

/// The file format version written for a user with several tokens (or one that is not the
/// `default` TOTP token).
pub const TOKENS_VERSION: i64 = 3;
/// The file format version written for the one `default` TOTP token of an enrollment.
pub const FORMAT_VERSION: i64 = 2;
/// The earlier version this build still reads: the state in a `[state]` table.
pub const STATE_TABLE_VERSION: i64 = 1;
/// Upper bound on the file size; a real file is well under 4 KiB.
pub const MAX_FILE_BYTES: usize = 64 * 1024;
/// Upper bound on stored recovery codes.
pub const MAX_RECOVERY_CODES: usize = 100;

/// A validated secret file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// The first token (so there always is one) ...
    first: Token,
    /// ... and the others, in the order they were added; names unique.
    more: Vec<Token>,
    /// When the enrollment was made.
    pub created: Option<Datetime>,
    /// Unused recovery codes, hashed.
    pub recovery: Vec<RecoveryHash>,
    /// Replay (one mark per token, in token order), rate-limit and remembered-host state.
    pub state: LoginState,
}

/// What is wrong with a secret file. Never contains secret material.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FileFormatError {
    /// Larger than [`MAX_FILE_BYTES`].
    #[error("the file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    /// Not UTF-8 text.
    #[error("the file is not UTF-8 text")]
    NotText,
    /// TOML syntax or schema error (message without file contents).
    #[error("the file is not a valid pam_totp file: {0}")]
    Syntax(String),
    /// No `version` key.
    #[error("the file has no 'version' key")]
    NoVersion,
    /// A version this build does not know.
    #[error("the file has format version {0}, this pam_totp understands versions {STATE_TABLE_VERSION} to {TOKENS_VERSION}; upgrade pam_totp or re-enroll")]
    UnknownVersion(String),
    /// A version-2 or -3 file with a `[state]` table (the state lives in the slots).
    #[error("the file has a [state] table, which files of version {FORMAT_VERSION} and later keep in their state slots; remove the table or re-enroll")]
    StateTable,
    /// The state slots are missing or damaged.
    #[error("the login state at the end of the file {0}; enroll again with totp-enroll, or remove the file")]
    StateSlots(&'static str),
    /// The secret value is bad.
    #[error("bad 'secret': {0}")]
    Secret(#[from] SecretError),
    /// Unsupported number of digits.
    #[error("bad 'digits' = {0}: must be {allowed}", allowed = params::ALLOWED_DIGITS_TEXT)]
    Digits(i64),
    /// Unsupported period.
    #[error("bad 'period' = {0}: must be from 1 to {MAX_PERIOD} seconds")]
    Period(i64),
    /// A token's `type` that is neither `totp` nor `hotp`.
    #[error("token {0}: 'type' must be \"totp\" or \"hotp\"")]
    TokenType(usize),
    /// A `period` on an HOTP token, whose codes do not move with time.
    #[error("token {0}: an HOTP token has no 'period'")]
    HotpPeriod(usize),
    /// A version-3 file without tokens, or with more than [`MAX_TOKENS`].
    #[error("the file must have 1 to {MAX_TOKENS} [[token]] tables")]
    TokenCount,
    /// A token that breaks a rule (name, duplicate, parameters).
    #[error("{0}")]
    Token(#[from] TokenError),
    /// A recovery code entry that is not a known hash form.
    #[error("recovery code entry {0} is not a 'sha256$salt$hash' value")]
    RecoveryCode(usize),
    /// Too many recovery codes.
    #[error("more than {MAX_RECOVERY_CODES} recovery codes")]
    TooManyRecoveryCodes,
}

/// Versions 1 and 2: one token, its key and parameters at the top level.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSingle {
    version: i64,
    secret: Zeroizing<String>,
    #[serde(default = "default_algorithm")]
    algorithm: Algorithm,
    #[serde(default = "default_digits")]
    digits: i64,
    #[serde(default = "default_period")]
    period: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<Datetime>,
    #[serde(default)]
    recovery_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<StateTable>,
}

/// The `[state]` table of version 1.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateTable {
    #[serde(default)]
    last_step: Option<u64>,
    #[serde(default)]
    checks: Vec<u64>,
    #[serde(default)]
    remembered: Vec<RememberedHost>,
}

/// Version 3: a `[[token]]` table per token.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<Datetime>,
    #[serde(default)]
    recovery_codes: Vec<String>,
    #[serde(default)]
    token: Vec<RawToken>,
    #[serde(default, skip_serializing)]
    state: Option<toml::Value>,
}

/// One `[[token]]` table.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    secret: Zeroizing<String>,
    #[serde(default = "default_algorithm")]
    algorithm: Algorithm,
    #[serde(default = "default_digits")]
    digits: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<i64>,
}

fn default_algorithm() -> Algorithm {
    params::DEFAULT_ALGORITHM
}
fn default_digits() -> i64 {
    params::DEFAULT_DIGITS.into()
}
fn default_period() -> i64 {
    i64::try_from(params::DEFAULT_PERIOD).unwrap_or(i64::MAX)
}

const HEADER: &str =
    "# pam_totp secret file: keep it private (chmod 600), do not edit while logging in.\n\
# Made by totp-enroll; delete it to turn off the second factor for this account.\n";

fn digits_of(value: i64) -> Result<u8, FileFormatError> {
    u8::try_from(value)
        .ok()
        .filter(|d| params::digits_allowed(*d))
        .ok_or(FileFormatError::Digits(value))
}

fn period_of(value: i64) -> Result<u64, FileFormatError> {
    u64::try_from(value)
        .ok()
        .filter(|p| (1..=MAX_PERIOD).contains(p))
        .ok_or(FileFormatError::Period(value))
}

fn recovery_of(texts: &[String]) -> Result<Vec<RecoveryHash>, FileFormatError> {
    if texts.len() > MAX_RECOVERY_CODES {
        return Err(FileFormatError::TooManyRecoveryCodes);
    }
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| RecoveryHash::parse(t).ok_or(FileFormatError::RecoveryCode(i + 1)))
        .collect()
}

impl SecretFile {
    /// A new enrollment: one TOTP token named `default`, nothing accepted yet. The fields are
    /// not checked here; [`SecretFile::to_toml`] refuses to write what would not read back.
    pub fn new(secret: TotpSecret, algorithm: Algorithm, digits: u8, period: u64) -> Self {
        Self::with_token(Token::totp(
            DEFAULT_TOKEN_NAME,
            secret,
            algorithm,
            digits,
            period,
        ))
    }

    /// A file whose only token is `token` (of any kind or name), nothing accepted yet; not
    /// checked here either.
    pub fn with_token(token: Token) -> Self {
        SecretFile {
            first: token,
            more: Vec::new(),
            created: None,
            recovery: Vec::new(),
            state: LoginState::new(1),
        }
    }

    /// The tokens, in the order they were added (there is always one); the index of a token
    /// here is the index of its mark in `state.marks`.
    pub fn tokens(&self) -> impl Iterator<Item = &Token> + '_ {
        std::iter::once(&self.first).chain(&self.more)
    }

    /// How many tokens there are (at least one).
    pub fn token_count(&self) -> usize {
        1 + self.more.len()
    }

    /// The first token: the enrollment's own (`default`) unless it was removed.
    pub fn first_token(&self) -> &Token {
        &self.first
    }

    /// The first token, to change (its fields are checked when the file is written).
    pub fn first_token_mut(&mut self) -> &mut Token {
        &mut self.first
    }

    /// The index of the token named `name`.
    pub fn token_index(&self, name: &str) -> Option<usize> {
        self.tokens().position(|t| t.name == name)
    }

    /// Adds `token` at the end, with `mark` as its replay mark (the highest step or counter
    /// already used: for an HOTP token whose next counter is N, N - 1).
    pub fn add_token(&mut self, token: Token, mark: Option<u64>) -> Result<(), TokenError> {
        token.check()?;
        if self.token_index(&token.name).is_some() {
            return Err(TokenError::Duplicate(token.name));
        }
        if let Some(twin) = self.tokens().find(|t| t.secret == token.secret) {
            return Err(TokenError::SameKey(twin.name.clone()));
        }
        if self.token_count() >= MAX_TOKENS {
            return Err(TokenError::TooMany);
        }
        self.align_marks();
        self.more.push(token);
        self.state.marks.push(mark);
        Ok(())
    }

    /// Removes the token named `name` (and its replay mark); the last token cannot go.
    pub fn remove_token(&mut self, name: &str) -> Result<Token, TokenError> {
        let index = self
            .token_index(name)
            .ok_or_else(|| TokenError::NoSuchToken(name.to_string()))?;
        if self.more.is_empty() {
            return Err(TokenError::LastToken(name.to_string()));
        }
        self.align_marks();
        self.state.marks.remove(index);
        let removed = if index == 0 {
            let next = self.more.remove(0);
            std::mem::replace(&mut self.first, next)
        } else {
            self.more.remove(index - 1)
        };
        Ok(removed)
    }

    /// Sets the replay mark of the token at `index` (in [`SecretFile::tokens`] order).
    pub fn set_mark(&mut self, index: usize, value: u64) {
        self.align_marks();
        if let Some(mark) = self.state.marks.get_mut(index) {
            *mark = Some(value);
        }
    }

    /// One mark per token, whatever a caller did to `state.marks`.
    fn align_marks(&mut self) {
        self.state.marks.resize(self.token_count(), None);
    }

    /// The Unix time a code of a TOTP token was last accepted (the start of its step), the
    /// latest over the TOTP tokens; None when none ever was.
    pub fn last_totp_success(&self) -> Option<u64> {
        self.tokens()
            .zip(&self.state.marks)
            .filter_map(|(t, mark)| mark.and_then(|step| step.checked_mul(t.period()?)))
            .max()
    }

    /// The version this file is written as: 2 for the one `default` TOTP token, else 3.
    pub fn version(&self) -> i64 {
        let only = &self.first;
        if self.more.is_empty() && only.name == DEFAULT_TOKEN_NAME && only.period().is_some() {
            FORMAT_VERSION
        } else {
            TOKENS_VERSION
        }
    }

    /// Parses file bytes strictly: bounded size, UTF-8, known version, no unknown keys.
    pub fn parse(bytes: &[u8]) -> Result<Self, FileFormatError> {
        Self::parse_with_slots(bytes).map(|(file, _)| file)
    }

    /// Parses file bytes as [`SecretFile::parse`] does, and says where the state slots are
    /// (None for a version-1 file, whose state is in its TOML).
    pub fn parse_with_slots(bytes: &[u8]) -> Result<(Self, Option<SlotLayout>), FileFormatError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(FileFormatError::TooLarge);
        }
        // A file's TOML part ends at the delimiter; the slots after it are read by their own
        // rules (a torn slot must not make the whole file unreadable).
        let slots = state_slots::split(bytes);
        let toml_part = match slots {
            Ok((part, _, _)) => part,
            Err(_) => bytes,
        };
        let text = std::str::from_utf8(toml_part).map_err(|_| FileFormatError::NotText)?;
        // Parsed once, borrowing from `bytes` (whose owner wipes them): the version decides
        // which shape the same parsed document is read as.
        let document = toml::de::DeTable::parse(text).map_err(|e| syntax(&e))?;
        let version = version_of(document.get_ref(), text)?;
        let document = toml::de::Deserializer::from(document);
        let mut file = if version == TOKENS_VERSION {
            let raw = RawTokens::deserialize(document).map_err(|e| syntax(&e))?;
            if raw.state.is_some() {
                return Err(FileFormatError::StateTable);
            }
            Self::from_tokens(raw)?
        } else {
            let raw = RawSingle::deserialize(document).map_err(|e| syntax(&e))?;
            if version == STATE_TABLE_VERSION {
                return Ok((Self::from_single(raw)?, None));
            }
            if raw.state.is_some() {
                return Err(FileFormatError::StateTable);
            }
            Self::from_single(raw)?
        };
        let (_, offset, slot_len) = slots.map_err(slot_error)?;
        let (state, layout) = state_slots::read(bytes, offset, slot_len).map_err(slot_error)?;
        if state.marks.len() != file.token_count() {
            return Err(FileFormatError::StateSlots(
                "does not have one replay mark per token",
            ));
        }
        file.state = state;
        Ok((file, Some(layout)))
    }

    /// True when `self` and `other` differ at most in their login state: an update of the
    /// state alone can then be written in place.
    pub fn same_but_state(&self, other: &SecretFile) -> bool {
        // Every field named, so that a field added later cannot be forgotten here (which
        // would let its change be dropped by an in-place state write).
        let SecretFile {
            first,
            more,
            created,
            recovery,
            state: _,
        } = self;
        *first == other.first
            && *more == other.more
            && *created == other.created
            && *recovery == other.recovery
    }

    fn from_single(raw: RawSingle) -> Result<Self, FileFormatError> {
        let secret = TotpSecret::from_base32(&raw.secret)?;
        let token = Token::totp(
            DEFAULT_TOKEN_NAME,
            secret,
            raw.algorithm,
            digits_of(raw.digits)?,
            period_of(raw.period)?,
        );
        let state = match raw.state {
            Some(table) => LoginState {
                marks: vec![table.last_step],
                checks: table.checks,
                remembered: table.remembered,
            },
            None => LoginState::new(1),
        };
        Ok(SecretFile {
            first: token,
            more: Vec::new(),
            created: raw.created,
            recovery: recovery_of(&raw.recovery_codes)?,
            state,
        })
    }

    fn from_tokens(raw: RawTokens) -> Result<Self, FileFormatError> {
        if raw.token.is_empty() || raw.token.len() > MAX_TOKENS {
            return Err(FileFormatError::TokenCount);
        }
        let mut tokens: Vec<Token> = Vec::with_capacity(raw.token.len());
        for (i, t) in raw.token.iter().enumerate() {
            let number = i + 1;
            let kind = match (t.kind.as_str(), t.period) {
                ("totp", period) => TokenKind::Totp {
                    period: period_of(period.unwrap_or_else(default_period))?,
                },
                ("hotp", None) => TokenKind::Hotp,
                ("hotp", Some(_)) => return Err(FileFormatError::HotpPeriod(number)),
                _ => return Err(FileFormatError::TokenType(number)),
            };
            let token = Token {
                name: t.name.clone(),
                secret: TotpSecret::from_base32(&t.secret)?,
                algorithm: t.algorithm,
                digits: digits_of(t.digits)?,
                kind,
            };
            token.check()?;
            if tokens.iter().any(|other| other.name == token.name) {
                return Err(TokenError::Duplicate(token.name).into());
            }
            tokens.push(token);
        }
        let count = tokens.len();
        let mut tokens = tokens.into_iter();
        let first = tokens.next().ok_or(FileFormatError::TokenCount)?;
        Ok(SecretFile {
            first,
            more: tokens.collect(),
            created: raw.created,
            recovery: recovery_of(&raw.recovery_codes)?,
            state: LoginState::new(count),
        })
    }

    /// The TOML part of the canonical text: version 2 for the one `default` TOTP token, else
    /// version 3.
    fn settings_toml(&self) -> Result<Zeroizing<String>, FileFormatError> {
        let recovery_codes = self.recovery.iter().map(RecoveryHash::encode).collect();
        let text = if self.version() == FORMAT_VERSION {
            let token = self.first_token();
            let period = token.period().unwrap_or(params::DEFAULT_PERIOD);
            toml::to_string(&RawSingle {
                version: FORMAT_VERSION,
                secret: token.secret.to_base32(),
                algorithm: token.algorithm,
                digits: i64::from(token.digits),
                period: i64::try_from(period).map_err(|_| FileFormatError::Period(-1))?,
                created: self.created,
                recovery_codes,
                state: None,
            })
        } else {
            let token = self
                .tokens()
                .map(|t| {
                    let period = match t.period() {
                        Some(p) => Some(i64::try_from(p).map_err(|_| FileFormatError::Period(-1))?),
                        None => None,
                    };
                    Ok(RawToken {
                        name: t.name.clone(),
                        kind: t.kind.as_str().to_string(),
                        secret: t.secret.to_base32(),
                        algorithm: t.algorithm,
                        digits: i64::from(t.digits),
                        period,
                    })
                })
                .collect::<Result<Vec<_>, FileFormatError>>()?;
            toml::to_string(&RawTokens {
                version: TOKENS_VERSION,
                created: self.created,
                recovery_codes,
                token,
                state: None,
            })
        };
        text.map(Zeroizing::new)
            .map_err(|e| FileFormatError::Syntax(e.to_string()))
    }

    /// The canonical file text (the TOML part, then the state in slot 0 and an empty slot 1).
    /// It is parsed back and compared before being returned, so a bug here can never replace
    /// a good file with one that would lock the user out.
    pub fn to_toml(&self) -> Result<Zeroizing<String>, FileFormatError> {
        let body = self.settings_toml()?;
        let slot_len = state_slots::slot_len_for(&self.state);
        let toml_len = HEADER.len() + body.len();
        let delimiter = state_slots::delimiter_after(toml_len).ok_or(
            FileFormatError::StateSlots("cannot state the settings' length"),
        )?;
        let slot0 = state_slots::encode(&self.state, 1, slot_len)
            .ok_or(FileFormatError::StateSlots("does not fit its slot"))?;
        let slot1 = state_slots::blank(slot_len);
        let mut text = Zeroizing::new(String::with_capacity(
            toml_len + delimiter.len() + 2 * slot_len,
        ));
        text.push_str(HEADER);
        text.push_str(&body);
        text.push_str(&delimiter);
        for slot in [slot0, slot1] {
            // Slots are ASCII text made by state_slots.
            text.push_str(&String::from_utf8_lossy(&slot));
        }
        if SecretFile::parse(text.as_bytes()).as_ref() != Ok(self) {
            return Err(FileFormatError::Syntax(
                "the file written would not read back the same".into(),
            ));
        }
        Ok(text)
    }
}

/// True when `bytes` have the shape of a pam_totp secret file, valid or not: the header
/// totp-enroll writes, or a TOML document with top-level `version` and `secret` keys (of any
/// type). totp-enroll replaces or removes only such files, so that `--force` with a mistaken
/// or malicious `--secret-file` cannot destroy some other private file (an SSH host key, a
/// password file), while a pam_totp file that no longer parses (a bad value, a typo from
/// hand editing) can still be replaced.
pub fn has_secret_file_shape(bytes: &[u8]) -> bool {
    if bytes.len() > MAX_FILE_BYTES {
        return false;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    if text.starts_with(HEADER_FIRST_LINE) {
        return true;
    }
    toml::from_str::<toml::Table>(text)
        .is_ok_and(|table| table.contains_key("version") && table.contains_key("secret"))
}

/// The first line of [`HEADER`].
const HEADER_FIRST_LINE: &str = "# pam_totp secret file:";

fn slot_error(e: SlotError) -> FileFormatError {
    FileFormatError::StateSlots(match e {
        SlotError::NoDelimiter => "has no state delimiter where two slots of whole pages begin",
        SlotError::NoValidSlot => "has no valid state slot",
    })
}

/// The document's `version`, if it is one this build reads.
fn version_of(document: &toml::de::DeTable<'_>, text: &str) -> Result<i64, FileFormatError> {
    let value = document.get("version").ok_or(FileFormatError::NoVersion)?;
    let known = match value.get_ref() {
        toml::de::DeValue::Integer(v) => i64::from_str_radix(v.as_str(), v.radix())
            .ok()
            .filter(|v| matches!(*v, STATE_TABLE_VERSION | FORMAT_VERSION | TOKENS_VERSION)),
        _ => None,
    };
    known.ok_or_else(|| {
        // Shown in a log line as written: at most 32 characters, no line breaks or controls.
        let written = text.get(value.span()).unwrap_or_default();
        let start: String = written.chars().take(32).collect();
        FileFormatError::UnknownVersion(crate::log_safe::line(&start))
    })
}

/// A TOML error message without the quoted source line (which could hold the secret).
fn syntax(e: &dyn std::fmt::Display) -> FileFormatError {
    let msg = e.to_string();
    let first = msg.lines().next().unwrap_or("syntax error").trim();
    FileFormatError::Syntax(first.chars().take(200).collect())
}

/// Formats a Unix time as a TOML UTC datetime.
pub fn datetime_from_unix(secs: u64) -> Option<Datetime> {
    let days = i64::try_from(secs / 86_400).ok()?;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let text = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    text.parse().ok()
}

// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Token, TokenKind};

    const KEY: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn minimal() -> String {
        format!("version = 1\nsecret = \"{KEY}\"\n")
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let f = SecretFile::parse(minimal().as_bytes()).unwrap();
        assert_eq!(
            (
                f.first_token().algorithm,
                f.first_token().digits,
                f.first_token().period().unwrap()
            ),
            (Algorithm::SHA1, 6, 30)
        );
        assert!(f.recovery.is_empty());
        assert_eq!(f.state, LoginState::new(1));
    }

    #[test]
    fn full_file_round_trips() {
        let text = format!(
            "version = 1\nsecret = \"gezd gnbv gy3t qojq gezd gnbv gy3t qojq\"\nalgorithm = \"SHA512\"\n\
             digits = 8\nperiod = 60\ncreated = 2026-11-24T10:00:00Z\n\
             recovery_codes = [\"sha256${}${}\"]\n[state]\nlast_step = 5\nchecks = [1, 2]\n",
            "00".repeat(16),
            "ab".repeat(32)
        );
        let f = SecretFile::parse(text.as_bytes()).unwrap();
        assert_eq!(
            (
                f.first_token().algorithm,
                f.first_token().digits,
                f.first_token().period().unwrap()
            ),
            (Algorithm::SHA512, 8, 60)
        );
        assert_eq!(f.state.marks[0], Some(5));
        assert_eq!(f.recovery.len(), 1);
        let out = f.to_toml().unwrap();
        assert!(out.contains(KEY), "canonical base32 is written");
        assert_eq!(SecretFile::parse(out.as_bytes()).unwrap(), f);
    }

    /// Version-1 files (state in a [state] table) are read as they are; what is written is
    /// version 2, its state in slot 0, and reads back the same.
    #[test]
    fn version_1_is_read_and_version_2_written() {
        let v1 = format!("{}[state]\nlast_step = 7\nchecks = [3, 4]\n", minimal());
        let (f, slots) = SecretFile::parse_with_slots(v1.as_bytes()).unwrap();
        assert_eq!(slots, None);
        assert_eq!(f.state.marks[0], Some(7));
        let written = f.to_toml().unwrap();
        assert!(written.contains("\nversion = 2\n"), "{}", written.as_str());
        assert!(!written.contains("[state]"));
        assert_eq!(written.len() % state_slots::PAGE, 0);
        let (back, slots) = SecretFile::parse_with_slots(written.as_bytes()).unwrap();
        assert_eq!(back, f);
        let slots = slots.unwrap();
        assert_eq!(
            (slots.current, slots.seq, slots.slot_len),
            (0, 1, state_slots::PAGE)
        );
        // Still a TOML document.
        let table: toml::Table = toml::from_str(&written).unwrap();
        assert_eq!(table["version"].as_integer(), Some(2));
        let mut other = back.clone();
        other.state.checks.push(9);
        assert!(other.same_but_state(&back));
        other.first_token_mut().digits = 8;
        assert!(!other.same_but_state(&back));
    }

    #[test]
    fn unknown_versions_and_keys_are_refused() {
        let v4 = minimal().replace("version = 1", "version = 4");
        assert_eq!(
            SecretFile::parse(v4.as_bytes()),
            Err(FileFormatError::UnknownVersion("4".into()))
        );
        // Version 3 has its keys in [[token]] tables only.
        let v3 = minimal().replace("version = 1", "version = 3");
        assert!(
            matches!(SecretFile::parse(v3.as_bytes()), Err(FileFormatError::Syntax(m)) if m.contains("unknown field `secret`"))
        );
        // Version 2 keeps its state in slots: without them, or with a [state] table, refused.
        let v2 = minimal().replace("version = 1", "version = 2");
        assert!(matches!(
            SecretFile::parse(v2.as_bytes()),
            Err(FileFormatError::StateSlots(_))
        ));
        let written = SecretFile::parse(minimal().as_bytes())
            .unwrap()
            .to_toml()
            .unwrap();
        let with_table =
            written.replacen("version = 2\n", "version = 2\n[state]\nchecks = []\n", 1);
        assert!(SecretFile::parse(with_table.as_bytes()).is_err());
        let vs = minimal().replace("version = 1", "version = \"1\"");
        assert!(matches!(
            SecretFile::parse(vs.as_bytes()),
            Err(FileFormatError::UnknownVersion(_))
        ));
        let none = format!("secret = \"{KEY}\"\n");
        assert_eq!(
            SecretFile::parse(none.as_bytes()),
            Err(FileFormatError::NoVersion)
        );
        let extra = format!("{}window = 3\n", minimal());
        assert!(matches!(
            SecretFile::parse(extra.as_bytes()),
            Err(FileFormatError::Syntax(_))
        ));
        let dup = format!("{}secret = \"{KEY}\"\n", minimal());
        assert!(matches!(
            SecretFile::parse(dup.as_bytes()),
            Err(FileFormatError::Syntax(_))
        ));
    }

    /// Found by the secret_file fuzz target: a long non-ASCII version string used to be cut in
    /// the middle of a character, which panicked.
    #[test]
    fn a_long_non_ascii_version_is_shortened_on_a_character_boundary() {
        let text = "version = ''''\t\t\t''\t\t\t\tT10sio n osgy\u{34b}\u{34b}\u{7c8}ov'''\t";
        let Err(FileFormatError::UnknownVersion(shown)) = SecretFile::parse(text.as_bytes()) else {
            panic!("an unknown version is reported");
        };
        assert_eq!(shown.chars().count(), 32);
        let multi_line = "version = \"\"\"\na\nb\"\"\"\n";
        let Err(FileFormatError::UnknownVersion(shown)) = SecretFile::parse(multi_line.as_bytes())
        else {
            panic!("an unknown version is reported");
        };
        assert!(!shown.contains('\n'), "{shown:?}");
        let wide = format!("version = \"{}\"\n", "\u{e9}".repeat(40));
        assert!(matches!(
            SecretFile::parse(wide.as_bytes()),
            Err(FileFormatError::UnknownVersion(_))
        ));
    }

    #[test]
    fn bad_values_are_refused() {
        let cases = [
            ("digits = 12\n", FileFormatError::Digits(12)),
            ("digits = 7\n", FileFormatError::Digits(7)),
            ("period = 0\n", FileFormatError::Period(0)),
            ("period = -30\n", FileFormatError::Period(-30)),
            (
                "recovery_codes = [\"plain\"]\n",
                FileFormatError::RecoveryCode(1),
            ),
        ];
        for (line, want) in cases {
            let text = format!("{}{line}", minimal());
            assert_eq!(SecretFile::parse(text.as_bytes()), Err(want), "{line}");
        }
        let algo = format!("{}algorithm = \"MD5\"\n", minimal());
        assert!(matches!(
            SecretFile::parse(algo.as_bytes()),
            Err(FileFormatError::Syntax(_))
        ));
        let short = "version = 1\nsecret = \"GEZDGNBV\"\n";
        assert_eq!(
            SecretFile::parse(short.as_bytes()),
            Err(FileFormatError::Secret(SecretError::TooShort(40)))
        );
    }

    /// Older google-authenticator enrollments have 80-bit keys; files with them are read, and
    /// their codes are accepted. Known answer: key 2SH3V3GDW7ZNMGYE at t=300000 gives 050548
    /// (google-authenticator-libpam's own test vector; `oathtool --totp -b 2SH3V3GDW7ZNMGYE
    /// --now @300000` agrees).
    #[test]
    fn an_80_bit_key_is_read_and_its_codes_are_accepted() {
        use crate::params::RateLimit;
        use crate::verify::{check, Matched, Outcome, Policy};
        let text = "version = 1\nsecret = \"2SH3V3GDW7ZNMGYE\"\n";
        let mut f = SecretFile::parse(text.as_bytes()).unwrap();
        assert_eq!(f.first_token().secret.bits(), 80);
        assert_eq!(
            SecretFile::parse(f.to_toml().unwrap().as_bytes()),
            Ok(f.clone())
        );
        let totp = f.first_token().totp_generator().unwrap();
        assert_eq!(totp.generate(300_000).to_string(), "050548");
        let policy = Policy {
            window: 0,
            hotp_window: 1,
            rate_limit: RateLimit {
                max_checks: 10,
                seconds: 30,
            },
        };
        assert_eq!(
            check(&mut f, "050548", 300_000, policy),
            Outcome::Accepted {
                token: "default".into(),
                matched: Matched::Step {
                    step: 10_000,
                    drift: 0
                }
            }
        );
        assert_eq!(check(&mut f, "050549", 300_030, policy), Outcome::Wrong);
    }

    /// A file built by hand with values `parse` never returns gets no generator (totp-rs's
    /// unchecked builder would panic on some of them) instead of a panic.
    #[test]
    fn out_of_range_fields_give_no_generator() {
        let good = SecretFile::parse(minimal().as_bytes()).unwrap();
        assert!(good.first_token().totp_generator().is_some());
        for (digits, period) in [(10, 30), (7, 30), (0, 30), (6, 0), (6, MAX_PERIOD + 1)] {
            let mut f = good.clone();
            f.first_token_mut().digits = digits;
            f.first_token_mut().kind = TokenKind::Totp { period };
            assert!(
                f.first_token().totp_generator().is_none(),
                "{digits} digits, period {period}"
            );
        }
    }

    #[test]
    fn the_shape_of_a_secret_file() {
        // Valid, and corrupt but ours: replaceable.
        assert!(has_secret_file_shape(minimal().as_bytes()));
        assert!(has_secret_file_shape(b"version = 1\nsecret = 3\n"));
        assert!(has_secret_file_shape(
            b"version = 7\nsecret = \"x\"\ndigits = 12\n"
        ));
        let header_broken = format!("{HEADER}version = 1\nsecret = \"ABC\n");
        assert!(has_secret_file_shape(header_broken.as_bytes()));
        let written = SecretFile::parse(minimal().as_bytes())
            .unwrap()
            .to_toml()
            .unwrap();
        assert!(written.starts_with(HEADER_FIRST_LINE));
        // Anything else: not ours.
        for other in [
            &b"root:$y$j9T$abc$def:19700:0:99999:7:::\n"[..],
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
            b"",
            b"version = 1\n",
            b"secret = \"x\"\n",
            b"[section]\nversion = 1\nsecret = 2\n",
            b"\xff\xfe",
        ] {
            assert!(
                !has_secret_file_shape(other),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
        let mut big = minimal().into_bytes();
        big.resize(MAX_FILE_BYTES + 1, b'\n');
        assert!(!has_secret_file_shape(&big));
    }

    #[test]
    fn garbage_is_refused_without_echoing_it() {
        assert_eq!(
            SecretFile::parse(&[0xff, 0xfe, 0]),
            Err(FileFormatError::NotText)
        );
        assert_eq!(
            SecretFile::parse(&vec![b'a'; MAX_FILE_BYTES + 1]),
            Err(FileFormatError::TooLarge)
        );
        let leaky = format!("version = 1\nsecret = {KEY}\n");
        let err = SecretFile::parse(leaky.as_bytes()).unwrap_err().to_string();
        assert!(!err.contains(KEY), "{err}");
        assert!(SecretFile::parse(b"").is_err());
        assert!(SecretFile::parse(b"version = 1\n\0").is_err());
    }

    #[test]
    fn unix_time_to_datetime() {
        assert_eq!(
            datetime_from_unix(0).unwrap().to_string(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            datetime_from_unix(1_111_111_109).unwrap().to_string(),
            "2005-03-18T01:58:29Z"
        );
        assert_eq!(
            datetime_from_unix(20_000_000_000).unwrap().to_string(),
            "2603-10-11T11:33:20Z"
        );
    }

    fn hotp_token(name: &str) -> Token {
        // Each its own key: a token with another token's key is refused.
        let mut key = b"12345678901234567890".to_vec();
        key.extend_from_slice(name.as_bytes());
        let key = TotpSecret::from_bytes(key).unwrap();
        Token::hotp(name, key, Algorithm::SHA1, 6)
    }

    /// A file with one token is written as version 2, exactly as before tokens existed; adding
    /// a token makes it version 3 ([[token]] tables, marks= in the slots); removing it again
    /// gives version 2 back.
    #[test]
    fn a_file_stays_version_2_until_a_token_is_added() {
        let mut f = SecretFile::parse(minimal().as_bytes()).unwrap();
        f.state.marks[0] = Some(77);
        let v2 = f.to_toml().unwrap();
        assert!(v2.contains("\nversion = 2\nsecret = "), "{}", v2.as_str());
        assert!(v2.contains(" last_step=77 "), "{}", v2.as_str());
        assert!(!v2.contains("[[token]]"));

        f.add_token(hotp_token("fob"), Some(4)).unwrap();
        assert_eq!(f.version(), TOKENS_VERSION);
        let v3 = f.to_toml().unwrap();
        assert!(v3.contains("\nversion = 3\n"), "{}", v3.as_str());
        assert_eq!(v3.matches("[[token]]").count(), 2, "{}", v3.as_str());
        assert!(
            v3.contains("name = \"default\"\ntype = \"totp\""),
            "{}",
            v3.as_str()
        );
        assert!(
            v3.contains("name = \"fob\"\ntype = \"hotp\""),
            "{}",
            v3.as_str()
        );
        assert!(v3.contains(" marks=77,4 "), "{}", v3.as_str());
        let back = SecretFile::parse(v3.as_bytes()).unwrap();
        assert_eq!(back, f);
        assert_eq!(back.token_count(), 2);
        assert_eq!(back.tokens().nth(1).unwrap().kind, TokenKind::Hotp);

        f.remove_token("fob").unwrap();
        assert_eq!(f.to_toml().unwrap().as_str(), v2.as_str());
    }

    #[test]
    fn token_changes_keep_the_rules() {
        let mut f = SecretFile::parse(minimal().as_bytes()).unwrap();
        assert_eq!(
            f.add_token(hotp_token("default"), None),
            Err(TokenError::Duplicate("default".into()))
        );
        let twin = Token::totp(
            "twin",
            f.first_token().secret.clone(),
            Algorithm::SHA1,
            6,
            30,
        );
        assert_eq!(
            f.add_token(twin, None),
            Err(TokenError::SameKey("default".into()))
        );
        assert!(matches!(
            f.add_token(hotp_token("bad name"), None),
            Err(TokenError::BadName(_))
        ));
        assert_eq!(
            f.remove_token("default"),
            Err(TokenError::LastToken("default".into()))
        );
        assert_eq!(
            f.remove_token("nope"),
            Err(TokenError::NoSuchToken("nope".into()))
        );
        for i in 1..MAX_TOKENS {
            f.add_token(hotp_token(&format!("t{i}")), Some(i as u64))
                .unwrap();
        }
        assert_eq!(
            f.add_token(hotp_token("one-more"), None),
            Err(TokenError::TooMany)
        );
        // Removing the first token makes the next one first; its mark goes with it.
        f.set_mark(0, 500);
        let removed = f.remove_token("default").unwrap();
        assert_eq!(removed.name, "default");
        assert_eq!(f.first_token().name, "t1");
        assert_eq!(f.state.marks.len(), MAX_TOKENS - 1);
        assert_eq!(f.state.marks[0], Some(1));
        let back = SecretFile::parse(f.to_toml().unwrap().as_bytes()).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn bad_token_tables_are_refused() {
        let token = |extra: &str| {
            format!("[[token]]\nname = \"a\"\ntype = \"totp\"\nsecret = \"{KEY}\"\n{extra}")
        };
        let file = |tokens: &str| format!("version = 3\n{tokens}");
        let parse = |text: String| {
            let f = SecretFile {
                state: LoginState::new(1),
                ..SecretFile::parse(minimal().as_bytes()).unwrap()
            };
            // Slots of the right shape after the settings, so only the settings are judged.
            let written = f.to_toml().unwrap();
            let cut = written.find("#\n").or_else(|| written.find("# ")).unwrap();
            let _ = cut;
            SecretFile::parse(text.as_bytes())
        };
        assert_eq!(parse(file("")), Err(FileFormatError::TokenCount));
        let nine: String = (0..=MAX_TOKENS)
            .map(|i| token("").replace("name = \"a\"", &format!("name = \"t{i}\"")))
            .collect();
        assert_eq!(parse(file(&nine)), Err(FileFormatError::TokenCount));
        assert_eq!(
            parse(file(&(token("") + &token("")))),
            Err(FileFormatError::Token(TokenError::Duplicate("a".into())))
        );
        assert_eq!(
            parse(file(&token("").replace("totp", "motp"))),
            Err(FileFormatError::TokenType(1))
        );
        assert_eq!(
            parse(file(&token("period = 30\n").replace("totp", "hotp"))),
            Err(FileFormatError::HotpPeriod(1))
        );
        assert!(matches!(
            parse(file(&token("").replace("name = \"a\"", "name = \"-a\""))),
            Err(FileFormatError::Token(TokenError::BadName(_)))
        ));
        assert_eq!(
            parse(file(&token("digits = 7\n"))),
            Err(FileFormatError::Digits(7))
        );
        assert!(matches!(
            parse(file(&token("color = 1\n"))),
            Err(FileFormatError::Syntax(_))
        ));
        // Good settings, but no slots: refused like a version-2 file without them.
        assert!(matches!(
            parse(file(&token(""))),
            Err(FileFormatError::StateSlots(_))
        ));
    }

    /// The slots must hold one mark per token: a version-3 file whose slot has fewer (edited,
    /// or written for other tokens) is refused, not read with marks that belong elsewhere.
    #[test]
    fn one_mark_per_token() {
        let mut f = SecretFile::parse(minimal().as_bytes()).unwrap();
        f.add_token(hotp_token("fob"), None).unwrap();
        let good = f.to_toml().unwrap();
        let mut one = f.clone();
        one.state.marks.truncate(1);
        let slot_of_one = state_slots::encode(&one.state, 2, state_slots::PAGE).unwrap();
        let (_, offset, _) = state_slots::split(good.as_bytes()).unwrap();
        let mut bad = good.as_bytes().to_vec();
        bad.splice(
            offset + state_slots::PAGE..offset + 2 * state_slots::PAGE,
            slot_of_one,
        );
        assert_eq!(
            SecretFile::parse(&bad),
            Err(FileFormatError::StateSlots(
                "does not have one replay mark per token"
            ))
        );
    }
}
