//! The authentication flow, independent of libpam: conversation, items and log are reached
//! through [`Frontend`], users through [`UserDb`], the secret through [`SecretStore`], and the
//! time is a parameter, so every rule of the flow is testable without root.

use crate::forwarded::{split_forwarded, KeptCode};
use crate::frontend::{Frontend, Level};
use crate::notices::{self, Style};
use crate::options::{CodeSource, ModuleOptions, Store, FORWARD_PASS_PROMPT};
use crate::policy::{Exemption, GroupPolicy, PolicyError};
use pam_totp_core::log_safe;
use pam_totp_core::params::DEFAULT_DIGITS;
use pam_totp_core::remember;
use pam_totp_core::store::{Located, LockedRecord, Record, RecordError, SecretStore};
use pam_totp_core::template;
use pam_totp_core::user_db::{Account, UserDb};
use pam_totp_core::verify::{self, Matched, Outcome, Policy};
use zeroize::Zeroizing;

mod enroll;
#[cfg(test)]
mod tests;

/// Delay libpam applies after a failed authentication (pam_fail_delay), in microseconds.
pub const FAIL_DELAY_MICROS: u32 = 2_000_000;
/// Prompt for the password alone, used with `forward_pass` for users without a file.
pub const PASSWORD_PROMPT: &str = "Password: ";

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

/// Runs one authentication at Unix time `now` with the pam.d arguments `args`: the user is
/// looked up in `users`, and `open_store` gives the secret store for the options in force
/// (those of the `forward_pass` line on a `check_forwarded` line), which must be of the kind
/// `serves` (a code kept by a line of another store is refused, never checked here).
pub fn authenticate<U, S>(
    fe: &mut dyn Frontend,
    users: &U,
    serves: Store,
    open_store: impl FnOnce(&ModuleOptions) -> S,
    args: &[&str],
    now: u64,
) -> Verdict
where
    U: UserDb,
    S: SecretStore,
{
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
    if opts.store != serves {
        fe.log(
            Level::Error,
            &format!(
                "user={log_user}: the options in force use store={} but this module serves store={serves} (pam_totp.so hands store=ldap lines, and check_forwarded lines whose forward_pass line has store=ldap, to pam_totp_ldap.so); refusing",
                opts.store
            ),
        );
        return Verdict::AuthErr;
    }
    let checking_kept_code = kept_code.is_some();
    let store = open_store(&opts);
    let remember_from = remember_host(fe, &opts);
    let mut flow = Flow {
        fe,
        users,
        store,
        opts,
        user,
        log_user,
        now,
        kept_code,
        remember_from,
    };
    let verdict = flow.run();
    if checking_kept_code && matches!(verdict, Verdict::Success | Verdict::Ignore) {
        fe.settle_kept_code();
    }
    verdict
}

/// The remote host (PAM_RHOST) a login comes from, when `remember=` is set and there is one
/// that is not this machine, with the duration: the host a successful code is remembered for.
fn remember_host(fe: &dyn Frontend, opts: &ModuleOptions) -> Option<(String, u64)> {
    let duration = opts.remember?;
    let host = fe.rhost().filter(|h| !h.trim().is_empty())?;
    if remember::is_local(&host, fe.hostname().as_deref()) {
        return None;
    }
    Some((host, duration))
}

struct Flow<'a, U, S> {
    fe: &'a mut dyn Frontend,
    users: &'a U,
    store: S,
    opts: ModuleOptions,
    user: String,
    log_user: String,
    now: u64,
    /// For `check_forwarded`: what `forward_pass` kept (None inside: nothing was split off).
    kept_code: Option<Option<Zeroizing<String>>>,
    /// `remember=`: the remote host and the duration (see [`remember_host`]), found once.
    remember_from: Option<(String, u64)>,
}

