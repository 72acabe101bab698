//! The usersfile of pam_oath (liboath's `oath_authenticate_usersfile`), read for one user.
//!
//! Grammar, as liboath 2.6 reads it: one token per line, fields separated by any run of space,
//! tab or carriage return:
//!
//! ```text
//! TYPE USER PIN HEXKEY [COUNTER [LASTOTP [TIME]]]
//! ```
//!
//! - `TYPE`: `HOTP`, `HOTP/E`, `HOTP/E/N` (counter-based, N digits, 6 by default) or
//!   `HOTP/T30`, `HOTP/T60`, `HOTP/T30/N`, `HOTP/T60/N` (time-based, 30 or 60 seconds); N is
//!   6, 7 or 8.
//! - `PIN`: `-` (no password), `+` (the password is checked by another module) or the password
//!   itself in plain text (never kept here).
//! - `HEXKEY`: the key in hex, an even number of digits of either case, at most 32 bytes.
//! - `COUNTER`: decimal. For HOTP lines that pam_oath has written back after a login, it is the
//!   counter of the code that was used (pam_oath's README: `HOTP root - 00` becomes
//!   `HOTP root - 00 0 328482 ...` after the code for counter 0); on hand-written lines without a
//!   `LASTOTP` it is the first counter still to be tried. Checked with Debian's pam_oath 2.6.7:
//!   on `... 5 <code of 5>` it refuses the code of counter 5 and accepts that of 6 (writing
//!   `6 <code of 6>`); on `... 5` alone it accepts the code of counter 5.
//! - `LASTOTP`: the last code accepted (pam_oath refuses it again).
//! - `TIME`: when it was accepted, local time, `YYYY-MM-DDTHH:MM:SSL`.
//!
//! liboath skips every line whose first field is not a known type, which covers comments (`#`)
//! and blank lines; here blank lines and lines whose first field starts with `#` are skipped.
//! Lines of other users are skipped without being checked. A line of the user asked for must
//! be complete and well formed, or parsing fails with its line number: unlike liboath, which
//! would skip a line with an unknown type, because a token that cannot be imported must not be
//! dropped silently. Errors never contain keys, PINs or codes.

use std::fmt;
use thiserror::Error;
use zeroize::Zeroizing;

/// Largest usersfile read: a site-wide file with thousands of users is a few hundred KiB.
pub const MAX_USERSFILE_BYTES: usize = 16 * 1024 * 1024;
/// Most tokens taken for one user.
pub const MAX_ENTRIES_PER_USER: usize = 64;
/// Longest key liboath accepts (its buffer is 32 bytes).
pub const MAX_KEY_BYTES: usize = 32;

/// The field separators of liboath (`" \t\r\n"`).
const SEPARATORS: &[u8] = b" \t\r\n";

/// Why a usersfile cannot be imported.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum UsersfileError {
    /// Larger than [`MAX_USERSFILE_BYTES`].
    #[error("larger than {MAX_USERSFILE_BYTES} bytes; this is not a pam_oath usersfile")]
    TooLarge,
    /// More than [`MAX_ENTRIES_PER_USER`] lines for the user.
    #[error("more than {MAX_ENTRIES_PER_USER} lines for this user; split the file")]
    TooManyEntries,
    /// The user's line has a type that liboath does not know.
    #[error("line {0}: unknown token type; use HOTP, HOTP/E, HOTP/E/N, HOTP/T30, HOTP/T60, HOTP/T30/N or HOTP/T60/N (N = 6, 7 or 8)")]
    UnknownType(usize),
    /// The line ends before the given field.
    #[error("line {line}: the {field} field is missing (format: TYPE USER PIN HEXKEY [COUNTER [LASTOTP [TIME]]])")]
    MissingField {
        /// 1-based line number.
        line: usize,
        /// The field that is missing.
        field: &'static str,
    },
    /// The key is not hex, has an odd number of digits, or is too long.
    #[error("line {0}: the key is not an even number of hex digits of at most {MAX_KEY_BYTES} bytes; fix the line (the key is not shown)")]
    BadKey(usize),
    /// The counter is not a decimal number that fits 64 bits.
    #[error("line {0}: the counter is not a decimal number; fix the line")]
    BadCounter(usize),
    /// The last OTP is not made of digits.
    #[error("line {0}: the last one-time password field is not a number; fix the line")]
    BadLastOtp(usize),
    /// The time is not `YYYY-MM-DDTHH:MM:SSL`.
    #[error("line {0}: the time field is not YYYY-MM-DDTHH:MM:SSL; fix the line")]
    BadTime(usize),
    /// More fields than the format has.
    #[error("line {0}: more than 7 fields; fix the line")]
    ExtraField(usize),
    /// A NUL byte in the user's line (liboath would cut the line there).
    #[error("line {0}: contains a NUL byte; fix the line")]
    NulByte(usize),
}

