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
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("totp-enroll: {e}");
            ExitCode::FAILURE
        }
    }
}
