//! `enroll --store ldap`: the same key, QR code and first-code check as for a file; then the
//! token and parameters entries below the user's entry, the user entry's class and token
//! reference, and the recovery codes (hashed, `pamTotpRecoveryCode`).

use super::DirectoryTarget;
use crate::audit::Action;
use crate::cli::EnrollArgs;
use crate::commands::enroll::{confirm_first_code, new_secret, present_key, report_enrolled};
use crate::commands::{new_recovery_codes, now};
use crate::error::CliError;
use crate::input::PROMPT;
use pam_totp_core::enrollment::{self, FIRST_CODE_POLICY};
use pam_totp_core::log_safe;
use pam_totp_core::secret_file::{Algorithm, SecretFile};

/// Runs `enroll` for a directory user.
pub fn run(target: &DirectoryTarget, args: &EnrollArgs) -> Result<(), CliError> {
    // Refuse before showing anything, so no one scans a key that will not be stored. The
    // connection is not held while the user types: it is opened again to write.
    let (_, user) = target.session()?;
    if user.is_enrolled() && !args.force {
        return Err(user.exists_error().into());
    }

    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => new_secret()?,
    };
    let algorithm = Algorithm::from(args.algorithm);
    let uri = present_key(&target.name, &secret, args)?;

    let mut file = SecretFile::new(secret, algorithm, args.digits, args.period);
    confirm_first_code(&mut file, FIRST_CODE_POLICY, PROMPT, || {
        CliError::WrongCodeDirectory(log_safe::line(&user.dn))
    })?;
    let (codes, hashes) = new_recovery_codes()?;
    let now = now()?;
    enrollment::complete(&mut file, now, hashes);
    let (mut admin, user) = target.session()?;
    let replaced = admin.enroll(&user, &file, args.force, now)?;
    target.audit(Action::Enroll, replaced, None);

    let accepted = format!(
        "Code accepted. {} is enrolled; directory entry: {} ({})",
        target.name,
        log_safe::line(&user.dn),
        admin.uri()
    );
    report_enrolled(args.json, &uri, &file, &codes, &accepted)
}