/// Counter- or time-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OathKind {
    /// RFC 4226, `HOTP` and `HOTP/E...`.
    Hotp {
        /// The `COUNTER` field as written (0 when absent); see [`OathEntry::first_unused_counter`].
        counter: u64,
    },
    /// RFC 6238, `HOTP/T30...` and `HOTP/T60...`.
    Totp {
        /// Seconds per code: 30 or 60.
        period: u64,
    },
}

/// What the `PIN` field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OathPin {
    /// `-`: no password before the code.
    None,
    /// `+`: the password is checked by another module.
    External,
    /// A password in plain text (not kept).
    Password,
}

/// The `TIME` field: local time of the last login, as written (liboath uses the local zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OathTime {
    /// Year.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day, 1 to 31.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute, 0 to 59.
    pub minute: u8,
    /// Second, 0 to 60.
    pub second: u8,
}

/// One line of the user's.
#[derive(Clone, PartialEq, Eq)]
pub struct OathEntry {
    /// 1-based line number in the file.
    pub line: usize,
    /// HOTP with its counter, or TOTP with its period.
    pub kind: OathKind,
    /// Digits per code: 6, 7 or 8.
    pub digits: u8,
    /// The key.
    pub key: Zeroizing<Vec<u8>>,
    /// The `PIN` field.
    pub pin: OathPin,
    /// The last code pam_oath accepted, if recorded.
    pub last_otp: Option<Zeroizing<String>>,
    /// When it was accepted, if recorded.
    pub last_time: Option<OathTime>,
}

impl OathEntry {
    /// For HOTP, the lowest counter whose code pam_oath would still accept: the `COUNTER` field,
    /// or the one after it when a last OTP is recorded (pam_oath writes the counter of the code
    /// it accepted and refuses that code again). `None` for TOTP, or when the counter is at the
    /// 64-bit maximum and already used.
    pub fn first_unused_counter(&self) -> Option<u64> {
        match self.kind {
            OathKind::Hotp { counter } if self.last_otp.is_some() => counter.checked_add(1),
            OathKind::Hotp { counter } => Some(counter),
            OathKind::Totp { .. } => None,
        }
    }
}

impl fmt::Debug for OathEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OathEntry")
            .field("line", &self.line)
            .field("kind", &self.kind)
            .field("digits", &self.digits)
            .field("key", &format_args!("<{} bytes>", self.key.len()))
            .field("pin", &self.pin)
            .field("last_otp", &self.last_otp.as_ref().map(|_| "<set>"))
            .field("last_time", &self.last_time)
            .finish()
    }
}

