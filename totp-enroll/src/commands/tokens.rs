//! `tokens`: the user's tokens with their types and parameters, never their keys.

use super::{print_out, Place};
use crate::error::CliError;
use crate::table;
use crate::target::Target;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::token::{Token, TokenKind};
use serde_json::{json, Value};

/// Runs `tokens`. A file written before tokens existed lists its one `default` TOTP token.
pub fn run(target: &Target, as_json: bool) -> Result<(), CliError> {
    let path = target.display_path();
    let loaded = target
        .load()?
        .ok_or_else(|| CliError::NotEnrolled(path.clone()))?;
    print_out(&render(
        &target.user.name,
        loaded.content(),
        &Place::File(&path),
        as_json,
    ))
}

/// The tokens of `user`'s enrollment `file` kept at `place`, as a table or the JSON object.
pub(super) fn render(user: &str, file: &SecretFile, place: &Place, as_json: bool) -> String {
    if as_json {
        let tokens: Vec<Value> = listed(file)
            .map(|(token, next)| {
                let mut v = json!({
                    "name": token.name,
                    "type": token.kind.as_str(),
                    "algorithm": token.algorithm.name(),
                    "digits": token.digits,
                });
                match token.kind {
                    TokenKind::Totp { period } => v["period"] = json!(period),
                    TokenKind::Hotp => v["counter"] = json!(next),
                }
                v
            })
            .collect();
        return format!("{}\n", json!({ "tokens": tokens }));
    }
    let rows: Vec<Vec<String>> = listed(file)
        .map(|(token, next)| {
            let moving = match token.kind {
                TokenKind::Totp { period } => format!("period {period} s"),
                TokenKind::Hotp => format!("next counter {next}"),
            };
            vec![
                token.name.clone(),
                token.kind.as_str().to_uppercase(),
                token.algorithm.name().to_string(),
                token.digits.to_string(),
                moving,
            ]
        })
        .collect();
    format!(
        "{user}: {} token(s) in {}\n{}",
        file.token_count(),
        place.name(),
        table::render(&["NAME", "TYPE", "ALGORITHM", "DIGITS", "CODES"], &rows)
    )
}

/// Each token with its next counter (0 when none was used yet; meaningful for HOTP only).
fn listed(file: &SecretFile) -> impl Iterator<Item = (&Token, u64)> + '_ {
    file.tokens().enumerate().map(|(i, token)| {
        let mark = file.state.marks.get(i).copied().flatten();
        (token, mark.map_or(0, |m| m.saturating_add(1)))
    })
}
