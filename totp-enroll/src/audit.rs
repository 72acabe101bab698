//! The audit trail: every change totp-enroll makes to a user's second factor is one syslog
//! line (facility authpriv, ident `totp-enroll`, severity notice) naming the action, the
//! target user, the file and who made the change: the real uid and its user name, and
//! `SUDO_USER` when set. Commands that fail or are refused change no enrollment and write no
//! line; reading commands (`status`, `report`) write none either.
//!
//! `SUDO_USER` comes from the environment, which the caller controls: it is sanitized like
//! every user-controlled field ([`log_safe::field`]), and only `by_uid` is the kernel's word.
//! Secrets, codes and recovery codes never reach the line.

use crate::ffi;
use nix::unistd::{getuid, User};
use pam_totp_core::log_safe;
use std::ffi::CString;
use std::path::Path;

/// The variable sudo sets to the name of the user who ran it.
pub const SUDO_USER_ENV: &str = "SUDO_USER";

/// What was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new enrollment, or (with `--force`) a replaced one (`enroll`).
    Enroll,
    /// A google-authenticator file converted into an enrollment.
    ImportGoogleAuthenticator,
    /// Tokens imported from a pam_oath usersfile.
    ImportOathUsersfile,
    /// Tokens imported from an RFC 6030 (PSKC) seed file.
    ImportPskc,
    /// A new set of recovery codes replaced the old one.
    RecoveryCodes,
    /// The secret file was removed: the second factor is off for the user.
    Remove,
    /// Remembered hosts (`remember=`) were dropped.
    ForgetHosts,
    /// A token was added (`add-token`).
    AddToken,
    /// A token was removed (`remove-token`).
    RemoveToken,
    /// An HOTP token's counter was moved to where the token is (`resync`).
    Resync,
}

impl Action {
    /// The `action=` value: the command's name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Enroll => "enroll",
            Action::ImportGoogleAuthenticator => "import-google-authenticator",
            Action::ImportOathUsersfile => "import-oath-usersfile",
            Action::ImportPskc => "import-pskc",
            Action::RecoveryCodes => "recovery-codes",
            Action::Remove => "remove",
            Action::ForgetHosts => "forget-hosts",
            Action::AddToken => "add-token",
            Action::RemoveToken => "remove-token",
            Action::Resync => "resync",
        }
    }
}

/// One change, as the audit line describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<'a> {
    /// What was done.
    pub action: Action,
    /// The user whose second factor changed.
    pub user: &'a str,
    /// The secret file, or for `--store ldap` the LDAP configuration used.
    pub file: &'a Path,
    /// True for `--store ldap`: the line says `store=ldap ldap_config=…` instead of `file=…`.
    pub directory: bool,
    /// An existing enrollment was replaced (`enroll --force`, `import-google-authenticator
    /// --force`).
    pub replaced: bool,
    /// For [`Action::ForgetHosts`]: which hosts were dropped, and how many.
    pub forgotten: Option<Forgotten<'a>>,
    /// For the token commands: the token's name (never its key); for the imports, the names
    /// of the tokens added, comma-separated.
    pub token: Option<&'a str>,
    /// For the imports: the file the tokens came from.
    pub source: Option<&'a Path>,
}

impl<'a> Change<'a> {
    /// A change of `action` to `user`'s secret file `file`, without any of the optional details.
    pub fn new(action: Action, user: &'a str, file: &'a Path) -> Self {
        Change {
            action,
            user,
            file,
            directory: false,
            replaced: false,
            forgotten: None,
            token: None,
            source: None,
        }
    }

    /// A change of `action` to `user`'s entries in the directory of LDAP configuration
    /// `config` (`--store ldap`).
    pub fn in_directory(action: Action, user: &'a str, config: &'a Path) -> Self {
        Change {
            directory: true,
            ..Change::new(action, user, config)
        }
    }
}

/// What `forget-hosts` dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forgotten<'a> {
    /// The host named on the command line (as compared), or None for every host.
    pub host: Option<&'a str>,
    /// How many entries were dropped (at least one: dropping nothing is no change).
    pub count: usize,
}

