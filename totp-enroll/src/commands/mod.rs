//! The commands, and what they share: the clock, randomness, recovery codes, writing a new
//! enrollment through the store, and the audit line of each change.

mod add_token;
mod directory;
mod enroll;
mod forget_hosts;
mod import;
mod import_oath;
mod import_pskc;
mod import_tokens;
mod recovery_codes;
mod remove;
mod remove_token;
mod report;
mod resync;
mod status;
mod tokens;

use crate::audit::{self, Action, Change};
use crate::cli::{Cli, Command, StoreArg};
use crate::error::CliError;
use crate::site;
use crate::target::{refuse_set_id, resolve, Target};
use nix::unistd::getuid;
use pam_totp_core::enrollment;
use pam_totp_core::params::DEFAULT_SECRET_TEMPLATE;
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::secret_file::{has_secret_file_shape, SecretFile};
use pam_totp_core::template::check_template;
use pam_totp_store::store::{LockedFile, StoreError};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// Runs the command line, with the site defaults filling in what it leaves out.
pub fn run(cli: Cli) -> Result<(), CliError> {
    refuse_set_id()?;
    if cli.store == StoreArg::Ldap {
        let (site, _) = site::load_in_effect()?;
        return directory::run(cli, site.issuer);
    }
    if matches!(cli.command, Command::Report(_)) && !getuid().is_root() {
        return Err(CliError::ReportNeedsRoot);
    }
    let (site, site_path) = site::load_in_effect()?;
    let from_site = cli.secret_file.is_none() && site.secret_file.is_some();
    let template = cli
        .secret_file
        .or(site.secret_file)
        .unwrap_or_else(|| DEFAULT_SECRET_TEMPLATE.to_string());
    // Say where a bad template came from when it was not the command line.
    let template_error = |e| match e {
        CliError::Template(t) if from_site => CliError::SiteConfig {
            path: site_path.clone(),
            reason: format!("secret_file: {t}"),
        },
        e => e,
    };
    if let Command::Report(args) = &cli.command {
        // One file for every account cannot be anyone's enrollment (the module refuses it).
        check_template(&template).map_err(|e| template_error(e.into()))?;
        return report::run(&template, args);
    }
    let target = resolve(cli.user.as_deref(), &template).map_err(template_error)?;
    match cli.command {
        Command::Enroll(mut args) => {
            args.issuer = args.issuer.or(site.issuer);
            enroll::run(&target, &args)
        }
        Command::Status(args) => status::run(&target, args.json),
        Command::RecoveryCodes(args) => recovery_codes::run(&target, args.json),
        Command::Remove => remove::run(&target),
        Command::ImportGoogleAuthenticator(args) => import::run(&target, &args),
        Command::ImportOathUsersfile(args) => import_oath::run(&target, &args),
        Command::ImportPskc(args) => import_pskc::run(&target, &args),
        Command::ForgetHosts(args) => forget_hosts::run(&target, args.host.as_deref(), args.json),
        Command::AddToken(args) => add_token::run(&target, &args, site.issuer),
        Command::Tokens(args) => tokens::run(&target, args.json),
        Command::RemoveToken(args) => remove_token::run(&target, &args.name),
        Command::Resync(args) => resync::run(&target, &args.name),
        // Handled above, before a target user is looked up.
        Command::Report(args) => report::run(&template, &args),
    }
}

/// Where an enrollment is kept, as `status` and `tokens` name it.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// A secret file.
    File(&'a std::path::Path),
    /// A user's entry in the directory (its DN).
    Directory(&'a str),
}

impl Place<'_> {
    /// The place, e.g. after "in".
    pub fn name(&self) -> String {
        match self {
            Place::File(path) => path.display().to_string(),
            Place::Directory(dn) => (*dn).to_string(),
        }
    }

    /// The line naming it in `status`.
    pub fn line(&self) -> String {
        match self {
            Place::File(path) => format!("secret file: {}", path.display()),
            Place::Directory(dn) => format!("directory entry: {dn}"),
        }
    }

    /// Why the user counts as not enrolled.
    pub fn nothing(&self) -> String {
        match self {
            Place::File(path) => format!("no secret file at {}", path.display()),
            Place::Directory(dn) => format!("no oathTOTPToken or oathHOTPToken in {dn}"),
        }
    }

    /// True where remembered hosts (`remember=`) are kept: files only.
    pub fn keeps_hosts(&self) -> bool {
        matches!(self, Place::File(_))
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> Result<u64, CliError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| CliError::Clock)
}

/// Fills `buf` from the kernel's random number generator.
pub fn random(buf: &mut [u8]) -> Result<(), CliError> {
    getrandom::fill(buf).map_err(|e| CliError::Random(e.to_string()))
}

/// A new set of recovery codes: the codes to show once, and their hashes to store.
pub fn new_recovery_codes() -> Result<(Vec<Zeroizing<String>>, Vec<RecoveryHash>), CliError> {
    enrollment::new_recovery_codes(random)
}

