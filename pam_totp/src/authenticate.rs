//! The authentication flow, independent of libpam: conversation, items and log are reached
//! through [`Frontend`], and the time is a parameter, so the whole flow is testable.

use crate::forwarded::{KeptCode, Taken};
use crate::options::{CodeSource, ModuleOptions, FORWARD_PASS_PROMPT};
use nix::unistd::User;
use pam_totp_core::log_safe;
use pam_totp_core::params::DEFAULT_DIGITS;
use pam_totp_core::recovery;
use pam_totp_core::template::{self, SecretPath};
use pam_totp_core::verify::{self, Outcome, Policy};
use pam_totp_store::store::{Locked, Opened, Owner, SecretDir, StoreError};
use zeroize::Zeroizing;

/// Delay libpam applies after a failed authentication (pam_fail_delay), in microseconds.
pub const FAIL_DELAY_MICROS: u32 = 2_000_000;
/// Prompt for the password alone, used with `forward_pass` for users without a file.
pub const PASSWORD_PROMPT: &str = "Password: ";

/// Syslog severities used by the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Configuration or file problems an administrator must fix.
    Error,
    /// Replays and rate-limit hits.
    Warning,
    /// Failed codes, recovery codes used.
    Notice,
    /// Successful logins.
    Info,
    /// Extra detail with the `debug` option.
    Debug,
}

/// What the flow needs from the PAM stack.
pub trait Frontend {
    /// The user being authenticated (may prompt for it).
    fn user(&mut self) -> Result<String, String>;
    /// Asks with echo off; None when the conversation fails or gives no answer.
    fn ask_hidden(&mut self, prompt: &str) -> Option<Zeroizing<String>>;
    /// Shows an error line to the user (unless the application asked for silence).
    fn tell_error(&mut self, text: &str);
    /// PAM_AUTHTOK as set by an earlier module.
    fn authtok(&self) -> Option<Zeroizing<String>>;
    /// Sets PAM_AUTHTOK for the following modules.
    fn set_authtok(&mut self, value: &str) -> bool;
    /// PAM_RHOST, for log lines (raw: the flow makes it log-safe).
    fn rhost(&self) -> Option<String>;
    /// Writes one line to the authpriv log.
    fn log(&mut self, level: Level, message: &str);
    /// Asks libpam to delay the answer if the stack fails.
    fn request_fail_delay(&mut self, micros: u32);
    /// Keeps the code split off by `forward_pass` for the `check_forwarded` line.
    fn keep_code(&mut self, kept: KeptCode) -> bool;
    /// The code an earlier `forward_pass` line kept in this transaction, once.
    fn take_kept_code(&mut self) -> Option<Taken>;
    /// Records that the kept code was accepted (or the user found not enrolled under
    /// `nullok`), so that a successful transaction raises no alarm.
    fn settle_kept_code(&mut self);
}

/// The module's answer, mapped to a PAM return code by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The code was right.
    Success,
    /// Not enrolled and `nullok`, or a `forward_pass` line (which only splits): this module
    /// has no opinion.
    Ignore,
    /// Wrong, replayed or throttled code, or an unusable file.
    AuthErr,
    /// The pam.d line is wrong.
    ServiceErr,
}

/// Runs one authentication at Unix time `now` with the pam.d arguments `args`.
pub fn authenticate(fe: &mut dyn Frontend, args: &[&str], now: u64) -> Verdict {
    let mut opts = match ModuleOptions::parse(args.iter().copied()) {
        Ok(o) => o,
        Err(e) => {
            fe.log(
                Level::Error,
                &format!("configuration error: {e}; fix the pam.d line"),
            );
            return Verdict::ServiceErr;
        }
    };
    fe.request_fail_delay(FAIL_DELAY_MICROS);
    let user = match fe.user() {
        Ok(u) => u,
        Err(e) => {
            fe.log(Level::Error, &format!("cannot get the user name: {e}"));
            return Verdict::AuthErr;
        }
    };
    let log_user = log_safe::field(&user);
    let mut kept_code = None;
    if opts.code_source == CodeSource::CheckForwarded {
        let Some(taken) = fe.take_kept_code() else {
            fe.log(
                Level::Error,
                &format!("check_forwarded: no code was kept for user={log_user}: this line must come after 'auth required pam_totp.so forward_pass' and the password module (see the openvpn example); refusing"),
            );
            return Verdict::AuthErr;
        };
        if taken.user != user {
            fe.log(
                Level::Error,
                &format!("check_forwarded: the code was kept for another user than user={log_user} (PAM_USER changed in between); refusing"),
            );
            return Verdict::AuthErr;
        }
        let debug = opts.debug;
        opts = taken.options;
        opts.debug |= debug;
        opts.code_source = CodeSource::CheckForwarded;
        kept_code = Some(taken.code);
    }
    let checking_kept_code = kept_code.is_some();
    let mut flow = Flow {
        fe,
        opts,
        user,
        log_user,
        now,
        kept_code,
        scrub: Vec::new(),
    };
    let verdict = flow.run();
    if checking_kept_code && matches!(verdict, Verdict::Success | Verdict::Ignore) {
        fe.settle_kept_code();
    }
    verdict
}

