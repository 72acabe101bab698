//! `enroll`: new key, QR code, first-code check, secret file, recovery codes.

use super::{
    audit_change, check_existing, new_recovery_codes, now, print_out, random, recovery_codes_text,
    write_enrollment, Written,
};
use crate::audit::Action;
use crate::cli::EnrollArgs;
use crate::error::CliError;
use crate::host::hostname;
use crate::input::{interactive, read_code, PROMPT};
use crate::json;
use crate::target::Target;
use pam_totp_core::enrollment::{self, FIRST_CODE_POLICY};
use pam_totp_core::otpauth::{grouped_key, otpauth_uri, UriParams};
use pam_totp_core::params::{DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD};
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::{Algorithm, SecretFile};
use pam_totp_core::verify::{check, Outcome};
use std::fmt::Write as _;
use zeroize::Zeroizing;

/// Tries a person at a terminal gets for the first code; a script gets one.
const TERMINAL_ATTEMPTS: usize = 3;

/// Runs `enroll`.
pub fn run(target: &Target, args: &EnrollArgs) -> Result<(), CliError> {
    // Refuse before showing anything, so no one scans a key that will not be stored.
    check_existing(target, args.force)?;

    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => new_secret()?,
    };
    let algorithm = Algorithm::from(args.algorithm);
    let host = hostname();
    let issuer = args.issuer.clone().unwrap_or_else(|| host.clone());
    let account = args
        .label
        .clone()
        .unwrap_or_else(|| format!("{}@{host}", target.user.name));
    let uri = otpauth_uri(&UriParams {
        secret: &secret,
        issuer: &issuer,
        account: &account,
        algorithm,
        digits: args.digits,
        period: args.period,
    });
    let key = grouped_key(&secret);
    let params = parameters_note(algorithm, args.digits, args.period);

    if args.json {
        // stdout carries only the JSON object. A key given with --secret is known to the
        // caller; a new one must be shown so the app can be set up.
        if args.secret.is_none() {
            eprintln!(
                "Add this key to your authenticator app:\n  URI: {}\n  Key: {}{}",
                uri.as_str(),
                key.as_str(),
                params
            );
        }
    } else {
        let mut text = Zeroizing::new(String::new());
        if !args.no_qr {
            let qr = Zeroizing::new(crate::qr::render(&uri).map_err(CliError::Qr)?);
            text.push_str(&qr);
        }
        let _ = write!(
            text,
            "Scan the QR code with your authenticator app, or add the URI or the key by hand.\n  URI: {}\n  Key: {}{}\n",
            uri.as_str(),
            key.as_str(),
            params
        );
        print_out(&text)?;
    }

    let mut file = SecretFile::new(secret, algorithm, args.digits, args.period);
    confirm_first_code(&mut file, target)?;
    let (codes, hashes) = new_recovery_codes()?;
    enrollment::complete(&mut file, now()?, hashes);
    let written = write_enrollment(target, &file, args.force)?;
    audit_change(target, Action::Enroll, written == Written::Replaced);

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
            "Code accepted. {} is enrolled; secret file: {}\n\n",
            target.user.name,
            target.display_path().display()
        ));
        text.push_str(&recovery_codes_text(&codes));
        print_out(&text)
    }
}

/// A new random key.
fn new_secret() -> Result<TotpSecret, CliError> {
    enrollment::new_secret(random).map_err(|e| match e {
        enrollment::NewError::Random(e) => e,
        // 160 bits is within the accepted range; the error cannot happen.
        enrollment::NewError::Secret(e) => CliError::Random(e.to_string()),
    })
}

/// Tells the user about settings the app must support, when they are not the defaults.
fn parameters_note(algorithm: Algorithm, digits: u8, period: u64) -> String {
    if (algorithm, digits, period) == (DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD) {
        String::new()
    } else {
        format!(
            "\n  Settings: {}, {digits} digits, a new code every {period} s (check that your app supports them)",
            algorithm.name()
        )
    }
}

/// Asks for codes until one is right (a person at a terminal has a few tries, stdin one).
fn confirm_first_code(file: &mut SecretFile, target: &Target) -> Result<(), CliError> {
    let attempts = if interactive() { TERMINAL_ATTEMPTS } else { 1 };
    for attempt in 1..=attempts {
        let code = read_code(PROMPT)?;
        if let Outcome::Accepted { .. } = check(file, &code, now()?, FIRST_CODE_POLICY) {
            return Ok(());
        }
        if attempt < attempts {
            eprintln!("That code is not right; check the phone's clock and try the next code.");
        }
    }
    Err(CliError::WrongCode(target.display_path()))
}