/// Where the user's record stands, before any input is read.
enum Place<F> {
    /// The record, located for the account.
    Found(F, Account),
    /// Not enrolled; the reason, for the log.
    NotEnrolled(String),
    /// A group rule exempts the user: not asked, whether enrolled or not.
    Exempt(Exemption),
    /// The record exists somewhere we cannot trust, or cannot be read: refuse.
    Refused,
    /// The pam.d line cannot work.
    ConfigError,
}

impl<U: UserDb, S: SecretStore> Flow<'_, U, S> {
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

    /// Logs that a policy lets the user through unasked. On a `forward_pass` line, which
    /// decides nothing, only with `debug`: the `check_forwarded` line logs the decision.
    fn not_required(&mut self, reason: &str) {
        let rhost = log_safe::host(&self.fe.rhost().unwrap_or_default());
        let line = format!(
            "second factor not required; user={} rhost={} reason={}",
            self.log_user, rhost, reason
        );
        if self.opts.code_source == CodeSource::ForwardPass {
            self.debug(&line);
        } else {
            self.fe.log(Level::Info, &line);
        }
    }

    fn refused_file(&mut self, e: &S::Error) {
        let record = match self.opts.store {
            Store::File => "secret file",
            Store::Ldap => "directory entries",
        };
        let line = format!("refusing {record} of user={}: {e}", self.log_user);
        self.fe.log(Level::Error, &line);
    }

    fn run(&mut self) -> Verdict {
        let (found, account) = match self.locate() {
            Ok(located) => located,
            Err(verdict) => return verdict,
        };
        let found = match self.unless_remembered(found, account.clone()) {
            Ok(found) => found,
            Err(verdict) => return verdict,
        };
        match self.opts.code_source {
            CodeSource::ForwardPass => self.split_and_keep(Some(found)),
            CodeSource::TryFirstPass => self.try_first_pass(found, &account),
            CodeSource::Prompt | CodeSource::UseFirstPass | CodeSource::CheckForwarded => {
                let opened = match self.store.open(found) {
                    Ok(o) => o,
                    Err(e) => return self.open_trouble(&e, &account),
                };
                let Some(code) = self.obtain_code() else {
                    return Verdict::AuthErr;
                };
                self.check_locked(opened, code)
            }
        }
    }

    /// `remember=`: a user who gave a code from this host less than the duration ago passes
    /// without one (Err(Success), logged with the host and the age); otherwise the record is
    /// located again for the code check. The state is read without the lock: the decision
    /// changes nothing, and the lock is never held while the user types.
    fn unless_remembered(
        &mut self,
        found: S::Found,
        account: Account,
    ) -> Result<S::Found, Verdict> {
        let Some((host, duration)) = self.remember_from.clone() else {
            return Ok(found);
        };
        let age = match self.store.snapshot(found) {
            Ok(snapshot) => remember::remembered(
                &snapshot.content().state.remembered,
                &host,
                self.now,
                duration,
            ),
            Err(e) => return Err(self.open_trouble(&e, &account)),
        };
        if let Some(age) = age {
            self.not_required(&format!(
                "remembered host (a code was given from it {age} s ago, remember={duration} s)"
            ));
            return Err(Verdict::Success);
        }
        match self.place_of(account) {
            Place::Found(found, _) => Ok(found),
            other => Err(self.settle_place(other).err().unwrap_or(Verdict::AuthErr)),
        }
    }

    /// Finds the user's record: looks the user up, then asks the store. Err: the verdict for
    /// a user whose record cannot be used.
    fn locate(&mut self) -> Result<(S::Found, Account), Verdict> {
        let place = self.place();
        self.settle_place(place)
    }

    /// The verdict for a record that was not found (or the record and its account).
    fn settle_place(&mut self, place: Place<S::Found>) -> Result<(S::Found, Account), Verdict> {
        match place {
            Place::Found(found, account) => Ok((found, account)),
            Place::NotEnrolled(why) => Err(self.not_enrolled(&why)),
            Place::Exempt(exemption) => Err(self.exempt(&exemption)),
            Place::Refused => Err(self.refuse_after_prompt()),
            Place::ConfigError => Err(Verdict::ServiceErr),
        }
    }

    /// Applies the group rules, looks the user up in the user database and locates the
    /// record of the account. An exempt user's record is not looked for.
    fn place(&mut self) -> Place<S::Found> {
        // The groups of the pam.d line first: one that does not exist is an error in the
        // line, whoever logs in.
        let groups = match GroupPolicy::resolve(self.users, &self.opts) {
            Ok(g) => g,
            Err(e) => return self.policy_trouble(&e),
        };
        let account = match self.users.user(&self.user) {
            Ok(Some(a)) => a,
            Ok(None) => {
                // Outside only_group like every non-member, so that the prompt does not
                // tell unknown names from known ones.
                return match groups.exemption(self.users, None) {
                    Ok(Some(exemption)) => Place::Exempt(exemption),
                    Ok(None) => Place::NotEnrolled("unknown user".into()),
                    Err(e) => self.policy_trouble(&e),
                };
            }
            Err(e) => {
                // An NSS failure is not "unknown user": never let nullok turn it into a pass.
                let line = format!(
                    "cannot look up user={} in the passwd database: {e}",
                    self.log_user
                );
                self.fe.log(Level::Error, &line);
                return Place::Refused;
            }
        };
        // The canonical name from the user database, not what the client typed (case,
        // aliases); names that could escape a path (or a filter) are refused.
        if template::check_user_name(&account.name).is_err() {
            self.failure(Level::Error, "user name not usable in a file path");
            return Place::Refused;
        }
        match groups.exemption(self.users, Some(&account)) {
            Ok(Some(exemption)) => Place::Exempt(exemption),
            Ok(None) => self.place_of(account),
            Err(e) => self.policy_trouble(&e),
        }
    }

    /// The group rules could not be applied: an error in the pam.d line, or a group
    /// database that did not answer (refused, as a failing user database is).
    fn policy_trouble(&mut self, e: &PolicyError<U::Error>) -> Place<S::Found> {
        if e.is_configuration_error() {
            self.fe
                .log(Level::Error, &format!("configuration error: {e}"));
            return Place::ConfigError;
        }
        let line = format!("refusing user={}: {e}", self.log_user);
        self.fe.log(Level::Error, &line);
        Place::Refused
    }

    /// Locates the record of `account` in the store.
    fn place_of(&mut self, account: Account) -> Place<S::Found> {
        match self.store.locate(&account) {
            Located::Found(found) => Place::Found(found, account),
            Located::NotEnrolled(e) => Place::NotEnrolled(e.to_string()),
            Located::Refused(e) => {
                self.refused_file(&e);
                Place::Refused
            }
            Located::ConfigError(e) => {
                self.fe
                    .log(Level::Error, &format!("configuration error: {e}"));
                Place::ConfigError
            }
        }
    }

    /// The located record of `account` could not be opened: with `enroll`, a user who has
    /// none is enrolled now; otherwise as [`Self::file_trouble`].
    fn open_trouble(&mut self, e: &S::Error, account: &Account) -> Verdict {
        if self.opts.enroll && e.is_not_enrolled() && self.may_enroll() {
            return self.enroll_at_login(account, &e.to_string());
        }
        self.file_trouble(e)
    }

    /// The record could not be opened: not enrolled, or refused.
    fn file_trouble(&mut self, e: &S::Error) -> Verdict {
        if e.is_not_enrolled() {
            return self.not_enrolled(&e.to_string());
        }
        self.refused_file(e);
        self.refuse_after_prompt()
    }

    /// Takes the lock, reads the record under it, checks `code` and saves the new state.
    fn check_locked(&mut self, opened: S::Opened, code: Zeroizing<String>) -> Verdict {
        // The record is read and parsed only now, under the lock, so the check always sees
        // the state the last login saved.
        match self.store.lock(opened) {
            Ok(locked) => self.check(locked, code),
            Err(e) => {
                self.refused_file(&e);
                Verdict::AuthErr
            }
        }
    }

    /// The time a typed code is checked at: the clock read again after the answer, not the
    /// time the prompt was shown. A prompt answered long after it was shown must still count
    /// against the checks made meanwhile (a check recorded "in the future" of a stale time
    /// would fall out of the rate limit's window), and its code is the one of the moment it
    /// was typed. Never earlier than the start of this login.
    fn time_of_check(&self) -> u64 {
        self.fe.clock().map_or(self.now, |t| t.max(self.now))
    }

    fn check(&mut self, mut locked: S::Locked, code: Zeroizing<String>) -> Verdict {
        let policy = Policy {
            window: self.opts.window,
            hotp_window: self.opts.hotp_window,
            rate_limit: self.opts.rate_limit,
        };
        let now = self.time_of_check();
        let outcome = verify::check(locked.content_mut(), &code, now, policy);
        drop(code);
        if outcome.is_success() {
            if let Some((host, _)) = &self.remember_from {
                // Saved with the state the check changed, in the same write.
                remember::record(&mut locked.content_mut().state.remembered, host, now);
            }
        }
        if outcome.needs_save() {
            if let Err(e) = locked.save() {
                let line = if e.is_conflict() {
                    format!(
                        "login of user={} lost a race: {e} (refused: a code is accepted only once)",
                        self.log_user
                    )
                } else {
                    format!(
                        "cannot save login state of user={} (login refused to keep codes single-use): {e}",
                        self.log_user
                    )
                };
                self.fe.log(Level::Error, &line);
                return Verdict::AuthErr;
            }
        }
        self.report(&outcome)
    }

    /// `try_first_pass`: PAM_AUTHTOK is taken only in the exact shape of this user's codes;
    /// otherwise the user is asked.
    fn try_first_pass(&mut self, found: S::Found, account: &Account) -> Verdict {
        let mut opened = match self.store.open(found) {
            Ok(o) => o,
            Err(e) => return self.open_trouble(&e, account),
        };
        if let Some(tok) = self.fe.authtok() {
            let locked = match self.store.lock(opened) {
                Ok(l) => l,
                Err(e) => {
                    self.refused_file(&e);
                    return Verdict::AuthErr;
                }
            };
            let is_code = locked
                .content()
                .tokens()
                .any(|t| verify::looks_like_code(&tok, Some(t.digits)));
            if is_code {
                return self.check(locked, tok);
            }
            // Not a code: ask, without holding the lock while the user types.
            drop(locked);
            let place = self.place_of(account.clone());
            let found = match self.settle_place(place) {
                Ok((found, _)) => found,
                Err(verdict) => return verdict,
            };
            opened = match self.store.open(found) {
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
    /// that the password module decides first. `found` is None when the record cannot be
    /// used: the field is split as for an enrolled user, and `check_forwarded` refuses.
    fn split_and_keep(&mut self, found: Option<S::Found>) -> Verdict {
        // The number of digits from a read without the lock (the file is only ever replaced
        // whole); check_forwarded reads it again under the lock. With tokens of different
        // lengths, the first token's: one field cannot tell where a password ends.
        let digits = match found.map(|f| self.store.snapshot(f)) {
            Some(Ok(snapshot)) => snapshot.content().first_token().digits,
            Some(Err(e)) if e.is_not_enrolled() => return self.not_enrolled(&e.to_string()),
            Some(Err(e)) => {
                let line = format!("forward_pass: {e} (check_forwarded will refuse)");
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

    /// Logs the outcome of a check (and tells a throttled user when to try again, a user who
    /// used a recovery code how many are left).
    fn report(&mut self, outcome: &Outcome) -> Verdict {
        let user = self.log_user.clone();
        let (level, line) = match *outcome {
            Outcome::Accepted {
                ref token,
                matched: Matched::Step { drift, .. },
            } => (
                Level::Info,
                format!(
                    "accepted verification code; user={user} drift_steps={drift} token={token}"
                ),
            ),
            Outcome::Accepted {
                ref token,
                matched: Matched::Counter(counter),
            } => (
                Level::Info,
                format!("accepted verification code; user={user} counter={counter} token={token}"),
            ),
            Outcome::RecoveryAccepted { remaining } => {
                match notices::recovery_codes_left(remaining) {
                    (Style::Info, text) => self.fe.tell_info(&text),
                    (Style::Warning, text) => self.fe.tell_error(&text),
                }
                (
                    Level::Notice,
                    format!("accepted recovery code; user={user} recovery_codes_left={remaining}"),
                )
            }
            Outcome::Replayed { ref token, step } => {
                self.failure(
                    Level::Warning,
                    &format!("replayed code (time step {step} was already used) token={token}"),
                );
                return Verdict::AuthErr;
            }
            Outcome::Wrong => {
                self.failure(Level::Notice, "wrong code");
                return Verdict::AuthErr;
            }
            Outcome::Malformed => {
                self.failure(Level::Notice, "input is not a code");
                return Verdict::AuthErr;
            }
            Outcome::RateLimited { retry_after } => {
                let limit = self.opts.rate_limit;
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
                return Verdict::AuthErr;
            }
        };
        self.fe.log(level, &line);
        Verdict::Success
    }

    /// No file (or no such user): PAM_IGNORE with nullok, or during the grace period of
    /// `nullok_until` (with a notice); otherwise ask anyway and fail. With `enroll` (which
    /// enrolls located users before this is reached, see [`Self::open_trouble`]), a stack
    /// whose conversation cannot show the key refuses first.
    fn not_enrolled(&mut self, why: &str) -> Verdict {
        if self.opts.enroll && !self.may_enroll() {
            return self.cannot_enroll(why);
        }
        if self.opts.nullok {
            let line = format!(
                "user={} not enrolled ({why}); nullok lets the stack decide",
                self.log_user
            );
            self.debug(&line);
            return self.pass_unasked();
        }
        if let Some(until) = self.opts.nullok_until {
            if until.is_not_over(self.now) {
                self.not_required(&format!(
                    "not enrolled ({why}), grace period until the end of {until} UTC (nullok_until)"
                ));
                // Not where one field carries password and code: the notice would come
                // before the prompt, and clients such as OpenVPN's cannot show it.
                if !matches!(
                    self.opts.code_source,
                    CodeSource::ForwardPass | CodeSource::CheckForwarded
                ) {
                    self.fe.tell_info(&notices::grace_period(until));
                }
                return self.pass_unasked();
            }
        }
        if self.opts.code_source == CodeSource::ForwardPass {
            // Split as for an enrolled user; check_forwarded refuses after the password.
            return self.split_and_keep(None);
        }
        let fix = match self.opts.nullok_until {
            Some(until) => {
                format!("the grace period ended with {until} (nullok_until); run totp-enroll")
            }
            None if self.opts.store == Store::Ldap => {
                "enroll with totp-enroll --store ldap or add nullok".to_string()
            }
            None => "run totp-enroll or add nullok".to_string(),
        };
        self.failure(Level::Notice, &format!("not enrolled ({why}); {fix}"));
        self.refuse_after_prompt()
    }

    /// A group rule exempts the user: not asked, as a user without a file under `nullok`.
    fn exempt(&mut self, exemption: &Exemption) -> Verdict {
        let reason = match exemption {
            Exemption::SkipGroup(group) => {
                format!("member of skip_group={}", log_safe::field(group))
            }
            Exemption::NotInOnlyGroup(groups) => format!("not a member of only_group={groups}"),
        };
        self.not_required(&reason);
        self.pass_unasked()
    }

    /// Lets the stack decide without asking for a code (PAM_IGNORE). On a `forward_pass`
    /// line the single field holds only the password: it is asked for and passed on whole.
    fn pass_unasked(&mut self) -> Verdict {
        if self.opts.code_source == CodeSource::ForwardPass {
            let Some(password) = self.ask_with(PASSWORD_PROMPT) else {
                return Verdict::AuthErr;
            };
            if !self.hand_on(&password) {
                return Verdict::AuthErr;
            }
            return self.keep(None);
        }
        Verdict::Ignore
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
