//! The per-user secret file: TOML with a format `version`, parsed strictly into validated
//! types, and written back in one canonical form.
//!
//! Version 2 (written since the login state moved out of the TOML): the TOML part holds the
//! secret, its parameters and the recovery hashes; the replay and rate-limit state follows in
//! two checksummed slots that logins rewrite in place ([`crate::state_slots`]). Version 1 kept
//! the state in a `[state]` table; such files are read as they are and become version 2 at
//! their first update, by one atomic replace.

pub use crate::login_state::LoginState;
use crate::params;
pub use crate::params::Algorithm;
use crate::recovery::RecoveryHash;
use crate::secret::{SecretError, TotpSecret, MAX_SECRET_BYTES, MIN_STORED_SECRET_BYTES};
use crate::state_slots::{self, SlotError, SlotLayout};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use toml::value::Datetime;
use zeroize::Zeroizing;

/// The file format version this build writes.
pub const FORMAT_VERSION: i64 = 2;
/// The earlier version this build still reads: the state in a `[state]` table.
pub const STATE_TABLE_VERSION: i64 = 1;
/// Upper bound on the file size; a real file is well under 4 KiB.
pub const MAX_FILE_BYTES: usize = 64 * 1024;
/// Upper bound on stored recovery codes.
pub const MAX_RECOVERY_CODES: usize = 100;
/// Longest accepted time step, one day.
pub const MAX_PERIOD: u64 = 86_400;

/// A validated secret file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// The TOTP key.
    pub secret: TotpSecret,
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// One of [`params::ALLOWED_DIGITS`].
    pub digits: u8,
    /// Seconds per time step.
    pub period: u64,
    /// When the enrollment was made.
    pub created: Option<Datetime>,
    /// Unused recovery codes, hashed.
    pub recovery: Vec<RecoveryHash>,
    /// Replay and rate-limit state.
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
    #[error("the file has format version {0}, this pam_totp understands versions {STATE_TABLE_VERSION} and {FORMAT_VERSION}; upgrade pam_totp or re-enroll")]
    UnknownVersion(String),
    /// A version-2 file with a `[state]` table (the state lives in the slots).
    #[error("the file has a [state] table, which version {FORMAT_VERSION} files keep in their state slots; remove the table or re-enroll")]
    StateTable,
    /// The state slots of a version-2 file are missing or damaged.
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
    /// A recovery code entry that is not a known hash form.
    #[error("recovery code entry {0} is not a 'sha256$salt$hash' value")]
    RecoveryCode(usize),
    /// Too many recovery codes.
    #[error("more than {MAX_RECOVERY_CODES} recovery codes")]
    TooManyRecoveryCodes,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
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
    state: Option<LoginState>,
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

impl SecretFile {
    /// A new enrollment with default state.
    pub fn new(secret: TotpSecret, algorithm: Algorithm, digits: u8, period: u64) -> Self {
        SecretFile {
            secret,
            algorithm,
            digits,
            period,
            created: None,
            recovery: Vec::new(),
            state: LoginState::default(),
        }
    }

    /// The TOTP generator for this file, or `None` when a field is out of range (possible only
    /// for a value built by hand, not for one that [`SecretFile::parse`] returned).
    ///
    /// totp-rs's checked `build()` refuses keys under 128 bits, which older google-authenticator
    /// enrollments (80 bits) have; its unchecked `build_noncompliant()` would accept a step of 0
    /// or 10 digits and panic later. So the ranges are checked here, and only then is the
    /// unchecked builder used.
    pub(crate) fn totp(&self) -> Option<totp_rs::Totp> {
        let key = self.secret.as_bytes();
        let sane = params::digits_allowed(self.digits)
            && (1..=MAX_PERIOD).contains(&self.period)
            && (MIN_STORED_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len());
        sane.then(|| {
            totp_rs::Builder::new()
                .with_algorithm(self.algorithm.to_totp_rs())
                .with_digits(self.digits)
                .with_skew(0)
                .with_step_duration(self.period)
                .with_secret(key.to_vec())
                .build_noncompliant()
        })
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
        // A version-2 file's TOML part ends at the delimiter; the slots after it are read by
        // their own rules (a torn slot must not make the whole file unreadable).
        let slots = state_slots::split(bytes);
        let toml_part = match slots {
            Ok((part, _, _)) => part,
            Err(_) => bytes,
        };
        let text = std::str::from_utf8(toml_part).map_err(|_| FileFormatError::NotText)?;
        let table: toml::Table = toml::from_str(text).map_err(|e| syntax(&e))?;
        let version = match table.get("version") {
            None => return Err(FileFormatError::NoVersion),
            Some(toml::Value::Integer(v @ (STATE_TABLE_VERSION | FORMAT_VERSION))) => *v,
            Some(other) => {
                // Shown in a log line: at most 32 characters, no line breaks or controls.
                let start: String = other.to_string().chars().take(32).collect();
                let shown = crate::log_safe::line(&start);
                return Err(FileFormatError::UnknownVersion(shown));
            }
        };
        let raw: RawFile = table.try_into().map_err(|e| syntax(&e))?;
        if version == STATE_TABLE_VERSION {
            return Ok((Self::from_raw(raw)?, None));
        }
        if raw.state.is_some() {
            return Err(FileFormatError::StateTable);
        }
        let (_, offset, slot_len) = slots.map_err(slot_error)?;
        let (state, layout) = state_slots::read(bytes, offset, slot_len).map_err(slot_error)?;
        let mut file = Self::from_raw(raw)?;
        file.state = state;
        Ok((file, Some(layout)))
    }