/// The entries of `user` in the usersfile `bytes`, in file order (pam_oath tries them in that
/// order). An empty list means the user has no line.
pub fn parse_for_user(bytes: &[u8], user: &str) -> Result<Vec<OathEntry>, UsersfileError> {
    if bytes.len() > MAX_USERSFILE_BYTES {
        return Err(UsersfileError::TooLarge);
    }
    let mut entries = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let mut fields = raw
            .split(|b| SEPARATORS.contains(b))
            .filter(|f| !f.is_empty());
        let Some(kind_field) = fields.next() else {
            continue;
        };
        if kind_field.starts_with(b"#") {
            continue;
        }
        if fields.next() != Some(user.as_bytes()) {
            continue;
        }
        if raw.contains(&0) {
            return Err(UsersfileError::NulByte(line));
        }
        let (kind, digits) = parse_type(kind_field).ok_or(UsersfileError::UnknownType(line))?;
        if entries.len() == MAX_ENTRIES_PER_USER {
            return Err(UsersfileError::TooManyEntries);
        }
        entries.push(parse_rest(line, kind, digits, &mut fields)?);
    }
    Ok(entries)
}

/// The fields after `TYPE USER`.
fn parse_rest<'a>(
    line: usize,
    kind: OathKind,
    digits: u8,
    fields: &mut impl Iterator<Item = &'a [u8]>,
) -> Result<OathEntry, UsersfileError> {
    let missing = |field| UsersfileError::MissingField { line, field };
    let pin = match fields.next().ok_or_else(|| missing("PIN"))? {
        b"-" => OathPin::None,
        b"+" => OathPin::External,
        _ => OathPin::Password,
    };
    let key = parse_hex(fields.next().ok_or_else(|| missing("HEXKEY"))?)
        .ok_or(UsersfileError::BadKey(line))?;
    let counter = match fields.next() {
        Some(field) => parse_decimal(field).ok_or(UsersfileError::BadCounter(line))?,
        None => 0,
    };
    let last_otp = match fields.next() {
        Some(field) if !field.is_empty() && field.iter().all(u8::is_ascii_digit) => {
            Some(Zeroizing::new(String::from_utf8_lossy(field).into_owned()))
        }
        Some(_) => return Err(UsersfileError::BadLastOtp(line)),
        None => None,
    };
    let last_time = match fields.next() {
        Some(field) => Some(parse_time(field).ok_or(UsersfileError::BadTime(line))?),
        None => None,
    };
    if fields.next().is_some() {
        return Err(UsersfileError::ExtraField(line));
    }
    let kind = match kind {
        OathKind::Hotp { .. } => OathKind::Hotp { counter },
        totp @ OathKind::Totp { .. } => totp,
    };
    Ok(OathEntry {
        line,
        kind,
        digits,
        key,
        pin,
        last_otp,
        last_time,
    })
}

/// `TYPE` as liboath's `parse_type` reads it: the kind (HOTP counter still 0) and the digits.
fn parse_type(field: &[u8]) -> Option<(OathKind, u8)> {
    let text = std::str::from_utf8(field).ok()?;
    let (kind, digits) = match text {
        "HOTP" | "HOTP/E" => return Some((OathKind::Hotp { counter: 0 }, 6)),
        "HOTP/T30" => return Some((OathKind::Totp { period: 30 }, 6)),
        "HOTP/T60" => return Some((OathKind::Totp { period: 60 }, 6)),
        _ => {
            let (prefix, digits) = text.rsplit_once('/')?;
            let kind = match prefix {
                "HOTP/E" => OathKind::Hotp { counter: 0 },
                "HOTP/T30" => OathKind::Totp { period: 30 },
                "HOTP/T60" => OathKind::Totp { period: 60 },
                _ => return None,
            };
            (kind, digits)
        }
    };
    match digits {
        "6" => Some((kind, 6)),
        "7" => Some((kind, 7)),
        "8" => Some((kind, 8)),
        _ => None,
    }
}

/// Hex of either case, an even number of digits, 1 to [`MAX_KEY_BYTES`] bytes.
fn parse_hex(field: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if field.len() > 2 * MAX_KEY_BYTES {
        return None;
    }
    pam_totp_core::hex::decode(field).map(Zeroizing::new)
}

