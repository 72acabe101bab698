//! One code check against a secret file: rate limit, TOTP window, replay, recovery codes.
//! Pure logic: the caller supplies the time and persists the updated file.

use crate::params::{RateLimit, ALLOWED_DIGITS};
use crate::rate_limit;
use crate::recovery;
use crate::secret_file::SecretFile;
use zeroize::Zeroizing;

/// Longest input looked at; anything longer is refused unread.
pub const MAX_INPUT_BYTES: usize = 64;

/// Checking rules from the module options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Steps accepted either side of now.
    pub window: u32,
    /// Throttle.
    pub rate_limit: RateLimit,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A TOTP code for `step` was accepted.
    Accepted {
        /// The accepted time step.
        step: u64,
        /// Its offset from the current step (clock drift of the phone).
        drift: i64,
    },
    /// A recovery code was accepted and used up.
    RecoveryAccepted {
        /// Recovery codes left.
        remaining: usize,
    },
    /// A valid code for a step at or below the last accepted one.
    Replayed {
        /// The step the code belongs to.
        step: u64,
    },
    /// Neither a valid code nor a recovery code.
    Wrong,
    /// The input is not shaped like any code (counted as a wrong code).
    Malformed,
    /// Too many checks recently; the code was not looked at.
    RateLimited {
        /// Seconds until the next check is allowed.
        retry_after: u64,
    },
}

impl Outcome {
    /// True for the outcomes that let the user in.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Outcome::Accepted { .. } | Outcome::RecoveryAccepted { .. }
        )
    }

    /// True when the file's state changed and must be saved before answering.
    pub fn needs_save(&self) -> bool {
        !matches!(self, Outcome::RateLimited { .. })
    }
}

/// True when `input` has the exact shape of a code: `digits` digits (6 or 8 when the number
/// is not known), or a recovery code in its printed `xxxxx-xxxxx` form. `try_first_pass` takes
/// PAM_AUTHTOK only in these shapes, so passwords such as `Summer2024` or `20242024` (for a
/// 6-digit enrollment) are not spent as codes.
pub fn looks_like_code(input: &str, digits: Option<u8>) -> bool {
    let input = input.trim();
    let all_digits = !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit());
    let digits_ok = match digits {
        Some(d) => input.len() == usize::from(d),
        None => ALLOWED_DIGITS
            .iter()
            .any(|d| input.len() == usize::from(*d)),
    };
    (all_digits && digits_ok) || recovery::is_dashed_form(input)
}

