//! The `~/.google_authenticator` file of google-authenticator-libpam, and its conversion into
//! a pam_totp secret file.
//!
//! Format: the first line is the base32 key; lines starting with `" ` are options
//! (`" TOTP_AUTH`, `" HOTP_COUNTER n`, `" WINDOW_SIZE n`, `" RATE_LIMIT n m [times...]`,
//! `" DISALLOW_REUSE [steps...]`, `" STEP_SIZE n`, `" TIME_SKEW n`); every other line is an
//! 8-digit scratch code. Error messages give line numbers, never file contents.

use pam_totp_core::params::{
    RateLimit, DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD, DEFAULT_RATE_LIMIT,
    DEFAULT_WINDOW, MAX_WINDOW,
};
use pam_totp_core::recovery::{RecoveryHash, SALT_BYTES};
use pam_totp_core::secret::{SecretError, TotpSecret};
use pam_totp_core::secret_file::{datetime_from_unix, SecretFile, MAX_PERIOD, MAX_RECOVERY_CODES};
use pam_totp_store::bounded;
use std::path::Path;
use thiserror::Error;
use zeroize::Zeroizing;

/// Largest google-authenticator file read (real ones are a few hundred bytes).
pub const MAX_GA_FILE_BYTES: usize = 64 * 1024;
/// Length of google-authenticator scratch codes.
pub const SCRATCH_CODE_DIGITS: usize = 8;
/// google-authenticator's `WINDOW_SIZE` when the file has none: the current code and one
/// either side.
const DEFAULT_WINDOW_SIZE: u32 = 3;

/// Why a google-authenticator file cannot be imported.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum GaError {
    /// Larger than [`MAX_GA_FILE_BYTES`].
    #[error("larger than {MAX_GA_FILE_BYTES} bytes; this is not a google-authenticator file")]
    TooLarge,
    /// Not UTF-8.
    #[error("not a text file; this is not a google-authenticator file")]
    NotText,
    /// A FIFO, device or directory.
    #[error("not a regular file")]
    NotRegular,
    /// No key on the first line.
    #[error("no key on the first line; this is not a google-authenticator file")]
    NoSecret,
    /// The key is not base32.
    #[error("the key on line 1 is not valid base32; this is not a google-authenticator file")]
    BadSecret,
    /// The key has fewer than 80 bits (no google-authenticator version made such keys).
    #[error("the key has only {0} bits and pam_totp needs at least 80; this phone entry cannot be kept: enroll the user afresh with `totp-enroll enroll` and scan the new QR code")]
    ShortSecret(usize),
    /// The key is absurdly long.
    #[error("the key has {0} bits, more than pam_totp accepts; enroll the user afresh with `totp-enroll enroll`")]
    LongSecret(usize),
    /// Counter-based (HOTP) file.
    #[error("this is a counter-based (HOTP) file; HOTP is not supported yet: enroll the user with `totp-enroll enroll` (time-based)")]
    Hotp,
    /// An option with a bad value.
    #[error("line {line}: bad value for option {name}")]
    BadOption {
        /// 1-based line number.
        line: usize,
        /// The option name.
        name: &'static str,
    },
    /// A line that is neither an option nor a scratch code.
    #[error(
        "line {0} is neither an option (\" NAME) nor an {SCRATCH_CODE_DIGITS}-digit scratch code"
    )]
    BadLine(usize),
    /// More scratch codes than a secret file can hold.
    #[error("more than {MAX_RECOVERY_CODES} scratch codes")]
    TooManyCodes,
    /// A step size pam_totp does not accept.
    #[error("STEP_SIZE {} is out of range (1 to {MAX_PERIOD} seconds)", shown_step(*.0))]
    StepSize(u64),
    /// The random number generator failed (for salts).
    #[error("cannot get random bytes from the kernel: {0}")]
    Random(String),
}

/// An out-of-range STEP_SIZE as a message shows it: the number when it is short, else only its
/// length. A long run of digits 2-7 could be the key itself (base32 has those digits), and
/// messages never repeat the key.
fn shown_step(step: u64) -> String {
    const SHOWN_BELOW: u64 = 1_000_000;
    if step < SHOWN_BELOW {
        step.to_string()
    } else {
        format!("of {} digits", step.to_string().len())
    }
}

