//! `add-token --store ldap`: a token beside the user's existing one, with the same first-code
//! check as for a file. In the directory a user has at most one TOTP and one HOTP token.

use super::DirectoryTarget;
use crate::audit::Action;
use crate::cli::AddTokenArgs;
use crate::commands::add_token::{first_code_mark, new_token, print_added, refuse_early};
use crate::commands::now;
use crate::error::CliError;
use pam_totp_core::log_safe;
use pam_totp_core::token::TokenKind;
use pam_totp_directory::admin::check_new_token;

/// Runs `add-token` for a directory user; `issuer` is the site's default issuer.
pub fn run(
    target: &DirectoryTarget,
    args: &AddTokenArgs,
    issuer: Option<String>,
) -> Result<(), CliError> {
    // Refuse before showing anything: no one sets up a key that will not be stored.
    let (admin, user, enrollment) = target.enrolled()?;
    let kind = if args.hotp {
        TokenKind::Hotp
    } else {
        TokenKind::Totp {
            period: args.period,
        }
    };
    check_new_token(&user, &enrollment, kind)?;
    refuse_early(&enrollment.file, &args.name).map_err(|source| CliError::TokenDirectory {
        dn: log_safe::line(&user.dn),
        source,
    })?;
    drop(admin);

    let (token, uri) = new_token(args, &target.name, issuer)?;
    let mark = first_code_mark(&token, args.counter, || {
        CliError::WrongCodeDirectory(log_safe::line(&user.dn))
    })?;
    // Read again: the entries may have changed while the user typed.
    let (mut admin, user, enrollment) = target.enrolled()?;
    let mut check = enrollment.file.clone();
    check
        .add_token(token.clone(), Some(mark))
        .map_err(|source| CliError::TokenDirectory {
            dn: log_safe::line(&user.dn),
            source,
        })?;
    admin.add_token(&user, &enrollment, &token, Some(mark), now()?)?;
    target.audit(Action::AddToken, false, Some(&token.name));
    print_added(
        &token,
        &uri,
        mark,
        args.json,
        &format!(
            "{}; directory entry: {}",
            target.name,
            log_safe::line(&user.dn)
        ),
    )
}
