//! `enroll`: a user whose record has a place but does not exist is enrolled on the spot,
//! after the modules before this one passed: a new key shown as a QR code (plain Unicode
//! blocks), otpauth URI and base32 key through the conversation, a first code checked, the
//! record written as totp-enroll writes it, the recovery codes shown once.
//!
//! Under PAM_SILENT (which sudo always passes) messages are not sent; the texts of the
//! enrollment then open the prompts themselves, which the application still shows.
//!
//! Issuer and label are totp-enroll's defaults (this host's name, `USER@HOST`); the `issuer`
//! of totp-enroll's site file (/etc/totp-enroll.toml) is not read by the module.

use super::{Flow, Verdict};
use crate::frontend::Level;
use crate::options::CodeSource;
use crate::qr;
use pam_totp_core::enrollment::{self, FIRST_CODE_POLICY};
use pam_totp_core::otpauth::{grouped_key, otpauth_uri, usable_host, UriParams, FALLBACK_ISSUER};
use pam_totp_core::params::{DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD};
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::store::{Located, SecretStore};
use pam_totp_core::user_db::{Account, UserDb};
use pam_totp_core::verify::{self, Outcome};
use zeroize::Zeroizing;

/// Asked after the recovery codes: clients that show text only with a prompt (sshd's
/// keyboard-interactive) would otherwise show them after the login, or never.
pub const STORED_PROMPT: &str = "Press Enter once the recovery codes are stored: ";
/// The first line shown, above the QR code (which then starts on a line of its own).
const HEADING: &str = "Two-factor authentication is required and you are not enrolled yet.\n";
/// Told after a wrong first code when another try is left.
const TRY_AGAIN: &str = "That code is not right; check the phone's clock and type the next code.";

/// Fills `buf` from the kernel's random number generator.
fn random(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| e.to_string())
}

/// What the user is told under the QR code.
fn instructions(uri: &str, key: &str) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "Scan the QR code with your authenticator app, or add the URI or the key by hand.\n  \
         URI: {uri}\n  Key: {key}\nThen type the code the app shows."
    ))
}

/// The recovery codes, shown once after the record was written.
fn recovery_text(codes: &[Zeroizing<String>]) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::from(
        "Code accepted: you are enrolled.\n\
         Recovery codes (each works once instead of a code from the app).\n\
         Store them somewhere safe now: they are not shown again.\n",
    ));
    for code in codes {
        text.push_str("  ");
        text.push_str(code);
        text.push('\n');
    }
    text
}