/// A parsed google-authenticator file.
#[derive(Debug, Default)]
pub struct GaFile {
    /// The base32 key as written.
    pub secret: Zeroizing<String>,
    /// `" TOTP_AUTH` was present.
    pub totp_auth: bool,
    /// `" HOTP_COUNTER n`: a counter-based file.
    pub hotp_counter: Option<u64>,
    /// `" WINDOW_SIZE n`: codes accepted in total (3 = now and one either side).
    pub window_size: Option<u32>,
    /// `" RATE_LIMIT n m`: n logins per m seconds.
    pub rate_limit: Option<(u32, u64)>,
    /// `" DISALLOW_REUSE`, with the time steps already used.
    pub disallow_reuse: Option<Vec<u64>>,
    /// `" STEP_SIZE n`: seconds per code.
    pub step_size: Option<u64>,
    /// `" TIME_SKEW n` (seconds google-authenticator learned the phone is off); not carried over.
    pub time_skew: bool,
    /// Names of options this tool does not know (values are not kept).
    pub unknown_options: Vec<String>,
    /// The unused scratch codes.
    pub scratch_codes: Vec<Zeroizing<String>>,
}

/// Parses the file contents.
pub fn parse(bytes: &[u8]) -> Result<GaFile, GaError> {
    if bytes.len() > MAX_GA_FILE_BYTES {
        return Err(GaError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| GaError::NotText)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or_default().trim();
    if first.is_empty() || first.starts_with('"') {
        return Err(GaError::NoSecret);
    }
    let mut file = GaFile {
        secret: Zeroizing::new(first.to_string()),
        ..GaFile::default()
    };
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        if let Some(option) = line.strip_prefix('"') {
            parse_option(&mut file, option, number)?;
        } else if line.trim().is_empty() {
            continue;
        } else {
            let code = line.trim();
            if code.len() != SCRATCH_CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(GaError::BadLine(number));
            }
            if file.scratch_codes.len() >= MAX_RECOVERY_CODES {
                return Err(GaError::TooManyCodes);
            }
            file.scratch_codes.push(Zeroizing::new(code.to_string()));
        }
    }
    Ok(file)
}