struct Flow<'a> {
    fe: &'a mut dyn Frontend,
    opts: ModuleOptions,
    user: String,
    log_user: String,
    now: u64,
    /// For `check_forwarded`: what `forward_pass` kept (None inside: nothing was split off).
    kept_code: Option<Option<Zeroizing<String>>>,
    /// The user name and home as found in the user database, and their log-safe forms,
    /// longest first: paths in messages are built from them.
    scrub: Vec<(String, String)>,
}

/// Where the user's file stands, before any input is read.
enum Located {
    /// The file's directory, opened and trusted; `path` and `owner` to open it again.
    Found(SecretDir, SecretPath, Owner),
    /// Not enrolled; the reason, for the log.
    NotEnrolled(String),
    /// The file exists somewhere we cannot trust, or cannot be read: refuse.
    Refused,
    /// The pam.d line cannot work.
    ConfigError,
}

impl Flow<'_> {
    fn debug(&mut self, message: &str) {
        if self.opts.debug {
            self.fe.log(Level::Debug, message);
        }
    }

    fn failure(&mut self, level: Level, reason: &str) {
        let rhost = log_safe::host(&self.fe.rhost().unwrap_or_default());
        let line = format!(
            "authentication failure; user={} rhost={} reason={}",
            self.log_user, rhost, reason
        );
        self.fe.log(level, &line);
    }

    fn refused_file(&mut self, e: &StoreError) {
        let line = format!(
            "refusing secret file of user={}: {}",
            self.log_user,
            self.scrubbed(e)
        );
        self.fe.log(Level::Error, &line);
    }

    /// An error's text with the user name and home (in paths) made log-safe.
    fn scrubbed(&self, e: &dyn std::fmt::Display) -> String {
        let mut text = e.to_string();
        for (raw, safe) in &self.scrub {
            if raw.len() > 1 && raw != safe {
                text = text.replace(raw.as_str(), safe);
            }
        }
        text
    }

    fn run(&mut self) -> Verdict {
        let (dir, path, owner) = match self.locate() {
            Located::Found(dir, path, owner) => (dir, path, owner),
            Located::NotEnrolled(why) => return self.not_enrolled(&why),
            Located::Refused => return self.refuse_after_prompt(),
            Located::ConfigError => return Verdict::ServiceErr,
        };
        match self.opts.code_source {
            CodeSource::ForwardPass => self.split_and_keep(Some(dir)),
            CodeSource::TryFirstPass => self.try_first_pass(dir, &path, owner),
            CodeSource::Prompt | CodeSource::UseFirstPass | CodeSource::CheckForwarded => {
                let opened = match dir.open_file() {
                    Ok(o) => o,
                    Err(e) => return self.file_trouble(&e),
                };
                let Some(code) = self.obtain_code() else {
                    return Verdict::AuthErr;
                };
                self.check_locked(opened, code)
            }
        }
    }

    /// Finds the user's file: looks the user up, expands the template, opens the directory.
    fn locate(&mut self) -> Located {
        let account = match User::from_name(&self.user) {
            Ok(Some(a)) => a,
            Ok(None) => return Located::NotEnrolled("unknown user".into()),
            Err(e) => {
                // An NSS failure is not "unknown user": never let nullok turn it into a pass.
                let line = format!(
                    "cannot look up user={} in the passwd database: {e}",
                    self.log_user
                );
                self.fe.log(Level::Error, &line);
                return Located::Refused;
            }
        };
        let home = account.dir.to_string_lossy().into_owned();
        self.scrub = vec![
            (account.name.clone(), log_safe::path(&account.name)),
            (home.clone(), log_safe::path(&home)),
        ];
        // The longest first: a home that contains the user name is replaced whole.
        self.scrub
            .sort_by_key(|(raw, _)| std::cmp::Reverse(raw.len()));
        // The canonical name from passwd, not what the client typed (case, aliases).
        let path = match template::expand(&self.opts.secret_template, &account.name, &account.dir) {
            Ok(p) => p,
            Err(template::TemplateError::BadUserName) => {
                self.failure(Level::Error, "user name not usable in a file path");
                return Located::Refused;
            }
            Err(template::TemplateError::BadHome(home)) => {
                // No file can be found through a relative home: nothing to be enrolled with.
                return Located::NotEnrolled(format!(
                    "home directory {} is not an absolute path",
                    log_safe::path(&home)
                ));
            }
            Err(e) => {
                self.fe
                    .log(Level::Error, &format!("configuration error: {e}"));
                return Located::ConfigError;
            }
        };
        let owner = Owner {
            name: account.name.clone(),
            uid: account.uid,
            gid: account.gid,
        };
        match SecretDir::open(&path, owner.clone()) {
            Ok(dir) => Located::Found(dir, path, owner),
            Err(e) if e.is_not_enrolled() => Located::NotEnrolled(self.scrubbed(&e)),
            Err(e) => {
                self.refused_file(&e);
                Located::Refused
            }
        }
    }

    /// The file could not be opened: not enrolled, or refused.
    fn file_trouble(&mut self, e: &StoreError) -> Verdict {
        if e.is_not_enrolled() {
            return self.not_enrolled(&self.scrubbed(e));
        }
        self.refused_file(e);
        self.refuse_after_prompt()
    }

    /// Takes the lock, reads the file under it, checks `code` and saves the new state.
    fn check_locked(&mut self, opened: Opened, code: Zeroizing<String>) -> Verdict {
        // The file is read and parsed only now, under the lock, so the check always sees the
        // state the last login saved.
        match opened.lock() {
            Ok(locked) => self.check(locked, code),
            Err(e) => {
                self.refused_file(&e);
                Verdict::AuthErr
            }
        }
    }

    fn check(&mut self, mut locked: Locked, code: Zeroizing<String>) -> Verdict {
        let policy = Policy {
            window: self.opts.window,
            rate_limit: self.opts.rate_limit,
        };
        let outcome = verify::check(locked.content_mut(), &code, self.now, policy);
        drop(code);
        if outcome.needs_save() {
            if let Err(e) = locked.save() {
                let line = format!(
                    "cannot save login state of user={} (login refused to keep codes single-use): {}",
                    self.log_user,
                    self.scrubbed(&e)
                );
                self.fe.log(Level::Error, &line);
                return Verdict::AuthErr;
            }
        }
        self.report(&outcome)
    }

    /// `try_first_pass`: PAM_AUTHTOK is taken only in the exact shape of this user's codes;
    /// otherwise the user is asked.
    fn try_first_pass(&mut self, dir: SecretDir, path: &SecretPath, owner: Owner) -> Verdict {
        let mut opened = match dir.open_file() {
            Ok(o) => o,
            Err(e) => return self.file_trouble(&e),
        };
        if let Some(tok) = self.fe.authtok() {
            let locked = match opened.lock() {
                Ok(l) => l,
                Err(e) => {
                    self.refused_file(&e);
                    return Verdict::AuthErr;
                }
            };
            let digits = locked.content().digits;
            if verify::looks_like_code(&tok, Some(digits)) {
                return self.check(locked, tok);
            }
            // Not a code: ask, without holding the lock while the user types.
            drop(locked);
            opened = match SecretDir::open(path, owner).and_then(SecretDir::open_file) {
                Ok(o) => o,
                Err(e) => return self.file_trouble(&e),
            };
        }
        let Some(code) = self.ask() else {
            return Verdict::AuthErr;
        };
        self.check_locked(opened, code)
    }

    /// `forward_pass`: asks once for password and code, hands the password on as
    /// PAM_AUTHTOK and keeps the code for `check_forwarded`; decides nothing (PAM_IGNORE), so
    /// that the password module decides first. `dir` is None when the file cannot be used:
    /// the field is split as for an enrolled user, and `check_forwarded` refuses.
    fn split_and_keep(&mut self, dir: Option<SecretDir>) -> Verdict {
        // The number of digits from a read without the lock (the file is only ever replaced
        // whole); check_forwarded reads it again under the lock.
        let digits = match dir.map(SecretDir::load) {
            Some(Ok(loaded)) => loaded.content().digits,
            Some(Err(e)) if e.is_not_enrolled() => return self.not_enrolled(&self.scrubbed(&e)),
            Some(Err(e)) => {
                let line = format!(
                    "forward_pass: {} (check_forwarded will refuse)",
                    self.scrubbed(&e)
                );
                self.debug(&line);
                DEFAULT_DIGITS
            }
            None => DEFAULT_DIGITS,
        };
        let Some(combined) = self.ask_with(FORWARD_PASS_PROMPT) else {
            return Verdict::AuthErr;
        };
        let (password, code) = split_forwarded(&combined, digits);
        let code = Zeroizing::new(code.to_string());
        if !self.hand_on(password) {
            return Verdict::AuthErr;
        }
        self.keep(Some(code))
    }

    /// Sets PAM_AUTHTOK to the password for the next module; false (logged) when libpam
    /// refuses.
    fn hand_on(&mut self, password: &str) -> bool {
        let set = self.fe.set_authtok(password);
        if !set {
            self.fe.log(
                Level::Error,
                "forward_pass: cannot set PAM_AUTHTOK for the next module",
            );
        }
        set
    }

    fn keep(&mut self, code: Option<Zeroizing<String>>) -> Verdict {
        let kept = KeptCode::new(&self.user, self.opts.clone(), code);
        if !self.fe.keep_code(kept) {
            self.fe.log(
                Level::Error,
                "forward_pass: libpam could not keep the code for check_forwarded",
            );
            return Verdict::AuthErr;
        }
        Verdict::Ignore
    }

    fn report(&mut self, outcome: &Outcome) -> Verdict {
        let limit = self.opts.rate_limit;
        match *outcome {
            Outcome::Accepted { drift, .. } => {
                let line = format!(
                    "accepted verification code; user={} drift_steps={drift}",
                    self.log_user
                );
                self.fe.log(Level::Info, &line);
                Verdict::Success
            }
            Outcome::RecoveryAccepted { remaining } => {
                let line = format!(
                    "accepted recovery code; user={} recovery_codes_left={remaining}",
                    self.log_user
                );
                self.fe.log(Level::Notice, &line);
                Verdict::Success
            }
            Outcome::Replayed { step } => {
                self.failure(
                    Level::Warning,
                    &format!("replayed code (time step {step} was already used)"),
                );
                Verdict::AuthErr
            }
            Outcome::Wrong => {
                self.failure(Level::Notice, "wrong code");
                Verdict::AuthErr
            }
            Outcome::Malformed => {
                self.failure(Level::Notice, "input is not a code");
                Verdict::AuthErr
            }
            Outcome::RateLimited { retry_after } => {
                self.failure(
                    Level::Warning,
                    &format!(
                        "rate limit of {} checks per {} s reached, code not checked, retry in {retry_after} s",
                        limit.max_checks, limit.seconds
                    ),
                );
                self.fe.tell_error(&format!(
                    "Too many verification attempts; try again in {retry_after} seconds."
                ));
                Verdict::AuthErr
            }
        }
    }

    /// No file (or no such user): PAM_IGNORE with nullok, otherwise ask anyway and fail.
    fn not_enrolled(&mut self, why: &str) -> Verdict {
        if self.opts.nullok {
            let line = format!(
                "user={} not enrolled ({why}); nullok lets the stack decide",
                self.log_user
            );
            self.debug(&line);
            if self.opts.code_source == CodeSource::ForwardPass {
                // The single field holds only the password: pass it on unchanged.
                let Some(password) = self.ask_with(PASSWORD_PROMPT) else {
                    return Verdict::AuthErr;
                };
                if !self.hand_on(&password) {
                    return Verdict::AuthErr;
                }
                return self.keep(None);
            }
            return Verdict::Ignore;
        }
        if self.opts.code_source == CodeSource::ForwardPass {
            // Split as for an enrolled user; check_forwarded refuses after the password.
            return self.split_and_keep(None);
        }
        self.failure(
            Level::Notice,
            &format!("not enrolled ({why}); run totp-enroll or add nullok"),
        );
        self.refuse_after_prompt()
    }

    /// Asks as for an enrolled user (so that prompts do not reveal enrollment), then fails.
    /// A `forward_pass` line still only splits: `check_forwarded` refuses after the password.
    fn refuse_after_prompt(&mut self) -> Verdict {
        match self.opts.code_source {
            CodeSource::ForwardPass => self.split_and_keep(None),
            CodeSource::CheckForwarded => Verdict::AuthErr,
            _ => {
                drop(self.obtain_code());
                Verdict::AuthErr
            }
        }
    }

    /// Gets the code from the configured source; None (logged) when there is none.
    fn obtain_code(&mut self) -> Option<Zeroizing<String>> {
        match self.opts.code_source {
            CodeSource::Prompt => self.ask(),
            CodeSource::UseFirstPass => {
                let tok = self.fe.authtok();
                if tok.is_none() {
                    self.failure(
                        Level::Error,
                        "use_first_pass but no earlier module set a password",
                    );
                }
                tok
            }
            CodeSource::TryFirstPass => match self.fe.authtok() {
                Some(tok) if verify::looks_like_code(&tok, None) => Some(tok),
                _ => self.ask(),
            },
            CodeSource::ForwardPass => self.ask_with(FORWARD_PASS_PROMPT),
            CodeSource::CheckForwarded => {
                let code = self.kept_code.take().flatten();
                if code.is_none() {
                    self.failure(
                        Level::Notice,
                        "forward_pass handed the field on whole (the user was not enrolled then)",
                    );
                }
                code
            }
        }
    }

    fn ask(&mut self) -> Option<Zeroizing<String>> {
        let prompt = self.opts.prompt.clone();
        self.ask_with(&prompt)
    }

    fn ask_with(&mut self, prompt: &str) -> Option<Zeroizing<String>> {
        let answer = self.fe.ask_hidden(prompt);
        if answer.is_none() {
            self.failure(Level::Notice, "conversation gave no answer");
        }
        answer
    }
}

