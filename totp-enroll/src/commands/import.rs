//! `import-google-authenticator`: keep the phone's existing entry.

use super::{audit_change, check_existing, now, print_out, random, write_enrollment, Written};
use crate::audit::Action;
use crate::cli::ImportArgs;
use crate::error::CliError;
use crate::google_authenticator::{convert, parse, GaError, MAX_GA_FILE_BYTES};
use crate::source_file;
use crate::target::Target;
use pam_totp_core::enrollment::NEW_SECRET_BYTES;
use pam_totp_core::secret::TotpSecret;
use pam_totp_store::bounded;
use std::fmt::Write as _;
use std::path::Path;

/// Runs `import-google-authenticator`.
pub fn run(target: &Target, args: &ImportArgs) -> Result<(), CliError> {
    let source = args
        .path
        .clone()
        .unwrap_or_else(|| target.user.dir.join(".google_authenticator"));
    let bytes = read_source(target, &source)?;
    let ga_err = |e| CliError::GoogleAuthenticator {
        path: source.to_path_buf(),
        source: e,
    };
    let ga = parse(&bytes).map_err(ga_err)?;
    let converted =
        convert(&ga, now()?, |buf| random(buf).map_err(|e| e.to_string())).map_err(ga_err)?;
    check_existing(target, args.force)?;
    let written = write_enrollment(target, &converted.file, args.force)?;
    audit_change(
        target,
        Action::ImportGoogleAuthenticator,
        written == Written::Replaced,
    );

    let mut text = format!(
        "Imported {} into {} for {}: the phone keeps working; {} scratch code(s) became recovery codes.\n",
        source.display(),
        target.display_path().display(),
        target.user.name,
        converted.file.recovery.len()
    );
    if let Some(note) = short_key_note(target, &converted.file.first_token().secret) {
        let _ = writeln!(text, "{note}");
    }
    for note in &converted.notes {
        let _ = writeln!(text, "Note: {note}.");
    }
    let _ = writeln!(
        text,
        "Once pam.d uses pam_totp for this user, remove the old file: rm -- {}",
        source.display()
    );
    print_out(&text)
}

/// The one-line notice for a key shorter than RFC 4226 asks of new keys (older
/// google-authenticator versions made 80-bit keys): it keeps working, and a new enrollment,
/// with a new QR code to scan, would give a 160-bit key.
fn short_key_note(target: &Target, secret: &TotpSecret) -> Option<String> {
    if !secret.is_below_new_minimum() {
        return None;
    }
    let user = if target.for_other {
        format!(" --user {}", target.user.name)
    } else {
        String::new()
    };
    Some(format!(
        "Note: this key is {} bits (older google-authenticator); it keeps working, but a new enrollment gives a {}-bit key: totp-enroll{user} enroll --force (then scan the new QR code).",
        secret.bits(),
        NEW_SECRET_BYTES * 8
    ))
}

/// Reads the google-authenticator file. Root acting for another user reads it with root's
/// rights only on a path the user cannot change, else with the user's filesystem identity
/// ([`crate::source_file`]): the default file in the user's home is always read as the user.
fn read_source(target: &Target, source: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
    source_file::read_source(target, source, MAX_GA_FILE_BYTES).map_err(|e| {
        let format = |e| CliError::GoogleAuthenticator {
            path: source.to_path_buf(),
            source: e,
        };
        match e {
            bounded::ReadError::NotRegular => format(GaError::NotRegular),
            bounded::ReadError::TooLarge(_) => format(GaError::TooLarge),
            other => CliError::GoogleAuthenticatorIo {
                path: source.to_path_buf(),
                source: source_file::explain(other, MAX_GA_FILE_BYTES),
            },
        }
    })
}
