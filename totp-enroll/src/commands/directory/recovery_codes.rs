//! `recovery-codes --store ldap`: a new set replaces the `pamTotpRecoveryCode` values of the
//! entry that keeps the user's login state. No code is asked: the bind identity decides.

use super::DirectoryTarget;
use crate::audit::Action;
use crate::commands::new_recovery_codes;
use crate::commands::recovery_codes::print_new_codes;
use crate::error::CliError;

/// Runs `recovery-codes` for a directory user.
pub fn run(target: &DirectoryTarget, as_json: bool) -> Result<(), CliError> {
    let (mut admin, user, enrollment) = target.enrolled()?;
    let (codes, hashes) = new_recovery_codes()?;
    admin.replace_recovery_codes(&user, &enrollment, &hashes)?;
    target.audit(Action::RecoveryCodes, false, None);
    print_new_codes(&codes, as_json)
}
