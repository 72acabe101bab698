//! `recovery-codes`: a new set replaces the old one.

use super::{audit_change, new_recovery_codes, now, print_out, recovery_codes_text};
use crate::audit::Action;
use crate::error::CliError;
use crate::input::{read_code, PROMPT};
use crate::json;
use crate::target::Target;
use pam_totp_core::params::{DEFAULT_HOTP_WINDOW, DEFAULT_RATE_LIMIT, DEFAULT_WINDOW};
use pam_totp_core::verify::{check, Outcome, Policy};
use zeroize::Zeroizing;

/// The check for a user's own request: the module's defaults, including its throttle, whose
/// state is shared with logins through the file.
const OWN_REQUEST_POLICY: Policy = Policy {
    window: DEFAULT_WINDOW,
    hotp_window: DEFAULT_HOTP_WINDOW,
    rate_limit: DEFAULT_RATE_LIMIT,
};

/// Runs `recovery-codes`. A user acting for themselves proves possession of the second
/// factor first (a current code or a recovery code); root acting for another user does not.
pub fn run(target: &Target, as_json: bool) -> Result<(), CliError> {
    let path = target.display_path();
    let loaded = target
        .load()?
        .ok_or_else(|| CliError::NotEnrolled(path.clone()))?;
    // Ask before taking the lock, so logins are not held up while the user types.
    let code = if target.for_other {
        None
    } else {
        Some(read_code(PROMPT)?)
    };
    let mut locked = loaded.lock().map_err(|e| target.store_error(e))?;
    if let Some(code) = code {
        let outcome = check(locked.content_mut(), &code, now()?, OWN_REQUEST_POLICY);
        if !outcome.is_success() {
            if outcome.needs_save() {
                // The attempt counts against the throttle, as a login's would.
                locked.save().map_err(|e| target.store_error(e))?;
            }
            return Err(match outcome {
                Outcome::Replayed { .. } => CliError::Replayed(path),
                Outcome::RateLimited { retry_after } => CliError::RateLimited {
                    path,
                    seconds: retry_after,
                },
                _ => CliError::WrongCodeExisting(path),
            });
        }
    }
    let (codes, hashes) = new_recovery_codes()?;
    locked.content_mut().recovery = hashes;
    locked.save().map_err(|e| target.store_error(e))?;
    audit_change(target, Action::RecoveryCodes, false);
    print_new_codes(&codes, as_json)
}

/// Shows a new set of recovery codes once (the JSON object, or the text with the note that
/// the old ones are gone).
pub(super) fn print_new_codes(codes: &[Zeroizing<String>], as_json: bool) -> Result<(), CliError> {
    if as_json {
        let mut out = json::Object::new()
            .strings("recovery_codes", codes)
            .finish();
        out.push('\n');
        print_out(&out)
    } else {
        let mut text = recovery_codes_text(codes);
        text.push_str("The previous recovery codes no longer work.\n");
        print_out(&text)
    }
}
