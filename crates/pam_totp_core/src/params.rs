//! The parameters of a login check that the module and totp-enroll share, with their
//! defaults: where the secret file is, how far the clock may drift, how far ahead an HOTP
//! counter may be, the rate limit.

pub use crate::algorithm::Algorithm;
use std::fmt;

/// The HMAC algorithm every authenticator app assumes (RFC 6238's default).
pub const DEFAULT_ALGORITHM: Algorithm = Algorithm::SHA1;
/// Digits of a code every app assumes.
pub const DEFAULT_DIGITS: u8 = 6;
/// The numbers of digits a code may have (RFC 4226 asks for at least 6; apps offer 6 or 8).
pub const ALLOWED_DIGITS: [u8; 2] = [6, 8];
/// Seconds per time step every app assumes.
pub const DEFAULT_PERIOD: u64 = 30;
/// At most 3 code checks per user in any 30 seconds.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    max_checks: 3,
    seconds: 30,
};

/// [`ALLOWED_DIGITS`] in words, for messages.
pub const ALLOWED_DIGITS_TEXT: &str = "6 or 8";

/// True for a number of digits a code may have.
pub fn digits_allowed(digits: u8) -> bool {
    ALLOWED_DIGITS.contains(&digits)
}

/// Default location of a user's secret file.
pub const DEFAULT_SECRET_TEMPLATE: &str = "~/.pam_totp.toml";
/// Default LDAP configuration of `store=ldap` (module option `ldap_config=`, totp-enroll's
/// `--ldap-config`).
pub const DEFAULT_LDAP_CONFIG: &str = "/etc/pam_totp/ldap.toml";
/// Default `window=`: one time step of clock drift either way.
pub const DEFAULT_WINDOW: u32 = 1;
/// Largest accepted `window=` value: wider windows accept stale codes for minutes.
pub const MAX_WINDOW: u32 = 10;

/// Default `hotp_window=`: an HOTP code is looked for among the next 10 counter values (the
/// look-ahead of RFC 4226 section 7.4), so a token pressed a few times without a login still works.
pub const DEFAULT_HOTP_WINDOW: u32 = 10;
/// Smallest accepted `hotp_window=` value: 1 accepts only the next counter's code.
pub const MIN_HOTP_WINDOW: u32 = 1;
/// Largest accepted `hotp_window=` value: each counter value in the window is one more code a
/// guess can hit (the TOTP window's 21 codes at `window=10` are the same order); a token further
/// ahead is brought back with `totp-enroll resync`.
pub const MAX_HOTP_WINDOW: u32 = 20;
/// How far ahead `totp-enroll resync` looks for the first of two consecutive HOTP codes.
pub const RESYNC_LOOK_AHEAD: u64 = 1000;

/// True for an `hotp_window=` value inside [`MIN_HOTP_WINDOW`]..=[`MAX_HOTP_WINDOW`].
pub fn hotp_window_allowed(window: u32) -> bool {
    (MIN_HOTP_WINDOW..=MAX_HOTP_WINDOW).contains(&window)
}

/// At most `max_checks` code checks per `seconds` seconds for one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Checks allowed inside the window.
    pub max_checks: u32,
    /// Length of the sliding window in seconds.
    pub seconds: u64,
}

impl Default for RateLimit {
    fn default() -> Self {
        DEFAULT_RATE_LIMIT
    }
}

/// As the `rate_limit=` option writes it: `CHECKS/SECONDS`.
impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.max_checks, self.seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_is_shown_as_the_option_writes_it() {
        assert_eq!(DEFAULT_RATE_LIMIT.to_string(), "3/30");
    }

    #[test]
    fn hotp_window_bounds() {
        assert!(hotp_window_allowed(DEFAULT_HOTP_WINDOW));
        assert!(hotp_window_allowed(1) && hotp_window_allowed(20));
        assert!(!hotp_window_allowed(0) && !hotp_window_allowed(21));
        assert!(!hotp_window_allowed(u32::MAX));
    }
}