/// ASCII digits only (no sign, no spaces), fitting 64 bits.
fn parse_decimal(field: &[u8]) -> Option<u64> {
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SSL`, each part in range.
fn parse_time(field: &[u8]) -> Option<OathTime> {
    let text = std::str::from_utf8(field).ok()?;
    let rest = text.strip_suffix('L')?;
    let (date, time) = rest.split_once('T')?;
    let mut date = date.split('-');
    let mut time = time.split(':');
    let number = |part: Option<&str>, width: usize| -> Option<u16> {
        let part = part.filter(|p| p.len() == width && p.bytes().all(|b| b.is_ascii_digit()))?;
        part.parse().ok()
    };
    let small = |part: Option<&str>, max: u8| -> Option<u8> {
        u8::try_from(number(part, 2)?).ok().filter(|v| *v <= max)
    };
    let parsed = OathTime {
        year: number(date.next(), 4)?,
        month: small(date.next(), 12).filter(|m| *m >= 1)?,
        day: small(date.next(), 31).filter(|d| *d >= 1)?,
        hour: small(time.next(), 23)?,
        minute: small(time.next(), 59)?,
        second: small(time.next(), 60)?,
    };
    if date.next().is_some() || time.next().is_some() {
        return None;
    }
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A usersfile as pam_oath leaves it: hand-written lines, and lines it rewrote after a login
    /// (tab-separated, all seven fields). Alice's first line records the code of counter 5 of
    /// RFC 4226's key (`oathtool --hotp -c 5 3132...3930` prints 254676).
    const SAMPLE: &str = "\
# pam_oath users, see pam_oath's README
HOTP root - 00

HOTP\talice\t-\t3132333435363738393031323334353637383930\t5\t254676\t2026-11-30T08:15:02L
HOTP/T30 alice + 3132333435363738393031323334353637383930
HOTP/T60/8 bob secretpw 3132333435363738393031323334353637383930 0
  HOTP/E/8   alice   hunter2   0A0b0C0d0E0f00112233  17
";

    #[test]
    fn reads_the_users_lines_in_order() {
        let entries = parse_for_user(SAMPLE.as_bytes(), "alice").unwrap();
        assert_eq!(entries.len(), 3);
        let [written, totp, hand] = &entries[..] else {
            panic!("three entries")
        };
        assert_eq!(written.line, 4);
        assert_eq!(written.kind, OathKind::Hotp { counter: 5 });
        assert_eq!(written.digits, 6);
        assert_eq!(written.key.as_slice(), b"12345678901234567890");
        assert_eq!(written.pin, OathPin::None);
        assert_eq!(
            written.last_otp.as_deref().map(String::as_str),
            Some("254676")
        );
        assert_eq!(
            written.last_time,
            Some(OathTime {
                year: 2026,
                month: 11,
                day: 30,
                hour: 8,
                minute: 15,
                second: 2
            })
        );
        assert_eq!(written.first_unused_counter(), Some(6));

        assert_eq!(totp.kind, OathKind::Totp { period: 30 });
        assert_eq!(totp.pin, OathPin::External);
        assert_eq!(totp.last_otp, None);
        assert_eq!(totp.first_unused_counter(), None);

        assert_eq!(hand.line, 7);
        assert_eq!(hand.kind, OathKind::Hotp { counter: 17 });
        assert_eq!(hand.digits, 8);
        assert_eq!(
            hand.key.as_slice(),
            [0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x00, 0x11, 0x22, 0x33]
        );
        assert_eq!(hand.pin, OathPin::Password);
        assert_eq!(hand.first_unused_counter(), Some(17));
    }

    #[test]
    fn a_line_written_by_pam_oath() {
        // Written by Debian's pam_oath 2.6.7 after accepting the code of counter 6
        // (`oathtool --hotp -c 6 3132...3930` = 287922).
        let text = "HOTP\troot\t-\t3132333435363738393031323334353637383930\t6\t287922\t2026-12-01T09:43:04L\n";
        let entries = parse_for_user(text.as_bytes(), "root").unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].kind, OathKind::Hotp { counter: 6 });
        assert_eq!(entries[0].first_unused_counter(), Some(7));
        assert_eq!(
            entries[0].last_time.map(|t| (t.hour, t.minute, t.second)),
            Some((9, 43, 4))
        );
    }

    #[test]
    fn other_users_and_unknown_users() {
        let root = parse_for_user(SAMPLE.as_bytes(), "root").unwrap();
        assert_eq!(root.len(), 1);
        assert_eq!(root[0].key.as_slice(), [0]);
        assert_eq!(root[0].kind, OathKind::Hotp { counter: 0 });
        assert_eq!(root[0].first_unused_counter(), Some(0));
        let bob = parse_for_user(SAMPLE.as_bytes(), "bob").unwrap();
        assert_eq!(bob[0].kind, OathKind::Totp { period: 60 });
        assert_eq!(bob[0].digits, 8);
        assert!(parse_for_user(SAMPLE.as_bytes(), "carol")
            .unwrap()
            .is_empty());
        // A prefix of a user name is another user.
        assert!(parse_for_user(SAMPLE.as_bytes(), "alic")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn every_type() {
        let cases = [
            ("HOTP", OathKind::Hotp { counter: 0 }, 6),
            ("HOTP/E", OathKind::Hotp { counter: 0 }, 6),
            ("HOTP/E/6", OathKind::Hotp { counter: 0 }, 6),
            ("HOTP/E/7", OathKind::Hotp { counter: 0 }, 7),
            ("HOTP/E/8", OathKind::Hotp { counter: 0 }, 8),
            ("HOTP/T30", OathKind::Totp { period: 30 }, 6),
            ("HOTP/T30/6", OathKind::Totp { period: 30 }, 6),
            ("HOTP/T30/7", OathKind::Totp { period: 30 }, 7),
            ("HOTP/T30/8", OathKind::Totp { period: 30 }, 8),
            ("HOTP/T60", OathKind::Totp { period: 60 }, 6),
            ("HOTP/T60/6", OathKind::Totp { period: 60 }, 6),
            ("HOTP/T60/7", OathKind::Totp { period: 60 }, 7),
            ("HOTP/T60/8", OathKind::Totp { period: 60 }, 8),
        ];
        for (kind, expected, digits) in cases {
            let text = format!("{kind} u - 00ff\n");
            let entries = parse_for_user(text.as_bytes(), "u").unwrap();
            assert_eq!(entries.len(), 1, "{kind}");
            assert_eq!(entries[0].kind, expected, "{kind}");
            assert_eq!(entries[0].digits, digits, "{kind}");
        }
        for bad in [
            "HOTP/E/9",
            "HOTP/E/",
            "HOTP/T30/5",
            "HOTP/T45",
            "HOTP/T300",
            "TOTP",
            "hotp",
            "HOTP/T",
            "HOTP/E/8/8",
        ] {
            let text = format!("{bad} u - 00ff\n");
            assert_eq!(
                parse_for_user(text.as_bytes(), "u").unwrap_err(),
                UsersfileError::UnknownType(1),
                "{bad}"
            );
            // The same line of another user is skipped, as liboath does.
            assert!(parse_for_user(text.as_bytes(), "v").unwrap().is_empty());
        }
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let err = |text: &str| parse_for_user(text.as_bytes(), "u").unwrap_err();
        let missing = |line, field| UsersfileError::MissingField { line, field };
        assert_eq!(err("\n\nHOTP u\n"), missing(3, "PIN"));
        assert_eq!(err("HOTP u -\n"), missing(1, "HEXKEY"));
        assert_eq!(err("HOTP u - 0\n"), UsersfileError::BadKey(1));
        assert_eq!(err("HOTP u - 0g\n"), UsersfileError::BadKey(1));
        assert_eq!(err("HOTP u - 0x00\n"), UsersfileError::BadKey(1));
        assert_eq!(
            err(&format!("HOTP u - {}\n", "00".repeat(33))),
            UsersfileError::BadKey(1)
        );
        assert_eq!(err("HOTP u - 00 -1\n"), UsersfileError::BadCounter(1));
        assert_eq!(err("HOTP u - 00 +1\n"), UsersfileError::BadCounter(1));
        assert_eq!(err("HOTP u - 00 1x\n"), UsersfileError::BadCounter(1));
        assert_eq!(
            err("HOTP u - 00 18446744073709551616\n"),
            UsersfileError::BadCounter(1)
        );
        assert_eq!(err("HOTP u - 00 1 12a456\n"), UsersfileError::BadLastOtp(1));
        for time in [
            "2026-11-30T08:15:02",
            "2026-11-30 08:15:02L",
            "2026-13-30T08:15:02L",
            "2026-00-30T08:15:02L",
            "2026-11-30T24:15:02L",
            "2026-11-30T08:60:02L",
            "26-11-30T08:15:02L",
            "2026-11-30T08:15L",
            "2026-11-30T08:15:02:01L",
        ] {
            assert_eq!(
                err(&format!("HOTP u - 00 1 123456 {time}\n")),
                UsersfileError::BadTime(1),
                "{time}"
            );
        }
        assert_eq!(
            err("HOTP u - 00 1 123456 2026-11-30T08:15:02L extra\n"),
            UsersfileError::ExtraField(1)
        );
        assert_eq!(err("HOTP u - 00\0\n"), UsersfileError::NulByte(1));
        // Bad lines of other users do not matter.
        assert!(parse_for_user(b"HOTP v - zz\nHOTP/T30 w\n", "u")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn comments_are_skipped() {
        let text = "#HOTP u - 00\n  # HOTP u - 00\n#\n\t\r\nHOTP/T30 u - 0102 # not a comment\n";
        // A comment is skipped even when it is a line of the user's; a `#` after the fields is
        // a field (liboath has no trailing comments).
        assert_eq!(
            parse_for_user(text.as_bytes(), "u").unwrap_err(),
            UsersfileError::BadCounter(5)
        );
        let text = "#HOTP u - 00\n  # HOTP u - zz\nHOTP/T30 u - 0102\n";
        let entries = parse_for_user(text.as_bytes(), "u").unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].line, 3);
    }

    #[test]
    fn max_values_and_crlf() {
        let text = format!(
            "HOTP/E/8 u - {} 18446744073709551615 12345678 2026-01-01T00:00:00L\r\n",
            "Ab".repeat(MAX_KEY_BYTES)
        );
        let entries = parse_for_user(text.as_bytes(), "u").unwrap();
        assert_eq!(entries[0].key.len(), MAX_KEY_BYTES);
        assert_eq!(entries[0].kind, OathKind::Hotp { counter: u64::MAX });
        // The code of the last counter was used: none is left.
        assert_eq!(entries[0].first_unused_counter(), None);
    }

    #[test]
    fn limits() {
        let many = "HOTP u - 00\n".repeat(MAX_ENTRIES_PER_USER);
        assert_eq!(
            parse_for_user(many.as_bytes(), "u").unwrap().len(),
            MAX_ENTRIES_PER_USER
        );
        let too_many = format!("{many}HOTP u - 00\n");
        assert_eq!(
            parse_for_user(too_many.as_bytes(), "u").unwrap_err(),
            UsersfileError::TooManyEntries
        );
        let huge = vec![b'#'; MAX_USERSFILE_BYTES + 1];
        assert_eq!(
            parse_for_user(&huge, "u").unwrap_err(),
            UsersfileError::TooLarge
        );
    }

    #[test]
    fn errors_and_debug_never_show_secrets() {
        let text = "HOTP u hunter2 3132333435363738393031323334353637383930 1 755224\n";
        let entry = &parse_for_user(text.as_bytes(), "u").unwrap()[0];
        let debug = format!("{entry:?}");
        for secret in ["hunter2", "3132", "755224", "[49, 50"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        let bad = "HOTP u hunter2 31323g 1\n";
        let message = parse_for_user(bad.as_bytes(), "u").unwrap_err().to_string();
        assert!(!message.contains("hunter2") && !message.contains("31323g"));
    }
}
