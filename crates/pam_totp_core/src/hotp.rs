//! HOTP (RFC 4226), the counter-based codes of hardware tokens: a code for a counter value,
//! the look-ahead check at login and the resynchronisation with two consecutive codes.
//! Pure: the caller keeps the counter and stores the one these functions hand back.
//!
//! The HMAC is totp-rs's, the one TOTP codes use: with a time step of one second, the "time"
//! is the counter itself.

use crate::algorithm::Algorithm;
use crate::params::{self, MAX_HOTP_WINDOW, RESYNC_LOOK_AHEAD};
use crate::secret::TotpSecret;
use std::fmt::Write as _;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

/// Why HOTP parameters were refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HotpError {
    /// A number of digits no code may have.
    #[error("an HOTP token with {0} digits is not supported: set its digits to {allowed}", allowed = params::ALLOWED_DIGITS_TEXT)]
    Digits(u8),
}

/// The parameters of an HOTP token, checked once: the HMAC algorithm and an allowed number of
/// digits. With them no code computation can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotpParams {
    algorithm: Algorithm,
    digits: u8,
}

impl HotpParams {
    /// Checks `digits` against [`params::ALLOWED_DIGITS`].
    pub fn new(algorithm: Algorithm, digits: u8) -> Result<Self, HotpError> {
        if !params::digits_allowed(digits) {
            return Err(HotpError::Digits(digits));
        }
        Ok(HotpParams { algorithm, digits })
    }

    /// The HMAC algorithm.
    pub fn algorithm(self) -> Algorithm {
        self.algorithm
    }

    /// Digits of a code.
    pub fn digits(self) -> u8 {
        self.digits
    }
}

/// What every hardware token does: HMAC-SHA1, 6 digits.
impl Default for HotpParams {
    fn default() -> Self {
        HotpParams {
            algorithm: params::DEFAULT_ALGORITHM,
            digits: params::DEFAULT_DIGITS,
        }
    }
}

/// The code for `counter` (RFC 4226 section 5.3), zero-padded to the token's digits.
pub fn code_at(secret: &TotpSecret, params: HotpParams, counter: u64) -> Zeroizing<String> {
    Generator::new(secret, params).code(counter)
}

/// Looks for `input` among the codes for the `window` counter values from `next_counter` on
/// and returns the lowest counter whose code it is; the caller then stores that counter + 1 as
/// the next one, so a code at or below a used counter never matches again.
///
/// `input` is compared as it is (the caller strips spaces), in constant time against every
/// code in the window: there is no early exit. A window wider than [`MAX_HOTP_WINDOW`] counts
/// as that bound. The counter `u64::MAX` never matches, so the returned counter + 1 always fits.
pub fn check(
    secret: &TotpSecret,
    params: HotpParams,
    next_counter: u64,
    window: u32,
    input: &str,
) -> Option<u64> {
    let generator = Generator::new(secret, params);
    let end = next_counter.saturating_add(u64::from(window.min(MAX_HOTP_WINDOW)));
    let mut matched = None;
    for counter in next_counter..end {
        let equal = same(&generator.code(counter), input);
        if equal && matched.is_none() {
            matched = Some(counter);
        }
    }
    matched
}

/// Finds two consecutive codes, `first` for some counter from `next_counter` up to
/// [`RESYNC_LOOK_AHEAD`] - 1 values ahead and `second` for the one after it, and returns the
/// counter after the second (the next counter to store). The lowest such pair wins; every
/// code in the range is computed and compared in constant time.
pub fn resync(
    secret: &TotpSecret,
    params: HotpParams,
    next_counter: u64,
    first: &str,
    second: &str,
) -> Option<u64> {
    let generator = Generator::new(secret, params);
    // Counters the first code may have (end exclusive); the counter after the second must
    // fit in a u64 too (checked_add below).
    let end_first = next_counter.saturating_add(RESYNC_LOOK_AHEAD);
    let mut found = None;
    let mut previous_is_first = false;
    for counter in next_counter..=end_first {
        let code = generator.code(counter);
        let is_second = previous_is_first && same(&code, second);
        if is_second && found.is_none() {
            found = counter.checked_add(1);
        }
        previous_is_first = counter < end_first && same(&code, first);
    }
    found
}

