//! `remove`: delete the secret file under its lock.

use super::print_out;
use crate::error::CliError;
use crate::target::Target;
use pam_totp::fs::store::StoreError;

/// Runs `remove`. A missing file is success (the user is not enrolled), noted on stderr.
pub fn run(target: &Target) -> Result<(), CliError> {
    let path = target.display_path();
    let loaded = match target.load() {
        Ok(Some(l)) => l,
        Ok(None) => {
            eprintln!(
                "totp-enroll: {}: not enrolled (no secret file); nothing to remove",
                path.display()
            );
            return Ok(());
        }
        // A file that cannot be parsed cannot be locked through the store: say how to delete it.
        Err(CliError::Store(e @ StoreError::Format { .. })) => {
            return Err(CliError::UnreadableRemove { source: e, path });
        }
        Err(e) => return Err(e),
    };
    let locked = loaded.lock().map_err(|e| target.store_error(e))?;
    locked.remove().map_err(|e| target.store_error(e))?;
    print_out(&format!(
        "Removed {}: {} no longer has a second factor from pam_totp.\n",
        path.display(),
        target.user.name
    ))
}
