//! `remove-token`: drop one token (its key and replay mark); the last one stays.

use super::{audit_token_change, print_out};
use crate::audit::Action;
use crate::error::CliError;
use crate::target::Target;

/// Runs `remove-token`. Unknown names and the last token are refused, nothing written; a
/// file left with the lone `default` TOTP token is written as version 2 again (by the core).
pub fn run(target: &Target, name: &str) -> Result<(), CliError> {
    let path = target.display_path();
    let loaded = target
        .load()?
        .ok_or_else(|| CliError::NotEnrolled(path.clone()))?;
    let mut locked = loaded.lock().map_err(|e| target.store_error(e))?;
    let removed = locked
        .content_mut()
        .remove_token(name)
        .map_err(|source| CliError::Token {
            path: path.clone(),
            source,
        })?;
    let left = locked.content().token_count();
    locked.save().map_err(|e| target.store_error(e))?;
    audit_token_change(target, Action::RemoveToken, &removed.name);
    print_out(&format!(
        "Removed token \"{}\" of {}; {left} token(s) left in {}\n",
        removed.name,
        target.user.name,
        path.display()
    ))
}