impl<U: UserDb, S: SecretStore> Flow<'_, U, S> {
    /// Enrolls `account`, whose record was located but does not exist (`why`, for the log).
    /// Success only once the new record is written; a wrong first code writes nothing.
    pub(super) fn enroll_at_login(&mut self, account: &Account, why: &str) -> Verdict {
        let secret = match enrollment::new_secret(random) {
            Ok(s) => s,
            Err(e) => {
                self.failure(Level::Error, &format!("enroll: {e}"));
                return Verdict::AuthErr;
            }
        };
        // totp-enroll's defaults: this host's name as issuer, USER@HOST as label.
        let host = self
            .fe
            .hostname()
            .and_then(|h| usable_host(&h).map(str::to_string))
            .unwrap_or_else(|| FALLBACK_ISSUER.to_string());
        let label = format!("{}@{host}", account.name);
        let uri = otpauth_uri(&UriParams {
            secret: &secret,
            issuer: &host,
            account: &label,
            algorithm: DEFAULT_ALGORITHM,
            digits: DEFAULT_DIGITS,
            period: DEFAULT_PERIOD,
        });
        let key = grouped_key(&secret);
        let mut text = Zeroizing::new(String::from(HEADING));
        match qr::render(&uri) {
            Ok(code) => text.push_str(&code),
            // The URI and the key are shown anyway.
            Err(e) => self.fe.log(Level::Notice, &format!("enroll: {e}")),
        }
        text.push_str(&instructions(&uri, &key));

        let mut file = SecretFile::new(secret, DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD);
        let tries = self.opts.rate_limit.max_checks.max(1);
        let code_prompt = self.opts.prompt.clone();
        let mut accepted = false;
        for attempt in 1..=tries {
            let prompt = self.before_prompt(&text, &code_prompt);
            text = Zeroizing::new(String::new());
            let Some(code) = self.ask_with(&prompt) else {
                return Verdict::AuthErr;
            };
            if let Outcome::Accepted { .. } =
                verify::check(&mut file, &code, self.time_of_check(), FIRST_CODE_POLICY)
            {
                accepted = true;
                break;
            }
            // As totp-enroll: no "try again" after the last try.
            if attempt < tries {
                if self.fe.silent() {
                    text.push_str(TRY_AGAIN);
                } else {
                    self.fe.tell_error(TRY_AGAIN);
                }
            }
        }
        if !accepted {
            self.failure(
                Level::Notice,
                &format!("not enrolled ({why}); enroll: the first code was wrong {tries} times, nothing written"),
            );
            return Verdict::AuthErr;
        }
        self.write_enrollment(account, file)
    }

    /// Completes the checked enrollment and writes it; tells the recovery codes once.
    fn write_enrollment(&mut self, account: &Account, mut file: SecretFile) -> Verdict {
        let (codes, hashes) = match enrollment::new_recovery_codes(random) {
            Ok(c) => c,
            Err(e) => {
                self.failure(
                    Level::Error,
                    &format!("enroll: cannot read random bytes: {e}"),
                );
                return Verdict::AuthErr;
            }
        };
        enrollment::complete(&mut file, self.time_of_check(), hashes);
        // Located again: opening the record used up the first handle.
        let found = match self.store.locate(account) {
            Located::Found(found) => found,
            Located::NotEnrolled(e) | Located::Refused(e) | Located::ConfigError(e) => {
                self.refused_file(&e);
                self.fe
                    .tell_error("Enrollment failed; ask an administrator.");
                return Verdict::AuthErr;
            }
        };
        if let Err(e) = self.store.create(found, &file) {
            let line = format!(
                "enroll: cannot write the new record of user={} (nothing enrolled): {e}",
                self.log_user
            );
            self.fe.log(Level::Error, &line);
            self.fe
                .tell_error("Enrollment failed; ask an administrator.");
            return Verdict::AuthErr;
        }
        let rhost = pam_totp_core::log_safe::host(&self.fe.rhost().unwrap_or_default());
        let line = format!("enrolled at login; user={} rhost={rhost}", self.log_user);
        self.fe.log(Level::Info, &line);
        let prompt = self.before_prompt(&recovery_text(&codes), STORED_PROMPT);
        drop(codes);
        // The answer does not matter; the enrollment stands even if none comes.
        drop(self.fe.ask_hidden(&prompt));
        Verdict::Success
    }

    /// Shows `text` (none when empty) before `prompt` and gives the prompt to ask: the text
    /// goes as a message, or under PAM_SILENT, which silences messages but not prompts, as
    /// the first lines of the prompt itself.
    fn before_prompt(&mut self, text: &str, prompt: &str) -> Zeroizing<String> {
        if text.is_empty() {
            return Zeroizing::new(prompt.to_string());
        }
        if !self.fe.silent() {
            self.fe.tell_info(text);
            return Zeroizing::new(prompt.to_string());
        }
        let mut whole = Zeroizing::new(String::with_capacity(text.len() + prompt.len() + 1));
        whole.push_str(text);
        if !text.ends_with('\n') {
            whole.push('\n');
        }
        whole.push_str(prompt);
        whole
    }
}

impl<U: UserDb, S: SecretStore> Flow<'_, U, S> {
    /// False where the conversation cannot show the key: one field carries password and code
    /// (`forward_pass`, `check_forwarded`: OpenVPN), and clients there show no text.
    pub(super) fn may_enroll(&self) -> bool {
        !matches!(
            self.opts.code_source,
            CodeSource::ForwardPass | CodeSource::CheckForwarded
        )
    }

    /// `enroll` on a `forward_pass`/`check_forwarded` stack, user not enrolled: refused, with
    /// a log line. The `forward_pass` line still only splits; `check_forwarded` refuses.
    pub(super) fn cannot_enroll(&mut self, why: &str) -> Verdict {
        if self.opts.code_source == CodeSource::ForwardPass {
            self.debug(&format!(
                "user={} not enrolled ({why}); enroll cannot show the key here, check_forwarded will refuse",
                self.log_user
            ));
            return self.split_and_keep(None);
        }
        self.failure(
            Level::Error,
            &format!("not enrolled ({why}); enroll cannot show the key through a forward_pass conversation (e.g. OpenVPN): run totp-enroll"),
        );
        Verdict::AuthErr
    }
}
