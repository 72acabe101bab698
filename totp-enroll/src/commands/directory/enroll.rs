//! `enroll --store ldap`: the same key, QR code and first-code check as for a file; then the
//! token and parameters entries below the user's entry, the user entry's class and token
//! reference, and the recovery codes (hashed, `pamTotpRecoveryCode`).

use super::DirectoryTarget;
use crate::audit::Action;
use crate::cli::EnrollArgs;
use crate::commands::enroll::{confirm_first_code, issuer_and_account, new_secret, show_key};
use crate::commands::{new_recovery_codes, now, print_out, recovery_codes_text};
use crate::error::CliError;
use crate::input::PROMPT;
use crate::json;
use pam_totp_core::enrollment::{self, FIRST_CODE_POLICY};
use pam_totp_core::log_safe;
use pam_totp_core::otpauth::{grouped_key, otpauth_uri, UriParams};
use pam_totp_core::secret_file::{Algorithm, SecretFile};
use zeroize::Zeroizing;

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
    let (issuer, account) =
        issuer_and_account(&target.name, args.issuer.clone(), args.label.clone());
    let uri = otpauth_uri(&UriParams {
        secret: &secret,
        issuer: &issuer,
        account: &account,
        algorithm,
        digits: args.digits,
        period: args.period,
    });
    let key = grouped_key(&secret);
    let details = Zeroizing::new(format!("  URI: {}\n  Key: {}", uri.as_str(), key.as_str()));
    show_key(&uri, &details, args.json, args.secret.is_some(), args.no_qr)?;

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

    if args.json {
        let b32 = file.first_token().secret.to_base32();
        let mut out = json::Object::new()
            .string("otpauth_uri", &uri)
            .string("secret", &b32)
            .strings("recovery_codes", &codes)
            .finish();
        out.push('\n');
        print_out(&out)
    } else {
        let mut text = Zeroizing::new(format!(
            "Code accepted. {} is enrolled; directory entry: {} ({})\n\n",
            target.name,
            log_safe::line(&user.dn),
            admin.uri()
        ));
        text.push_str(&recovery_codes_text(&codes));
        print_out(&text)
    }
}