/// The input with surrounding whitespace and inner spaces removed, if it is all digits.
fn totp_digits(input: &str) -> Option<Zeroizing<String>> {
    let input = input.trim();
    // Room for all of it up front: no reallocation leaves a copy behind.
    let mut out = Zeroizing::new(String::with_capacity(input.len()));
    for c in input.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Checks `input` at Unix time `now`, updating `file.state` (and recovery codes) in place.
pub fn check(file: &mut SecretFile, input: &str, now: u64, policy: Policy) -> Outcome {
    if let Err(retry_after) = rate_limit::allowed(&file.state.checks, policy.rate_limit, now) {
        return Outcome::RateLimited { retry_after };
    }
    rate_limit::record(&mut file.state.checks, policy.rate_limit, now);

    if input.len() > MAX_INPUT_BYTES {
        return Outcome::Malformed;
    }
    let current = now / file.period;
    if let Some(code) = totp_digits(input).filter(|c| c.len() == usize::from(file.digits)) {
        let matched = matching_steps(file, &code, current, policy.window);
        let fresh = matched
            .iter()
            .copied()
            .filter(|s| file.state.last_step.is_none_or(|last| *s > last))
            .max();
        match (fresh, matched.iter().copied().max()) {
            (Some(step), _) => {
                file.state.last_step = Some(step);
                let drift = i64::try_from(step).unwrap_or(i64::MAX)
                    - i64::try_from(current).unwrap_or(i64::MAX);
                return Outcome::Accepted { step, drift };
            }
            (None, Some(step)) => return Outcome::Replayed { step },
            (None, None) => {}
        }
    }
    if recovery::normalise(input).is_none() {
        return Outcome::Malformed;
    }
    match recovery::find(&file.recovery, input.trim()) {
        Some(index) => {
            file.recovery.remove(index);
            Outcome::RecoveryAccepted {
                remaining: file.recovery.len(),
            }
        }
        None => Outcome::Wrong,
    }
}

/// All steps within `window` of `current` whose code equals `code`. Every step is computed and
/// compared in constant time; there is no early exit.
fn matching_steps(file: &SecretFile, code: &str, current: u64, window: u32) -> Vec<u64> {
    let Some(totp) = file.totp() else {
        return Vec::new();
    };
    let first = current.saturating_sub(u64::from(window));
    let last = current.saturating_add(u64::from(window));
    let mut matched = Vec::new();
    for step in first..=last {
        let Some(time) = step.checked_mul(file.period) else {
            continue;
        };
        if totp.check(code, time).is_some() {
            matched.push(step);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recovery::RecoveryHash;
    use crate::secret::TotpSecret;
    use crate::secret_file::Algorithm;

    // RFC 6238 appendix B keys and vectors.
    const SHA1_KEY: &[u8] = b"12345678901234567890";
    const SHA256_KEY: &[u8] = b"12345678901234567890123456789012";
    const SHA512_KEY: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";
    const VECTORS: &[(u64, &str, &str, &str)] = &[
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ];
    const OPEN: Policy = Policy {
        window: 1,
        rate_limit: RateLimit {
            max_checks: 1000,
            seconds: 30,
        },
    };

    fn file(key: &[u8], algorithm: Algorithm, digits: u8) -> SecretFile {
        SecretFile::new(
            TotpSecret::from_bytes(key.to_vec()).unwrap(),
            algorithm,
            digits,
            30,
        )
    }

    /// Every row of RFC 6238 appendix B (SHA1, SHA256 and SHA512 with their own keys, 8 digits,
    /// up to T = 20000000000) through the check that logins use, with no window: each code is
    /// accepted for exactly its own time step and refused one step later.
    #[test]
    fn rfc6238_vectors_all_algorithms() {
        let exact = Policy { window: 0, ..OPEN };
        for &(t, sha1, sha256, sha512) in VECTORS {
            let accepted = Outcome::Accepted {
                step: t / 30,
                drift: 0,
            };
            for (key, algo, code) in [
                (SHA1_KEY, Algorithm::SHA1, sha1),
                (SHA256_KEY, Algorithm::SHA256, sha256),
                (SHA512_KEY, Algorithm::SHA512, sha512),
            ] {
                let mut f = file(key, algo, 8);
                assert_eq!(check(&mut f, code, t, exact), accepted, "{algo:?} at {t}");
                let mut later = file(key, algo, 8);
                assert_eq!(
                    check(&mut later, code, t + 30, exact),
                    Outcome::Wrong,
                    "{algo:?} at {t} + 30"
                );
                // The 6-digit code is the last six digits.
                let mut f6 = file(key, algo, 6);
                assert_eq!(
                    check(&mut f6, code.get(2..).unwrap(), t, exact),
                    accepted,
                    "{algo:?}/6 at {t}"
                );
            }
        }
    }

    #[test]
    fn window_edges() {
        // Code of step 1111111109/30 = 37037036.
        let code = "07081804";
        let step = 1_111_111_109 / 30;
        for (now_step, ok) in [
            (step - 2, false),
            (step - 1, true),
            (step, true),
            (step + 1, true),
            (step + 2, false),
        ] {
            let mut f = file(SHA1_KEY, Algorithm::SHA1, 8);
            let got = check(&mut f, code, now_step * 30 + 7, OPEN);
            assert_eq!(
                got.is_success(),
                ok,
                "now step offset {}",
                now_step as i64 - step as i64
            );
        }
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 8);
        let zero = Policy { window: 0, ..OPEN };
        assert_eq!(check(&mut f, code, (step + 1) * 30, zero), Outcome::Wrong);
        assert!(check(&mut f, code, step * 30 + 29, zero).is_success());
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 8);
        let wide = Policy { window: 3, ..OPEN };
        assert_eq!(
            check(&mut f, code, (step + 3) * 30, wide),
            Outcome::Accepted { step, drift: -3 }
        );
    }

    #[test]
    fn replay_is_refused() {
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 8);
        let t = 1_111_111_109;
        assert!(check(&mut f, "07081804", t, OPEN).is_success());
        assert_eq!(f.state.last_step, Some(t / 30));
        assert_eq!(
            check(&mut f, "07081804", t + 1, OPEN),
            Outcome::Replayed { step: t / 30 }
        );
        // A code for an earlier step inside the window is refused too.
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 8);
        f.state.last_step = Some(t / 30 + 1);
        assert_eq!(
            check(&mut f, "07081804", t, OPEN),
            Outcome::Replayed { step: t / 30 }
        );
    }

    #[test]
    fn wrong_and_malformed_codes() {
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 6);
        assert_eq!(check(&mut f, "000000", 59, OPEN), Outcome::Wrong);
        for bad in [
            "",
            "12",
            "abc",
            "%n%n%n",
            "1234567",
            &"9".repeat(100_000),
            "28708\n2",
        ] {
            let got = check(&mut f, bad, 59, OPEN);
            assert!(
                matches!(got, Outcome::Malformed | Outcome::Wrong),
                "{bad:.20}: {got:?}"
            );
        }
        // Spaces inside and around are tolerated.
        assert!(check(&mut f, " 287 082 ", 59, OPEN).is_success());
        assert_eq!(f.state.last_step, Some(1));
    }

    #[test]
    fn recovery_codes_work_once() {
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 6);
        f.recovery = vec![
            RecoveryHash::new([1; 16], "abcde-fghjk").unwrap(),
            RecoveryHash::new([2; 16], "22222-33333").unwrap(),
        ];
        assert_eq!(
            check(&mut f, "abcde-fghjk", 100, OPEN),
            Outcome::RecoveryAccepted { remaining: 1 }
        );
        assert_eq!(check(&mut f, "abcde-fghjk", 101, OPEN), Outcome::Wrong);
        assert_eq!(
            check(&mut f, "2222233333", 102, OPEN),
            Outcome::RecoveryAccepted { remaining: 0 }
        );
        assert!(f.recovery.is_empty());
    }

    #[test]
    fn rate_limit_is_checked_before_the_code() {
        let limited = Policy {
            window: 1,
            rate_limit: RateLimit {
                max_checks: 3,
                seconds: 30,
            },
        };
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 8);
        for t in 1_111_111_100..1_111_111_103 {
            assert_eq!(check(&mut f, "00000000", t, limited), Outcome::Wrong);
        }
        // The right code does not get in while the limit holds, and is not consumed.
        let got = check(&mut f, "07081804", 1_111_111_109, limited);
        assert_eq!(got, Outcome::RateLimited { retry_after: 21 });
        assert!(!got.needs_save());
        assert_eq!(f.state.last_step, None);
        assert_eq!(f.state.checks.len(), 3);
        assert!(check(&mut f, "07081804", 1_111_111_130, limited).is_success());
    }

    #[test]
    fn code_shapes() {
        assert!(looks_like_code("123456", None));
        assert!(looks_like_code("12345678", None));
        assert!(looks_like_code("123456", Some(6)));
        assert!(looks_like_code(" 12345678\n", Some(8)));
        assert!(looks_like_code("abcde-fghjk", Some(6)));
        assert!(looks_like_code("ABCDE-FGHJK", Some(8)));
        for password in [
            "hunter2",
            "1234567",
            "Summer2024",
            "summer2024",
            "abcdefghjk",
            "hello-world",
            "abcde fghjk",
            "123 456",
            "",
        ] {
            assert!(!looks_like_code(password, Some(6)), "{password}");
        }
        assert!(!looks_like_code("20242024", Some(6)));
        assert!(!looks_like_code("202420", Some(8)));
    }
}
