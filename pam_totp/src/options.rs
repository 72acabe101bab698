//! The module options from the pam.d line (`secret=`, `nullok`, `window=`, the policy options
//! `only_group=`, `skip_group=`, `nullok_until=`, the store `store=`, `ldap_config=` ...).

use crate::date::Day;
use pam_totp_core::params::{
    hotp_window_allowed, DEFAULT_HOTP_WINDOW, DEFAULT_RATE_LIMIT, MAX_HOTP_WINDOW, MIN_HOTP_WINDOW,
};
pub use pam_totp_core::params::{
    RateLimit, DEFAULT_LDAP_CONFIG, DEFAULT_SECRET_TEMPLATE, DEFAULT_WINDOW, MAX_WINDOW,
};
use pam_totp_core::remember;
use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// Default prompt text.
pub const DEFAULT_PROMPT: &str = "Verification code: ";
/// Prompt used with `forward_pass`.
pub const FORWARD_PASS_PROMPT: &str = "Password & verification code: ";
/// Most checks a `rate_limit=` may allow.
const MAX_RATE_CHECKS: u32 = 1000;
/// Longest `rate_limit=` interval: a day.
const MAX_RATE_SECONDS: u64 = 86_400;
/// Longest group name accepted in `only_group=` and `skip_group=` (glibc's LOGIN_NAME_MAX
/// without the NUL).
const MAX_GROUP_NAME: usize = 255;

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

/// Where users' tokens and login state are kept (`store=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Store {
    /// One secret file per user (`secret=`), served by pam_totp.so itself.
    #[default]
    File,
    /// OATH-LDAP entries in a directory (`ldap_config=`), served by pam_totp_ldap.so.
    Ldap,
}

impl Store {
    /// The option value that names this store.
    pub fn name(self) -> &'static str {
        match self {
            Store::File => "file",
            Store::Ldap => "ldap",
        }
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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
    /// `hotp_window=`: counter values of an HOTP token looked at from the next one on.
    pub hotp_window: u32,
    /// Throttle on code checks.
    pub rate_limit: RateLimit,
    /// Prompt text (only for [`CodeSource::Prompt`] and [`CodeSource::TryFirstPass`]).
    pub prompt: String,
    /// Where the code is read from.
    pub code_source: CodeSource,
    /// More detail in the log (never secrets or codes).
    pub debug: bool,
    /// `only_group=`: when not empty, only members of one of these groups are asked.
    pub only_group: Vec<String>,
    /// `skip_group=`: members of one of these groups are never asked (wins over `only_group`).
    pub skip_group: Vec<String>,
    /// `nullok_until=`: users without a file pass, and are told to enroll, until the end of
    /// this day (UTC); `nullok` wins over it.
    pub nullok_until: Option<Day>,
    /// `remember=`: seconds for which a successful code from a remote host (PAM_RHOST) lets
    /// the same user in from that host without one.
    pub remember: Option<u64>,
    /// `enroll`: a located user without a record is enrolled on the spot (QR code, URI and
    /// key shown, a first code checked, the record written, recovery codes shown once).
    pub enroll: bool,
    /// `store=`: where tokens and login state are kept.
    pub store: Store,
    /// `ldap_config=`: the LDAP configuration file of `store=ldap` (an absolute path).
    pub ldap_config: PathBuf,
}

impl Default for ModuleOptions {
    fn default() -> Self {
        ModuleOptions {
            secret_template: DEFAULT_SECRET_TEMPLATE.to_string(),
            nullok: false,
            window: DEFAULT_WINDOW,
            hotp_window: DEFAULT_HOTP_WINDOW,
            rate_limit: RateLimit::default(),
            prompt: DEFAULT_PROMPT.to_string(),
            code_source: CodeSource::Prompt,
            debug: false,
            only_group: Vec::new(),
            skip_group: Vec::new(),
            nullok_until: None,
            remember: None,
            enroll: false,
            store: Store::File,
            ldap_config: PathBuf::from(DEFAULT_LDAP_CONFIG),
        }
    }
}

