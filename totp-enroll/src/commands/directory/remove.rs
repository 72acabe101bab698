//! `remove --store ldap`: delete the user's token and parameters entries and take the token
//! references and OATH classes off the user entry: the second factor is off for the user.

use super::DirectoryTarget;
use crate::audit::Action;
use crate::commands::print_out;
use crate::error::CliError;
use pam_totp_core::log_safe;

/// Runs `remove` for a directory user. Not being enrolled is success, noted on stderr.
pub fn run(target: &DirectoryTarget) -> Result<(), CliError> {
    let (mut admin, user) = target.session()?;
    if !admin.remove(&user)? {
        eprintln!(
            "totp-enroll: {}: not enrolled (no oathTOTPToken or oathHOTPToken); nothing to remove",
            log_safe::line(&user.dn)
        );
        return Ok(());
    }
    target.audit(Action::Remove, false, None);
    print_out(&format!(
        "Removed the tokens of {}: {} no longer has a second factor from pam_totp.\n",
        log_safe::line(&user.dn),
        target.name
    ))
}
