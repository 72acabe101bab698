//! `remove`: delete the secret file under its lock.

use super::{audit_change, ensure_secret_file, print_out};
use crate::audit::Action;
use crate::error::CliError;
use crate::target::Target;

/// Runs `remove`. A missing file is success (the user is not enrolled), noted on stderr.
pub fn run(target: &Target) -> Result<(), CliError> {
    let path = target.display_path();
    let nothing = || {
        eprintln!(
            "totp-enroll: {}: not enrolled (no secret file); nothing to remove",
            path.display()
        );
        Ok(())
    };
    let dir = match target.open_dir() {
        Ok(dir) => dir,
        Err(CliError::MissingDirectory(_)) => return nothing(),
        Err(e) => return Err(e),
    };
    // Locked without parsing: a corrupt file can be removed too (root's recovery path).
    let mut locked = match dir.lock_unparsed() {
        Ok(l) => l,
        Err(e) if e.is_not_found() => return nothing(),
        Err(e) => {
            return Err(CliError::UnreadableRemove {
                source: e,
                path: path.clone(),
            })
        }
    };
    // ... but only a secret file: never some other file that a wrong --secret-file names.
    ensure_secret_file(target, &mut locked, "removing")?;
    locked.remove().map_err(|e| target.store_error(e))?;
    audit_change(target, Action::Remove, false);
    print_out(&format!(
        "Removed {}: {} no longer has a second factor from pam_totp.\n",
        path.display(),
        target.user.name
    ))
}
