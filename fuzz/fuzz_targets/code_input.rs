//! What a user types at the code prompt: `pam_totp_core::verify::check`,
//! `pam_totp_core::verify::looks_like_code`, `pam_totp::forwarded::split_forwarded` and the
//! HOTP check `pam_totp_core::hotp::check`.
//!
//! The input is taken as UTF-8 text (non-UTF-8 inputs are skipped: PAM hands the module a
//! string). It is checked against fixed files (RFC 6238 SHA1 key, 6 and 8 digits, two recovery
//! codes and one imported 8-digit scratch code) at a fixed time, so the seeds in
//! `corpus/code_input/` include codes that are accepted.
//!
//! Invariants: nothing panics; a rejected or rate-limited check never moves a token's mark nor
//! uses up a recovery code; an accepted code moves the mark of the token named in the outcome
//! to the accepted step (within the window) or counter, marks only ever move forward, and the
//! same input is accepted at most once in four tries, also on a file whose two tokens share a
//! key; a rate-limited check changes
//! nothing; `split_forwarded` splits the input into a prefix and a suffix. HOTP (RFC 4226 key,
//! from counter 0 and from just below `u64::MAX`): a match is a counter inside the window whose
//! code is the input, below `u64::MAX`, and the input never matches that counter again once the
//! next counter is stored.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_totp::forwarded::split_forwarded;
use pam_totp_core::hotp::{self, HotpParams};
use pam_totp_core::params::{
    RateLimit, ALLOWED_DIGITS, DEFAULT_HOTP_WINDOW, DEFAULT_RATE_LIMIT, DEFAULT_WINDOW,
};
use pam_totp_core::recovery::{RecoveryHash, PRINTED_CHARS, SALT_BYTES};
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::{Algorithm, SecretFile};
use pam_totp_core::token::Token;
use pam_totp_core::verify::{check, looks_like_code, Matched, Outcome, Policy, MAX_INPUT_BYTES};

/// RFC 6238 appendix B SHA1 key (160 bits).
const KEY: &[u8] = b"12345678901234567890";
/// RFC 6238 test time: the 8-digit code is 07081804, the 6-digit code 081804.
const NOW: u64 = 1_111_111_109;
/// The time step of RFC 6238's test vectors.
const PERIOD: u64 = 30;
/// Recovery codes stored (hashed) in the files.
const RECOVERY: [&str; 3] = ["abcde-fghjk", "22222-33333", "46859078"];

/// The default window, and a rate limit that never stops these checks.
const POLICY: Policy = Policy {
    window: DEFAULT_WINDOW,
    hotp_window: DEFAULT_HOTP_WINDOW,
    rate_limit: RateLimit {
        max_checks: 1000,
        ..DEFAULT_RATE_LIMIT
    },
};

fn secret() -> TotpSecret {
    match TotpSecret::from_bytes(KEY.to_vec()) {
        Ok(s) => s,
        Err(e) => panic!("fixed key refused: {e}"),
    }
}

fn file(digits: u8, last_step: Option<u64>) -> SecretFile {
    let secret = secret();
    let mut file = SecretFile::new(secret, Algorithm::SHA1, digits, PERIOD);
    for (i, code) in RECOVERY.iter().enumerate() {
        let salt = [u8::try_from(i).unwrap_or(0) + 1; SALT_BYTES];
        match RecoveryHash::new(salt, code) {
            Some(h) => file.recovery.push(h),
            None => panic!("fixed recovery code refused"),
        }
    }
    file.state.marks = vec![last_step];
    file
}

/// `file(digits, last_step)` with a second token: an HOTP token on another key, its counter
/// at `counter`.
fn with_hotp(digits: u8, last_step: Option<u64>, counter: Option<u64>) -> SecretFile {
    let mut f = file(digits, last_step);
    let key = match TotpSecret::from_bytes(b"98765432109876543210".to_vec()) {
        Ok(k) => k,
        Err(e) => panic!("fixed key refused: {e}"),
    };
    if let Err(e) = f.add_token(Token::hotp("fob", key, Algorithm::SHA1, digits), counter) {
        panic!("fixed token refused: {e}");
    }
    f
}

/// `file(digits, None)` with a second TOTP token on the same key (add_token refuses that; a
/// hand-written file can have it): a code of one is a code of the other.
fn with_twin(digits: u8) -> SecretFile {
    let mut f = with_hotp(digits, None, None);
    let _ = f.remove_token("fob");
    let other = match TotpSecret::from_bytes(b"98765432109876543210".to_vec()) {
        Ok(k) => k,
        Err(e) => panic!("fixed key refused: {e}"),
    };
    if let Err(e) = f.add_token(Token::totp("twin", other, Algorithm::SHA1, digits, PERIOD), None) {
        panic!("fixed token refused: {e}");
    }
    let twin_key = match f.tokens().nth(1) {
        Some(twin) => twin.secret.clone(),
        None => panic!("no twin"),
    };
    f.first_token_mut().secret = twin_key;
    f
}