/// A pam.d option that could not be understood.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OptionError {
    /// The option name is not one of ours (a typo must not change policy silently).
    #[error("unknown option \"{0}\"; valid options: store=, secret=, ldap_config=, nullok, nullok_until=, only_group=, skip_group=, window=, hotp_window=, rate_limit=, prompt=, use_first_pass, try_first_pass, forward_pass, check_forwarded, remember=, enroll, debug")]
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
    /// An option that may appear once was given again (two group lists would leave unclear
    /// which one is meant).
    #[error("option {0}= is given more than once; write it once (a list of groups is separated by commas)")]
    Repeated(&'static str),
    /// `check_forwarded` takes its settings from the `forward_pass` line.
    #[error("option \"{0}\" does not belong on the check_forwarded line: that line uses the options of the forward_pass line; move it there")]
    NotWithCheckForwarded(String),
    /// An option of the file store on a `store=ldap` line.
    #[error("option \"{option}\" cannot be used with store=ldap: {fix}")]
    NotWithLdap {
        /// The option as written.
        option: String,
        /// Why, and what to do instead.
        fix: &'static str,
    },
    /// `ldap_config=` on a line that does not use the directory.
    #[error("option \"{0}\" needs store=ldap on the same line; add store=ldap, or remove it")]
    LdapConfigWithoutLdap(String),
}

