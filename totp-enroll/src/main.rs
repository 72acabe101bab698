//! `totp-enroll`: enrolls users for the pam_totp second factor (QR code, first-code check,
//! recovery codes), shows their status, regenerates recovery codes, removes enrollments and
//! imports `~/.google_authenticator` files, lists every account's state for root (`report`)
//! drops remembered hosts (`forget-hosts`) and manages a user's tokens (`add-token`, `tokens`,
//! `remove-token`, `resync`); every change is one syslog line (`audit`).
//! All secret file access goes through `pam_totp_store::store`, which does the symlink-safe,
//! owner- and mode-checked work.
// Unsafe code is allowed in `ffi` alone (libc calls that nix does not wrap).
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod audit;
mod cli;
mod commands;
mod error;
#[allow(unsafe_code)]
mod ffi;
mod host;
mod input;
mod json;
mod qr;
mod site;
mod source_file;
mod table;
mod target;

use std::process::ExitCode;
// The parser lives in the library target (src/lib.rs) so that the fuzz targets can reach it.
use totp_enroll::google_authenticator;

fn main() -> ExitCode {
    // Usage errors make clap exit with status 2, --help and --version with 0.
    let cli = match cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // A panic (a bug, ours or a library's, e.g. the LDAP client on a reply it cannot decode)
    // ends the run like any other failure: one line on stderr and exit status 1, with the
    // secrets in memory wiped as the stack unwinds.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", panic_line(info.payload(), info.location()));
    }));
    match std::panic::catch_unwind(move || commands::run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("totp-enroll: {e}");
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::FAILURE,
    }
}

/// The one line a panic prints: its message (on one line) and where it happened.
fn panic_line(
    payload: &(dyn std::any::Any + Send),
    location: Option<&std::panic::Location<'_>>,
) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let place = location.map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
    format!("totp-enroll: internal error (a bug, please report it): {message}{place}")
}

#[cfg(test)]
mod tests {
    use super::panic_line;

    #[test]
    fn a_panic_is_one_line_with_its_message_and_place() {
        let line = panic_line(&"bad\nreply", Some(std::panic::Location::caller()));
        assert!(line.starts_with("totp-enroll: internal error"), "{line}");
        assert!(
            line.contains("bad reply at totp-enroll/src/main.rs:"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let owned: Box<dyn std::any::Any + Send> = Box::new(String::from("owned"));
        assert!(panic_line(owned.as_ref(), None).ends_with(": owned"));
        assert!(panic_line(&7u8, None).contains("no message"));
    }
}