/// Who runs totp-enroll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The real uid.
    pub uid: u32,
    /// Its user name, when the user database has one.
    pub name: Option<String>,
    /// `SUDO_USER` from the environment, when set and not empty (not trustworthy: see the
    /// module documentation).
    pub sudo_user: Option<String>,
}

impl Actor {
    /// The caller of this process.
    pub fn current() -> Actor {
        let uid = getuid();
        let name = User::from_uid(uid).ok().flatten().map(|u| u.name);
        // sudo sets SUDO_USER for the root process it starts; anyone else could set it to
        // anything, so it is recorded only for root.
        let sudo_user = std::env::var_os(SUDO_USER_ENV)
            .filter(|v| !v.is_empty() && uid.is_root())
            .map(|v| v.to_string_lossy().into_owned());
        Actor {
            uid: uid.as_raw(),
            name,
            sudo_user,
        }
    }
}

/// The audit line for `change` made by `actor`: `action=… user=… by_uid=… [by_user=…]
/// [sudo_user=…] [replaced=yes] [host=…|hosts=all forgotten=N] [token=…] file=…` (for the
/// directory: `store=ldap ldap_config=…` instead of `file=…`), every user-controlled value
/// sanitized.
pub fn line(change: &Change, actor: &Actor) -> String {
    let mut text = format!(
        "action={} user={} by_uid={}",
        change.action.name(),
        log_safe::field(change.user),
        actor.uid
    );
    if let Some(name) = &actor.name {
        text.push_str(" by_user=");
        text.push_str(&log_safe::field(name));
    }
    if let Some(sudo_user) = &actor.sudo_user {
        text.push_str(" sudo_user=");
        text.push_str(&log_safe::field(sudo_user));
    }
    if change.replaced {
        text.push_str(" replaced=yes");
    }
    if let Some(forgotten) = &change.forgotten {
        match forgotten.host {
            Some(host) => {
                text.push_str(" host=");
                text.push_str(&log_safe::host(host));
            }
            // Not `host=all`: a host may be named "all".
            None => text.push_str(" hosts=all"),
        }
        text.push_str(" forgotten=");
        text.push_str(&forgotten.count.to_string());
    }
    if let Some(token) = change.token {
        text.push_str(if change.source.is_some() {
            " tokens="
        } else {
            " token="
        });
        text.push_str(&log_safe::field(token));
    }
    if let Some(source) = change.source {
        text.push_str(" source=");
        text.push_str(&log_safe::path(&source.to_string_lossy()));
    }
    text.push_str(if change.directory {
        " store=ldap ldap_config="
    } else {
        " file="
    });
    text.push_str(&log_safe::path(&change.file.to_string_lossy()));
    log_safe::line(&text)
}