/// Splits `password || code` typed into one field: a trailing `xxxxx-xxxxx` recovery code,
/// else the last `digits` characters.
pub fn split_forwarded(combined: &str, digits: u8) -> (&str, &str) {
    const RECOVERY_LEN: usize = recovery::PRINTED_CHARS;
    let split_at = |tail_len: usize| {
        combined
            .len()
            .checked_sub(tail_len)
            .and_then(|at| Some((combined.get(..at)?, combined.get(at..)?)))
    };
    if let Some((password, tail)) = split_at(RECOVERY_LEN) {
        let looks_like_recovery = tail.bytes().enumerate().all(|(i, c)| {
            if i == RECOVERY_LEN / 2 {
                c == b'-'
            } else {
                c.is_ascii_alphanumeric()
            }
        });
        if looks_like_recovery {
            return (password, tail);
        }
    }
    split_at(usize::from(digits)).unwrap_or(("", combined))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_field_is_split_at_the_code() {
        assert_eq!(split_forwarded("hunter2123456", 6), ("hunter2", "123456"));
        assert_eq!(
            split_forwarded("hunter212345678", 8),
            ("hunter2", "12345678")
        );
        assert_eq!(split_forwarded("pw-abcde-fghjk", 6), ("pw-", "abcde-fghjk"));
        assert_eq!(split_forwarded("123456", 6), ("", "123456"));
        assert_eq!(split_forwarded("12", 6), ("", "12"));
        assert_eq!(split_forwarded("pässwörd123456", 6), ("pässwörd", "123456"));
        assert_eq!(split_forwarded("ab€", 2), ("", "ab€"));
    }
}
