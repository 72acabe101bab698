//! The parameters of a login check that the module and totp-enroll share, with their
//! defaults: where the secret file is, how far the clock may drift, the rate limit.

/// Default location of a user's secret file.
pub const DEFAULT_SECRET_TEMPLATE: &str = "~/.pam_totp.toml";
/// Default `window=`: one time step of clock drift either way.
pub const DEFAULT_WINDOW: u32 = 1;
/// Largest accepted `window=` value: wider windows accept stale codes for minutes.
pub const MAX_WINDOW: u32 = 10;

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
        RateLimit {
            max_checks: 3,
            seconds: 30,
        }
    }
}