/// Writes the audit line of a change that was made. Called once the change is durable and
/// before anything is printed, so that a closed stdout cannot lose the line. A failure to
/// log cannot undo the change: it is reported on stderr.
pub fn record(change: &Change) {
    // `line` turned every NUL into `?`, so this cannot fail; if it did, say so.
    match CString::new(line(change, &Actor::current())) {
        Ok(text) => ffi::syslog_authpriv_notice(&text),
        Err(e) => eprintln!(
            "totp-enroll: warning: the change was made, but its audit line could not be logged: {e}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: Action, replaced: bool) -> Change<'static> {
        Change {
            action,
            user: "alice",
            file: Path::new("/home/alice/.pam_totp.toml"),
            directory: false,
            replaced,
            forgotten: None,
            token: None,
            source: None,
        }
    }

    #[test]
    fn a_line_names_action_user_caller_and_file() {
        let root = Actor {
            uid: 0,
            name: Some("root".into()),
            sudo_user: Some("bob".into()),
        };
        assert_eq!(
            line(&change(Action::Enroll, true), &root),
            "action=enroll user=alice by_uid=0 by_user=root sudo_user=bob replaced=yes file=/home/alice/.pam_totp.toml"
        );
        let nameless = Actor {
            uid: 4242,
            name: None,
            sudo_user: None,
        };
        assert_eq!(
            line(&change(Action::Remove, false), &nameless),
            "action=remove user=alice by_uid=4242 file=/home/alice/.pam_totp.toml"
        );
        for (action, name) in [
            (
                Action::ImportGoogleAuthenticator,
                "import-google-authenticator",
            ),
            (Action::RecoveryCodes, "recovery-codes"),
            (Action::AddToken, "add-token"),
            (Action::RemoveToken, "remove-token"),
            (Action::Resync, "resync"),
            (Action::ImportOathUsersfile, "import-oath-usersfile"),
            (Action::ImportPskc, "import-pskc"),
        ] {
            assert!(line(&change(action, false), &nameless)
                .starts_with(&format!("action={name} user=alice ")));
        }
    }

    #[test]
    fn user_controlled_values_cannot_forge_fields_or_lines() {
        let forger = Actor {
            uid: 1000,
            name: Some("eve".into()),
            sudo_user: Some("root by_uid=0\naction=remove user=bob".into()),
        };
        let c = Change {
            action: Action::Enroll,
            user: "a b=c\u{202e}",
            file: Path::new("/srv/a b/x=y\n.toml"),
            directory: false,
            replaced: false,
            forgotten: None,
            token: None,
            source: None,
        };
        let text = line(&c, &forger);
        assert_eq!(
            text,
            "action=enroll user=a?b?c? by_uid=1000 by_user=eve sudo_user=root?by_uid?0?action?remove?user?bob file=/srv/a?b/x?y?.toml"
        );
        assert_eq!(text.matches("by_uid=").count(), 1);
        assert_eq!(text.matches("action=").count(), 1);
    }

    #[test]
    fn directory_changes_name_the_ldap_configuration() {
        let me = Actor {
            uid: 0,
            name: Some("root".into()),
            sudo_user: None,
        };
        let c = Change {
            token: Some("fob"),
            ..Change::in_directory(
                Action::AddToken,
                "alice",
                Path::new("/etc/pam_totp/ldap-admin.toml"),
            )
        };
        assert_eq!(
            line(&c, &me),
            "action=add-token user=alice by_uid=0 by_user=root token=fob store=ldap ldap_config=/etc/pam_totp/ldap-admin.toml"
        );
    }

    #[test]
    fn token_changes_name_the_token() {
        let me = Actor {
            uid: 0,
            name: Some("root".into()),
            sudo_user: None,
        };
        let mut c = change(Action::AddToken, false);
        c.token = Some("spare-phone");
        assert_eq!(
            line(&c, &me),
            "action=add-token user=alice by_uid=0 by_user=root token=spare-phone file=/home/alice/.pam_totp.toml"
        );
    }

    #[test]
    fn forgotten_hosts_name_the_host_or_all_and_the_count() {
        let me = Actor {
            uid: 0,
            name: Some("root".into()),
            sudo_user: None,
        };
        let mut c = change(Action::ForgetHosts, false);
        c.forgotten = Some(Forgotten {
            host: Some("10.0.0.1"),
            count: 1,
        });
        assert_eq!(
            line(&c, &me),
            "action=forget-hosts user=alice by_uid=0 by_user=root host=10.0.0.1 forgotten=1 file=/home/alice/.pam_totp.toml"
        );
        c.forgotten = Some(Forgotten {
            host: None,
            count: 3,
        });
        assert_eq!(
            line(&c, &me),
            "action=forget-hosts user=alice by_uid=0 by_user=root hosts=all forgotten=3 file=/home/alice/.pam_totp.toml"
        );
        // The host comes from the command line: it cannot forge a field either.
        c.forgotten = Some(Forgotten {
            host: Some("h file=/etc/shadow\nx"),
            count: 1,
        });
        let text = line(&c, &me);
        assert!(
            text.contains(" host=h?file??etc?shadow?x forgotten=1 "),
            "{text}"
        );
        assert_eq!(text.matches("file=").count(), 1, "{text}");
    }
}