fn parse_option(file: &mut GaFile, option: &str, line: usize) -> Result<(), GaError> {
    let mut words = option.split_whitespace();
    let Some(name) = words.next() else {
        return Ok(()); // a bare `"` line: a comment
    };
    let args: Vec<&str> = words.collect();
    fn num<T: std::str::FromStr>(
        arg: Option<&&str>,
        line: usize,
        name: &'static str,
    ) -> Result<T, GaError> {
        arg.and_then(|a| a.parse().ok())
            .ok_or(GaError::BadOption { line, name })
    }
    match name {
        "TOTP_AUTH" => file.totp_auth = true,
        "HOTP_COUNTER" => file.hotp_counter = Some(num(args.first(), line, "HOTP_COUNTER")?),
        "WINDOW_SIZE" => {
            let n: u32 = num(args.first(), line, "WINDOW_SIZE")?;
            if n == 0 {
                return Err(GaError::BadOption {
                    line,
                    name: "WINDOW_SIZE",
                });
            }
            file.window_size = Some(n);
        }
        "RATE_LIMIT" => {
            let n: u32 = num(args.first(), line, "RATE_LIMIT")?;
            let m: u64 = num(args.get(1), line, "RATE_LIMIT")?;
            if n == 0 || m == 0 {
                return Err(GaError::BadOption {
                    line,
                    name: "RATE_LIMIT",
                });
            }
            // Later words are timestamps of recent logins: not carried over.
            file.rate_limit = Some((n, m));
        }
        "DISALLOW_REUSE" => {
            let used = args
                .iter()
                .map(|a| {
                    a.parse::<u64>().map_err(|_| GaError::BadOption {
                        line,
                        name: "DISALLOW_REUSE",
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            file.disallow_reuse = Some(used);
        }
        "STEP_SIZE" => file.step_size = Some(num(args.first(), line, "STEP_SIZE")?),
        "TIME_SKEW" | "RESETTING_TIME_SKEW" => file.time_skew = true,
        other => {
            let shown: String = other
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            file.unknown_options.push(shown);
        }
    }
    Ok(())
}

/// The pam_totp file made from a google-authenticator file, and notes for the administrator.
#[derive(Debug)]
pub struct Converted {
    /// The new secret file (SHA1, 6 digits, the old step size, scratch codes as recovery codes).
    /// Its key may be shorter than a new enrollment's (80 bits from older google-authenticator
    /// versions): see [`TotpSecret::is_below_new_minimum`].
    pub file: SecretFile,
    /// What the administrator should know: pam.d options, dropped state.
    pub notes: Vec<String>,
}

/// Converts a parsed file at Unix time `now`; `random` fills salts.
pub fn convert(
    ga: &GaFile,
    now: u64,
    mut random: impl FnMut(&mut [u8]) -> Result<(), String>,
) -> Result<Converted, GaError> {
    if ga.hotp_counter.is_some() {
        return Err(GaError::Hotp);
    }
    let secret = TotpSecret::from_base32(&ga.secret).map_err(|e| match e {
        SecretError::NotBase32 => GaError::BadSecret,
        SecretError::TooShort(bits) | SecretError::TooShortForNew(bits) => {
            GaError::ShortSecret(bits)
        }
        SecretError::TooLong(bits) => GaError::LongSecret(bits),
    })?;
    // google-authenticator's default STEP_SIZE is RFC 6238's, ours.
    let period = ga.step_size.unwrap_or(DEFAULT_PERIOD);
    if !(1..=MAX_PERIOD).contains(&period) {
        return Err(GaError::StepSize(period));
    }
    // google-authenticator files have no algorithm or digits settings: the defaults.
    let mut file = SecretFile::new(secret, DEFAULT_ALGORITHM, DEFAULT_DIGITS, period);
    file.created = datetime_from_unix(now);
    for code in &ga.scratch_codes {
        let mut salt = [0u8; SALT_BYTES];
        random(&mut salt).map_err(GaError::Random)?;
        // 8 digits always normalise; a failure here would be a bug, and is refused.
        let hash = RecoveryHash::new(salt, code).ok_or(GaError::BadLine(0))?;
        file.recovery.push(hash);
    }
    let mut notes = Vec::new();
    let current = now / period;
    match &ga.disallow_reuse {
        Some(used) => {
            // Keep google-authenticator's replay protection: codes already used stay used.
            if let Some(last) = used.iter().copied().filter(|s| *s <= current + 1).max() {
                file.set_mark(0, last);
            }
        }
        None => notes.push(
            "the google-authenticator file allowed reusing a code (no DISALLOW_REUSE); pam_totp always refuses a code used before"
                .to_string(),
        ),
    }
    let window_size = ga.window_size.unwrap_or(DEFAULT_WINDOW_SIZE);
    let window = window_size.saturating_sub(1) / 2;
    if window > MAX_WINDOW {
        notes.push(format!(
            "google-authenticator WINDOW_SIZE {window_size} would be window={window}; pam_totp accepts at most window={MAX_WINDOW}: put window={MAX_WINDOW} (or less) on the pam.d line"
        ));
    } else if window != DEFAULT_WINDOW {
        notes.push(format!(
            "google-authenticator WINDOW_SIZE {window_size} corresponds to window={window}: put it on the pam_totp line in pam.d (the default is window={DEFAULT_WINDOW})"
        ));
    }
    match ga.rate_limit.map(|(max_checks, seconds)| RateLimit {
        max_checks,
        seconds,
    }) {
        Some(limit) if limit != DEFAULT_RATE_LIMIT => notes.push(format!(
            "google-authenticator RATE_LIMIT {} {} corresponds to rate_limit={limit}: put it on the pam_totp line in pam.d (the default is {DEFAULT_RATE_LIMIT})",
            limit.max_checks, limit.seconds
        )),
        Some(_) => {}
        None => notes.push(format!(
            "the google-authenticator file had no rate limit; pam_totp always limits code checks (default rate_limit={DEFAULT_RATE_LIMIT})"
        )),
    }
    if ga.time_skew {
        notes.push("the clock skew google-authenticator had learned for this phone is not carried over; if codes fail, check the phone's clock".to_string());
    }
    if !ga.totp_auth {
        notes.push("the file had no TOTP_AUTH line; it was read as time-based".to_string());
    }
    for name in &ga.unknown_options {
        notes.push(format!(
            "unknown google-authenticator option {name} ignored"
        ));
    }
    Ok(Converted { file, notes })
}

/// Deterministic salts for [`convert`] (bytes 1, 2, 3, ... wrapping), so that a conversion can
/// be repeated exactly: for the unit tests and the fuzz target (feature `deterministic-salts`),
/// never for a file that is kept.
#[cfg(any(test, feature = "deterministic-salts"))]
pub fn counting_salts() -> impl FnMut(&mut [u8]) -> Result<(), String> {
    let mut n = 0u8;
    move |buf: &mut [u8]| {
        for b in buf.iter_mut() {
            n = n.wrapping_add(1);
            *b = n;
        }
        Ok(())
    }
}

/// Reads a google-authenticator file without following a symlink at its last component,
/// without blocking on a FIFO, and at most [`MAX_GA_FILE_BYTES`]. The caller picks the
/// filesystem identity (root reads another user's file as that user).
pub fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let from = |e: bounded::ReadError| match e {
        bounded::ReadError::Io(e) => ReadError::Io(e),
        bounded::ReadError::Changed => ReadError::Io(std::io::Error::other(
            "the file changed while being read; try again",
        )),
        bounded::ReadError::NotRegular => ReadError::Format(GaError::NotRegular),
        bounded::ReadError::TooLarge(_) => ReadError::Format(GaError::TooLarge),
    };
    let (mut file, _) = bounded::open_regular(path).map_err(from)?;
    bounded::read_bounded(&mut file, MAX_GA_FILE_BYTES).map_err(from)
}

/// Why reading the file failed.
#[derive(Debug)]
pub enum ReadError {
    /// open/read failed (ELOOP: a symlink).
    Io(std::io::Error),
    /// The file is not acceptable.
    Format(GaError),
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY160: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    /// `text` parsed and converted at `now`.
    fn converted(text: &str, now: u64) -> Result<Converted, GaError> {
        convert(&parse(text.as_bytes()).unwrap(), now, counting_salts())
    }

    #[test]
    fn parses_a_typical_file() {
        let text = format!(
            "{KEY160}\n\" RATE_LIMIT 3 30 1700000000 1700000001\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE 56666666 56666667\n\" TOTP_AUTH\n21815126\n46859078\n"
        );
        let ga = parse(text.as_bytes()).unwrap();
        assert_eq!(ga.secret.as_str(), KEY160);
        assert!(ga.totp_auth);
        assert_eq!(ga.rate_limit, Some((3, 30)));
        assert_eq!(ga.window_size, Some(17));
        assert_eq!(ga.disallow_reuse, Some(vec![56_666_666, 56_666_667]));
        assert_eq!(ga.scratch_codes.len(), 2);
        assert_eq!(ga.scratch_codes[1].as_str(), "46859078");
    }

    #[test]
    fn converts_with_notes() {
        let text = format!(
            "{KEY160}\n\" RATE_LIMIT 5 60\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE 56666666\n\" STEP_SIZE 60\n\" TOTP_AUTH\n21815126\n46859078\n"
        );
        let ga = parse(text.as_bytes()).unwrap();
        let now = 56_666_667 * 60 + 5;
        let c = convert(&ga, now, counting_salts()).unwrap();
        assert_eq!(c.file.first_token().period().unwrap(), 60);
        assert_eq!(
            (c.file.first_token().algorithm, c.file.first_token().digits),
            (pam_totp_core::secret_file::Algorithm::SHA1, 6)
        );
        assert_eq!(
            c.file.first_token().secret.as_bytes(),
            b"12345678901234567890"
        );
        assert_eq!(c.file.recovery.len(), 2);
        assert_eq!(
            pam_totp_core::recovery::find(&c.file.recovery, "46859078"),
            Some(1)
        );
        assert_eq!(c.file.state.marks[0], Some(56_666_666));
        assert!(c.file.created.is_some());
        let notes = c.notes.join("\n");
        assert!(notes.contains("window=8"), "{notes}");
        assert!(notes.contains("rate_limit=5/60"), "{notes}");
        // The file must be writable as is.
        assert!(c.file.to_toml().is_ok());
    }

    #[test]
    fn defaults_give_no_window_note() {
        let text = format!(
            "{KEY160}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"
        );
        let c = converted(&text, 1_700_000_000).unwrap();
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        assert_eq!(c.file.state.marks[0], None);
        assert!(c.file.recovery.is_empty());
    }

    #[test]
    fn huge_window_is_capped_in_the_note() {
        let text = format!(
            "{KEY160}\n\" WINDOW_SIZE 23\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n\" RATE_LIMIT 3 30\n"
        );
        let c = converted(&text, 1_700_000_000).unwrap();
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains(&format!("at most window={MAX_WINDOW}"))),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn future_reuse_steps_are_ignored() {
        let text = format!("{KEY160}\n\" DISALLOW_REUSE 99999999999\n\" TOTP_AUTH\n");
        let c = converted(&text, 1_700_000_000).unwrap();
        assert_eq!(c.file.state.marks[0], None);
    }

    /// Older google-authenticator versions made 80-bit keys: they are imported as they are.
    #[test]
    fn an_80_bit_key_is_imported() {
        let text = "2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n21815126\n46859078\n";
        let c = converted(text, 300_000).unwrap();
        assert_eq!(c.file.first_token().secret.bits(), 80);
        assert!(c.file.first_token().secret.is_below_new_minimum());
        assert_eq!(
            c.file.first_token().secret.to_base32().as_str(),
            "2SH3V3GDW7ZNMGYE"
        );
        assert_eq!(c.file.recovery.len(), 2);
        // The file can be written and read back (the module reads it the same way).
        let written = c.file.to_toml().unwrap();
        assert_eq!(SecretFile::parse(written.as_bytes()).unwrap(), c.file);
    }

    #[test]
    fn hotp_and_short_keys_are_refused() {
        let hotp = format!("{KEY160}\n\" HOTP_COUNTER 1\n12345678\n");
        assert_eq!(converted(&hotp, 0).unwrap_err(), GaError::Hotp);
        // 40 bits: shorter than any google-authenticator key.
        let short = "GEZDGNBV\n\" TOTP_AUTH\n";
        let err = converted(short, 0).unwrap_err();
        assert_eq!(err, GaError::ShortSecret(40));
        assert!(err.to_string().contains("totp-enroll enroll"));
        let bad = "NOT*BASE32\n";
        assert_eq!(converted(bad, 0).unwrap_err(), GaError::BadSecret);
    }

    #[test]
    fn malformed_files_are_refused_without_echo() {
        assert_eq!(parse(b"").unwrap_err(), GaError::NoSecret);
        assert_eq!(parse(b"\" TOTP_AUTH\n").unwrap_err(), GaError::NoSecret);
        assert_eq!(parse(&[0xff, 0xfe]).unwrap_err(), GaError::NotText);
        let err = parse(format!("{KEY160}\nsecret-stuff\n").as_bytes()).unwrap_err();
        assert_eq!(err, GaError::BadLine(2));
        assert!(!err.to_string().contains("secret-stuff"));
        assert_eq!(
            parse(format!("{KEY160}\n1234567\n").as_bytes()).unwrap_err(),
            GaError::BadLine(2)
        );
        assert_eq!(
            parse(format!("{KEY160}\n\" WINDOW_SIZE x\n").as_bytes()).unwrap_err(),
            GaError::BadOption {
                line: 2,
                name: "WINDOW_SIZE"
            }
        );
        assert_eq!(
            parse(format!("{KEY160}\n\" RATE_LIMIT 3\n").as_bytes()).unwrap_err(),
            GaError::BadOption {
                line: 2,
                name: "RATE_LIMIT"
            }
        );
        let many = format!("{KEY160}\n{}", "12345678\n".repeat(MAX_RECOVERY_CODES + 1));
        assert_eq!(parse(many.as_bytes()).unwrap_err(), GaError::TooManyCodes);
        assert_eq!(
            parse(&vec![b'A'; MAX_GA_FILE_BYTES + 1]).unwrap_err(),
            GaError::TooLarge
        );
    }

    #[test]
    fn crlf_blank_lines_and_unknown_options() {
        let text =
            format!("{KEY160}\r\n\" TOTP_AUTH\r\n\" FUTURE_THING 1 2\r\n\"\r\n\r\n12345678\r\n");
        let ga = parse(text.as_bytes()).unwrap();
        assert_eq!(ga.scratch_codes.len(), 1);
        assert_eq!(ga.unknown_options, vec!["FUTURE_THING".to_string()]);
        let c = convert(&ga, 1_700_000_000, counting_salts()).unwrap();
        assert!(c.notes.iter().any(|n| n.contains("FUTURE_THING")));
    }

    #[test]
    fn bad_step_size_is_refused() {
        let text = format!("{KEY160}\n\" STEP_SIZE 0\n\" TOTP_AUTH\n");
        assert_eq!(converted(&text, 0).unwrap_err(), GaError::StepSize(0));
        assert!(GaError::StepSize(0)
            .to_string()
            .starts_with("STEP_SIZE 0 is out of range"));
        // A long value is not repeated: it could be a key made of base32's digits (found by
        // the fuzzer: the first line and STEP_SIZE both 644444444444444444).
        let long = GaError::StepSize(644_444_444_444_444_444).to_string();
        assert!(!long.contains("644444"), "{long}");
        assert!(
            long.starts_with("STEP_SIZE of 18 digits is out of range"),
            "{long}"
        );
    }

    #[test]
    fn reading_refuses_symlinks_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, format!("{KEY160}\n")).unwrap();
        assert!(read_file(&real).is_ok());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(
            matches!(read_file(&link), Err(ReadError::Io(e)) if e.raw_os_error() == Some(nix::libc::ELOOP))
        );
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(
            read_file(&fifo),
            Err(ReadError::Format(GaError::NotRegular))
        ));
        assert!(matches!(
            read_file(dir.path()),
            Err(ReadError::Format(GaError::NotRegular)) | Err(ReadError::Io(_))
        ));
    }
}