/// What is at the secret file's place before a new enrollment is written.
#[derive(Debug, PartialEq, Eq)]
pub enum Existing {
    /// Nothing: the user is not enrolled.
    None,
    /// A valid enrollment.
    Enrolled,
}

/// Checks for an existing enrollment before anything is shown, so that a user never scans a
/// key that will not be stored. Without `force` an existing file is refused; with it, a file
/// that does not parse is replaced if it still has the shape of a secret file, but one with
/// a bad owner, mode or type, or one that is no pam_totp file at all, is refused.
pub fn check_existing(target: &Target, force: bool) -> Result<Existing, CliError> {
    let dir = target.open_dir()?;
    match dir.load() {
        Ok(_) if force => Ok(Existing::Enrolled),
        Ok(_) => Err(CliError::Exists(target.display_path())),
        Err(e) if e.is_not_found() => Ok(Existing::None),
        Err(StoreError::Format { .. }) if force => match target.open_dir()?.lock_unparsed() {
            Ok(mut locked) => {
                ensure_secret_file(target, &mut locked, "replacing")?;
                Ok(Existing::Enrolled)
            }
            Err(e) if e.is_not_found() => Ok(Existing::None),
            Err(e) => Err(CliError::UnreadableExisting {
                source: e,
                path: target.display_path(),
            }),
        },
        Err(e) if force => Err(CliError::UnreadableExisting {
            source: e,
            path: target.display_path(),
        }),
        Err(
            e @ (StoreError::Format { .. }
            | StoreError::OpenMode { .. }
            | StoreError::WrongOwner { .. }
            | StoreError::NotRegular(_)),
        ) => Err(CliError::UnreadableExisting {
            source: e,
            path: target.display_path(),
        }),
        Err(e) => Err(target.store_error(e)),
    }
}

/// How a new enrollment was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// As a new file.
    Created,
    /// Over an existing enrollment (`--force`).
    Replaced,
}

/// Writes a new enrollment: a new file, or (with `force`) a replacement under the old file's
/// lock. The store writes atomically, mode 0600, as the user where the user owns the directory.
pub fn write_enrollment(
    target: &Target,
    file: &SecretFile,
    force: bool,
) -> Result<Written, CliError> {
    if force {
        // Locked without parsing, so that a corrupt file can be replaced too.
        match target.open_dir()?.lock_unparsed() {
            Ok(mut locked) => {
                ensure_secret_file(target, &mut locked, "replacing")?;
                locked.replace(file).map_err(|e| target.store_error(e))?;
                return Ok(Written::Replaced);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                return Err(CliError::UnreadableExisting {
                    source: e,
                    path: target.display_path(),
                })
            }
        }
    }
    target
        .open_dir()?
        .create(file)
        .map_err(|e| target.store_error(e))?;
    Ok(Written::Created)
}

/// Writes the audit line of a change made to `target`'s enrollment (see [`audit`]).
pub fn audit_change(target: &Target, action: Action, replaced: bool) {
    let file = target.display_path();
    audit::record(&Change {
        replaced,
        ..Change::new(action, &target.user.name, &file)
    });
}

/// Writes the audit line of a change to the token named `token` of `target`'s enrollment.
pub fn audit_token_change(target: &Target, action: Action, token: &str) {
    let file = target.display_path();
    audit::record(&Change {
        token: Some(token),
        ..Change::new(action, &target.user.name, &file)
    });
}

/// Writes the audit line of an import into `target`'s enrollment: the tokens added and the
/// file they came from.
pub fn audit_import(target: &Target, action: Action, names: &[String], source: &std::path::Path) {
    let file = target.display_path();
    let tokens = names.join(",");
    audit::record(&Change {
        token: Some(&tokens),
        source: Some(source),
        ..Change::new(action, &target.user.name, &file)
    });
}

/// Refuses to go on when the locked file is not a pam_totp secret file, not even a corrupt one
/// (see [`has_secret_file_shape`]): run as root, `--force` or `remove` with a wrong
/// `--secret-file` would otherwise replace or delete any root-only file of mode 0600.
/// `action` ("replacing", "removing") completes the message.
pub fn ensure_secret_file(
    target: &Target,
    locked: &mut LockedFile,
    action: &'static str,
) -> Result<(), CliError> {
    match locked.read_raw() {
        Ok(bytes) if has_secret_file_shape(&bytes) => Ok(()),
        // Larger than any secret file (the store's read bound): not one either.
        Ok(_) | Err(StoreError::Format { .. }) => Err(CliError::NotSecretFile {
            path: target.display_path(),
            action,
        }),
        Err(e) => Err(target.store_error(e)),
    }
}

/// Writes `text` to stdout and flushes, reporting a closed pipe as an error.
pub fn print_out(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Io {
            what: "cannot write to stdout",
            source,
        })
}

/// The recovery codes as shown once after they were stored.
pub fn recovery_codes_text(codes: &[Zeroizing<String>]) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::from(
        "Recovery codes (each works once instead of a code from the app).\n\
         Store them somewhere safe now, e.g. print them: they are not shown again.\n",
    ));
    for code in codes {
        text.push_str("  ");
        text.push_str(code);
        text.push('\n');
    }
    text
}
