//! `resync`: move an HOTP token's counter to where the token is, found from two consecutive
//! codes up to [`RESYNC_LOOK_AHEAD`] counter values ahead.

use super::{audit_token_change, print_out};
use crate::audit::Action;
use crate::error::CliError;
use crate::input::read_code;
use crate::target::Target;
use pam_totp_core::hotp::{self, HotpParams};
use pam_totp_core::params::RESYNC_LOOK_AHEAD;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::token::{TokenError, TokenKind};
use zeroize::Zeroizing;

/// Runs `resync` for the token named `name`.
pub fn run(target: &Target, name: &str) -> Result<(), CliError> {
    let path = target.display_path();
    let loaded = target
        .load()?
        .ok_or_else(|| CliError::NotEnrolled(path.clone()))?;
    // Refuse an unknown or TOTP token before asking for codes.
    hotp_index(loaded.content(), name).map_err(|e| e.into_cli(&path, name))?;
    eprintln!(
        "Press the token's button twice and type both codes (up to {RESYNC_LOOK_AHEAD} presses ahead are found)."
    );
    // Ask before taking the lock, so logins are not held up while the user types.
    let first = digits(&read_code("First code: ")?);
    let second = digits(&read_code("Next code: ")?);

    let mut locked = loaded.lock().map_err(|e| target.store_error(e))?;
    let file = locked.content_mut();
    let index = hotp_index(file, name).map_err(|e| e.into_cli(&path, name))?;
    let not_found = || CliError::ResyncNotFound {
        path: path.clone(),
        name: name.to_string(),
    };
    let token = file.tokens().nth(index).ok_or_else(not_found)?;
    let params = HotpParams::new(token.algorithm, token.digits).map_err(|_| not_found())?;
    let next = file
        .state
        .marks
        .get(index)
        .copied()
        .flatten()
        .map_or(0, |m| m.saturating_add(1));
    let new_next =
        hotp::resync(&token.secret, params, next, &first, &second).ok_or_else(not_found)?;
    // resync returns the counter after the second code; the mark is the second code's.
    file.set_mark(index, new_next.saturating_sub(1));
    locked.save().map_err(|e| target.store_error(e))?;
    audit_token_change(target, Action::Resync, name);
    print_out(&format!(
        "Token \"{name}\" of {} resynchronised ({} counter values ahead): the next code expected is counter {new_next}; secret file: {}\n",
        target.user.name,
        new_next.saturating_sub(next),
        path.display(),
    ))
}

/// Why `resync` cannot use a token.
enum Unusable {
    /// No token has the name.
    Missing,
    /// The token is TOTP.
    Totp,
}

impl Unusable {
    fn into_cli(self, path: &std::path::Path, name: &str) -> CliError {
        match self {
            Unusable::Missing => CliError::Token {
                path: path.to_path_buf(),
                source: TokenError::NoSuchToken(name.to_string()),
            },
            Unusable::Totp => CliError::NotHotp {
                path: path.to_path_buf(),
                name: name.to_string(),
            },
        }
    }
}

/// The index of the HOTP token named `name`.
fn hotp_index(file: &SecretFile, name: &str) -> Result<usize, Unusable> {
    let index = file.token_index(name).ok_or(Unusable::Missing)?;
    match file.tokens().nth(index).map(|t| t.kind) {
        Some(TokenKind::Hotp) => Ok(index),
        _ => Err(Unusable::Totp),
    }
}

/// A typed code without the spaces people put in it.
fn digits(code: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(code.len()));
    out.extend(code.chars().filter(|c| !c.is_whitespace()));
    out
}