impl ModuleOptions {
    /// Parses the arguments of the pam.d line; any unknown or malformed option is an error.
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Self, OptionError> {
        let all: Vec<&str> = args.into_iter().collect();
        let mut opts = ModuleOptions::default();
        let mut source: Option<(&'static str, CodeSource)> = None;
        let mut store: Option<Store> = None;
        let mut ldap_config: Option<&str> = None;
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
                ("store", Some(v)) => {
                    if store.is_some() {
                        return Err(OptionError::Repeated("store"));
                    }
                    store = Some(match v {
                        "file" => Store::File,
                        "ldap" => Store::Ldap,
                        _ => return Err(bad("expected file or ldap")),
                    });
                }
                ("ldap_config", Some(v)) => {
                    if ldap_config.is_some() {
                        return Err(OptionError::Repeated("ldap_config"));
                    }
                    if !v.starts_with('/') {
                        return Err(bad("expected an absolute path, e.g. /etc/pam_totp/ldap.toml"));
                    }
                    opts.ldap_config = PathBuf::from(v);
                    ldap_config = Some(arg);
                }
                ("nullok", None) => opts.nullok = true,
                ("debug", None) => opts.debug = true,
                ("enroll", None) => opts.enroll = true,
                ("window", Some(v)) => {
                    opts.window = v
                        .parse::<u32>()
                        .ok()
                        .filter(|w| *w <= MAX_WINDOW)
                        .ok_or_else(|| {
                            bad(&format!("expected a whole number from 0 to {MAX_WINDOW}"))
                        })?;
                }
                ("hotp_window", Some(v)) => {
                    opts.hotp_window = v
                        .parse::<u32>()
                        .ok()
                        .filter(|w| hotp_window_allowed(*w))
                        .ok_or_else(|| {
                            bad(&format!(
                                "expected a whole number from {MIN_HOTP_WINDOW} to {MAX_HOTP_WINDOW}"
                            ))
                        })?;
                }
                ("rate_limit", Some(v)) => opts.rate_limit = parse_rate_limit(v).ok_or_else(|| {
                    bad(&format!("expected CHECKS/SECONDS with CHECKS from 1 to {MAX_RATE_CHECKS} and SECONDS from 1 to {MAX_RATE_SECONDS}, e.g. {DEFAULT_RATE_LIMIT}"))
                })?,
                ("only_group", Some(v)) => {
                    if !opts.only_group.is_empty() {
                        return Err(OptionError::Repeated("only_group"));
                    }
                    opts.only_group = parse_groups(v).map_err(|r| bad(&r))?;
                }
                ("skip_group", Some(v)) => {
                    if !opts.skip_group.is_empty() {
                        return Err(OptionError::Repeated("skip_group"));
                    }
                    opts.skip_group = parse_groups(v).map_err(|r| bad(&r))?;
                }
                ("nullok_until", Some(v)) => {
                    if opts.nullok_until.is_some() {
                        return Err(OptionError::Repeated("nullok_until"));
                    }
                    opts.nullok_until = Some(Day::parse(v).map_err(|e| bad(&e.to_string()))?);
                }
                ("remember", Some(v)) => {
                    if opts.remember.is_some() {
                        return Err(OptionError::Repeated("remember"));
                    }
                    opts.remember = Some(remember::parse_duration(v).ok_or_else(|| {
                        bad("expected a number followed by m, h or d (minutes, hours, days), at most 90d, e.g. 12h")
                    })?);
                }
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
                ("store" | "ldap_config" | "secret" | "window" | "hotp_window" | "rate_limit" | "prompt" | "only_group" | "skip_group" | "nullok_until" | "remember", None) => {
                    return Err(bad("this option needs a value after '='"))
                }
                ("nullok" | "debug" | "enroll" | "use_first_pass" | "try_first_pass" | "forward_pass" | "check_forwarded", Some(_)) => {
                    return Err(bad("this option takes no value"))
                }
                _ => return Err(OptionError::Unknown(arg.to_string())),
            }
        }
        if let Some((_, s)) = source {
            opts.code_source = s;
        }
        opts.store = store.unwrap_or_default();
        check_store(&opts, &all, ldap_config)?;
        if opts.remember.is_some() && opts.code_source == CodeSource::ForwardPass {
            // One field holds password and code: a remembered host would leave the code in
            // the password.
            return Err(OptionError::Conflict("remember", "forward_pass"));
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

/// The options that only the file store understands are refused on a `store=ldap` line, and
/// `ldap_config=` (`ldap_config_arg`, as written) on any other line.
fn check_store(
    opts: &ModuleOptions,
    all: &[&str],
    ldap_config_arg: Option<&str>,
) -> Result<(), OptionError> {
    if opts.store != Store::Ldap {
        return match ldap_config_arg {
            Some(arg) => Err(OptionError::LdapConfigWithoutLdap(arg.to_string())),
            None => Ok(()),
        };
    }
    for &arg in all {
        let name = arg.split_once('=').map_or(arg, |(name, _)| name);
        let fix = match name {
            "remember" => "remembered hosts are kept in local files, which store=ldap does not use; remove it",
            "enroll" => "users are enrolled in the directory with totp-enroll --store ldap, not at login; remove it",
            "secret" => "secret= names the file store's files; store=ldap reads the directory named in ldap_config=; remove it",
            _ => continue,
        };
        return Err(OptionError::NotWithLdap {
            option: arg.to_string(),
            fix,
        });
    }
    Ok(())
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

/// A comma-separated list of one or more group names, each valid ([`check_group_name`]).
fn parse_groups(value: &str) -> Result<Vec<String>, String> {
    if value.is_empty() {
        return Err("the list of groups is empty; name at least one group".into());
    }
    value
        .split(',')
        .map(|name| check_group_name(name).map(|()| name.to_string()))
        .collect()
}

/// A group name as NSS databases write them: letters, digits and `. _ - @ $ \` (SSSD's
/// `name@domain`, winbind's `DOMAIN\name`), not starting with `-`, not only digits (a group
/// id is not a name), at most [`MAX_GROUP_NAME`] characters.
fn check_group_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a group name in the list is empty (two commas, or one at an end)".into());
    }
    if name.chars().count() > MAX_GROUP_NAME {
        return Err(format!(
            "a group name is longer than {MAX_GROUP_NAME} characters"
        ));
    }
    let allowed = |c: char| c.is_alphanumeric() || "._-@$\\".contains(c);
    if name.starts_with('-') || !name.chars().all(allowed) {
        return Err(format!(
            "\"{}\" is not a group name (letters, digits and . _ - @ $ \\ only, not starting with -)",
            pam_totp_core::log_safe::field(name)
        ));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "\"{name}\" is a number: name the group, not its id"
        ));
    }
    Ok(())
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
        // No policy: everyone is asked, no grace period.
        assert!(o.only_group.is_empty() && o.skip_group.is_empty());
        assert_eq!(o.nullok_until, None);
    }

    #[test]
    fn group_lists_take_valid_names_only() {
        let o = ModuleOptions::parse(["skip_group=DOMAIN\\svc,_ops,wheel.x,b$"]).unwrap();
        assert_eq!(o.skip_group, ["DOMAIN\\svc", "_ops", "wheel.x", "b$"]);
        for arg in [
            "only_group=",
            "only_group=,",
            "only_group=admins,",
            "only_group=,admins",
            "only_group=admins,,sudo",
            "skip_group=-x",
            "skip_group=a:b",
            "skip_group=a/b",
            "skip_group=a b",
            "skip_group=a%b",
            "skip_group=a\nb",
            "skip_group=1000",
            "only_group=a;b",
        ] {
            assert!(
                matches!(
                    ModuleOptions::parse([arg]),
                    Err(OptionError::BadValue { .. })
                ),
                "{arg:?} was accepted"
            );
        }
        let long = format!("only_group={}", "g".repeat(256));
        assert!(ModuleOptions::parse([long.as_str()]).is_err());
        let longest = format!("only_group={}", "g".repeat(255));
        assert!(ModuleOptions::parse([longest.as_str()]).is_ok());
        for arg in ["only_group", "skip_group", "nullok_until"] {
            assert!(
                matches!(
                    ModuleOptions::parse([arg]),
                    Err(OptionError::BadValue { .. })
                ),
                "{arg} without a value was accepted"
            );
        }
    }

    #[test]
    fn nullok_until_takes_a_real_date() {
        let o = ModuleOptions::parse(["nullok_until=2028-02-29"]).unwrap();
        assert_eq!(
            o.nullok_until.map(|d| d.to_string()).as_deref(),
            Some("2028-02-29")
        );
        for arg in [
            "nullok_until=2027-02-29",
            "nullok_until=2027-13-01",
            "nullok_until=31.01.2027",
            "nullok_until=2027-1-31",
            "nullok_until=",
        ] {
            let err = ModuleOptions::parse([arg]).unwrap_err();
            assert!(
                err.to_string()
                    .contains("expected a date written YYYY-MM-DD (UTC)"),
                "{arg}: {err}"
            );
        }
        // nullok may stand beside it (nullok wins in the flow).
        assert!(ModuleOptions::parse(["nullok", "nullok_until=2027-01-31"]).is_ok());
    }

    #[test]
    fn policy_options_are_given_once() {
        for (args, name) in [
            (["only_group=a", "only_group=b"], "only_group"),
            (["skip_group=a", "skip_group=a"], "skip_group"),
            (
                ["nullok_until=2027-01-31", "nullok_until=2027-02-01"],
                "nullok_until",
            ),
        ] {
            assert_eq!(ModuleOptions::parse(args), Err(OptionError::Repeated(name)));
        }
        // The policy belongs on the forward_pass line, as every other option.
        assert_eq!(
            ModuleOptions::parse(["check_forwarded", "only_group=admins"]),
            Err(OptionError::NotWithCheckForwarded(
                "only_group=admins".into()
            ))
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
            "try_first_pass",
            "debug",
            "only_group=sudo,admins@example.com",
            "skip_group=svc-backup",
            "nullok_until=2027-01-31",
            "remember=12h",
            "enroll",
        ])
        .unwrap();
        let want = ModuleOptions {
            secret_template: "/var/lib/pam_totp/%u.toml".to_string(),
            nullok: true,
            window: 3,
            hotp_window: 10,
            rate_limit: RateLimit {
                max_checks: 5,
                seconds: 60,
            },
            prompt: "OTP please: ".to_string(),
            code_source: CodeSource::TryFirstPass,
            debug: true,
            only_group: vec!["sudo".into(), "admins@example.com".into()],
            skip_group: vec!["svc-backup".into()],
            nullok_until: Some(Day::parse("2027-01-31").unwrap()),
            remember: Some(43_200),
            enroll: true,
            store: Store::File,
            ldap_config: PathBuf::from("/etc/pam_totp/ldap.toml"),
        };
        assert_eq!(o, want);
    }

    #[test]
    fn the_store_is_the_file_unless_ldap_is_asked_for() {
        let o = ModuleOptions::parse([]).unwrap();
        // SPEC.md's defaults, spelt out.
        assert_eq!(
            (o.store, o.ldap_config.to_str()),
            (Store::File, Some("/etc/pam_totp/ldap.toml"))
        );
        assert_eq!(ModuleOptions::parse(["store=file"]).unwrap(), o);
        let o = ModuleOptions::parse(["store=ldap", "nullok", "debug"]).unwrap();
        assert_eq!(
            (o.store, o.ldap_config.to_str(), o.nullok),
            (Store::Ldap, Some("/etc/pam_totp/ldap.toml"), true)
        );
        let o = ModuleOptions::parse(["ldap_config=/srv/ldap.toml", "store=ldap", "forward_pass"])
            .unwrap();
        assert_eq!(
            (o.store, o.ldap_config.to_str(), o.code_source),
            (Store::Ldap, Some("/srv/ldap.toml"), CodeSource::ForwardPass)
        );
        assert_eq!(Store::Ldap.to_string(), "ldap");
    }

    #[test]
    fn store_values_and_ldap_config_paths_are_checked() {
        for arg in [
            "store=",
            "store=LDAP",
            "store=files",
            "store=ldaps",
            "ldap_config=",
            "ldap_config=ldap.toml",
            "ldap_config=~/ldap.toml",
        ] {
            let args = ["store=ldap", arg];
            let args = if arg.starts_with("store") {
                &args[1..]
            } else {
                &args[..]
            };
            assert!(
                matches!(
                    ModuleOptions::parse(args.iter().copied()),
                    Err(OptionError::BadValue { .. })
                ),
                "{arg} was accepted"
            );
        }
        for arg in ["store", "ldap_config"] {
            assert!(ModuleOptions::parse([arg]).is_err(), "{arg} was accepted");
        }
        let err = ModuleOptions::parse(["store=ldpa"]).unwrap_err();
        assert!(err.to_string().contains("expected file or ldap"), "{err}");
        assert_eq!(
            ModuleOptions::parse(["store=ldap", "store=file"]),
            Err(OptionError::Repeated("store"))
        );
        assert_eq!(
            ModuleOptions::parse(["store=ldap", "ldap_config=/a", "ldap_config=/a"]),
            Err(OptionError::Repeated("ldap_config"))
        );
    }

    #[test]
    fn file_store_options_are_refused_with_ldap() {
        for (arg, says) in [
            ("remember=12h", "remembered hosts are kept in local files"),
            ("enroll", "totp-enroll --store ldap"),
            ("secret=/var/lib/pam_totp/%u.toml", "ldap_config="),
            ("secret=~/.pam_totp.toml", "ldap_config="),
        ] {
            for args in [["store=ldap", arg], [arg, "store=ldap"]] {
                let err = ModuleOptions::parse(args).unwrap_err();
                assert!(
                    matches!(&err, OptionError::NotWithLdap { option, .. } if option == arg),
                    "{args:?}: {err:?}"
                );
                let text = err.to_string();
                assert!(
                    text.contains(says) && text.contains("cannot be used with store=ldap"),
                    "{text}"
                );
            }
            // The same options are fine with the file store.
            assert!(ModuleOptions::parse(["store=file", arg]).is_ok(), "{arg}");
        }
    }

    #[test]
    fn ldap_config_needs_store_ldap() {
        for args in [
            &["ldap_config=/etc/pam_totp/ldap.toml"][..],
            &["store=file", "ldap_config=/etc/pam_totp/ldap.toml"][..],
        ] {
            let err = ModuleOptions::parse(args.iter().copied()).unwrap_err();
            assert_eq!(
                err,
                OptionError::LdapConfigWithoutLdap("ldap_config=/etc/pam_totp/ldap.toml".into())
            );
            assert!(err.to_string().contains("add store=ldap"), "{err}");
        }
        // The check line takes the store from the forward_pass line.
        assert_eq!(
            ModuleOptions::parse(["check_forwarded", "store=ldap"]),
            Err(OptionError::NotWithCheckForwarded("store=ldap".into()))
        );
    }

    #[test]
    fn misspelt_options_fail_closed() {
        assert_eq!(
            ModuleOptions::parse(["nulok"]),
            Err(OptionError::Unknown("nulok".into()))
        );
        assert!(ModuleOptions::parse(["nullok=yes"]).is_err());
        assert!(ModuleOptions::parse(["window"]).is_err());
        assert!(ModuleOptions::parse(["hotp_window"]).is_err());
    }

    #[test]
    fn hotp_window_is_10_unless_set() {
        assert_eq!(ModuleOptions::parse([]).unwrap().hotp_window, 10);
        for (arg, window) in [("hotp_window=1", 1), ("hotp_window=20", 20)] {
            assert_eq!(ModuleOptions::parse([arg]).unwrap().hotp_window, window);
        }
    }

    #[test]
    fn bad_values_are_refused() {
        for arg in [
            "window=-1",
            "window=11",
            "window=x",
            "hotp_window=0",
            "hotp_window=21",
            "hotp_window=x",
            "hotp_window=",
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