/// Constant-time equality of a code and the input (a length difference shows, nothing else).
fn same(code: &str, input: &str) -> bool {
    bool::from(code.as_bytes().ct_eq(input.as_bytes()))
}

/// totp-rs set up so that the "time" is the counter: RFC 4226's HOTP.
struct Generator {
    totp: totp_rs::Totp,
    digits: usize,
}

impl Generator {
    fn new(secret: &TotpSecret, params: HotpParams) -> Self {
        let totp = totp_rs::Builder::new()
            .with_algorithm(params.algorithm.to_totp_rs())
            .with_digits(params.digits)
            .with_skew(0)
            .with_step_duration(1)
            .with_secret(secret.as_bytes().to_vec())
            .build_noncompliant();
        Generator {
            totp,
            digits: usize::from(params.digits),
        }
    }

    fn code(&self, counter: u64) -> Zeroizing<String> {
        // Room for all digits up front: no reallocation leaves a copy behind.
        let mut code = Zeroizing::new(String::with_capacity(self.digits));
        // Writing into a String cannot fail; digits are 6 or 8 (HotpParams), so totp-rs's
        // formatting cannot panic.
        let _ = write!(code, "{}", self.totp.generate(counter));
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// RFC 4226 appendix D's key.
    const RFC_KEY: &[u8] = b"12345678901234567890";
    /// RFC 4226 appendix D: counter 0..=9, the decimal value of the truncated HMAC and the
    /// 6-digit HOTP value, as the RFC prints them.
    const RFC4226_D: [(u64, u32, &str); 10] = [
        (0, 1_284_755_224, "755224"),
        (1, 1_094_287_082, "287082"),
        (2, 137_359_152, "359152"),
        (3, 1_726_969_429, "969429"),
        (4, 1_640_338_314, "338314"),
        (5, 868_254_676, "254676"),
        (6, 1_918_287_922, "287922"),
        (7, 82_162_583, "162583"),
        (8, 673_399_871, "399871"),
        (9, 645_520_489, "520489"),
    ];

    fn key(bytes: &[u8]) -> TotpSecret {
        TotpSecret::from_bytes(bytes.to_vec()).unwrap()
    }

    fn sha1(digits: u8) -> HotpParams {
        HotpParams::new(Algorithm::SHA1, digits).unwrap()
    }

    #[test]
    fn rfc4226_appendix_d() {
        let k = key(RFC_KEY);
        for (counter, truncated, hotp) in RFC4226_D {
            assert_eq!(code_at(&k, sha1(6), counter).as_str(), hotp, "{counter}");
            // 8 digits: the last eight of the truncated value.
            let eight = format!("{:08}", truncated % 100_000_000);
            assert_eq!(code_at(&k, sha1(8), counter).as_str(), eight, "{counter}");
            // And the check finds each code at its own counter.
            assert_eq!(check(&k, sha1(6), 0, 10, hotp), Some(counter), "{counter}");
        }
    }

    #[test]
    fn params_are_checked() {
        assert_eq!(HotpParams::default(), sha1(6));
        for digits in [0, 5, 7, 9, 10, 255] {
            assert_eq!(
                HotpParams::new(Algorithm::SHA1, digits),
                Err(HotpError::Digits(digits))
            );
        }
        let err = HotpError::Digits(7).to_string();
        assert!(err.contains('7') && err.contains("6 or 8"), "{err}");
        let p = HotpParams::new(Algorithm::SHA512, 8).unwrap();
        assert_eq!((p.algorithm(), p.digits()), (Algorithm::SHA512, 8));
    }

    #[test]
    fn window_edges() {
        let k = key(RFC_KEY);
        let p = sha1(6);
        let next = 100;
        for window in [1, 3, 10] {
            let last = next + u64::from(window) - 1;
            // The next counter and the last one in the window are accepted.
            assert_eq!(
                check(&k, p, next, window, &code_at(&k, p, next)),
                Some(next)
            );
            assert_eq!(
                check(&k, p, next, window, &code_at(&k, p, last)),
                Some(last)
            );
            // Just past the window, and the last used counter, are refused.
            assert_eq!(check(&k, p, next, window, &code_at(&k, p, last + 1)), None);
            assert_eq!(check(&k, p, next, window, &code_at(&k, p, next - 1)), None);
        }
        // An empty window accepts nothing; a window wider than the bound counts as the bound.
        assert_eq!(check(&k, p, next, 0, &code_at(&k, p, next)), None);
        let bound = next + u64::from(MAX_HOTP_WINDOW);
        for window in [MAX_HOTP_WINDOW + 1, u32::MAX] {
            let last = code_at(&k, p, bound - 1);
            assert_eq!(check(&k, p, next, window, &last), Some(bound - 1));
            assert_eq!(check(&k, p, next, window, &code_at(&k, p, bound)), None);
        }
        // Wrong shapes and wrong codes.
        for bad in [
            "", "75522", "7552244", " 755224", "755224\n", "abcdef", "000000",
        ] {
            assert_eq!(check(&k, p, 0, 10, bad), None, "{bad:?}");
        }
        // The counter moves past a match: the same code is then refused.
        let code = code_at(&k, p, 3);
        let matched = check(&k, p, 0, 10, &code).unwrap();
        assert_eq!(check(&k, p, matched + 1, 10, &code), None);
    }

    #[test]
    fn the_lowest_matching_counter_wins() {
        // With 6 digits, codes repeat: find two counters less than 10 apart with one code.
        let k = key(RFC_KEY);
        let p = sha1(6);
        let mut recent: Vec<(u64, Zeroizing<String>)> = Vec::new();
        let (a, b) = (0..5_000_000u64)
            .find_map(|c| {
                let code = code_at(&k, p, c);
                let hit = recent
                    .iter()
                    .find(|(_, r)| *r == code)
                    .map(|(a, _)| (*a, c));
                recent.push((c, code));
                if recent.len() > 9 {
                    recent.remove(0);
                }
                hit
            })
            .expect("a code repeated within 10 counters");
        assert!(b > a && b - a < 10);
        let code = code_at(&k, p, a);
        assert_eq!(check(&k, p, a, 10, &code), Some(a));
        assert_eq!(check(&k, p, a + 1, 10, &code), Some(b));
    }

    #[test]
    fn no_overflow_at_the_end_of_the_counter() {
        let k = key(RFC_KEY);
        let p = sha1(6);
        let max = u64::MAX;
        // Codes exist for every counter, the last one included.
        assert_eq!(code_at(&k, p, max).len(), 6);
        // The counter u64::MAX is never accepted: its successor would not fit.
        assert_eq!(
            check(&k, p, max - 1, 10, &code_at(&k, p, max - 1)),
            Some(max - 1)
        );
        assert_eq!(check(&k, p, max - 1, 10, &code_at(&k, p, max)), None);
        assert_eq!(check(&k, p, max, 10, &code_at(&k, p, max)), None);
        assert_eq!(check(&k, p, max, u32::MAX, &code_at(&k, p, max)), None);
        // Resync: the pair (MAX-2, MAX-1) gives MAX; (MAX-1, MAX) would give MAX+1.
        let (c2, c1, c0) = (
            code_at(&k, p, max - 2),
            code_at(&k, p, max - 1),
            code_at(&k, p, max),
        );
        assert_eq!(resync(&k, p, max - 2, &c2, &c1), Some(max));
        assert_eq!(resync(&k, p, max - 1000, &c2, &c1), Some(max));
        assert_eq!(resync(&k, p, max - 1, &c1, &c0), None);
        assert_eq!(resync(&k, p, max, &c0, &c0), None);
    }

    #[test]
    fn resync_finds_two_consecutive_codes_up_to_1000_ahead() {
        let k = key(RFC_KEY);
        let p = sha1(6);
        let pair = |c: u64| (code_at(&k, p, c), code_at(&k, p, c + 1));
        // RFC 4226 appendix D: 755224 then 287082 are counters 0 and 1.
        assert_eq!(resync(&k, p, 0, "755224", "287082"), Some(2));
        for next in [0, 5_000] {
            for (ahead, found) in [
                (0, true),
                (1, true),
                (998, true),
                (999, true),
                (1000, false),
                (1001, false),
                (5000, false),
            ] {
                let (first, second) = pair(next + ahead);
                let want = found.then_some(next + ahead + 2);
                assert_eq!(
                    resync(&k, p, next, &first, &second),
                    want,
                    "{next} + {ahead}"
                );
            }
        }
        // Not consecutive, reversed, behind the counter, or the same code twice: refused.
        let (a, b) = pair(10);
        let c = code_at(&k, p, 12);
        assert_eq!(resync(&k, p, 0, &a, &c), None);
        assert_eq!(resync(&k, p, 0, &b, &a), None);
        assert_eq!(resync(&k, p, 11, &a, &b), None);
        assert_eq!(resync(&k, p, 0, &a, &a), None);
        assert_eq!(resync(&k, p, 0, "", ""), None);
    }

    /// True when a missing reference tool must fail the test (CI=true or CI=1), not skip it.
    fn in_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
    }

