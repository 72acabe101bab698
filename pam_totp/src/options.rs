//! The module options from the pam.d line (`secret=`, `nullok`, `window=` ...).

use pam_totp_core::params::DEFAULT_RATE_LIMIT;
pub use pam_totp_core::params::{RateLimit, DEFAULT_SECRET_TEMPLATE, DEFAULT_WINDOW, MAX_WINDOW};
use thiserror::Error;

/// Default prompt text.
pub const DEFAULT_PROMPT: &str = "Verification code: ";
/// Prompt used with `forward_pass`.
pub const FORWARD_PASS_PROMPT: &str = "Password & verification code: ";
/// Most checks a `rate_limit=` may allow.
const MAX_RATE_CHECKS: u32 = 1000;
/// Longest `rate_limit=` interval: a day.
const MAX_RATE_SECONDS: u64 = 86_400;

/// Where the code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// Ask with the module's own prompt.
    Prompt,
    /// Take PAM_AUTHTOK from an earlier module; fail when it is absent.
    UseFirstPass,
    /// Take PAM_AUTHTOK when it is present and shaped like a code, else prompt.
    TryFirstPass,
    /// Ask once for password and code together, hand the password on, and keep the code for
    /// a later `check_forwarded` line (this line decides nothing).
    ForwardPass,
    /// Check the code that an earlier `forward_pass` line kept, after the password modules.
    CheckForwarded,
}

/// The parsed options of one pam.d line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleOptions {
    /// Path template of the secret file.
    pub secret_template: String,
    /// Users without a secret file are let through with PAM_IGNORE.
    pub nullok: bool,
    /// Time steps accepted before and after the current one.
    pub window: u32,
    /// Throttle on code checks.
    pub rate_limit: RateLimit,
    /// Prompt text (only for [`CodeSource::Prompt`] and [`CodeSource::TryFirstPass`]).
    pub prompt: String,
    /// Where the code is read from.
    pub code_source: CodeSource,
    /// More detail in the log (never secrets or codes).
    pub debug: bool,
}

impl Default for ModuleOptions {
    fn default() -> Self {
        ModuleOptions {
            secret_template: DEFAULT_SECRET_TEMPLATE.to_string(),
            nullok: false,
            window: DEFAULT_WINDOW,
            rate_limit: RateLimit::default(),
            prompt: DEFAULT_PROMPT.to_string(),
            code_source: CodeSource::Prompt,
            debug: false,
        }
    }
}

/// A pam.d option that could not be understood.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OptionError {
    /// The option name is not one of ours (a typo must not change policy silently).
    #[error("unknown option \"{0}\"; valid options: secret=, nullok, window=, rate_limit=, prompt=, use_first_pass, try_first_pass, forward_pass, check_forwarded, debug")]
    Unknown(String),
    /// The option is known but its value is not acceptable.
    #[error("bad value in option \"{option}\": {reason}")]
    BadValue {
        /// The whole option as written.
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two options that exclude each other.
    #[error("options {0} and {1} cannot be combined; keep one")]
    Conflict(&'static str, &'static str),
    /// `check_forwarded` takes its settings from the `forward_pass` line.
    #[error("option \"{0}\" does not belong on the check_forwarded line: that line uses the options of the forward_pass line; move it there")]
    NotWithCheckForwarded(String),
}

impl ModuleOptions {
    /// Parses the arguments of the pam.d line; any unknown or malformed option is an error.
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Self, OptionError> {
        let all: Vec<&str> = args.into_iter().collect();
        let mut opts = ModuleOptions::default();
        let mut source: Option<(&'static str, CodeSource)> = None;
        for &arg in &all {
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (arg, None),
            };
            let bad = |reason: &str| OptionError::BadValue {
                option: arg.to_string(),
                reason: reason.to_string(),
            };
            match (name, value) {
                ("secret", Some(v)) => {
                    if v.is_empty() {
                        return Err(bad("the path template is empty"));
                    }
                    pam_totp_core::template::check_template(v).map_err(|e| bad(&e.to_string()))?;
                    opts.secret_template = v.to_string();
                }
                ("nullok", None) => opts.nullok = true,
                ("debug", None) => opts.debug = true,
                ("window", Some(v)) => {
                    opts.window = v
                        .parse::<u32>()
                        .ok()
                        .filter(|w| *w <= MAX_WINDOW)
                        .ok_or_else(|| {
                            bad(&format!("expected a whole number from 0 to {MAX_WINDOW}"))
                        })?;
                }
                ("rate_limit", Some(v)) => opts.rate_limit = parse_rate_limit(v).ok_or_else(|| {
                    bad(&format!("expected CHECKS/SECONDS with CHECKS from 1 to {MAX_RATE_CHECKS} and SECONDS from 1 to {MAX_RATE_SECONDS}, e.g. {DEFAULT_RATE_LIMIT}"))
                })?,
                ("prompt", Some(v)) => {
                    if v.is_empty() {
                        return Err(bad("the prompt is empty"));
                    }
                    opts.prompt = v.replace('_', " ");
                }
                ("use_first_pass", None) => set_source(&mut source, "use_first_pass", CodeSource::UseFirstPass)?,
                ("try_first_pass", None) => set_source(&mut source, "try_first_pass", CodeSource::TryFirstPass)?,
                ("forward_pass", None) => set_source(&mut source, "forward_pass", CodeSource::ForwardPass)?,
                ("check_forwarded", None) => set_source(&mut source, "check_forwarded", CodeSource::CheckForwarded)?,
                ("secret" | "window" | "rate_limit" | "prompt", None) => {
                    return Err(bad("this option needs a value after '='"))
                }
                ("nullok" | "debug" | "use_first_pass" | "try_first_pass" | "forward_pass" | "check_forwarded", Some(_)) => {
                    return Err(bad("this option takes no value"))
                }
                _ => return Err(OptionError::Unknown(arg.to_string())),
            }
        }
        if let Some((_, s)) = source {
            opts.code_source = s;
        }
        if opts.code_source == CodeSource::CheckForwarded {
            if let Some(other) = all
                .iter()
                .find(|a| **a != "check_forwarded" && **a != "debug")
            {
                return Err(OptionError::NotWithCheckForwarded(other.to_string()));
            }
        }
        Ok(opts)
    }
}

