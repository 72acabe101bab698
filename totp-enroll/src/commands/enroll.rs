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
use pam_totp_core::verify::{check, Matched, Outcome, Policy};
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
    let uri = present_key(&target.user.name, &secret, args)?;

    let mut file = SecretFile::new(secret, algorithm, args.digits, args.period);
    confirm_first_code(&mut file, FIRST_CODE_POLICY, PROMPT, || {
        CliError::WrongCode(target.display_path())
    })?;
    let (codes, hashes) = new_recovery_codes()?;
    enrollment::complete(&mut file, now()?, hashes);
    let written = write_enrollment(target, &file, args.force)?;
    audit_change(target, Action::Enroll, written == Written::Replaced);

    let accepted = format!(
        "Code accepted. {} is enrolled; secret file: {}",
        target.user.name,
        target.display_path().display()
    );
    report_enrolled(args.json, &uri, &file, &codes, &accepted)
}

/// Shows the new key of `user` for `args` (QR code, otpauth URI, grouped key, and the
/// parameters when they are not the defaults); returns the URI for the JSON output.
pub(super) fn present_key(
    user: &str,
    secret: &TotpSecret,
    args: &EnrollArgs,
) -> Result<Zeroizing<String>, CliError> {
    let algorithm = Algorithm::from(args.algorithm);
    let (issuer, account) = issuer_and_account(user, args.issuer.clone(), args.label.clone());
    let uri = otpauth_uri(&UriParams {
        secret,
        issuer: &issuer,
        account: &account,
        algorithm,
        digits: args.digits,
        period: args.period,
    });
    let key = grouped_key(secret);
    let params = parameters_note(algorithm, args.digits, args.period);
    let details = Zeroizing::new(format!(
        "  URI: {}\n  Key: {}{}",
        uri.as_str(),
        key.as_str(),
        params
    ));
    show_key(&uri, &details, args.json, args.secret.is_some(), args.no_qr)?;
    Ok(uri)
}

/// Prints the outcome of an enrollment: with `json` the object SPEC defines (`otpauth_uri`,
/// `secret`, `recovery_codes`), else the `accepted` line and the recovery codes.
pub(super) fn report_enrolled(
    json: bool,
    uri: &str,
    file: &SecretFile,
    codes: &[Zeroizing<String>],
    accepted: &str,
) -> Result<(), CliError> {
    if json {
        let b32 = file.first_token().secret.to_base32();
        let mut out = json::Object::new()
            .string("otpauth_uri", uri)
            .string("secret", &b32)
            .strings("recovery_codes", codes)
            .finish();
        out.push('\n');
        print_out(&out)
    } else {
        let mut text = Zeroizing::new(format!("{accepted}\n\n"));
        text.push_str(&recovery_codes_text(codes));
        print_out(&text)
    }
}

/// The issuer and account name the app shows: `issuer` (else this host's name) and `label`
/// (else user@host).
pub(super) fn issuer_and_account(
    user: &str,
    issuer: Option<String>,
    label: Option<String>,
) -> (String, String) {
    let host = hostname();
    let issuer = issuer.unwrap_or_else(|| host.clone());
    let account = label.unwrap_or_else(|| format!("{user}@{host}"));
    (issuer, account)
}

/// Shows a new key: the QR code of `uri` (unless `no_qr`) and `details` (the URI and key
/// lines) on stdout; with `json` stdout carries only the JSON object, so the details go to
/// stderr, and only for a new key (a key given with --secret is known to the caller).
pub(super) fn show_key(
    uri: &str,
    details: &str,
    json: bool,
    key_given: bool,
    no_qr: bool,
) -> Result<(), CliError> {
    if json {
        if !key_given {
            eprintln!("Add this key to your authenticator app:\n{details}");
        }
        return Ok(());
    }
    let mut text = Zeroizing::new(String::new());
    if !no_qr {
        let qr = Zeroizing::new(crate::qr::render(uri).map_err(CliError::Qr)?);
        text.push_str(&qr);
    }
    let _ = writeln!(
        text,
        "Scan the QR code with your authenticator app, or add the URI or the key by hand.\n{details}"
    );
    print_out(&text)
}

/// A new random key.
pub(super) fn new_secret() -> Result<TotpSecret, CliError> {
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

/// Asks for codes (with `prompt`) until one of the tokens of `file` takes it under `policy`
/// (a person at a terminal has a few tries, stdin one); returns where it matched, or the
/// error `wrong` makes (which says that nothing was written where).
pub(super) fn confirm_first_code(
    file: &mut SecretFile,
    policy: Policy,
    prompt: &str,
    wrong: impl FnOnce() -> CliError,
) -> Result<Matched, CliError> {
    let attempts = if interactive() { TERMINAL_ATTEMPTS } else { 1 };
    for attempt in 1..=attempts {
        let code = read_code(prompt)?;
        if let Outcome::Accepted { matched, .. } = check(file, &code, now()?, policy) {
            return Ok(matched);
        }
        if attempt < attempts {
            eprintln!("That code is not right; check the phone's clock and try the next code.");
        }
    }
    Err(wrong())
}