    /// True when `self` and `other` differ at most in their login state: an update of the
    /// state alone can then be written in place.
    pub fn same_but_state(&self, other: &SecretFile) -> bool {
        // Every field named, so that a field added later cannot be forgotten here (which
        // would let its change be dropped by an in-place state write).
        let SecretFile {
            secret,
            algorithm,
            digits,
            period,
            created,
            recovery,
            state: _,
        } = self;
        *secret == other.secret
            && *algorithm == other.algorithm
            && *digits == other.digits
            && *period == other.period
            && *created == other.created
            && *recovery == other.recovery
    }

    fn from_raw(raw: RawFile) -> Result<Self, FileFormatError> {
        let secret = TotpSecret::from_base32(&raw.secret)?;
        let digits = u8::try_from(raw.digits)
            .ok()
            .filter(|d| params::digits_allowed(*d))
            .ok_or(FileFormatError::Digits(raw.digits))?;
        let period = u64::try_from(raw.period)
            .ok()
            .filter(|p| (1..=MAX_PERIOD).contains(p))
            .ok_or(FileFormatError::Period(raw.period))?;
        if raw.recovery_codes.len() > MAX_RECOVERY_CODES {
            return Err(FileFormatError::TooManyRecoveryCodes);
        }
        let recovery = raw
            .recovery_codes
            .iter()
            .enumerate()
            .map(|(i, t)| RecoveryHash::parse(t).ok_or(FileFormatError::RecoveryCode(i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SecretFile {
            secret,
            algorithm: raw.algorithm,
            digits,
            period,
            created: raw.created,
            recovery,
            state: raw.state.unwrap_or_default(),
        })
    }

    /// The canonical file text (version 2: the TOML part, then the state in slot 0 and an
    /// empty slot 1). It is parsed back and compared before being returned, so a bug here can
    /// never replace a good file with one that would lock the user out.
    pub fn to_toml(&self) -> Result<Zeroizing<String>, FileFormatError> {
        let raw = RawFile {
            version: FORMAT_VERSION,
            secret: self.secret.to_base32(),
            algorithm: self.algorithm,
            digits: i64::from(self.digits),
            period: i64::try_from(self.period).map_err(|_| FileFormatError::Period(-1))?,
            created: self.created,
            recovery_codes: self.recovery.iter().map(RecoveryHash::encode).collect(),
            state: None,
        };
        let body = Zeroizing::new(
            toml::to_string(&raw).map_err(|e| FileFormatError::Syntax(e.to_string()))?,
        );
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

    const KEY: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn minimal() -> String {
        format!("version = 1\nsecret = \"{KEY}\"\n")
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let f = SecretFile::parse(minimal().as_bytes()).unwrap();
        assert_eq!((f.algorithm, f.digits, f.period), (Algorithm::SHA1, 6, 30));
        assert!(f.recovery.is_empty());
        assert_eq!(f.state, LoginState::default());
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
            (f.algorithm, f.digits, f.period),
            (Algorithm::SHA512, 8, 60)
        );
        assert_eq!(f.state.last_step, Some(5));
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
        assert_eq!(f.state.last_step, Some(7));
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
        other.digits = 8;
        assert!(!other.same_but_state(&back));
    }

    #[test]
    fn unknown_versions_and_keys_are_refused() {
        let v3 = minimal().replace("version = 1", "version = 3");
        assert_eq!(
            SecretFile::parse(v3.as_bytes()),
            Err(FileFormatError::UnknownVersion("3".into()))
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
        use crate::verify::{check, Outcome, Policy};
        let text = "version = 1\nsecret = \"2SH3V3GDW7ZNMGYE\"\n";
        let mut f = SecretFile::parse(text.as_bytes()).unwrap();
        assert_eq!(f.secret.bits(), 80);
        assert_eq!(
            SecretFile::parse(f.to_toml().unwrap().as_bytes()),
            Ok(f.clone())
        );
        let totp = f.totp().unwrap();
        assert_eq!(totp.generate(300_000).to_string(), "050548");
        let policy = Policy {
            window: 0,
            rate_limit: RateLimit {
                max_checks: 10,
                seconds: 30,
            },
        };
        assert_eq!(
            check(&mut f, "050548", 300_000, policy),
            Outcome::Accepted {
                step: 10_000,
                drift: 0
            }
        );
        assert_eq!(check(&mut f, "050549", 300_030, policy), Outcome::Wrong);
    }

    /// A file built by hand with values `parse` never returns gets no generator (totp-rs's
    /// unchecked builder would panic on some of them) instead of a panic.
    #[test]
    fn out_of_range_fields_give_no_generator() {
        let good = SecretFile::parse(minimal().as_bytes()).unwrap();
        assert!(good.totp().is_some());
        for (digits, period) in [(10, 30), (7, 30), (0, 30), (6, 0), (6, MAX_PERIOD + 1)] {
            let f = SecretFile {
                digits,
                period,
                ..good.clone()
            };
            assert!(f.totp().is_none(), "{digits} digits, period {period}");
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
}