fn set_source(
    current: &mut Option<(&'static str, CodeSource)>,
    name: &'static str,
    source: CodeSource,
) -> Result<(), OptionError> {
    match current {
        Some((prev, s)) if *s != source => Err(OptionError::Conflict(prev, name)),
        _ => {
            *current = Some((name, source));
            Ok(())
        }
    }
}

fn parse_rate_limit(value: &str) -> Option<RateLimit> {
    let (n, s) = value.split_once('/')?;
    let max_checks = n
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_RATE_CHECKS).contains(n))?;
    let seconds = s
        .parse::<u64>()
        .ok()
        .filter(|s| (1..=MAX_RATE_SECONDS).contains(s))?;
    Some(RateLimit {
        max_checks,
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let o = ModuleOptions::parse([]).unwrap();
        assert_eq!(o, ModuleOptions::default());
        // The values SPEC.md gives, spelt out here so that a changed constant fails this test.
        let RateLimit {
            max_checks,
            seconds,
        } = o.rate_limit;
        assert_eq!(
            (o.secret_template.as_str(), o.window, max_checks, seconds),
            ("~/.pam_totp.toml", 1, 3, 30)
        );
        assert_eq!(
            (o.prompt.as_str(), o.code_source, o.nullok, o.debug),
            ("Verification code: ", CodeSource::Prompt, false, false)
        );
    }

    #[test]
    fn every_option_parses() {
        let o = ModuleOptions::parse([
            "secret=/var/lib/pam_totp/%u.toml",
            "nullok",
            "window=3",
            "rate_limit=5/60",
            "prompt=OTP_please:_",
            "forward_pass",
            "debug",
        ])
        .unwrap();
        let want = ModuleOptions {
            secret_template: "/var/lib/pam_totp/%u.toml".to_string(),
            nullok: true,
            window: 3,
            rate_limit: RateLimit {
                max_checks: 5,
                seconds: 60,
            },
            prompt: "OTP please: ".to_string(),
            code_source: CodeSource::ForwardPass,
            debug: true,
        };
        assert_eq!(o, want);
    }

    #[test]
    fn misspelt_options_fail_closed() {
        assert_eq!(
            ModuleOptions::parse(["nulok"]),
            Err(OptionError::Unknown("nulok".into()))
        );
        assert!(ModuleOptions::parse(["nullok=yes"]).is_err());
        assert!(ModuleOptions::parse(["window"]).is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        for arg in [
            "window=-1",
            "window=11",
            "window=x",
            "rate_limit=0/30",
            "rate_limit=3",
            "rate_limit=3/0",
            "rate_limit=3/x",
            "rate_limit=1001/30",
            "secret=",
            "secret=/etc/pam_totp.toml",
            "prompt=",
        ] {
            assert!(
                matches!(
                    ModuleOptions::parse([arg]),
                    Err(OptionError::BadValue { .. })
                ),
                "{arg} was accepted"
            );
        }
    }

    #[test]
    fn code_sources_exclude_each_other() {
        assert_eq!(
            ModuleOptions::parse(["use_first_pass", "forward_pass"]),
            Err(OptionError::Conflict("use_first_pass", "forward_pass"))
        );
        assert!(ModuleOptions::parse(["try_first_pass", "try_first_pass"]).is_ok());
        assert_eq!(
            ModuleOptions::parse(["forward_pass", "check_forwarded"]),
            Err(OptionError::Conflict("forward_pass", "check_forwarded"))
        );
    }

    #[test]
    fn the_check_line_takes_the_split_lines_options() {
        let o = ModuleOptions::parse(["check_forwarded", "debug"]).unwrap();
        assert_eq!(o.code_source, CodeSource::CheckForwarded);
        for other in ["nullok", "window=2", "secret=/x/%u"] {
            assert_eq!(
                ModuleOptions::parse(["check_forwarded", other]),
                Err(OptionError::NotWithCheckForwarded(other.to_string()))
            );
        }
    }
}