/// One check with the invariants that must hold whatever the input.
fn checked(file: &mut SecretFile, input: &str, now: u64, policy: Policy) -> Outcome {
    let before = file.clone();
    let outcome = check(file, input, now, policy);
    match &outcome {
        Outcome::RateLimited { retry_after } => {
            assert_eq!(*file, before, "a rate-limited check changed the file");
            assert!(*retry_after <= policy.rate_limit.seconds);
        }
        Outcome::Malformed | Outcome::Wrong | Outcome::Replayed { .. } => {
            assert_eq!(file.state.marks, before.state.marks);
            assert_eq!(file.recovery, before.recovery);
        }
        Outcome::Accepted { token, matched } => {
            assert!(
                input.trim().chars().all(|c| c.is_ascii_digit() || c == ' '),
                "accepted input is not digits"
            );
            let Some(index) = file.token_index(token) else {
                panic!("accepted by a token the file does not have: {token}");
            };
            let value = match *matched {
                Matched::Step { step, drift } => {
                    assert!(drift.unsigned_abs() <= u64::from(policy.window));
                    step
                }
                Matched::Counter(counter) => {
                    assert!(counter < u64::MAX);
                    counter
                }
            };
            for (i, (after, was)) in file.state.marks.iter().zip(&before.state.marks).enumerate() {
                if i == index {
                    assert_eq!(*after, Some(value));
                    assert!(was.is_none_or(|last| value > last));
                } else if after != was {
                    // Another token with the same code: used up there too, forward only.
                    assert!(after.is_some_and(|a| was.is_none_or(|w| a > w)));
                }
            }
            assert_eq!(file.recovery, before.recovery);
        }
        Outcome::RecoveryAccepted { remaining } => {
            assert_eq!(*remaining, file.recovery.len());
            assert_eq!(file.recovery.len() + 1, before.recovery.len());
            assert_eq!(file.state.marks, before.state.marks);
        }
    }
    if input.len() > MAX_INPUT_BYTES {
        assert!(matches!(
            outcome,
            Outcome::Malformed | Outcome::RateLimited { .. }
        ));
    }
    outcome
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };

    for digits in ALLOWED_DIGITS {
        let (first, last) = split_forwarded(input, digits);
        assert_eq!(first.len() + last.len(), input.len());
        assert!(input.starts_with(first) && input.ends_with(last));
    }
    for digits in std::iter::once(None).chain(ALLOWED_DIGITS.map(Some)) {
        if looks_like_code(input, digits) {
            // Exact shapes only: digits, or the dashed recovery form.
            let t = input.trim();
            assert!(t.len() == PRINTED_CHARS || t.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    let current = NOW / PERIOD;
    for mut f in [
        file(6, None),
        file(8, Some(current - 1)),
        with_hotp(6, None, None),
        with_hotp(8, Some(current), Some(u64::MAX - 3)),
        with_twin(6),
        with_twin(8),
    ] {
        // The same input four times, a second apart: at most one success.
        let successes = (0..4)
            .filter(|i| checked(&mut f, input, NOW + i, POLICY).is_success())
            .count();
        assert!(successes <= 1, "{input:?} accepted {successes} times");
    }

    // As many recent checks as the default limit allows: refused unread, nothing changes.
    let mut limited = file(6, None);
    limited.state.checks = (0..DEFAULT_RATE_LIMIT.max_checks)
        .rev()
        .map(|ago| NOW - u64::from(ago))
        .collect();
    let outcome = checked(
        &mut limited,
        input,
        NOW,
        Policy {
            rate_limit: DEFAULT_RATE_LIMIT,
            ..POLICY
        },
    );
    assert!(matches!(outcome, Outcome::RateLimited { .. }));

    // HOTP with the same key (RFC 4226's): from counter 0 (755224 is counter 0's code), and
    // near the end of the counter, where the window is cut short below u64::MAX.
    let key = secret();
    let params = HotpParams::default();
    for next in [0, u64::MAX - 3] {
        if let Some(matched) = hotp::check(&key, params, next, DEFAULT_HOTP_WINDOW, input) {
            assert!(matched >= next && matched - next < u64::from(DEFAULT_HOTP_WINDOW));
            assert!(matched < u64::MAX, "u64::MAX matched");
            assert_eq!(hotp::code_at(&key, params, matched).as_str(), input);
            let again = hotp::check(&key, params, matched + 1, DEFAULT_HOTP_WINDOW, input);
            assert!(
                again.is_none_or(|c| c > matched),
                "counter {matched} matched twice"
            );
        }
    }
});
