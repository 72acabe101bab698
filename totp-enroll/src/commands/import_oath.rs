//! `import-oath-usersfile`: the user's tokens from a pam_oath usersfile.

use super::import_tokens::{check_digits, read_source, report, secret, store, Incoming, NameWish};
use crate::audit::Action;
use crate::cli::ImportOathArgs;
use crate::error::CliError;
use crate::target::Target;
use pam_totp_core::params::DEFAULT_ALGORITHM;
use pam_totp_core::token::Token;
use std::path::Path;
use totp_enroll::oath_usersfile::{
    parse_for_user, OathEntry, OathKind, OathPin, MAX_USERSFILE_BYTES,
};

/// The prefix of imported tokens' names: `oath-1`, `oath-2`...
const NAME_PREFIX: &str = "oath";

/// Runs `import-oath-usersfile`.
pub fn run(target: &Target, args: &ImportOathArgs) -> Result<(), CliError> {
    let path = args.path.as_path();
    let bytes = read_source(target, path, MAX_USERSFILE_BYTES)?;
    let entries =
        parse_for_user(&bytes, &target.user.name).map_err(|source| CliError::OathUsersfile {
            path: path.to_path_buf(),
            source,
        })?;
    if entries.is_empty() {
        return Err(CliError::ImportRefused {
            path: path.to_path_buf(),
            reason: format!(
                "no line for user {} (format: TYPE USER PIN HEXKEY ...); check the user name, or give --user",
                target.user.name
            ),
        });
    }
    let incoming = entries
        .iter()
        .map(|entry| incoming(path, entry))
        .collect::<Result<Vec<_>, _>>()?;
    for entry in &entries {
        if entry.pin == OathPin::Password {
            eprintln!(
                "totp-enroll: note: line {}: its PIN was not imported: pam_totp takes no PIN before the code; the password module of the pam.d stack asks for the password",
                entry.line
            );
        }
    }
    let stored = store(target, path, incoming, Action::ImportOathUsersfile)?;
    report(target, path, &stored, args.json)
}

/// The token for one line, refusing what pam_totp cannot check.
fn incoming(path: &Path, entry: &OathEntry) -> Result<Incoming, CliError> {
    let origin = format!("line {}", entry.line);
    check_digits(path, &origin, entry.digits)?;
    let key = secret(path, &origin, &entry.key)?;
    let (token, mark) = match entry.kind {
        OathKind::Totp { period } => (
            Token::totp(NAME_PREFIX, key, DEFAULT_ALGORITHM, entry.digits, period),
            None,
        ),
        OathKind::Hotp { .. } => {
            let next = entry
                .first_unused_counter()
                .ok_or_else(|| CliError::ImportRefused {
                    path: path.to_path_buf(),
                    reason: format!(
                        "{origin}: the counter is at its maximum and used: this token has no code left"
                    ),
                })?;
            (
                Token::hotp(NAME_PREFIX, key, DEFAULT_ALGORITHM, entry.digits),
                next.checked_sub(1),
            )
        }
    };
    Ok(Incoming {
        origin,
        wanted_name: NameWish::Numbered(NAME_PREFIX),
        token,
        mark,
    })
}
