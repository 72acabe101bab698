//! `import-google-authenticator`: keep the phone's existing entry.

use super::{check_existing, now, print_out, random, write_enrollment};
use crate::cli::ImportArgs;
use crate::error::CliError;
use crate::google_authenticator::{self, convert, parse, ReadError};
use crate::target::Target;
use pam_totp::fs::identity::ActingAs;
use std::fmt::Write as _;
use std::path::Path;

/// Runs `import-google-authenticator`.
pub fn run(target: &Target, args: &ImportArgs) -> Result<(), CliError> {
    let source = args
        .path
        .clone()
        .unwrap_or_else(|| target.user.dir.join(".google_authenticator"));
    let bytes = read_source(target, &source, args.path.is_none())?;
    let ga_err = |e| CliError::GoogleAuthenticator {
        path: source.to_path_buf(),
        source: e,
    };
    let ga = parse(&bytes).map_err(ga_err)?;
    let converted =
        convert(&ga, now()?, |buf| random(buf).map_err(|e| e.to_string())).map_err(ga_err)?;
    check_existing(target, args.force)?;
    write_enrollment(target, &converted.file, args.force)?;

    let mut text = format!(
        "Imported {} into {} for {}: the phone keeps working; {} scratch code(s) became recovery codes.\n",
        source.display(),
        target.display_path().display(),
        target.user.name,
        converted.file.recovery.len()
    );
    for note in &converted.notes {
        let _ = writeln!(text, "Note: {note}.");
    }
    let _ = writeln!(
        text,
        "Once pam.d uses pam_totp for this user, remove the old file: rm -- {}",
        source.display()
    );
    print_out(&text)
}

/// Reads the google-authenticator file. The default file in the user's home is read with the
/// user's filesystem identity when root acts for another user, so that root's rights are never
/// used on a path the user controls; a path root gave explicitly is read as root.
fn read_source(
    target: &Target,
    source: &Path,
    in_home: bool,
) -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
    let io_err = |e| CliError::GoogleAuthenticatorIo {
        path: source.to_path_buf(),
        source: e,
    };
    let _identity = if target.for_other && in_home {
        ActingAs::user(target.user.uid, target.user.gid).map_err(io_err)?
    } else {
        ActingAs::caller()
    };
    match google_authenticator::read_file(source) {
        Ok(bytes) => Ok(bytes),
        Err(ReadError::Io(e)) if e.raw_os_error() == Some(nix::libc::ELOOP) => Err(io_err(
            std::io::Error::other("it is a symbolic link; give the real file's path"),
        )),
        Err(ReadError::Io(e)) => Err(io_err(e)),
        Err(ReadError::Format(e)) => Err(CliError::GoogleAuthenticator {
            path: source.to_path_buf(),
            source: e,
        }),
    }
}
