//! `forget-hosts [HOST]`: drop remembered hosts (`remember=`) from the user's login state.

use super::print_out;
use crate::audit::{self, Action, Change, Forgotten};
use crate::error::CliError;
use crate::target::Target;
use pam_totp_core::remember;
use serde_json::json;

/// Runs `forget-hosts`: drops `host` (already in the module's compared form, see
/// [`remember::normalise`]) or, with None, every remembered host, under the file's lock.
/// Dropping nothing is not an error: the file is left as it is, no audit line is written, and
/// the output says so (exit status 0, as `remove` with nothing to remove). A user who is not
/// enrolled is [`CliError::NotEnrolled`].
pub fn run(target: &Target, host: Option<&str>, as_json: bool) -> Result<(), CliError> {
    let path = target.display_path();
    let loaded = target
        .load()?
        .ok_or_else(|| CliError::NotEnrolled(path.clone()))?;
    let mut locked = loaded.lock().map_err(|e| target.store_error(e))?;
    let count = remember::forget(&mut locked.content_mut().state.remembered, host);
    if count > 0 {
        locked.save().map_err(|e| target.store_error(e))?;
        audit::record(&Change {
            forgotten: Some(Forgotten { host, count }),
            ..Change::new(Action::ForgetHosts, &target.user.name, &path)
        });
    } else {
        // Nothing changed: release the lock without writing.
        drop(locked);
    }
    if as_json {
        return print_out(&format!("{}\n", json!({ "forgotten": count })));
    }
    print_out(&format!("{}\n", message(&target.user.name, host, count)))
}

/// What the command says it did.
fn message(user: &str, host: Option<&str>, count: usize) -> String {
    match (host, count) {
        (Some(host), 0) => format!("{user} had no remembered host {host}"),
        (Some(host), _) => format!("forgot remembered host {host} for {user}"),
        (None, 0) => format!("{user} had no remembered hosts"),
        (None, 1) => format!("forgot 1 remembered host for {user}"),
        (None, n) => format!("forgot {n} remembered hosts for {user}"),
    }
}

#[cfg(test)]
mod tests {
    use super::message;

    #[test]
    fn messages_say_what_was_dropped() {
        assert_eq!(
            message("alice", None, 2),
            "forgot 2 remembered hosts for alice"
        );
        assert_eq!(
            message("alice", None, 1),
            "forgot 1 remembered host for alice"
        );
        assert_eq!(message("alice", None, 0), "alice had no remembered hosts");
        assert_eq!(
            message("alice", Some("10.0.0.9"), 0),
            "alice had no remembered host 10.0.0.9"
        );
        assert_eq!(
            message("alice", Some("10.0.0.1"), 1),
            "forgot remembered host 10.0.0.1 for alice"
        );
    }
}
