//! `--store ldap`: the commands that act on a user's OATH-LDAP entries instead of a secret
//! file (enroll, status, recovery-codes, remove, add-token, tokens), through
//! `pam_totp_directory::admin`, bound as the LDAP configuration (`--ldap-config`) says. The
//! configuration is root-only, so in practice root runs them; the user is a directory user
//! (`uid=NAME` below `base=`) and need not be known to this host. Since the bind identity
//! decides what may be changed, no current code is asked before `recovery-codes`.

mod add_token;
mod enroll;
mod recovery_codes;
mod remove;

use super::{print_out, Place};
use crate::audit::{self, Action, Change};
use crate::cli::{Cli, Command, DEFAULT_LDAP_CONFIG};
use crate::error::{AdminError, CliError};
use nix::unistd::{getuid, User};
use pam_totp_core::log_safe;
use pam_totp_directory::admin::{Admin, DirectoryUser, Enrollment};
use pam_totp_directory::LdapConfig;
use std::path::PathBuf;

/// The longest user name looked up in the directory.
const MAX_NAME_BYTES: usize = 256;

/// The directory user acted for, and the configuration that says where and how.
#[derive(Debug)]
pub struct DirectoryTarget {
    /// The name (`uid`).
    pub name: String,
    /// The LDAP configuration file (for audit lines).
    pub config_path: PathBuf,
    /// The configuration read from it.
    pub config: LdapConfig,
}

impl DirectoryTarget {
    /// Connects, binds and finds the user's entry.
    pub fn session(&self) -> Result<(Admin, DirectoryUser), CliError> {
        let mut admin = Admin::open(&self.config)?;
        let user = admin.find_user(&self.name)?;
        Ok((admin, user))
    }

    /// Connects, binds, finds the user's entry and reads the enrollment, which must exist.
    pub fn enrolled(&self) -> Result<(Admin, DirectoryUser, Enrollment), CliError> {
        let (mut admin, user) = self.session()?;
        let enrollment = admin.enrolled(&user)?;
        Ok((admin, user, enrollment))
    }

    /// Writes the audit line of a change (see [`audit`]): `replaced` an enrollment, or a
    /// change to `token`.
    pub fn audit(&self, action: Action, replaced: bool, token: Option<&str>) {
        audit::record(&Change {
            replaced,
            token,
            ..Change::in_directory(action, &self.name, &self.config_path)
        });
    }
}

/// Runs a command with `--store ldap`; `issuer` is the site's default issuer.
pub fn run(cli: Cli, issuer: Option<String>) -> Result<(), CliError> {
    let unavailable = match &cli.command {
        Command::ImportGoogleAuthenticator(_) => Some("import-google-authenticator"),
        Command::ImportOathUsersfile(_) => Some("import-oath-usersfile"),
        Command::ImportPskc(_) => Some("import-pskc"),
        Command::Report(_) => Some("report"),
        Command::ForgetHosts(_) => Some("forget-hosts"),
        Command::RemoveToken(_) => Some("remove-token"),
        Command::Resync(_) => Some("resync"),
        _ => None,
    };
    if let Some(command) = unavailable {
        return Err(CliError::NotWithLdap(command));
    }
    let target = resolve(cli.user.as_deref(), cli.ldap_config)?;
    match cli.command {
        Command::Enroll(mut args) => {
            args.issuer = args.issuer.or(issuer);
            enroll::run(&target, &args)
        }
        Command::Status(args) => {
            let (mut admin, user) = target.session()?;
            let enrollment = admin.read(&user)?;
            let text = super::status::render(
                &target.name,
                enrollment.as_ref().map(|e| &e.file),
                &Place::Directory(&log_safe::line(&user.dn)),
                args.json,
            );
            print_out(&format!("{text}\n"))
        }
        Command::Tokens(args) => {
            let (_, user, enrollment) = target.enrolled()?;
            print_out(&super::tokens::render(
                &target.name,
                &enrollment.file,
                &Place::Directory(&log_safe::line(&user.dn)),
                args.json,
            ))
        }
        Command::RecoveryCodes(args) => recovery_codes::run(&target, args.json),
        Command::Remove => remove::run(&target),
        Command::AddToken(args) => add_token::run(&target, &args, issuer),
        // Refused above.
        _ => Err(CliError::NotWithLdap("this command")),
    }
}

/// The user (`--user`, else the caller's own name) and the configuration (`--ldap-config`,
/// else the module's). Acting for someone else needs root, as with files; the name is not
/// looked up on this host (the directory is asked for it).
fn resolve(user_arg: Option<&str>, config: Option<PathBuf>) -> Result<DirectoryTarget, CliError> {
    let uid = getuid();
    let me = User::from_uid(uid).map_err(|errno| CliError::Lookup {
        name: format!("uid {uid}"),
        errno,
    })?;
    let name = match (user_arg, &me) {
        (Some(name), _) => name.to_string(),
        (None, Some(me)) => me.name.clone(),
        (None, None) => return Err(CliError::NoPasswdEntry(uid.as_raw())),
    };
    if name.is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(CliError::BadDirectoryName(name));
    }
    let myself = me.as_ref().is_some_and(|me| me.name == name);
    if !myself && !uid.is_root() {
        return Err(CliError::NotRoot(name));
    }
    let config_path = config.unwrap_or_else(|| PathBuf::from(DEFAULT_LDAP_CONFIG));
    let config = LdapConfig::load(&config_path).map_err(AdminError::from)?;
    Ok(DirectoryTarget {
        name,
        config_path,
        config,
    })
}
