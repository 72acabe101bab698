//! The authentication flow, independent of libpam: conversation, items and log are reached
//! through [`Frontend`], and the time is a parameter, so the whole flow is testable.

use crate::fs::store::{Owner, SecretDir};
use crate::options::{CodeSource, ModuleOptions, FORWARD_PASS_PROMPT};
use crate::template;
use crate::verify::{self, Outcome, Policy};
use nix::unistd::User;
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
    /// PAM_RHOST, for log lines.
    fn rhost(&self) -> Option<String>;
    /// Writes one line to the authpriv log.
    fn log(&mut self, level: Level, message: &str);
    /// Asks libpam to delay the answer if the stack fails.
    fn request_fail_delay(&mut self, micros: u32);
}

/// The module's answer, mapped to a PAM return code by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The code was right.
    Success,
    /// Not enrolled and `nullok`: this module has no opinion.
    Ignore,
    /// Wrong, replayed or throttled code, or an unusable file.
    AuthErr,
    /// The pam.d line is wrong.
    ServiceErr,
}

/// Runs one authentication at Unix time `now` with the pam.d arguments `args`.
pub fn authenticate(fe: &mut dyn Frontend, args: &[&str], now: u64) -> Verdict {
    let opts = match ModuleOptions::parse(args.iter().copied()) {
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
    let log_user = log_safe(&user);
    let mut flow = Flow {
        fe,
        opts,
        user,
        log_user,
        now,
    };
    flow.run()
}

/// What the user typed: a code, or (forward_pass) password and code in one field.
enum Input {
    Code(Zeroizing<String>),
    Combined(Zeroizing<String>),
}

/// A user name as it may appear in a log line: no spaces, control characters or `=` that
/// could forge fields or lines for log parsers such as fail2ban.
pub fn log_safe(name: &str) -> String {
    name.chars()
        .take(64)
        .map(|c| {
            if c.is_alphanumeric() || "._-@+$\\".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

struct Flow<'a> {
    fe: &'a mut dyn Frontend,
    opts: ModuleOptions,
    user: String,
    log_user: String,
    now: u64,
}

impl Flow<'_> {
    fn debug(&mut self, message: &str) {
        if self.opts.debug {
            self.fe.log(Level::Debug, message);
        }
    }

    fn failure(&mut self, level: Level, reason: &str) {
        let rhost = self.fe.rhost().unwrap_or_default();
        let line = format!(
            "authentication failure; user={} rhost={} reason={}",
            self.log_user, rhost, reason
        );
        self.fe.log(level, &line);
    }

    fn run(&mut self) -> Verdict {
        let account = match User::from_name(&self.user) {
            Ok(Some(a)) => a,
            Ok(None) => return self.not_enrolled("unknown user"),
            Err(e) => {
                // An NSS failure is not "unknown user": never let nullok turn it into a pass.
                let line = format!(
                    "cannot look up user={} in the passwd database: {e}",
                    self.log_user
                );
                self.fe.log(Level::Error, &line);
                return self.refuse_after_prompt();
            }
        };
        // The canonical name from passwd, not what the client typed (case, aliases).
        let path = match template::expand(&self.opts.secret_template, &account.name, &account.dir) {
            Ok(p) => p,
            Err(template::TemplateError::BadUserName) => {
                self.failure(Level::Error, "user name not usable in a file path");
                return self.refuse_after_prompt();
            }
            Err(e) => {
                self.fe
                    .log(Level::Error, &format!("configuration error: {e}"));
                return Verdict::ServiceErr;
            }
        };
        let owner = Owner {
            name: account.name.clone(),
            uid: account.uid,
            gid: account.gid,
        };
        let opened = match SecretDir::open(&path, owner).and_then(SecretDir::open_file) {
            Ok(o) => o,
            Err(e) if e.is_not_found() => {
                let msg = e.to_string();
                self.debug(&msg);
                return self.not_enrolled("no secret file");
            }
            Err(e) => {
                self.fe.log(
                    Level::Error,
                    &format!("refusing secret file of user={}: {e}", self.log_user),
                );
                return self.refuse_after_prompt();
            }
        };
        let Some(input) = self.obtain_input() else {
            return Verdict::AuthErr;
        };
        // The file is read and parsed only now, under the lock, so the check always sees the
        // state the last login saved.
        let mut locked = match opened.lock() {
            Ok(l) => l,
            Err(e) => {
                self.fe.log(
                    Level::Error,
                    &format!("refusing secret file of user={}: {e}", self.log_user),
                );
                return Verdict::AuthErr;
            }
        };
        let code = match input {
            Input::Code(code) => code,
            Input::Combined(combined) => {
                let (password, code) = split_forwarded(&combined, locked.content().digits);
                if !self.fe.set_authtok(password) {
                    self.fe.log(
                        Level::Error,
                        "forward_pass: cannot set PAM_AUTHTOK for the next module",
                    );
                }
                Zeroizing::new(code.to_string())
            }
        };
        let policy = Policy {
            window: self.opts.window,
            rate_limit: self.opts.rate_limit,
        };
        let outcome = verify::check(locked.content_mut(), &code, self.now, policy);
        drop(code);
        if outcome.needs_save() {
            if let Err(e) = locked.save() {
                self.fe.log(
                    Level::Error,
                    &format!("cannot save login state of user={} (login refused to keep codes single-use): {e}", self.log_user),
                );
                return Verdict::AuthErr;
            }
        }
        self.report(&outcome)
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
            self.debug(&format!(
                "user={} not enrolled ({why}); nullok lets the stack decide",
                self.user
            ));
            if self.opts.code_source == CodeSource::ForwardPass {
                // The single field holds only the password: pass it on unchanged.
                if let Some(password) = self.fe.ask_hidden(PASSWORD_PROMPT) {
                    self.fe.set_authtok(&password);
                }
            }
            return Verdict::Ignore;
        }
        self.failure(
            Level::Notice,
            &format!("not enrolled ({why}); run totp-enroll or add nullok"),
        );
        self.refuse_after_prompt()
    }

    /// Asks as for an enrolled user (so that prompts do not reveal enrollment), then fails.
    fn refuse_after_prompt(&mut self) -> Verdict {
        drop(self.obtain_input());
        Verdict::AuthErr
    }

    /// Gets the input from the configured source; None (logged) when there is none.
    fn obtain_input(&mut self) -> Option<Input> {
        match self.opts.code_source {
            CodeSource::Prompt => self.ask().map(Input::Code),
            CodeSource::UseFirstPass => {
                let tok = self.fe.authtok();
                if tok.is_none() {
                    self.failure(
                        Level::Error,
                        "use_first_pass but no earlier module set a password",
                    );
                }
                tok.map(Input::Code)
            }
            CodeSource::TryFirstPass => match self.fe.authtok() {
                Some(tok) if verify::looks_like_code(&tok) => Some(Input::Code(tok)),
                _ => self.ask().map(Input::Code),
            },
            CodeSource::ForwardPass => self.ask_with(FORWARD_PASS_PROMPT).map(Input::Combined),
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
    const RECOVERY_LEN: usize = 11;
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

    #[test]
    fn user_names_cannot_forge_log_fields() {
        assert_eq!(log_safe("alice"), "alice");
        assert_eq!(log_safe("DOM\\bob.smith@ex-1"), "DOM\\bob.smith@ex-1");
        assert_eq!(log_safe("x rhost=1.2.3.4\nfake"), "x?rhost?1.2.3.4?fake");
        assert_eq!(log_safe(&"a".repeat(100)).len(), 64);
    }
}
