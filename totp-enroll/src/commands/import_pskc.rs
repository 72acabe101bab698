//! `import-pskc`: the HOTP and TOTP keys of an RFC 6030 seed file (hardware tokens) that are
//! the target user's (`pskc::keys_for_user`: their `UserId`, or the file's only key).

use super::import_tokens::{
    check_digits, read_source, report, sanitize_name, secret, store, Incoming, NameWish,
};
use crate::audit::Action;
use crate::cli::ImportPskcArgs;
use crate::error::CliError;
use pam_totp_core::params::DEFAULT_PERIOD;
use pam_totp_core::token::Token;
use std::path::Path;
use totp_enroll::pskc::{self, PreSharedKey, PskcAlgorithm, PskcKey, MAX_PSKC_BYTES};

use crate::input::read_code;
use crate::target::Target;

/// The name of a token whose key package gives neither a usable serial nor a usable `Id`.
const FALLBACK_NAME: &str = "pskc";

/// Runs `import-pskc`.
pub fn run(target: &Target, args: &ImportPskcArgs) -> Result<(), CliError> {
    let path = args.file.as_path();
    let pskc_err = |source| CliError::Pskc {
        path: path.to_path_buf(),
        source,
    };
    // `--key -`: the key is read from stdin (a terminal prompt, or a pipe), not shown by ps.
    let typed = match args.key.as_deref() {
        Some("-") => Some(read_code(
            "Pre-shared key of the PSKC file (32 hex digits): ",
        )?),
        _ => None,
    };
    let key = typed
        .as_deref()
        .map(|k| k.as_str())
        .or(args.key.as_deref())
        .map(PreSharedKey::from_hex)
        .transpose()
        .map_err(pskc_err)?;
    let bytes = read_source(target, path, MAX_PSKC_BYTES)?;
    let file = pskc::parse(&bytes, key.as_ref()).map_err(pskc_err)?;
    let skipped_pin_keys = file.skipped_pin_keys;
    let chosen = pskc::keys_for_user(file, &target.user.name).map_err(pskc_err)?;
    let incoming = chosen
        .keys
        .iter()
        .map(|k| incoming(path, k))
        .collect::<Result<Vec<_>, _>>()?;
    if skipped_pin_keys > 0 {
        eprintln!(
            "totp-enroll: note: {skipped_pin_keys} PIN key(s) of the file were skipped: pam_totp takes no token PIN"
        );
    }
    let left_out = chosen.others + chosen.unmarked;
    if left_out > 0 {
        eprintln!(
            "totp-enroll: note: {left_out} key(s) of the file were left out as not for user {}: {} name another user in their UserId, {} have no UserId",
            pskc::quote(&target.user.name),
            chosen.others,
            chosen.unmarked
        );
    }
    let stored = store(target, path, incoming, Action::ImportPskc)?;
    report(target, path, &stored, args.json)
}

/// The token for one key package, refusing what pam_totp cannot check.
fn incoming(path: &Path, key: &PskcKey) -> Result<Incoming, CliError> {
    let origin = format!("key {}", pskc::quote(&key.id));
    let refused = |reason: String| CliError::ImportRefused {
        path: path.to_path_buf(),
        reason: format!("{origin}: {reason}; nothing was imported"),
    };
    let digits = key.digits.ok_or_else(|| {
        refused("no ResponseFormat Length: the number of digits is not known".to_string())
    })?;
    check_digits(path, &origin, digits)?;
    let secret = secret(path, &origin, &key.key)?;
    let name = key
        .serial
        .as_deref()
        .and_then(sanitize_name)
        .or_else(|| sanitize_name(&key.id))
        .unwrap_or_else(|| FALLBACK_NAME.to_string());
    let (token, mark) = match key.algorithm {
        PskcAlgorithm::Hotp => {
            // Counter is the counter of the next code the token shows.
            let next = key.counter.unwrap_or(0);
            (
                Token::hotp(&name, secret, key.hash, digits),
                next.checked_sub(1),
            )
        }
        PskcAlgorithm::Totp => {
            if key.time.is_some_and(|t| t != 0) {
                return Err(refused(
                    "a Time other than 0 (the time origin T0): pam_totp counts steps from the Unix epoch".to_string(),
                ));
            }
            if key.time_drift.is_some_and(|d| d != 0) {
                eprintln!(
                    "totp-enroll: note: {origin}: its TimeDrift is not imported; the module's window= covers a token whose clock is a step or two off"
                );
            }
            let period = key.time_interval.unwrap_or(DEFAULT_PERIOD);
            (Token::totp(&name, secret, key.hash, digits, period), None)
        }
    };
    Ok(Incoming {
        origin,
        wanted_name: NameWish::Named(name),
        token,
        mark,
    })
}
