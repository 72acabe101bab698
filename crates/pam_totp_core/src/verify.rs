//! One code check against a secret file: rate limit, TOTP window, replay, recovery codes.
//! Pure logic: the caller supplies the time and persists the updated file.

use crate::hotp;
use crate::params::{RateLimit, ALLOWED_DIGITS};
use crate::rate_limit;
use crate::recovery;
use crate::secret_file::SecretFile;
use crate::token::{Token, TokenKind};
use zeroize::Zeroizing;

/// Longest input looked at; anything longer is refused unread.
pub const MAX_INPUT_BYTES: usize = 64;

/// Checking rules from the module options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Steps accepted either side of now (TOTP tokens).
    pub window: u32,
    /// Counter values looked at from the next one on (HOTP tokens, `hotp_window=`).
    pub hotp_window: u32,
    /// Throttle.
    pub rate_limit: RateLimit,
}

/// Where an accepted code was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// A TOTP token's code.
    Step {
        /// The accepted time step.
        step: u64,
        /// Its offset from the current step (clock drift of the phone).
        drift: i64,
    },
    /// An HOTP token's code.
    Counter(u64),
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A code of the token named `token` was accepted (its mark moved past it).
    Accepted {
        /// The token's name.
        token: String,
        /// The step or counter.
        matched: Matched,
    },
    /// A recovery code was accepted and used up.
    RecoveryAccepted {
        /// Recovery codes left.
        remaining: usize,
    },
    /// A valid code of a TOTP token for a step at or below the last accepted one.
    Replayed {
        /// The token's name.
        token: String,
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

/// Checks `input` at Unix time `now` against every token, updating `file.state` (and the
/// recovery codes) in place. The rate limit counts checks, not tokens. Every token's codes are
/// computed and compared (no early exit). An accepted code uses itself up on every token it is
/// a fresh code of (two tokens may share a key: the code must not work again on the other);
/// the outcome names the first of them in file order. A token without a mark (state that does
/// not match the tokens) is not checked.
pub fn check(file: &mut SecretFile, input: &str, now: u64, policy: Policy) -> Outcome {
    if let Err(retry_after) = rate_limit::allowed(&file.state.checks, policy.rate_limit, now) {
        return Outcome::RateLimited { retry_after };
    }
    rate_limit::record(&mut file.state.checks, policy.rate_limit, now);

    if input.len() > MAX_INPUT_BYTES {
        return Outcome::Malformed;
    }
    if let Some(code) = totp_digits(input) {
        let mut fresh: Vec<(usize, Matched)> = Vec::new();
        let mut replayed: Option<(usize, u64)> = None;
        for (index, token) in file.tokens().enumerate() {
            if code.len() != usize::from(token.digits) {
                continue;
            }
            let Some(mark) = file.state.marks.get(index).copied() else {
                continue;
            };
            match look_up(token, mark, &code, now, policy) {
                Found::Fresh(matched) => fresh.push((index, matched)),
                Found::Used(step) => {
                    replayed.get_or_insert((index, step));
                }
                Found::Nothing => {}
            }
        }
        if let Some(&(first, matched)) = fresh.first() {
            for &(index, matched) in &fresh {
                let value = match matched {
                    Matched::Step { step, .. } => step,
                    Matched::Counter(counter) => counter,
                };
                file.set_mark(index, value);
            }
            return Outcome::Accepted {
                token: token_name(file, first),
                matched,
            };
        }
        if let Some((index, step)) = replayed {
            return Outcome::Replayed {
                token: token_name(file, index),
                step,
            };
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

fn token_name(file: &SecretFile, index: usize) -> String {
    file.tokens()
        .nth(index)
        .map(|t| t.name.clone())
        .unwrap_or_default()
}

/// What one token makes of a code.
enum Found {
    /// A code above the token's mark.
    Fresh(Matched),
    /// Only a code at or below the mark (TOTP: a replay).
    Used(u64),
    /// Not this token's code.
    Nothing,
}

/// Looks for `code` among `token`'s codes: TOTP within `policy.window` steps of now, HOTP in
/// the `policy.hotp_window` counters after `mark`.
fn look_up(token: &Token, mark: Option<u64>, code: &str, now: u64, policy: Policy) -> Found {
    match token.kind {
        TokenKind::Totp { period } => {
            let current = now / period;
            let matched = matching_steps(token, code, current, policy.window);
            let fresh = matched
                .iter()
                .copied()
                .filter(|s| mark.is_none_or(|last| *s > last))
                .max();
            match (fresh, matched.iter().copied().max()) {
                (Some(step), _) => {
                    let drift = i64::try_from(step).unwrap_or(i64::MAX)
                        - i64::try_from(current).unwrap_or(i64::MAX);
                    Found::Fresh(Matched::Step { step, drift })
                }
                (None, Some(step)) => Found::Used(step),
                (None, None) => Found::Nothing,
            }
        }
        TokenKind::Hotp => {
            let next = match mark {
                None => Some(0),
                Some(used) => used.checked_add(1),
            };
            let found = next.zip(token.hotp_params()).and_then(|(next, params)| {
                hotp::check(&token.secret, params, next, policy.hotp_window, code)
            });
            found.map_or(Found::Nothing, |c| Found::Fresh(Matched::Counter(c)))
        }
    }
}

/// All steps within `window` of `current` whose code equals `code`. Every step is computed and
/// compared in constant time; there is no early exit.
fn matching_steps(token: &Token, code: &str, current: u64, window: u32) -> Vec<u64> {
    let (Some(totp), Some(period)) = (token.totp_generator(), token.period()) else {
        return Vec::new();
    };
    let first = current.saturating_sub(u64::from(window));
    let last = current.saturating_add(u64::from(window));
    let mut matched = Vec::new();
    for step in first..=last {
        let Some(time) = step.checked_mul(period) else {
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
    use crate::token::{Token, TokenKind};

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
        hotp_window: 10,
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
                token: "default".into(),
                matched: Matched::Step {
                    step: t / 30,
                    drift: 0,
                },
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
            Outcome::Accepted {
                token: "default".into(),
                matched: Matched::Step { step, drift: -3 }
            }
        );
    }

    #[test]
    fn replay_is_refused() {
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 8);
        let t = 1_111_111_109;
        assert!(check(&mut f, "07081804", t, OPEN).is_success());
        assert_eq!(f.state.marks[0], Some(t / 30));
        assert_eq!(
            check(&mut f, "07081804", t + 1, OPEN),
            Outcome::Replayed {
                token: "default".into(),
                step: t / 30
            }
        );
        // A code for an earlier step inside the window is refused too.
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 8);
        f.state.marks[0] = Some(t / 30 + 1);
        assert_eq!(
            check(&mut f, "07081804", t, OPEN),
            Outcome::Replayed {
                token: "default".into(),
                step: t / 30
            }
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
        assert_eq!(f.state.marks[0], Some(1));
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
            hotp_window: 10,
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
        assert_eq!(f.state.marks[0], None);
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

    /// RFC 4226 appendix D: the HOTP codes of SHA1_KEY for counters 0 to 9.
    const HOTP: [&str; 10] = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];

    fn with_fob(totp_key: &[u8]) -> SecretFile {
        let mut f = file(totp_key, Algorithm::SHA1, 6);
        let fob = TotpSecret::from_bytes(SHA1_KEY.to_vec()).unwrap();
        f.add_token(Token::hotp("fob", fob, Algorithm::SHA1, 6), None)
            .unwrap();
        f
    }

    #[test]
    fn a_code_of_any_token_is_accepted_and_hotp_moves_its_counter() {
        let mut f = with_fob(SHA256_KEY);
        assert_eq!(
            check(&mut f, HOTP[0], 59, OPEN),
            Outcome::Accepted {
                token: "fob".into(),
                matched: Matched::Counter(0)
            }
        );
        assert_eq!(f.state.marks, vec![None, Some(0)]);
        // Used: never again; the next ones, also skipping a few presses, are.
        assert_eq!(check(&mut f, HOTP[0], 60, OPEN), Outcome::Wrong);
        assert!(check(&mut f, HOTP[1], 61, OPEN).is_success());
        assert!(check(&mut f, HOTP[5], 62, OPEN).is_success());
        assert_eq!(f.state.marks[1], Some(5));
        assert_eq!(check(&mut f, HOTP[3], 63, OPEN), Outcome::Wrong);
        // The TOTP token still works, with its own mark.
        let code = f
            .first_token()
            .totp_generator()
            .unwrap()
            .generate(90)
            .to_string();
        assert!(matches!(
            check(&mut f, &code, 90, OPEN),
            Outcome::Accepted { ref token, matched: Matched::Step { step: 3, drift: 0 } } if token == "default"
        ));
        assert_eq!(f.state.marks, vec![Some(3), Some(5)]);
    }

    #[test]
    fn hotp_looks_only_hotp_window_ahead() {
        let narrow = Policy {
            hotp_window: 3,
            ..OPEN
        };
        let mut f = with_fob(SHA256_KEY);
        assert_eq!(check(&mut f, HOTP[3], 59, narrow), Outcome::Wrong);
        assert!(check(&mut f, HOTP[2], 59, narrow).is_success());
        assert!(check(&mut f, HOTP[5], 59, narrow).is_success());
        // A counter at u64::MAX - 1 used: the last one cannot be reached, nothing overflows.
        f.state.marks[1] = Some(u64::MAX);
        assert_eq!(check(&mut f, HOTP[6], 59, narrow), Outcome::Wrong);
    }

    /// Replay is tracked per token: a code of one token does not use up the same time step of
    /// another token.
    #[test]
    fn replay_is_per_token() {
        let mut f = file(SHA1_KEY, Algorithm::SHA1, 8);
        let spare = TotpSecret::from_bytes(SHA256_KEY.to_vec()).unwrap();
        f.add_token(Token::totp("spare", spare, Algorithm::SHA256, 8, 30), None)
            .unwrap();
        let t = 1_111_111_109;
        assert!(check(&mut f, "07081804", t, OPEN).is_success());
        assert!(matches!(
            check(&mut f, "68084774", t, OPEN),
            Outcome::Accepted { ref token, .. } if token == "spare"
        ));
        assert_eq!(
            check(&mut f, "68084774", t + 1, OPEN),
            Outcome::Replayed {
                token: "spare".into(),
                step: t / 30
            }
        );
        assert_eq!(f.state.marks, vec![Some(t / 30), Some(t / 30)]);
    }

    /// When one code belongs to two tokens (the same key twice: refused by add_token, but a
    /// file can be written by hand), it is used up on both: the outcome names the first, and
    /// neither takes it again.
    #[test]
    fn a_code_of_two_tokens_is_used_up_on_both() {
        let mut f = file(SHA256_KEY, Algorithm::SHA1, 8);
        let key = TotpSecret::from_bytes(SHA1_KEY.to_vec()).unwrap();
        f.add_token(
            Token::totp("twin", key.clone(), Algorithm::SHA1, 8, 30),
            None,
        )
        .unwrap();
        f.first_token_mut().secret = key;
        let t = 1_111_111_109;
        assert!(matches!(
            check(&mut f, "07081804", t, OPEN),
            Outcome::Accepted { ref token, .. } if token == "default"
        ));
        assert_eq!(f.state.marks, vec![Some(t / 30), Some(t / 30)]);
        assert!(!check(&mut f, "07081804", t, OPEN).is_success());
        // The same with HOTP twins: one press, one login.
        let mut f = file(SHA256_KEY, Algorithm::SHA1, 6);
        let fob = TotpSecret::from_bytes(SHA1_KEY.to_vec()).unwrap();
        f.add_token(Token::hotp("fob", fob.clone(), Algorithm::SHA1, 6), None)
            .unwrap();
        f.first_token_mut().kind = TokenKind::Hotp;
        f.first_token_mut().secret = fob;
        assert!(check(&mut f, HOTP[0], 59, OPEN).is_success());
        assert_eq!(f.state.marks, vec![Some(0), Some(0)]);
        assert!(!check(&mut f, HOTP[0], 60, OPEN).is_success());
    }

    /// State that does not hold a mark for a token (never made by parse or the token methods,
    /// only by hand) does not count as "nothing used yet": that token is not checked.
    #[test]
    fn a_token_without_a_mark_is_not_checked() {
        let mut f = with_fob(SHA256_KEY);
        f.state.marks.truncate(1);
        assert_eq!(check(&mut f, HOTP[0], 59, OPEN), Outcome::Wrong);
    }

    /// More tokens do not mean more checks: the limit counts checks.
    #[test]
    fn the_rate_limit_counts_checks_not_tokens() {
        let limited = Policy {
            rate_limit: RateLimit {
                max_checks: 3,
                seconds: 30,
            },
            ..OPEN
        };
        let mut f = with_fob(SHA256_KEY);
        for i in 2..5 {
            let fob = TotpSecret::from_bytes(vec![i; 20]).unwrap();
            f.add_token(
                Token::hotp(&format!("fob{i}"), fob, Algorithm::SHA1, 6),
                None,
            )
            .unwrap();
        }
        for t in 100..103 {
            assert_eq!(check(&mut f, "000000", t, limited), Outcome::Wrong);
        }
        assert_eq!(f.state.checks.len(), 3);
        assert!(matches!(
            check(&mut f, HOTP[0], 104, limited),
            Outcome::RateLimited { .. }
        ));
    }

    /// A token is asked only for codes of its length.
    #[test]
    fn tokens_of_other_lengths_are_skipped() {
        let mut f = file(SHA256_KEY, Algorithm::SHA1, 8);
        let fob = TotpSecret::from_bytes(SHA1_KEY.to_vec()).unwrap();
        f.add_token(Token::hotp("fob", fob, Algorithm::SHA1, 8), None)
            .unwrap();
        // The 6-digit code of counter 0 is the tail of the 8-digit one: no token has 6 digits.
        assert_eq!(check(&mut f, HOTP[0], 59, OPEN), Outcome::Wrong);
    }
}