    /// `oathtool ARGS... HEXKEY`'s one line of output.
    fn oathtool(args: &[&str], hex_key: &str) -> String {
        let out = Command::new("oathtool")
            .args(args)
            .arg(hex_key)
            .output()
            .unwrap();
        assert!(out.status.success(), "oathtool {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn codes_agree_with_oathtool() {
        if Command::new("oathtool").arg("--version").output().is_err() {
            assert!(
                !in_ci(),
                "oathtool (Debian package oathtool) is needed in CI"
            );
            eprintln!("SKIPPED codes_agree_with_oathtool: oathtool is not installed (fails in CI)");
            return;
        }
        // SHA1 through oathtool's HOTP mode, including the end of the counter.
        let k = key(
            b"\x3a\x1f\xc4\x00\x99\x10\x77\xee\x02\x5b\xd0\x61\x8c\x44\x2e\xf7\x13\x80\x5a\xc9",
        );
        let counters = [
            0,
            1,
            7,
            10,
            999,
            65_536,
            4_294_967_296,
            123_456_789_012,
            u64::MAX - 1,
            u64::MAX,
        ];
        for digits in [6u8, 8] {
            for counter in counters {
                let want = oathtool(
                    &[
                        "--hotp",
                        "-d",
                        &digits.to_string(),
                        "-c",
                        &counter.to_string(),
                    ],
                    &hex(k.as_bytes()),
                );
                assert_eq!(
                    code_at(&k, sha1(digits), counter).as_str(),
                    want,
                    "{digits} digits, counter {counter}"
                );
            }
        }
        // SHA256 and SHA512: oathtool's HOTP mode is SHA1 only; its TOTP mode with one-second
        // steps at time N is HOTP at counter N.
        for (algorithm, mode, key_bytes) in [
            (
                Algorithm::SHA256,
                "--totp=sha256",
                &b"12345678901234567890123456789012"[..],
            ),
            (
                Algorithm::SHA512,
                "--totp=sha512",
                &b"1234567890123456789012345678901234567890123456789012345678901234"[..],
            ),
        ] {
            let k = key(key_bytes);
            for digits in [6u8, 8] {
                for counter in [0u64, 1, 59, 1_000_000] {
                    let want = oathtool(
                        &[
                            mode,
                            "-s",
                            "1s",
                            "-N",
                            &format!("@{counter}"),
                            "-d",
                            &digits.to_string(),
                        ],
                        &hex(k.as_bytes()),
                    );
                    let p = HotpParams::new(algorithm, digits).unwrap();
                    assert_eq!(
                        code_at(&k, p, counter).as_str(),
                        want,
                        "{algorithm:?}/{digits}, counter {counter}"
                    );
                }
            }
        }
    }
}
